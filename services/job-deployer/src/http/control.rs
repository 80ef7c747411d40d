//! Suspend, resume, run now.

use actix_web::{HttpRequest, HttpResponse, web};
use service_kit::{Caller, ErrorBody};

use super::body::OptionalBody;
use super::error::InvalidBody;
use super::{NamePath, State, precondition, versioned};
use crate::error::Error;
use crate::model::{DeploymentDetail, Run, RunOverrides, SuspendRequest};

/// Stops a CronJob from starting runs (runs going on finish); the reason is shown until resumed.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/suspend", tag = "control",
    params(NamePath, ("If-Match" = Option<String>, Header, description = "the ETag of the version suspended")),
    request_body(content = Option<SuspendRequest>, description = "optional; when given, exactly this shape"),
    responses(
        (status = 200, body = DeploymentDetail, headers(("ETag" = String))),
        (status = 400, body = ErrorBody, description = "a body that cannot be read (`invalid_body`)"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a Job, not a CronJob (`not_a_cronjob`)"),
        (status = 412, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn suspend(
    runtime: State,
    request: HttpRequest,
    path: web::Path<NamePath>,
    body: OptionalBody<SuspendRequest>,
) -> Result<HttpResponse, Error> {
    let reason = body.0.and_then(|body| body.reason);
    let detail = runtime.set_suspended(&path.name, true, reason, &precondition(&request)).await?;
    Ok(versioned(HttpResponse::Ok(), detail))
}

/// Lets a suspended CronJob run on its schedule again.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/resume", tag = "control",
    params(NamePath, ("If-Match" = Option<String>, Header, description = "the ETag of the version resumed")),
    responses(
        (status = 200, body = DeploymentDetail, headers(("ETag" = String))),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a Job, not a CronJob (`not_a_cronjob`)"),
        (status = 412, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn resume(runtime: State, request: HttpRequest, path: web::Path<NamePath>) -> Result<HttpResponse, Error> {
    let detail = runtime.set_suspended(&path.name, false, None, &precondition(&request)).await?;
    Ok(versioned(HttpResponse::Ok(), detail))
}

/// Starts a run of a CronJob now, from its template (as `kubectl create job --from=cronjob/...`),
/// with one-off variables and arguments.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/run", tag = "control",
    params(NamePath), request_body(content = Option<RunOverrides>, description = "optional; when given, exactly this shape"),
    responses(
        (status = 201, body = Run),
        (status = 400, body = InvalidBody, description = "overrides with problems (`invalid_deployment`), or a body that cannot be read (`invalid_body`)"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a Job, not a CronJob (`not_a_cronjob`)"),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn run_now(
    runtime: State,
    caller: Caller,
    path: web::Path<NamePath>,
    body: OptionalBody<RunOverrides>,
) -> Result<HttpResponse, Error> {
    let overrides = body.0.unwrap_or_default();
    Ok(HttpResponse::Created().json(runtime.run_now(&path.name, &overrides, &caller.user).await?))
}
