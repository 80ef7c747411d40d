//! The HTTP API: search, one job, soft delete.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use common::job::Job;
use history_store::DbPool;
use serde::{Deserialize, Serialize};
use service_kit::{ErrorBody, Query};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::messages::{self, Locale};
use crate::query::limits::QueryLimits;
use crate::query::{self, QueryError, selectors};
use crate::search::{self, Search, SearchError};

/// The largest page a search answers.
pub const MAX_LIMIT: i64 = 1000;

/// How much a search may ask, and for how long it may run.
#[derive(Debug, Clone, Copy)]
pub struct Searches {
    pub limits: QueryLimits,
    pub timeout: Duration,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/v1/jobs/history", web::get().to(search_jobs))
        // Before `{jobId}`, which would take the word for a job id.
        .route("/v1/jobs/history/selectors", web::get().to(list_selectors))
        .route("/v1/jobs/history/{jobId}", web::get().to(get_job))
        .route("/v1/jobs/history/{jobId}", web::delete().to(delete_job));
}

/// The parameters of a search. All arrive as text and are checked here, so that every error is in
/// the caller's `locale`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// An RSQL query over the job fields (`GET /v1/jobs/history/selectors` lists them); absent,
    /// every job. Operators `==`, `!=`, `=gt=` (`>`), `=ge=` (`>=`), `=lt=` (`<`), `=le=` (`<=`),
    /// `=in=`, `=out=`, and `=isnull=`, `=notnull=` with no value (a list is null when empty); `;`
    /// or ` and ` is AND (binds tighter), `,` or ` or ` is OR; `*` in a text value is a wildcard, in
    /// a status (`exitStatus==*ERROR`) it matches the names. Date-times: `yyyy/MM/dd[ HH:mm[:ss[.SSS]]]`
    /// with a mandatory offset (`-03`, `+0130`; `%2B` for `+` in a URL), or RFC 3339. Inside one AND
    /// group, `param*` comparisons hold for the same parameter and `algorithm*` ones for the same
    /// algorithm.
    #[param(example = "(paramLabel=='Sleeps');(paramValue=in=('3','1'))")]
    q: Option<String>,
    /// How many matching jobs to skip.
    #[param(value_type = Option<i64>, minimum = 0, example = 0)]
    offset: Option<String>,
    /// How many jobs to return, at most 1000.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1000, example = 20)]
    limit: Option<String>,
    /// The field to sort by (any single-valued selector); without it, newest `submissionTime` first.
    /// Ties are broken by `jobId`, ascending.
    #[param(example = "submissionTime")]
    attr: Option<String>,
    /// Ascending (true, the default with `attr`) or descending.
    #[param(value_type = Option<bool>, example = true)]
    asc: Option<String>,
    /// false leaves the algorithms' parameters out of the answer.
    #[serde(rename = "showParam")]
    #[param(rename = "showParam", value_type = Option<bool>, example = true)]
    show_param: Option<String>,
    /// The language of error messages: `en` (default), `pt_BR` or `fr` (also `pt-BR`, `fr_FR`... in any case).
    #[param(example = "pt_BR", pattern = r"^(([eE][nN]|[pP][tT]|[fF][rR])([_-][A-Za-z]+)?)?$")]
    locale: Option<String>,
}

/// The options of reading one job.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// false leaves the algorithms' parameters out of the answer.
    #[serde(rename = "showParam")]
    #[param(rename = "showParam", value_type = Option<bool>)]
    show_param: Option<String>,
    /// The language of error messages: `en` (default), `pt_BR` or `fr` (also `pt-BR`, `fr_FR`... in any case).
    #[param(example = "pt_BR", pattern = r"^(([eE][nN]|[pP][tT]|[fF][rR])([_-][A-Za-z]+)?)?$")]
    locale: Option<String>,
}

/// The language of a change's errors.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocaleParams {
    /// The language of error messages: `en` (default), `pt_BR` or `fr` (also `pt-BR`, `fr_FR`... in any case).
    #[param(example = "pt_BR", pattern = r"^(([eE][nN]|[pP][tT]|[fF][rR])([_-][A-Za-z]+)?)?$")]
    locale: Option<String>,
}

/// A page of matching jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub jobs: Vec<Job>,
    /// How many jobs match in all.
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// The type of a selector's values.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SelectorType {
    String,
    Integer,
    Number,
    Datetime,
    Boolean,
    /// One of the names in `values`.
    Enum,
}

/// A selector that `q` may name, with what it takes: what a query builder offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelectorInfo {
    #[schema(example = "exitStatus")]
    pub name: &'static str,
    #[serde(rename = "type")]
    pub value_type: SelectorType,
    /// Several values per job (`status`, `submissionMachines`, `paramValue`): a comparison holds
    /// when an element matches, `!=` and `=out=` when the list is not empty and none does, and the
    /// list is null (`=isnull=`) when it has no element.
    pub list: bool,
    /// The operators it takes, each in its canonical spelling.
    #[schema(example = json!(["==", "!=", "=in=", "=out=", "=isnull=", "=notnull="]))]
    pub operators: Vec<&'static str>,
    /// Every value it can take, for enums and booleans.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["UNKNOWN", "SUCCESS", "EXECUTION_ERROR"]))]
    pub values: Option<Vec<&'static str>>,
    /// Whether `*` stands for any run of characters in its values (text, and the names of an enum).
    pub wildcards: bool,
    /// Whether a search can be sorted by it (`attr`).
    pub sortable: bool,
}

/// The selectors a query may name.
#[utoipa::path(
    get,
    path = "/v1/jobs/history/selectors",
    tag = "history",
    responses((status = 200, description = "Every selector, in the order of the job's fields; a job whose id is `selectors` is found with `q=jobId==selectors`", body = Vec<SelectorInfo>))
)]
pub async fn list_selectors() -> HttpResponse {
    use common::rsql::value::ValueType;
    let infos: Vec<SelectorInfo> = selectors::SELECTORS
        .iter()
        .map(|selector| {
            let (value_type, values) = match selector.value_type {
                ValueType::Text => (SelectorType::String, None),
                ValueType::Integer => (SelectorType::Integer, None),
                ValueType::Decimal => (SelectorType::Number, None),
                ValueType::DateTime => (SelectorType::Datetime, None),
                ValueType::Boolean => (SelectorType::Boolean, Some(vec!["true", "false"])),
                ValueType::JobStatus => (SelectorType::Enum, Some(common::job::JobStatus::names())),
                ValueType::ExitStatus => (SelectorType::Enum, Some(common::job::ExitStatus::names())),
            };
            SelectorInfo {
                name: selector.name,
                value_type,
                list: selector.list,
                operators: selector.operators().map(common::rsql::Operator::symbol).collect(),
                values,
                wildcards: selector.takes_wildcards(),
                sortable: selectors::sortable(selector.name).is_some(),
            }
        })
        .collect();
    HttpResponse::Ok().json(infos)
}

/// Search the history.
#[utoipa::path(
    get,
    path = "/v1/jobs/history",
    tag = "history",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of matching jobs", body = SearchResponse),
        (status = 400, description = "A parameter or the query is wrong, or the query asks more than its bounds allow (`query_too_large`); `field` and `position` say where", body = ErrorBody),
        (status = 503, description = "The database does not answer (`database_unavailable`), or the search did not finish in time (`query_timeout`)", body = ErrorBody)
    )
)]
pub async fn search_jobs(
    pool: web::Data<DbPool>,
    searches: web::Data<Searches>,
    params: Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let locale = locale(params.locale.as_deref())?;
    let offset = count("offset", params.offset.as_deref(), 0, locale)?;
    let limit = count("limit", params.limit.as_deref(), MAX_LIMIT, locale)?;
    if limit > MAX_LIMIT {
        return Err(ApiError::invalid("limit", messages::limit_too_large(limit, MAX_LIMIT, locale)));
    }
    let ascending = flag("asc", params.asc.as_deref(), locale)?;
    let with_parameters = flag("showParam", params.show_param.as_deref(), locale)?.unwrap_or(true);
    let sort = match (params.attr.as_deref().filter(|a| !a.is_empty()), ascending) {
        (Some(attr), ascending) => {
            let selector = selectors::sortable(attr)
                .ok_or_else(|| ApiError::invalid("attr", messages::unknown_sort(attr, locale)))?;
            Some((selector, ascending.unwrap_or(true)))
        }
        (None, Some(ascending)) => selectors::sortable("submissionTime").map(|s| (s, ascending)),
        (None, None) => None,
    };
    let limits = &searches.limits;
    let condition = match params.q.as_deref().filter(|q| !q.is_empty()) {
        None => None,
        Some(q) => Some(
            limits
                .check_length(q)
                .map_err(QueryError::TooLarge)
                .and_then(|()| common::rsql::parse(q).map_err(QueryError::Parse))
                .and_then(|tree| query::condition(&tree, limits))
                .map_err(|error| bad_query(&error, locale))?,
        ),
    };
    let search = Search { condition, sort, offset, limit, with_parameters };
    let page = search::run(&pool, &search, searches.timeout).await.map_err(|error| match error {
        SearchError::Unavailable(error) => ApiError::unavailable(&error, locale),
        SearchError::Query(error) => ApiError::query(&error, locale),
        SearchError::Timeout(timeout) => ApiError::timeout(timeout, locale),
    })?;
    Ok(HttpResponse::Ok().json(SearchResponse { jobs: page.jobs, total: page.total, offset, limit }))
}

/// One job.
#[utoipa::path(
    get,
    path = "/v1/jobs/history/{jobId}",
    tag = "history",
    params(("jobId" = String, Path, example = "admi@test.CBNNGZHYE2"), JobParams),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "A parameter is wrong; `field` says which", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody)
    )
)]
pub async fn get_job(
    pool: web::Data<DbPool>,
    job_id: web::Path<String>,
    params: Query<JobParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let locale = locale(params.locale.as_deref())?;
    let with_parameters = flag("showParam", params.show_param.as_deref(), locale)?.unwrap_or(true);
    if job_id.contains('\0') {
        return Err(not_found(&job_id, locale));
    }
    let mut connection = pool.get().await.map_err(|e| ApiError::unavailable(&e, locale))?;
    match history_store::read::find(&mut connection, &job_id, with_parameters)
        .await
        .map_err(|e| ApiError::query(&e, locale))?
    {
        Some(job) => Ok(HttpResponse::Ok().json(job)),
        None => Err(not_found(&job_id, locale)),
    }
}

/// Mark a job deleted. It stays in the history, with `isDeleted` true; doing it again changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/jobs/history/{jobId}",
    tag = "history",
    params(("jobId" = String, Path, example = "admi@test.CBNNGZHYE2"), LocaleParams),
    responses(
        (status = 204, description = "The job is marked deleted"),
        (status = 400, description = "A parameter is wrong; `field` says which", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody)
    )
)]
pub async fn delete_job(
    pool: web::Data<DbPool>,
    job_id: web::Path<String>,
    params: Query<LocaleParams>,
) -> Result<HttpResponse, ApiError> {
    let locale = locale(params.into_inner().locale.as_deref())?;
    if job_id.contains('\0') {
        return Err(not_found(&job_id, locale));
    }
    let mut connection = pool.get().await.map_err(|e| ApiError::unavailable(&e, locale))?;
    if history_store::deletion::soft_delete(&mut connection, &job_id).await.map_err(|e| ApiError::query(&e, locale))? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found(&job_id, locale))
    }
}

fn not_found(job_id: &str, locale: Locale) -> ApiError {
    ApiError::NotFound(ErrorBody::new("job_not_found", messages::job_not_found(job_id, locale)))
}

fn bad_query(error: &QueryError, locale: Locale) -> ApiError {
    let code = if matches!(error, QueryError::TooLarge(_)) { "query_too_large" } else { "invalid_query" };
    let body = ErrorBody::new(code, messages::query_error(error, locale))
        .with_field("q")
        .with_position(error.span().position());
    ApiError::BadRequest(body)
}

pub(crate) fn locale(text: Option<&str>) -> Result<Locale, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(Locale::default()),
        Some(text) => text.parse().map_err(|()| {
            ApiError::invalid("locale", format!("unsupported locale `{text}`; the locales are en, pt_BR and fr"))
        }),
    }
}

/// A whole number of 0 or more, `default` when absent. An empty value is refused like any other
/// that is not a number: the document says integer, and "absent" is said by leaving it out.
pub(crate) fn count(name: &str, text: Option<&str>, default: i64, locale: Locale) -> Result<i64, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => match text.parse::<i64>() {
            Ok(number) if number >= 0 => Ok(number),
            _ => Err(ApiError::invalid(name, messages::not_a_count(name, text, locale))),
        },
    }
}

/// true or false (any case), `None` when absent; an empty value is refused, as in `count`.
pub(crate) fn flag(name: &str, text: Option<&str>, locale: Locale) -> Result<Option<bool>, ApiError> {
    match text {
        None => Ok(None),
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(ApiError::invalid(name, messages::not_a_boolean(name, text, locale))),
        },
    }
}
