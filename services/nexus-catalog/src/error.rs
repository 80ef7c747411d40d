//! The catalog's errors and the HTTP answers they become. When Nexus fails, the code tells the UI
//! which message to show; the details go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::ErrorBody;

use crate::catalog::CatalogError;
use crate::nexus::NexusError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", .0.message)]
    BadRequest(ErrorBody),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl ApiError {
    pub fn invalid(field: &str, message: String) -> ApiError {
        ApiError::BadRequest(ErrorBody::new("invalid_parameter", message).with_field(field))
    }

    fn body(&self) -> ErrorBody {
        let error = match self {
            ApiError::BadRequest(body) => return body.clone(),
            ApiError::Catalog(error) => error,
        };
        match error {
            CatalogError::UnknownRepository { repository, none_visible: true, .. } => ErrorBody::new(
                "unknown_repository",
                format!(
                    "there is no repository {repository}: Nexus shows the catalog no repository at all, so its \
                     account may lack read privileges"
                ),
            ),
            // Nexus hides a repository from an account that may not read it: say so.
            CatalogError::UnknownRepository { repository, in_nexus: true, .. } => ErrorBody::new(
                "unknown_repository",
                format!(
                    "Nexus shows the catalog no repository {repository}: it does not exist, or the catalog's \
                     account lacks the privilege to read it (nx-repository-view-<format>-{repository}-read)"
                ),
            ),
            CatalogError::UnknownRepository { .. } => ErrorBody::new("unknown_repository", error.to_string()),
            CatalogError::UnknownArtifact { .. } => ErrorBody::new("unknown_artifact", error.to_string()),
            CatalogError::UnknownVersion { .. } => ErrorBody::new("unknown_version", error.to_string()),
            CatalogError::Folder(_) => ErrorBody::new("folder_unreadable", "the catalog's local folder cannot be read"),
            CatalogError::Nexus(nexus) => match nexus {
                NexusError::CredentialsRejected => ErrorBody::new(
                    "nexus_credentials_rejected",
                    "Nexus refused the catalog's own credentials (NEXUS_CATALOG_NEXUS_USERNAME and _PASSWORD): \
                     the catalog's configuration must be fixed; your account is not the problem",
                ),
                NexusError::Forbidden => ErrorBody::new(
                    "nexus_forbidden",
                    "Nexus forbids the catalog's account to read this: it needs the read privilege on this repository",
                ),
                NexusError::Timeout => {
                    ErrorBody::new("nexus_timeout", "Nexus is unavailable: it did not answer in time; try again later")
                }
                NexusError::Unreachable(_) | NexusError::Failing(_) | NexusError::NotFound => {
                    ErrorBody::new("nexus_unavailable", "Nexus is unavailable; try again later")
                }
                NexusError::BadAnswer(_) => {
                    ErrorBody::new("nexus_bad_answer", "Nexus gave an answer the catalog cannot read")
                }
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Catalog(error) => match error {
                CatalogError::UnknownRepository { .. }
                | CatalogError::UnknownArtifact { .. }
                | CatalogError::UnknownVersion { .. } => StatusCode::NOT_FOUND,
                CatalogError::Folder(_) => StatusCode::INTERNAL_SERVER_ERROR,
                CatalogError::Nexus(NexusError::Timeout) => StatusCode::GATEWAY_TIMEOUT,
                CatalogError::Nexus(_) => StatusCode::BAD_GATEWAY,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "the catalog could not answer");
        }
        self.body().into_response(status)
    }
}
