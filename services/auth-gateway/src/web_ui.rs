//! The web UI's files (`AUTH_GATEWAY_UI_DIR`, the build of `ui/`), served at `/`.
//!
//! - A path that is no file and no API is a page of the single-page app: it gets `index.html`,
//!   whose router shows the page (a deep link or a reload works). Paths under `/api/`,
//!   `/assets/` and the like, and paths that name a file, stay a 404 (a missing script must not
//!   come back as HTML).
//! - Caching: the hashed files under `/assets/` never change (`immutable`, a year); everything
//!   else, `index.html` above all, is checked again each time (`no-cache`), so a new build is seen
//!   at the next load.
//! - Compressed (gzip) for a browser that takes it: the app's main script is some 550 KB, 170 KB
//!   compressed. Only here: the API's answers and followed logs go as they are.
//! - A strict Content-Security-Policy: everything from this origin only, no inline script, no
//!   `eval`, no framing. Styles may also come from `<style>` elements carrying the nonce made for
//!   this page load (Mantine injects a few for its responsive layouts); `index.html` hands it to the
//!   app in `<meta name="csp-nonce">`, in place of the placeholder the build leaves there.

use std::path::{Path, PathBuf};

use actix_files::Files;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, guard, web};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use service_kit::error::ErrorBody;

/// In `index.html`, replaced by each page load's nonce.
const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";
/// Paths that are never a page of the app.
const NOT_PAGES: [&str; 5] = ["/api", "/assets", "/.well-known", "/docs", "/openapi.json"];

struct WebUi {
    dir: PathBuf,
}

/// The policy for a page load with `nonce`, or for any other file (no inline style at all).
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let style = nonce.map_or_else(|| "'self'".to_owned(), |nonce| format!("'self' 'nonce-{nonce}'"));
    format!(
        "default-src 'self'; style-src {style}; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Mounts the UI of `dir` at `/`, after every other route.
pub fn configure(config: &mut web::ServiceConfig, dir: &Path) {
    let get_or_head = || guard::Any(guard::Get()).or(guard::Head());
    config.service(
        web::scope("")
            .app_data(web::Data::new(WebUi { dir: dir.to_owned() }))
            .wrap(from_fn(headers))
            .wrap(Compress::default())
            .route("/", web::route().guard(get_or_head()).to(index))
            .route("/index.html", web::route().guard(get_or_head()).to(index))
            // Only reads reach the files: any other method goes on to the platform's own answer (a 405
            // naming the methods of a known path, a JSON 404 elsewhere).
            .service(
                Files::new("/", dir)
                    .guard(get_or_head())
                    .use_last_modified(true)
                    .default_handler(web::to(page_or_not_found)),
            ),
    );
}

/// A fresh nonce: 128 random bits, hexadecimal (a subset of the base64 that CSP asks for).
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn index(ui: web::Data<WebUi>) -> HttpResponse {
    let path = ui.dir.join("index.html");
    let page = match tokio::fs::read_to_string(&path).await {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "cannot read the web UI's index.html");
            return HttpResponse::ServiceUnavailable().json(ErrorBody::new(
                "ui_unavailable",
                "the web UI's files are missing on the gateway (AUTH_GATEWAY_UI_DIR)".to_owned(),
            ));
        }
    };
    let nonce = nonce();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, content_security_policy(Some(&nonce))))
        .body(page.replace(NONCE_PLACEHOLDER, &nonce))
}

/// No such file: `index.html` for a page of the app, else a 404.
async fn page_or_not_found(request: HttpRequest, ui: web::Data<WebUi>) -> HttpResponse {
    if is_page(request.method(), request.path()) {
        index(ui).await
    } else {
        let known = request.app_data::<web::Data<service_kit::docs::KnownPaths>>().cloned();
        service_kit::error::not_found(request, known).await
    }
}

/// What a file the build makes ends with: such a path is a file or a 404, never a page.
const FILE_EXTENSIONS: [&str; 12] =
    [".js", ".mjs", ".css", ".map", ".html", ".json", ".txt", ".svg", ".png", ".ico", ".woff2", ".webmanifest"];

/// A GET of a path the app routes: not under the API or the assets, not a file name (`x.js`),
/// and only plain segments (nothing that a file server would refuse, like `..` or a backslash).
/// Dots inside a segment are plain: a Maven group (`org.example`) is part of a catalog page's path.
pub fn is_page(method: &actix_web::http::Method, path: &str) -> bool {
    let under = |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let plain = |segment: &str| {
        !segment.starts_with('.')
            && segment.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~%:@+=,;!$&'()*".contains(c))
    };
    (method == actix_web::http::Method::GET || method == actix_web::http::Method::HEAD)
        && !NOT_PAGES.iter().any(|prefix| under(prefix))
        && !FILE_EXTENSIONS.iter().any(|extension| path.to_ascii_lowercase().ends_with(extension))
        && path.split('/').skip(1).all(|segment| segment.is_empty() || plain(segment))
}

/// The caching and security headers of every answer under the UI.
async fn headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hashed = request.path().starts_with("/assets/");
    let mut response = next.call(request).await?;
    let ok = response.status().is_success() || response.status() == actix_web::http::StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    let cache = if hashed && ok { IMMUTABLE } else { NO_CACHE };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(policy) = HeaderValue::from_str(&content_security_policy(None))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    Ok(response)
}
