//! The service's errors and the HTTP answers they become. Messages are already in the caller's
//! language; 5xx bodies say nothing of the internals, which go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::ErrorBody;

use crate::messages::{self, Locale};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", .0.message)]
    BadRequest(ErrorBody),
    #[error("{}", .0.message)]
    NotFound(ErrorBody),
    #[error("{}", .0.message)]
    Unavailable(ErrorBody),
    #[error("{}", .0.message)]
    Internal(ErrorBody),
}

impl ApiError {
    pub fn invalid(field: &str, message: String) -> ApiError {
        ApiError::BadRequest(ErrorBody::new("invalid_parameter", message).with_field(field))
    }

    /// No connection to the database: logged with its cause, answered 503.
    pub fn unavailable(error: &dyn std::fmt::Display, locale: Locale) -> ApiError {
        tracing::error!(%error, "no connection to the job history database");
        ApiError::Unavailable(ErrorBody::new("database_unavailable", messages::database_unavailable(locale)))
    }

    /// A search that ran out of time: cancelled on the server, answered 503.
    pub fn timeout(timeout: std::time::Duration, locale: Locale) -> ApiError {
        tracing::warn!(timeout_secs = timeout.as_secs(), "a search ran out of time and was cancelled");
        ApiError::Unavailable(ErrorBody::new("query_timeout", messages::query_timeout(timeout.as_secs(), locale)))
    }

    /// A query failed: a lost connection is a 503, anything else a fault of ours (500).
    pub fn query(error: &diesel::result::Error, locale: Locale) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                ApiError::unavailable(error, locale)
            }
            _ => {
                tracing::error!(%error, "a job history query failed");
                ApiError::Internal(ErrorBody::new("internal_error", messages::internal_error(locale)))
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (ApiError::BadRequest(body)
        | ApiError::NotFound(body)
        | ApiError::Unavailable(body)
        | ApiError::Internal(body)) = self;
        body.clone().into_response(self.status_code())
    }
}
