//! Extractors whose errors say which parameter is wrong and why, as JSON.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

use crate::ErrorBody;

/// Query-string parameters, like actix's `web::Query`, but a bad one is a 400 naming it.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// A query-string parameter that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    field: Option<String>,
    message: String,
}

impl ResponseError for QueryError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody::new("invalid_parameter", self.message.clone());
        match &self.field {
            Some(field) => body.with_field(field.clone()),
            None => body,
        }
        .into_response(self.status_code())
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = QueryError;
    type Future = Ready<Result<Query<T>, QueryError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(request.query_string().as_bytes()));
        ready(serde_path_to_error::deserialize(pairs).map(Query).map_err(|error| {
            let field = error.path().to_string();
            let reason = error.into_inner().to_string();
            if field == "." {
                QueryError { field: None, message: format!("invalid query parameters: {reason}") }
            } else {
                QueryError { message: format!("the parameter `{field}` is invalid: {reason}"), field: Some(field) }
            }
        }))
    }
}
