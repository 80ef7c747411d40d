//! Deploy, list, inspect, change (with revisions and rollback), delete, and the Airflow export.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use service_kit::{Caller, ErrorBody, Query};
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::error::InvalidBody;
use super::{DryRunQuery, NamePath, RevisionPath, State, precondition, versioned};
use crate::error::Error;
use crate::model::{DeploymentDetail, DeploymentState, DeploymentSummary, DryRun, Outcome, Revision};
use crate::runtime::ListFilter;
use crate::spec::{DeploymentSpec, WorkloadKind};

const MAX_LIMIT: usize = 500;

/// A deploy, change or rollback's answer: the deployment with its version, or a dry run's report.
fn done(outcome: Outcome, created: bool) -> HttpResponse {
    match outcome {
        Outcome::DryRun(report) => HttpResponse::Ok().json(report),
        Outcome::Done(detail) if created => {
            let location = format!("/v1/deployments/{}", detail.value.summary.name);
            versioned(HttpResponse::Created().insert_header(("Location", location)).take(), *detail)
        }
        Outcome::Done(detail) => versioned(HttpResponse::Ok(), *detail),
    }
}

/// Deploys a Nexus artifact as a Job (no schedule) or a CronJob.
///
/// With `dryRun=true`, checks the spec (on Kubernetes, with the API server's own dry run, so its
/// validation is included) and answers what would be written, writing nothing.
#[utoipa::path(
    post, path = "/v1/deployments", tag = "deployments",
    params(DryRunQuery),
    request_body(content = DeploymentSpec, example = json!({
        "name": "sales-etl",
        "description": "Nightly sales load",
        "resource": {
            "repository": "releases", "group": "com.example.etl", "name": "sales-etl", "version": "1.4.2",
            "path": "com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "downloadUrl": "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "checksum": {"algorithm": "sha256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
        },
        "runner": {"image": "eclipse-temurin:21-jre", "command": ["sh", "-c"], "args": ["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh"]},
        "schedule": {"cron": "30 2 * * 1-5", "timeZone": "Europe/Paris", "concurrencyPolicy": "Forbid"}
    })),
    responses(
        (status = 201, body = DeploymentDetail, description = "deployed",
            headers(("ETag" = String, description = "the deployment's version, for If-Match"), ("Location" = String))),
        (status = 200, body = DryRun, description = "a dry run: what would be written"),
        (status = 400, body = InvalidBody, description = "every problem of the spec with its field (`invalid_deployment`), or Kubernetes' (`rejected_by_kubernetes`); `invalid_body` when the body cannot be read"),
        (status = 409, body = ErrorBody, description = "a deployment of that name exists (`deployment_exists`), or an object of that name the platform did not make (`name_taken`)"),
        (status = 502, body = ErrorBody, description = "Kubernetes refused the deployer"),
        (status = 503, body = ErrorBody, description = "Kubernetes cannot be reached, or is not configured"),
    )
)]
pub async fn create_deployment(
    runtime: State,
    caller: Caller,
    query: Query<DryRunQuery>,
    body: Body<DeploymentSpec>,
) -> Result<HttpResponse, Error> {
    let outcome = runtime.create(body.0, &caller.user, query.into_inner().dry_run).await?;
    Ok(done(outcome, true))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the deployments this user deployed first.
    owner: Option<String>,
    /// `Job` or `CronJob`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<WorkloadKind>)]
    kind: Option<WorkloadKind>,
    /// `Active` or `Inactive`.
    #[param(value_type = Option<DeploymentState>)]
    state: Option<DeploymentState>,
    #[param(minimum = 0, example = 0)]
    offset: Option<usize>,
    /// At most 500; 50 when absent.
    #[param(minimum = 0, maximum = 500, example = 50)]
    limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentSummary>,
    /// How many match the filters.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
}

/// The original tool's job list, by name.
#[utoipa::path(
    get, path = "/v1/deployments", tag = "deployments", params(ListQuery),
    responses(
        (status = 200, body = DeploymentList),
        (status = 400, body = ErrorBody, description = "a parameter that cannot be used"),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn list_deployments(runtime: State, query: Query<ListQuery>) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if limit > MAX_LIMIT {
        return Err(Error::InvalidParameter {
            field: "limit",
            message: format!("the parameter `limit` is {limit}; at most {MAX_LIMIT}"),
        });
    }
    let offset = query.offset.unwrap_or(0);
    let filter = ListFilter { owner: query.owner, kind: query.kind, state: query.state, offset, limit };
    let (deployments, total) = runtime.list(&filter).await?;
    Ok(HttpResponse::Ok().json(DeploymentList { deployments, total, offset, limit }))
}

/// One deployment: its spec and status, and its version (`ETag`).
#[utoipa::path(
    get, path = "/v1/deployments/{name}", tag = "deployments",
    params(NamePath),
    responses(
        (status = 200, body = DeploymentDetail, headers(("ETag" = String, description = "the deployment's version, for If-Match"))),
        (status = 400, body = ErrorBody, description = "not a deployment name"),
        (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn get_deployment(runtime: State, path: web::Path<NamePath>) -> Result<HttpResponse, Error> {
    Ok(versioned(HttpResponse::Ok(), runtime.get(&path.name).await?))
}

/// Changes a deployment in place (version, image, schedule, configuration): a new revision. Its
/// suspension is kept. With `If-Match`, only over that version (412 else).
#[utoipa::path(
    put, path = "/v1/deployments/{name}", tag = "deployments",
    request_body(content = DeploymentSpec, example = json!({
        "name": "sales-etl",
        "description": "Nightly sales load",
        "resource": {
            "repository": "releases", "group": "com.example.etl", "name": "sales-etl", "version": "1.4.2",
            "path": "com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "downloadUrl": "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "checksum": {"algorithm": "sha256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
        },
        "runner": {"image": "eclipse-temurin:21-jre", "command": ["sh", "-c"], "args": ["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh"]},
        "schedule": {"cron": "30 2 * * 1-5", "timeZone": "Europe/Paris", "concurrencyPolicy": "Forbid"}
    })),
    params(NamePath, DryRunQuery, ("If-Match" = Option<String>, Header, description = "the ETag of the version this change is made over")),
    responses(
        (status = 200, body = DeploymentDetail, description = "changed (or, with dryRun, a DryRun)", headers(("ETag" = String))),
        (status = 400, body = InvalidBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "changed by someone else meanwhile (`changed_meanwhile`), or a new kind whose name an object the platform did not make holds (`name_taken`)"),
        (status = 412, body = ErrorBody, description = "the deployment is no longer the version named by If-Match (`precondition_failed`)"),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn update_deployment(
    runtime: State,
    caller: Caller,
    request: HttpRequest,
    path: web::Path<NamePath>,
    query: Query<DryRunQuery>,
    body: Body<DeploymentSpec>,
) -> Result<HttpResponse, Error> {
    let condition = precondition(&request);
    let outcome = runtime.change(&path.name, body.0, &caller.user, &condition, query.into_inner().dry_run).await?;
    Ok(done(outcome, false))
}

/// Removes the deployment: its Job or CronJob, their runs and pods (in the background), and its
/// Secrets (credentials and revisions).
#[utoipa::path(
    delete, path = "/v1/deployments/{name}", tag = "deployments",
    params(NamePath, ("If-Match" = Option<String>, Header, description = "the ETag of the version to remove")),
    responses(
        (status = 204, description = "removed"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "being deleted already, or changed meanwhile"),
        (status = 412, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn delete_deployment(
    runtime: State,
    request: HttpRequest,
    path: web::Path<NamePath>,
) -> Result<HttpResponse, Error> {
    runtime.delete(&path.name, &precondition(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every revision, newest first, each with its author, time and spec.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/revisions", tag = "deployments",
    params(NamePath),
    responses((status = 200, body = [Revision]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn list_revisions(runtime: State, path: web::Path<NamePath>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(runtime.revisions(&path.name).await?))
}

/// Deploys the spec of an earlier revision again, as a new revision.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/revisions/{revision}/rollback", tag = "deployments",
    params(RevisionPath, ("If-Match" = Option<String>, Header, description = "the ETag of the version rolled back from")),
    responses(
        (status = 200, body = DeploymentDetail, headers(("ETag" = String))),
        (status = 400, body = InvalidBody, description = "the revision's spec is no longer accepted (`invalid_deployment`, `rejected_by_kubernetes`)"),
        (status = 404, body = ErrorBody, description = "no such deployment or revision"),
        (status = 409, body = ErrorBody, description = "changed meanwhile, or a Secret the revision needs is gone (`revision_not_runnable`)"),
        (status = 412, body = ErrorBody),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn rollback(
    runtime: State,
    caller: Caller,
    request: HttpRequest,
    path: web::Path<RevisionPath>,
) -> Result<HttpResponse, Error> {
    let outcome = runtime.rollback(&path.name, path.revision, &caller.user, &precondition(&request)).await?;
    Ok(done(outcome, false))
}

/// The deployment as an Airflow DAG file (Python) with a KubernetesPodOperator doing the same.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/airflow", tag = "deployments",
    params(NamePath),
    responses(
        (status = 200, content_type = "text/x-python", body = String),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the deployment cannot run on Kubernetes as it is (`not_exportable`, `no_spec`)"),
        (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn airflow_dag(runtime: State, path: web::Path<NamePath>) -> Result<HttpResponse, Error> {
    let (file, dag) = runtime.airflow(&path.name).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/x-python; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{file}\"")))
        .body(dag))
}
