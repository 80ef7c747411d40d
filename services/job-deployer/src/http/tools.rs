//! What a deployment form needs besides deployments: when a schedule would fire, and the runner
//! images on offer.

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use service_kit::{ErrorBody, Query};
use utoipa::IntoParams;

use super::State;
use crate::error::Error;
use crate::model::{RunnerImage, SchedulePreview};

const MAX_COUNT: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// A schedule as a deployment takes it (five fields, or `@daily`...; the local runtime also
    /// takes six, seconds first).
    #[param(example = "30 2 * * 1-5")]
    cron: String,
    /// An IANA time zone; UTC when absent.
    #[param(rename = "timeZone", example = "Europe/Paris")]
    time_zone: Option<String>,
    /// How many times (5 when absent, at most 100).
    #[param(minimum = 1, maximum = 100)]
    count: Option<usize>,
    /// From when (RFC 3339); now when absent.
    after: Option<DateTime<Utc>>,
}

/// The next times a schedule fires, with the same reading as a deployment's (the CronJob
/// controller's rules on Kubernetes); a schedule a deployment would refuse is refused here too.
#[utoipa::path(
    get, path = "/v1/schedules/preview", tag = "tools",
    params(PreviewQuery),
    responses(
        (status = 200, body = SchedulePreview),
        (status = 400, body = ErrorBody, description = "a schedule or zone a deployment would refuse, with why (`field`: cron or timeZone)"),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn schedule_preview(runtime: State, query: Query<PreviewQuery>) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let count = query.count.unwrap_or(5);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(Error::InvalidParameter {
            field: "count",
            message: format!("the parameter `count` is {count}; 1 to {MAX_COUNT}"),
        });
    }
    let after = query.after.unwrap_or_else(Utc::now);
    let times = runtime.schedule_preview(&query.cron, query.time_zone.as_deref(), after, count)?;
    Ok(HttpResponse::Ok().json(SchedulePreview {
        cron: query.cron,
        time_zone: query.time_zone.unwrap_or_else(|| "UTC".to_owned()),
        times,
    }))
}

/// The runner images on offer (`JOB_DEPLOYER_RUNNERS_FILE`), each with a description and the
/// command a deployment starts from.
#[utoipa::path(
    get, path = "/v1/runners", tag = "tools",
    responses((status = 200, body = [RunnerImage]))
)]
pub async fn runners(runtime: State) -> HttpResponse {
    HttpResponse::Ok().json(runtime.runners())
}
