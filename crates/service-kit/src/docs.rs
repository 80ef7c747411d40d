//! `/openapi.json` and human-readable docs at `/docs/`: Swagger UI served from files built into the
//! binary (utoipa-swagger-ui's `vendored` feature), so the docs work with no network.

use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_swagger_ui::SwaggerUi;

/// The endpoints that every service has.
#[derive(OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz, crate::metrics::metrics),
    components(schemas(crate::error::ErrorBody)),
    tags((name = "operations", description = "Health, readiness and metrics, for Kubernetes and Prometheus"))
)]
struct OperationsApi;

/// A service's own document with the shared endpoints added.
pub fn with_operations(document: Document) -> Document {
    document.merge_from(OperationsApi::openapi())
}

/// The document as committed under `openapi/`: pretty JSON with a final newline.
pub fn to_pretty_json(document: &Document) -> String {
    let mut json = document.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

pub(crate) fn swagger_ui(document: Document) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document)
}
