//! `GET /v1/jobs/history/{jobId}/logs`: a run's archived container logs (`docs/contracts/job-logs.md`),
//! their last lines, a range of them, or the lines matching a pattern, with their numbers; a 404
//! that says why when there is none (the run is still running, never started, or the log was
//! dropped).

pub mod lines;

use std::ops::RangeInclusive;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use common::job::{Job, JobStatus};
use common::job_log::Container;
use history_store::DbPool;
use history_store::logs::read::{self, Reading, Served};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use service_kit::{ErrorBody, Query};
use utoipa::{IntoParams, ToSchema};

use self::lines::{Loaded, Present};
use crate::api::{count, flag, locale};
use crate::error::ApiError;
use crate::messages::{self, Locale};

/// Lines answered when `tailLines` is not given, and the most it may ask.
pub const DEFAULT_LINES: i64 = 1000;
pub const MAX_LINES: i64 = 10_000;
/// The longest pattern a search takes.
pub const MAX_PATTERN: usize = 1000;

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/v1/jobs/history/{jobId}/logs", web::get().to(get_logs));
}

/// Which log, which lines.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// `runner` (the default: the job's own output) or `fetch` (the step that downloads the resource).
    #[param(value_type = Option<Container>)]
    container: Option<String>,
    /// 1 for the run's first attempt (pod); the latest archived when absent.
    #[param(value_type = Option<i32>, minimum = 1, example = 1)]
    attempt: Option<String>,
    /// How many lines (with `grep`: matching lines) to answer: the last ones, or, with `offset`,
    /// those after it. 1000 when absent, at most 10000.
    #[serde(rename = "tailLines")]
    #[param(rename = "tailLines", value_type = Option<i64>, minimum = 0, maximum = 10000, example = 1000)]
    tail_lines: Option<String>,
    /// Answer lines after line number `offset` (so the first line answered is `offset + 1`)
    /// instead of the last ones: how a viewer loads earlier lines.
    #[param(value_type = Option<i64>, minimum = 0, example = 0)]
    offset: Option<String>,
    /// Answer only the lines containing this text (or matching it, with `regex=true`), searched on
    /// the server in the whole log; `total` is then how many lines match.
    #[param(min_length = 1, max_length = 1000, example = "ERROR")]
    grep: Option<String>,
    /// `grep` is a regular expression (Rust's syntax, which runs in linear time).
    #[param(value_type = Option<bool>)]
    regex: Option<String>,
    #[serde(rename = "ignoreCase")]
    #[param(rename = "ignoreCase", value_type = Option<bool>)]
    ignore_case: Option<String>,
    /// The language of error messages: `en` (default), `pt_BR` or `fr`.
    #[param(example = "pt_BR", pattern = r"^(([eE][nN]|[pP][tT]|[fF][rR])([_-][A-Za-z]+)?)?$")]
    locale: Option<String>,
}

/// A run's archived log, or the part of it asked for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedLog {
    pub job_id: String,
    pub container: Container,
    pub attempt: i32,
    /// Every log the history keeps of this run: what a viewer offers to switch to.
    pub archived: Vec<ArchivedEntry>,
    /// When the container ended.
    #[serde(with = "common::time::utc_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub ended_at: DateTime<Utc>,
    /// Every chunk of the log arrived. When false, `missing` names the lines lost.
    pub complete: bool,
    /// The number of the first line kept: lines before it were cut to keep the log within the
    /// deployer's bound (`droppedLines` of them, `droppedBytes` bytes); lines keep their numbers in
    /// the container's whole log.
    pub first_line: i64,
    /// The number of the last line.
    pub last_line: i64,
    pub dropped_lines: i64,
    pub dropped_bytes: i64,
    /// Bytes kept.
    pub kept_bytes: i64,
    /// Lines lost with chunks that never arrived (an incomplete log), in order.
    pub missing: Vec<LineRange>,
    /// Lines of the log here (with `grep`: lines matching).
    pub total: i64,
    /// The lines answered, in order.
    pub lines: Vec<LogLine>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedEntry {
    pub container: Container,
    pub attempt: i32,
    pub complete: bool,
    #[serde(with = "common::time::utc_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub ended_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LogLine {
    /// Its number in the container's whole log, from 1.
    pub line: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LineRange {
    pub from: i64,
    pub to: i64,
}

/// What to answer of a log.
#[derive(Debug)]
struct Ask {
    /// Lines after this number, or the last ones.
    offset: Option<i64>,
    lines: i64,
    grep: Option<Regex>,
}

/// A run's archived container log.
#[utoipa::path(
    get,
    path = "/v1/jobs/history/{jobId}/logs",
    tag = "history",
    params(("jobId" = String, Path, example = "admi@test.CBNNGZHYE2"), LogParams),
    responses(
        (status = 200, description = "The log's last lines (or those after `offset`, or those matching `grep`), numbered", body = ArchivedLog),
        (status = 400, description = "A parameter is wrong (`field` says which), or `grep` is no regular expression", body = ErrorBody),
        (status = 404, description = "No archived log, and why: `job_not_found`, `run_still_running` (archived when the container ends; the deployer serves it meanwhile), `run_never_started` (the run ended before that container started, or has no such attempt), `log_dropped` (the retention removed it, or the deployer could not read it, or it never came)", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody)
    )
)]
pub async fn get_logs(
    pool: web::Data<DbPool>,
    job_id: web::Path<String>,
    params: Query<LogParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let locale = locale(params.locale.as_deref())?;
    let container = match params.container.as_deref() {
        None => Container::Runner,
        Some(text) => {
            text.parse().map_err(|()| ApiError::invalid("container", messages::unknown_container(text, locale)))?
        }
    };
    let attempt = match params.attempt.as_deref() {
        None => None,
        Some(text) => match text.parse::<i32>() {
            Ok(attempt) if attempt >= 1 => Some(attempt),
            _ => return Err(ApiError::invalid("attempt", messages::not_an_attempt(text, locale))),
        },
    };
    let lines = count("tailLines", params.tail_lines.as_deref(), DEFAULT_LINES, locale)?;
    if lines > MAX_LINES {
        return Err(ApiError::invalid("tailLines", messages::too_many_lines(lines, MAX_LINES, locale)));
    }
    let offset = params.offset.as_deref().map(|o| count("offset", Some(o), 0, locale)).transpose()?;
    // Checked even without `grep`: a value the document does not allow is refused wherever it is.
    let regex = flag("regex", params.regex.as_deref(), locale)?.unwrap_or(false);
    let ignore_case = flag("ignoreCase", params.ignore_case.as_deref(), locale)?.unwrap_or(false);
    let grep = match params.grep.as_deref() {
        None => None,
        Some(pattern) => Some(matcher(pattern, regex, ignore_case, locale)?),
    };
    if job_id.contains('\0') {
        return Err(ApiError::NotFound(ErrorBody::new("job_not_found", messages::job_not_found(&job_id, locale))));
    }

    let mut connection = pool.get().await.map_err(|e| ApiError::unavailable(&e, locale))?;
    let readings = read::readings(&mut connection, &job_id).await.map_err(|e| ApiError::query(&e, locale))?;
    let attempt = attempt.or_else(|| latest_attempt(&readings, container)).unwrap_or(1);
    let of_log = readings.iter().filter(|r| r.container() == Some(container) && r.row.attempt == attempt);
    let reading = match read::served(of_log) {
        Served::Reading(reading) => reading,
        Served::Unavailable(notice) => {
            let why = notice.row.unavailable.clone().unwrap_or_default();
            return Err(dropped(messages::log_not_read(container.as_str(), attempt, &why, locale)));
        }
        Served::Removed(tombstone) => {
            let (when, why) = (tombstone.row.removed_at.unwrap_or_default(), tombstone.row.removal.as_deref());
            return Err(dropped(messages::log_removed(
                container.as_str(),
                attempt,
                &when,
                why == Some("size"),
                locale,
            )));
        }
        Served::Nothing => {
            let job = history_store::read::find(&mut connection, &job_id, false)
                .await
                .map_err(|e| ApiError::query(&e, locale))?;
            return Err(why_none(&job_id, job.as_ref(), container, attempt, locale));
        }
    };

    let ask = Ask { offset, lines, grep };
    let chunks = read::chunk_lines(&mut connection, &reading.row).await.map_err(|e| ApiError::query(&e, locale))?;
    let present = Present::of(&chunks);
    let wanted: Vec<i32> = match (&ask.grep, ask.offset) {
        (Some(_), _) => chunks.iter().map(|c| c.chunk).collect(),
        (None, Some(offset)) => lines::chunks_for(&chunks, &(offset + 1..=offset.saturating_add(ask.lines))),
        (None, None) => present.last(ask.lines).map(|range| lines::chunks_for(&chunks, &range)).unwrap_or_default(),
    };
    let contents =
        read::contents(&mut connection, &reading.row, &wanted).await.map_err(|e| ApiError::query(&e, locale))?;
    drop(connection);

    let row = &reading.row;
    let (first_line, last_line) = (row.dropped_lines + 1, row.dropped_lines + row.kept_lines);
    let missing =
        present.missing(first_line, last_line).into_iter().map(|r| LineRange { from: *r.start(), to: *r.end() });
    let missing = missing.collect();
    // Decompressing and searching is CPU work: off the server's threads.
    let (total, answered) = web::block(move || answer(&chunks, contents, &present, &ask))
        .await
        .map_err(|error| internal(&error, locale))?
        .map_err(|error| internal(&error, locale))?;
    Ok(HttpResponse::Ok().json(ArchivedLog {
        job_id: job_id.into_inner(),
        container,
        attempt,
        archived: archived(&readings),
        ended_at: row.ended_at,
        complete: reading.complete(),
        first_line,
        last_line,
        dropped_lines: row.dropped_lines,
        dropped_bytes: row.dropped_bytes,
        kept_bytes: row.kept_bytes,
        missing,
        total,
        lines: answered,
    }))
}

/// `pattern` as a matcher of lines: text unless `regex`, with a bounded size.
fn matcher(pattern: &str, regex: bool, ignore_case: bool, locale: Locale) -> Result<Regex, ApiError> {
    if pattern.is_empty() || pattern.len() > MAX_PATTERN {
        return Err(ApiError::invalid("grep", messages::pattern_length(MAX_PATTERN, locale)));
    }
    let source = if regex { pattern.to_owned() } else { regex::escape(pattern) };
    RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .size_limit(1 << 20)
        .build()
        .map_err(|error| ApiError::invalid("grep", messages::not_a_regex(pattern, &error.to_string(), locale)))
}

/// The highest attempt of `container` with a log to serve; else the highest named at all (so that
/// the 404 says what became of it).
fn latest_attempt(readings: &[Reading], container: Container) -> Option<i32> {
    let attempts: std::collections::BTreeSet<i32> =
        readings.iter().filter(|r| r.container() == Some(container)).map(|r| r.row.attempt).collect();
    let serves = |attempt: &&i32| {
        let same = readings.iter().filter(|r| r.container() == Some(container) && r.row.attempt == **attempt);
        matches!(read::served(same), Served::Reading(_))
    };
    attempts.iter().rev().find(serves).or(attempts.last()).copied()
}

/// Every log of the run that has a reading to serve, by container and attempt.
fn archived(readings: &[Reading]) -> Vec<ArchivedEntry> {
    let mut keys: Vec<(Container, i32)> =
        readings.iter().filter_map(|r| Some((r.container()?, r.row.attempt))).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|(container, attempt)| {
            let same = readings.iter().filter(|r| r.container() == Some(container) && r.row.attempt == attempt);
            let Served::Reading(reading) = read::served(same) else { return None };
            Some(ArchivedEntry { container, attempt, complete: reading.complete(), ended_at: reading.row.ended_at })
        })
        .collect()
}

/// The answer's lines and its `total`, from the chunks loaded.
fn answer(
    chunks: &[read::ChunkLines],
    contents: Vec<(i32, Vec<u8>)>,
    present: &Present,
    ask: &Ask,
) -> std::io::Result<(i64, Vec<LogLine>)> {
    let mut loaded = Vec::with_capacity(contents.len());
    for (index, content) in contents {
        let Ok(at) = chunks.binary_search_by_key(&index, |c| c.chunk) else { continue };
        let text = history_store::logs::decompress(&content, chunks[at].bytes)?;
        loaded.push(Loaded { lines: chunks[at], text });
    }
    let limit = usize::try_from(ask.lines).unwrap_or(usize::MAX);
    let line = |number: i64, text: &str| LogLine { line: number, text: text.to_owned() };
    if let Some(grep) = &ask.grep {
        let mut total = 0;
        let mut answered = std::collections::VecDeque::new();
        lines::each_line(&loaded, |number, text| {
            if grep.is_match(text) {
                total += 1;
                match ask.offset {
                    Some(offset) if number > offset && answered.len() < limit => answered.push_back(line(number, text)),
                    Some(_) => {}
                    None => {
                        answered.push_back(line(number, text));
                        if answered.len() > limit {
                            answered.pop_front();
                        }
                    }
                }
            }
            true
        });
        return Ok((total, answered.into()));
    }
    let range: RangeInclusive<i64> = match ask.offset.map(|offset| offset + 1..=offset.saturating_add(ask.lines)) {
        Some(range) => range,
        None => match present.last(ask.lines) {
            Some(range) => range,
            None => return Ok((present.count(), Vec::new())),
        },
    };
    let mut answered = Vec::new();
    lines::each_line(&loaded, |number, text| {
        if range.contains(&number) && answered.len() < limit {
            answered.push(line(number, text));
        }
        number < *range.end()
    });
    Ok((present.count(), answered))
}

fn dropped(message: String) -> ApiError {
    ApiError::NotFound(ErrorBody::new("log_dropped", message))
}

/// Why a log the history never received is not there, from what the history knows of the run.
fn why_none(job_id: &str, job: Option<&Job>, container: Container, attempt: i32, locale: Locale) -> ApiError {
    let Some(job) = job else {
        return ApiError::NotFound(ErrorBody::new("job_not_found", messages::job_not_found(job_id, locale)));
    };
    let reached = |status: JobStatus| job.status_history.iter().any(|change| change.status == status);
    let started = reached(match container {
        Container::Fetch => JobStatus::Init,
        Container::Runner => JobStatus::Executing,
    });
    let never_started = |message| ApiError::NotFound(ErrorBody::new("run_never_started", message));
    let name = container.as_str();
    if !reached(JobStatus::Finished) {
        return ApiError::NotFound(ErrorBody::new("run_still_running", messages::still_running(name, attempt, locale)));
    }
    if let Some(attempts) = job.number_of_attempts.filter(|attempts| i64::from(attempt) > *attempts) {
        return never_started(messages::no_such_attempt(attempt, attempts, locale));
    }
    if !started {
        let status = job.exit_status.map_or("", |status| status.name());
        return never_started(messages::never_started(name, status, locale));
    }
    dropped(messages::never_archived(name, attempt, locale))
}

/// A fault of ours: logged with its cause, answered 500 without it.
fn internal(error: &dyn std::fmt::Display, locale: Locale) -> ApiError {
    tracing::error!(%error, "cannot read an archived log");
    ApiError::Internal(ErrorBody::new("internal_error", messages::internal_error(locale)))
}
