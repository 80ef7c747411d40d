//! Request bodies read strictly: JSON (`Content-Type: application/json`) of exactly the expected
//! shape, or a 400 `invalid_body` saying what is wrong and where; nothing is done then. An
//! optional body may be absent (empty), never unreadable: a body that is not JSON, has an unknown
//! field or a wrong type is refused, not replaced by defaults.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde::de::DeserializeOwned;
use service_kit::ErrorBody;

/// A JSON body that must be there.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A JSON body that may be absent.
#[derive(Debug)]
pub struct OptionalBody<T>(pub Option<T>);

/// Why a body cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BodyError {
    message: String,
    field: Option<String>,
}

impl ResponseError for BodyError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody::new("invalid_body", self.message.clone());
        match &self.field {
            Some(field) => body.with_field(field.clone()),
            None => body,
        }
        .into_response(self.status_code())
    }
}

fn refuse(message: impl Into<String>) -> BodyError {
    BodyError { message: message.into(), field: None }
}

/// Reads `bytes` as a `T`; `None` when there are none.
fn read<T: DeserializeOwned>(request: &HttpRequest, bytes: &[u8]) -> Result<Option<T>, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        let given = if content_type.is_empty() { "none".to_owned() } else { format!("'{content_type}'") };
        return Err(refuse(format!(
            "the body must be JSON, sent with Content-Type: application/json (the Content-Type is {given})"
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let reason = error.into_inner().to_string();
        if path == "." {
            BodyError { message: format!("the body cannot be read: {reason}"), field: None }
        } else {
            BodyError { message: format!("the body cannot be read at `{path}`: {reason}"), field: Some(path) }
        }
    })?;
    deserializer.end().map_err(|error| refuse(format!("the body cannot be read: {error}")))?;
    Ok(Some(value))
}

type Reading<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

impl<T: DeserializeOwned + 'static> FromRequest for OptionalBody<T> {
    type Error = actix_web::Error;
    type Future = Reading<OptionalBody<T>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let bytes = web::Bytes::from_request(&request, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            Ok(OptionalBody(read(&request, &bytes)?))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Reading<Body<T>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = OptionalBody::<T>::from_request(request, payload);
        Box::pin(async move {
            match body.await?.0 {
                Some(value) => Ok(Body(value)),
                None => Err(refuse("the body is empty; a JSON object is expected").into()),
            }
        })
    }
}
