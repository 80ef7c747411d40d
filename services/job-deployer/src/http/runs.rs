//! A deployment's runs, their logs, and searches in them.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use service_kit::{ErrorBody, Query};
use utoipa::IntoParams;

use super::{NamePath, State};
use crate::error::Error;
use crate::model::{Log, LogContainer, LogRequest, LogSearch, LogWindow, Run};

const MAX_WINDOW: usize = 10_000;
use crate::runtime::SearchRequest;

/// The runs (Jobs) of a deployment, newest first, with why each failed.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/runs", tag = "runs",
    params(NamePath),
    responses((status = 200, body = [Run]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn list_runs(runtime: State, path: web::Path<NamePath>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(runtime.runs(&path.name).await?))
}

/// Which log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The run (its name, from `.../runs`); the latest run when absent.
    #[param(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length = 63)]
    run: Option<String>,
    /// `runner` (default) or `fetch` (the init container that downloads the resource).
    #[serde(default)]
    #[param(value_type = Option<LogContainer>)]
    container: LogContainer,
    /// The last lines only; 1000 when no bound is given (see `all`).
    #[param(rename = "tailLines", minimum = 0)]
    tail_lines: Option<i64>,
    /// Only the lines of the last seconds (Kubernetes only).
    #[param(rename = "sinceSeconds", minimum = 1)]
    since_seconds: Option<i64>,
    /// The logs of the previous attempt of the container (after a retry).
    #[serde(default)]
    previous: bool,
    /// Stream the log as it grows, until the container ends or the client leaves.
    #[serde(default)]
    follow: bool,
    /// At most this many bytes; 5 MiB when no bound is given.
    #[param(rename = "limitBytes", minimum = 1)]
    limit_bytes: Option<i64>,
    /// The whole log, however long.
    #[serde(default)]
    all: bool,
    /// Lines by number: this many lines (at most 10000) of the whole log, from `fromLine`, or
    /// the last ones; the answer says which (`X-First-Line`) and of how many (`X-Total-Lines`).
    #[param(minimum = 1, maximum = 10000)]
    lines: Option<usize>,
    /// With `lines`: the first line wanted (1-based).
    #[param(rename = "fromLine", minimum = 1)]
    from_line: Option<usize>,
}

impl LogQuery {
    fn into_request(self) -> Result<LogRequest, Error> {
        let invalid = |field: &'static str, message: String| Error::InvalidParameter { field, message };
        for (field, value, minimum) in [
            ("tailLines", self.tail_lines, 0),
            ("sinceSeconds", self.since_seconds, 1),
            ("limitBytes", self.limit_bytes, 1),
        ] {
            if let Some(value) = value.filter(|value| *value < minimum) {
                return Err(Error::InvalidParameter {
                    field,
                    message: format!("the parameter `{field}` is {value}; at least {minimum}"),
                });
            }
        }
        let window = match (self.lines, self.from_line) {
            (None, Some(_)) => return Err(invalid("fromLine", "`fromLine` goes with `lines`".to_owned())),
            (None, None) => None,
            (Some(lines), _) if !(1..=MAX_WINDOW).contains(&lines) => {
                return Err(invalid("lines", format!("the parameter `lines` is {lines}; 1 to {MAX_WINDOW}")));
            }
            (Some(_), Some(0)) => return Err(invalid("fromLine", "lines are counted from 1".to_owned())),
            (Some(lines), from) => {
                if self.follow
                    || self.tail_lines.is_some()
                    || self.since_seconds.is_some()
                    || self.limit_bytes.is_some()
                {
                    return Err(invalid(
                        "lines",
                        "`lines` reads lines by number: not with follow, tailLines, sinceSeconds or limitBytes"
                            .to_owned(),
                    ));
                }
                Some(LogWindow { from, lines })
            }
        };
        Ok(LogRequest {
            window,
            run: self.run,
            container: self.container,
            tail_lines: self.tail_lines,
            since_seconds: self.since_seconds,
            limit_bytes: self.limit_bytes,
            previous: self.previous,
            follow: self.follow,
            all: self.all,
        })
    }
}

/// The log of the latest run, or of a given run.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/logs", tag = "runs",
    params(NamePath, LogQuery),
    responses(
        (status = 200, content_type = "text/plain", body = String, headers(
            ("X-First-Line" = usize, description = "with `lines`: the number of the first line answered"),
            ("X-Total-Lines" = usize, description = "with `lines`: how many lines the whole log has"),
        )),
        (status = 400, body = ErrorBody, description = "a parameter that cannot be used"),
        (status = 404, body = ErrorBody, description = "no such deployment or run, no run yet (`no_run`), no previous attempt (`no_previous`)"),
        (status = 409, body = ErrorBody, description = "no log yet, and why: the pod is not on a node, the container has not started or cannot (`log_not_ready`)"),
        (status = 502, body = ErrorBody, description = "the node's kubelet, which holds the log, cannot be reached (`kubelet_unreachable`), or Kubernetes refused the deployer"),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn logs(runtime: State, path: web::Path<NamePath>, query: Query<LogQuery>) -> Result<HttpResponse, Error> {
    let request = query.into_inner().into_request()?;
    let text = ContentType::plaintext();
    Ok(match runtime.logs(&path.name, &request).await? {
        Log::Text(body) => HttpResponse::Ok().content_type(text).body(body),
        Log::Window { text: body, first, total } => HttpResponse::Ok()
            .content_type(text)
            .insert_header(("X-First-Line", first.to_string()))
            .insert_header(("X-Total-Lines", total.to_string()))
            .body(body),
        Log::Follow(stream) => {
            HttpResponse::Ok().content_type(text).streaming(stream.map(|chunk| chunk.map(web::Bytes::from)))
        }
    })
}

/// What to look for in a log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The text to find (or, with `regex=true`, a regular expression in Rust's syntax, which runs
    /// in linear time).
    #[param(min_length = 1, max_length = 1000, example = "ERROR")]
    pattern: String,
    #[serde(default)]
    regex: bool,
    #[serde(default)]
    #[param(rename = "ignoreCase")]
    ignore_case: bool,
    /// The run; the latest when absent.
    #[param(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length = 63)]
    run: Option<String>,
    #[serde(default)]
    #[param(value_type = Option<LogContainer>)]
    container: LogContainer,
    /// The previous attempt's log.
    #[serde(default)]
    previous: bool,
    /// At most this many matching lines (1000 when absent, at most 10000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
}

/// The lines of a run's whole log that match a pattern, with their numbers.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/logs/search", tag = "runs",
    params(NamePath, SearchQuery),
    responses(
        (status = 200, body = LogSearch),
        (status = 400, body = ErrorBody, description = "a pattern that cannot be used"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no log yet (`log_not_ready`)"),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn search_logs(
    runtime: State,
    path: web::Path<NamePath>,
    query: Query<SearchQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(Error::InvalidParameter {
            field: "limit",
            message: format!("the parameter `limit` is {limit}; 1 to 10000"),
        });
    }
    let request =
        LogRequest { run: query.run, container: query.container, previous: query.previous, ..LogRequest::default() };
    let search = SearchRequest { pattern: query.pattern, regex: query.regex, ignore_case: query.ignore_case, limit };
    Ok(HttpResponse::Ok().json(runtime.search_logs(&path.name, &request, &search).await?))
}
