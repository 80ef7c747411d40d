//! The HTTP API. Each handler extracts what the request says, calls the runtime, and answers;
//! errors become answers in one place ([`error`]).

pub mod body;
mod control;
mod deployments;
pub mod error;
mod runs;
mod tools;

use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::OpenApi;

use crate::model::{DeploymentDetail, Precondition, Versioned};
use crate::runtime::Runtime;
use crate::spec::names;

pub use self::error::InvalidBody;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/v1/deployments", web::post().to(deployments::create_deployment))
        .route("/v1/deployments", web::get().to(deployments::list_deployments))
        .route("/v1/deployments/{name}", web::get().to(deployments::get_deployment))
        .route("/v1/deployments/{name}", web::put().to(deployments::update_deployment))
        .route("/v1/deployments/{name}", web::delete().to(deployments::delete_deployment))
        .route("/v1/deployments/{name}/revisions", web::get().to(deployments::list_revisions))
        .route("/v1/deployments/{name}/revisions/{revision}/rollback", web::post().to(deployments::rollback))
        .route("/v1/deployments/{name}/airflow", web::get().to(deployments::airflow_dag))
        .route("/v1/deployments/{name}/suspend", web::post().to(control::suspend))
        .route("/v1/deployments/{name}/resume", web::post().to(control::resume))
        .route("/v1/deployments/{name}/run", web::post().to(control::run_now))
        .route("/v1/deployments/{name}/runs", web::get().to(runs::list_runs))
        .route("/v1/deployments/{name}/logs", web::get().to(runs::logs))
        .route("/v1/deployments/{name}/logs/search", web::get().to(runs::search_logs))
        .route("/v1/schedules/preview", web::get().to(tools::schedule_preview))
        .route("/v1/runners", web::get().to(tools::runners));
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-deployer.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        deployments::create_deployment, deployments::list_deployments, deployments::get_deployment,
        deployments::update_deployment, deployments::delete_deployment, deployments::list_revisions,
        deployments::rollback, deployments::airflow_dag, control::suspend, control::resume, control::run_now,
        runs::list_runs, runs::logs, runs::search_logs, tools::schedule_preview, tools::runners
    ),
    components(schemas(
        crate::spec::DeploymentSpec, crate::model::DeploymentDetail, crate::model::DeploymentSummary,
        crate::model::Run, crate::model::DryRun, InvalidBody
    )),
    tags(
        (name = "deployments", description = "Nexus artifacts deployed as Kubernetes Jobs and CronJobs"),
        (name = "control", description = "Suspend, resume, run now"),
        (name = "runs", description = "Runs of a deployment and their logs"),
        (name = "tools", description = "What a form needs: schedule previews, runner images"),
    )
)]
pub struct ApiDoc;

/// A deployment's name in a path: an RFC 1123 label, checked before it reaches any runtime.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamePath {
    /// The deployment's name.
    #[param(value_type = String, pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length = 63, example = "sales-etl")]
    pub name: DeploymentName,
}

/// A deployment's name and one of its revisions, in a path.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RevisionPath {
    #[param(value_type = String, pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length = 63, example = "sales-etl")]
    pub name: DeploymentName,
    #[param(minimum = 1, example = 3)]
    pub revision: u32,
}

/// A name that can be a deployment's.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String)]
pub struct DeploymentName(String);

impl TryFrom<String> for DeploymentName {
    type Error = String;

    fn try_from(name: String) -> Result<DeploymentName, String> {
        match names::label_problem(&name, names::MAX_LABEL) {
            None => Ok(DeploymentName(name)),
            Some(problem) => Err(format!("'{name}' is not a deployment name: it {problem}")),
        }
    }
}

impl std::ops::Deref for DeploymentName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// `dryRun=true`: check and show, change nothing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// Check the spec (on Kubernetes, with the API server's own dry run) and answer what would be
    /// written, writing nothing.
    #[serde(default)]
    #[param(rename = "dryRun")]
    pub dry_run: bool,
}

/// The `If-Match` of a change: it applies only over that version of the deployment (412 else).
pub fn precondition(request: &HttpRequest) -> Precondition {
    Precondition(request.headers().get(IF_MATCH).and_then(|value| value.to_str().ok()).map(str::to_owned))
}

/// An answer carrying a deployment and its version (`ETag`).
pub fn versioned(mut answer: HttpResponseBuilder, detail: Versioned<DeploymentDetail>) -> HttpResponse {
    answer.insert_header((ETAG, detail.etag.header())).json(detail.value)
}

/// What a handler has to work with.
pub type State = web::Data<Runtime>;
