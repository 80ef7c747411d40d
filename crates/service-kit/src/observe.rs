//! One middleware around every request: it takes the caller's `X-Request-Id` (or makes one), runs the
//! request inside a span carrying it, sends it back in the response, logs the outcome and counts it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use crate::metrics::HttpMetrics;

/// The header that carries a request's id from service to service and back.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Paths that probes and scrapers call all day: logged at debug level only, whatever the answer
/// (what fails behind them logs itself: `health` warns why it is not ready, `metrics` an error).
const QUIET_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestId(String);

impl RequestId {
    /// The caller's id when it is a sensible one (1 to 128 visible ASCII characters), else a new one.
    fn from_header(value: Option<&HeaderValue>) -> RequestId {
        let given = value
            .and_then(|v| v.to_str().ok())
            .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()));
        RequestId(given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of the request being served, to carry on to the services it calls.
pub fn request_id(request: &actix_web::HttpRequest) -> Option<String> {
    request.extensions().get::<RequestId>().map(|id| id.0.clone())
}

pub(crate) async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::from_header(request.headers().get(REQUEST_ID_HEADER));
    request.extensions_mut().insert(request_id.clone());
    let metrics = request.app_data::<web::Data<HttpMetrics>>().cloned();
    let method = request.method().to_string();
    let quiet = QUIET_PATHS.contains(&request.path());
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %request.path());

    let mut response = next.call(request).instrument(span.clone()).await?;

    let elapsed = started.elapsed();
    let status = response.status();
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status.as_u16(), elapsed);
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        // A probe's 503 is an answer, not a failure: the health check logs why as a warning (a
        // service that starts would otherwise log an ERROR per probe until its dependencies come).
        if quiet {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request");
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), elapsed_ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), elapsed_ms, "request");
        }
    });
    Ok(response)
}
