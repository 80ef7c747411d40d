//! The one shape of every API error: a stable machine `code`, a human `message` and, for bad input,
//! where it is wrong (`field`, or `position` in a query). Each service keeps its own error enum and
//! turns it into this body; 5xx bodies never carry internals.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::docs::KnownPaths;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, for programs: `invalid_query`, `not_found`, ...
    #[schema(example = "invalid_query")]
    pub code: String,
    /// For people.
    #[schema(example = "expected a value at character 12, but the query ends there")]
    pub message: String,
    /// The parameter or field that is wrong, for bad input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The 1-based character position in that parameter, for a query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        ErrorBody { code: code.into(), message: message.into(), field: None, position: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ErrorBody {
        self.field = Some(field.into());
        self
    }

    pub fn with_position(mut self, position: usize) -> ErrorBody {
        self.position = Some(position);
        self
    }

    pub fn into_response(self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(self)
    }
}

/// Unknown paths answer JSON too; a path the API document knows, asked with another method, is a
/// 405 that says which methods it takes (and in `Allow`).
pub async fn not_found(request: HttpRequest, known: Option<web::Data<KnownPaths>>) -> HttpResponse {
    let (method, path) = (request.method(), request.path());
    match known.as_ref().and_then(|known| known.methods(path)) {
        Some(methods) if !methods.is_empty() => {
            let allowed = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let message = format!("{path} does not take {method}; it takes {allowed}");
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allowed))
                .json(ErrorBody::new("method_not_allowed", message))
        }
        _ => ErrorBody::new("not_found", format!("there is nothing at {method} {path}"))
            .into_response(StatusCode::NOT_FOUND),
    }
}

/// actix's own extractor failures (a JSON body or a path that does not fit) as JSON 400s. Query
/// strings go through [`crate::Query`], which also names the parameter.
pub(crate) fn extractor_errors(config: &mut web::ServiceConfig) {
    config
        .app_data(web::JsonConfig::default().error_handler(|error, _| {
            let body = ErrorBody::new("invalid_body", error.to_string());
            actix_web::error::InternalError::from_response(error, body.into_response(StatusCode::BAD_REQUEST)).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|error, _| {
            let body = ErrorBody::new("invalid_path", error.to_string());
            actix_web::error::InternalError::from_response(error, body.into_response(StatusCode::BAD_REQUEST)).into()
        }));
}
