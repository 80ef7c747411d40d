//! The service's errors and the HTTP answers they become. Kubernetes' own failures are told apart:
//! unreachable or overloaded (503), refusing the deployer's account or answering nonsense (502).
//! 5xx bodies say nothing of the internals, which go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use service_kit::ErrorBody;
use utoipa::ToSchema;

use crate::validate::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the deployment has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("{}", .0.message)]
    BadRequest(ErrorBody),
    #[error("{}", .0.message)]
    NotFound(ErrorBody),
    #[error("{}", .0.message)]
    Conflict(ErrorBody),
    #[error("{}", .0.message)]
    BadGateway(ErrorBody),
    #[error("{}", .0.message)]
    Unavailable(ErrorBody),
}

/// The body of a 400 for a spec: every problem with its field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvalidBody {
    #[schema(example = "invalid_deployment")]
    pub code: String,
    pub message: String,
    pub problems: Vec<Problem>,
}

impl ApiError {
    pub fn not_found(name: &str) -> ApiError {
        ApiError::NotFound(ErrorBody::new("deployment_not_found", format!("there is no deployment named '{name}'")))
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(ErrorBody::new("invalid_parameter", message).with_field(field))
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict(ErrorBody::new(code, message))
    }

    /// A failed call to the Kubernetes API that no caller-specific answer (404, 409) took.
    pub fn kubernetes(error: &kube::Error, doing: &str) -> ApiError {
        match error {
            kube::Error::Api(status) if status.code == 403 => {
                tracing::error!(%error, doing, "Kubernetes refused the deployer's service account");
                ApiError::BadGateway(ErrorBody::new(
                    "kubernetes_forbidden",
                    format!(
                        "Kubernetes refused to let the deployer {doing}; its Role may lack a permission (see the service's log)"
                    ),
                ))
            }
            // A spec Kubernetes still refuses after our checks: the caller can act on its message.
            kube::Error::Api(status) if status.code == 422 => ApiError::BadRequest(ErrorBody::new(
                "rejected_by_kubernetes",
                format!("Kubernetes refused it: {}", status.message),
            )),
            kube::Error::Api(status) if status.code == 409 => ApiError::conflict(
                "changed_meanwhile",
                "the deployment was changed by someone else meanwhile; read it again and retry",
            ),
            kube::Error::Api(status) if status.code == 429 || status.code >= 500 => {
                tracing::error!(%error, doing, "the Kubernetes API server failed");
                ApiError::Unavailable(ErrorBody::new(
                    "kubernetes_unavailable",
                    format!("the Kubernetes API server could not {doing} (it answered {}); retry later", status.code),
                ))
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                tracing::error!(%error, doing, "the Kubernetes API server is unreachable");
                ApiError::Unavailable(ErrorBody::new(
                    "kubernetes_unavailable",
                    format!("the Kubernetes API server cannot be reached to {doing}; retry later"),
                ))
            }
            _ => {
                tracing::error!(%error, doing, "unexpected answer from Kubernetes");
                ApiError::BadGateway(ErrorBody::new(
                    "kubernetes_error",
                    format!("Kubernetes gave an unexpected answer when asked to {doing} (see the service's log)"),
                ))
            }
        }
    }
}

/// Whether a Kubernetes call failed because the object is not there.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Invalid(problems) => HttpResponse::BadRequest().json(InvalidBody {
                code: "invalid_deployment".to_owned(),
                message: self.to_string(),
                problems: problems.clone(),
            }),
            ApiError::BadRequest(body)
            | ApiError::NotFound(body)
            | ApiError::Conflict(body)
            | ApiError::BadGateway(body)
            | ApiError::Unavailable(body) => body.clone().into_response(self.status_code()),
        }
    }
}
