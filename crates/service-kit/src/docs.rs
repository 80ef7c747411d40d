//! `/openapi.json` and human-readable docs at `/docs/`: Swagger UI served from files built into the
//! binary (utoipa-swagger-ui's `vendored` feature), so the docs work with no network.

use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa_swagger_ui::SwaggerUi;

/// The endpoints that every service has.
#[derive(OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz, crate::metrics::metrics),
    components(schemas(crate::error::ErrorBody)),
    tags((name = "operations", description = "Health, readiness and metrics, for Kubernetes and Prometheus"))
)]
struct OperationsApi;

/// A service's own document with the shared endpoints added, and the token every other endpoint
/// needs: a bearer JWT, or the gateway's cookie (see [`crate::auth`]).
pub fn with_operations(document: Document) -> Document {
    let mut document = document.merge_from(OperationsApi::openapi());
    let bearer = Http::builder()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("The token of `POST /api/auth/login` at the gateway (EdDSA, checked with its JWKS)"))
        .build();
    let cookie = ApiKey::Cookie(ApiKeyValue::with_description(
        crate::auth::TOKEN_COOKIE,
        "The same token, as the gateway sets it for browsers",
    ));
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    components.add_security_scheme("cookie", SecurityScheme::ApiKey(cookie));
    let none: [&str; 0] = [];
    document.security = Some(vec![SecurityRequirement::new("bearer", none), SecurityRequirement::new("cookie", none)]);
    document
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
