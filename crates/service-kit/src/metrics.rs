//! Prometheus metrics: the HTTP metrics every service has, plus whatever a service registers in the
//! same registry, served at `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route pattern (`/v1/jobs/history/{jobId}`), never the raw path: bounded cardinality.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// Requests served, and how long they took.
#[derive(Debug, Clone)]
pub(crate) struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

fn duration_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl HttpMetrics {
    pub(crate) fn register(registry: &mut Registry) -> HttpMetrics {
        let metrics = HttpMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
        };
        registry.register("http_requests", "HTTP requests served", metrics.requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", metrics.durations.clone());
        metrics
    }

    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
        self.durations.get_or_create(&RouteLabels { method, route }).observe(elapsed.as_secs_f64());
    }
}

/// Metrics in the OpenMetrics text format, which Prometheus scrapes.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"))
)]
pub(crate) async fn metrics(registry: web::Data<Arc<Registry>>) -> HttpResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => {
            HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text)
        }
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
