//! `/openapi.json` and human-readable docs at `/docs/`: Swagger UI served from files built into the
//! binary (utoipa-swagger-ui's `vendored` feature), so the docs work with no network.

use actix_web::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa_swagger_ui::SwaggerUi;

/// The endpoints that every service has.
#[derive(OpenApi)]
#[openapi(
    paths(
        crate::health::healthz,
        crate::health::healthz_head,
        crate::health::readyz,
        crate::health::readyz_head,
        crate::metrics::metrics
    ),
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
    for item in document.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            if !is_public(operation) {
                document_refusals(operation);
            }
        }
    }
    document
}

/// An operation that says it needs no token (`security(())`).
fn is_public(operation: &Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(|r| *r == SecurityRequirement::default()))
}

/// The answers of the token check, which every protected operation can give.
fn document_refusals(operation: &mut Operation) {
    let error = |description: &str| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        ResponseBuilder::new().description(description).content("application/json", content).build()
    };
    let responses = &mut operation.responses.responses;
    responses.entry("401".to_owned()).or_insert_with(|| {
        error("No token, or one that cannot be trusted (`unauthenticated`, `invalid_token`: expired, signature, unknown key)").into()
    });
    responses.entry("403".to_owned()).or_insert_with(|| {
        error("The caller's role may not do this (`forbidden`), or a change sent with the cookie from another site's page (`cross_site_request`)").into()
    });
}

/// The paths of a document and the methods each takes, so that a known path asked with another
/// method is a 405 naming the methods it takes rather than a 404.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<String>, Vec<Method>)>);

impl KnownPaths {
    pub fn of(document: &Document) -> KnownPaths {
        let paths = document.paths.paths.iter().map(|(path, item)| {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::HEAD, item.head.is_some() || item.get.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
            ];
            let segments = path.split('/').map(str::to_owned).collect();
            (segments, methods.into_iter().filter(|(_, has)| *has).map(|(method, _)| method).collect())
        });
        KnownPaths(paths.collect())
    }

    /// The methods a path takes, if the document knows it (`{name}` stands for one segment).
    pub fn methods(&self, path: &str) -> Option<&[Method]> {
        let asked: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(segments, methods)| {
            let fits = segments.len() == asked.len()
                && segments.iter().zip(&asked).all(|(known, asked)| {
                    known == asked || (known.starts_with('{') && known.ends_with('}') && !asked.is_empty())
                });
            fits.then_some(methods.as_slice())
        })
    }
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
