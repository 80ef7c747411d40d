//! The one place where the deployer's errors become HTTP answers: a status, a stable code, a
//! message for people, and for a bad spec every problem with its field. 5xx bodies say nothing
//! of the internals, which went to the log where the error was made.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use service_kit::ErrorBody;
use utoipa::ToSchema;

use crate::error::{Error, KubeFailure};
use crate::spec::Problem;

/// The body of a 400 for a spec: every problem with its field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvalidBody {
    #[schema(example = "invalid_deployment")]
    pub code: String,
    pub message: String,
    pub problems: Vec<Problem>,
}

fn code(error: &Error) -> &'static str {
    match error {
        Error::Invalid(_) => "invalid_deployment",
        Error::InvalidParameter { .. } => "invalid_parameter",
        Error::RefusedByKubernetes(_) => "rejected_by_kubernetes",
        Error::DeploymentNotFound(_) => "deployment_not_found",
        Error::RevisionNotFound { .. } => "revision_not_found",
        Error::RunNotFound { .. } => "run_not_found",
        Error::NoRunYet(_) => "no_run",
        Error::NoPreviousAttempt(_) => "no_previous",
        Error::DeploymentExists(_) => "deployment_exists",
        Error::NameTaken { .. } => "name_taken",
        Error::NotACronJob { .. } => "not_a_cronjob",
        Error::ChangedMeanwhile => "changed_meanwhile",
        Error::Stale { .. } => "precondition_failed",
        Error::BeingDeleted(_) => "deployment_being_deleted",
        Error::NotExportable { .. } => "not_exportable",
        Error::SpecLost(_) => "no_spec",
        Error::RevisionNotRunnable { .. } => "revision_not_runnable",
        Error::LogNotReady(_) => "log_not_ready",
        Error::KubeletUnreachable { .. } => "kubelet_unreachable",
        Error::Kubernetes { failure: KubeFailure::Forbidden, .. } => "kubernetes_forbidden",
        Error::Kubernetes { failure: KubeFailure::Unavailable { .. }, .. } => "kubernetes_unavailable",
        Error::Kubernetes { failure: KubeFailure::Unexpected, .. } => "kubernetes_error",
        Error::NotConfigured => "kubernetes_not_configured",
        Error::Stopping => "stopping",
        Error::Storage(_) => "local_storage_error",
    }
}

fn message(error: &Error) -> String {
    match error {
        Error::RefusedByKubernetes(problems) => {
            let what: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            format!("Kubernetes refused it: {}", what.join("; "))
        }
        Error::Kubernetes { failure: KubeFailure::Forbidden, doing } => {
            format!(
                "Kubernetes refused to let the deployer {doing}; its Role may lack a permission (see the service's log)"
            )
        }
        Error::Kubernetes { failure: KubeFailure::Unavailable { status: Some(status) }, doing } => {
            format!("the Kubernetes API server could not {doing} (it answered {status}); retry later")
        }
        Error::Kubernetes { failure: KubeFailure::Unavailable { status: None }, doing } => {
            format!("the Kubernetes API server cannot be reached to {doing}; retry later")
        }
        Error::Kubernetes { failure: KubeFailure::Unexpected, doing } => {
            format!("Kubernetes gave an unexpected answer when asked to {doing} (see the service's log)")
        }
        other => other.to_string(),
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Invalid(_) | Error::InvalidParameter { .. } | Error::RefusedByKubernetes(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::DeploymentNotFound(_)
            | Error::RevisionNotFound { .. }
            | Error::RunNotFound { .. }
            | Error::NoRunYet(_)
            | Error::NoPreviousAttempt(_) => StatusCode::NOT_FOUND,
            Error::DeploymentExists(_)
            | Error::NameTaken { .. }
            | Error::NotACronJob { .. }
            | Error::ChangedMeanwhile
            | Error::BeingDeleted(_)
            | Error::NotExportable { .. }
            | Error::SpecLost(_)
            | Error::RevisionNotRunnable { .. }
            | Error::LogNotReady(_) => StatusCode::CONFLICT,
            Error::Stale { .. } => StatusCode::PRECONDITION_FAILED,
            Error::KubeletUnreachable { .. }
            | Error::Kubernetes { failure: KubeFailure::Forbidden | KubeFailure::Unexpected, .. } => {
                StatusCode::BAD_GATEWAY
            }
            Error::Kubernetes { failure: KubeFailure::Unavailable { .. }, .. }
            | Error::NotConfigured
            | Error::Stopping
            | Error::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Error::Invalid(problems) | Error::RefusedByKubernetes(problems) => HttpResponse::build(status)
                .json(InvalidBody { code: code(self).to_owned(), message: message(self), problems: problems.clone() }),
            Error::InvalidParameter { field, .. } => {
                ErrorBody::new(code(self), message(self)).with_field(*field).into_response(status)
            }
            Error::RunNotFound { .. } => {
                ErrorBody::new(code(self), message(self)).with_field("run").into_response(status)
            }
            _ => ErrorBody::new(code(self), message(self)).into_response(status),
        }
    }
}
