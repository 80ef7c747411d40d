//! The web UI's files: the single-page app's fallback, caching, and its Content-Security-Policy.

use reqwest::header;
use service_kit::error::ErrorBody;
use service_kit::testing::{TestServer, client};

use crate::gateway;

const INDEX: &str = r#"<html><head><meta name="csp-nonce" content="__CSP_NONCE__"></head><body>app</body></html>"#;

async fn with_ui() -> (TestServer, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let ui = root.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(ui.join("index.html"), INDEX).unwrap();
    std::fs::write(ui.join("assets/index-3f2a1b.js"), "console.log(1)").unwrap();
    std::fs::write(ui.join("favicon.svg"), "<svg/>").unwrap();
    let server = gateway(vec![("AUTH_GATEWAY_UI_DIR".into(), ui.to_string_lossy().into_owned())]).await;
    (server, root)
}

fn nonce_of(page: &str) -> &str {
    let start = page.find(r#"content=""#).unwrap() + 9;
    &page[start..start + page[start..].find('"').unwrap()]
}

#[tokio::test]
async fn every_page_of_the_app_is_index_html_with_a_fresh_nonce_that_its_policy_allows() {
    let (server, _dir) = with_ui().await;
    let mut nonces = Vec::new();
    for path in [
        "/",
        "/index.html",
        "/deployments",
        "/deployments/hello/logs?run=hello-1&grep=ERROR",
        "/history/job%201",
        "/catalog/samples/org.example/hello",
    ] {
        let answer = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(answer.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        let policy = answer.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let page = answer.text().await.unwrap();
        let nonce = nonce_of(&page).to_owned();
        assert_eq!(nonce.len(), 32, "{path}: {page}");
        assert!(!page.contains("__CSP_NONCE__"), "{path}");
        assert!(policy.starts_with("default-src 'self';"), "{policy}");
        assert!(policy.contains(&format!("style-src 'self' 'nonce-{nonce}'")), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 6, "each page load has its own nonce");
}

/// The app's files go compressed to a browser that takes gzip, whole once read back.
#[tokio::test]
async fn files_go_gzipped_to_a_browser_that_takes_it() {
    let (server, dir) = with_ui().await;
    let script: String = (0..2000).map(|i| format!("export const line{i} = 'the platform';\n")).collect();
    std::fs::write(dir.path().join("ui/assets/app-9c8d7e.js"), &script).unwrap();
    for (path, raw) in [("/assets/app-9c8d7e.js", script.as_str()), ("/deployments", INDEX)] {
        let answer = client().get(server.url(path)).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()[header::CONTENT_ENCODING], "gzip", "{path}");
        assert!(answer.headers()[header::VARY].to_str().unwrap().contains("accept-encoding"), "{path}");
        let compressed = answer.bytes().await.unwrap();
        let mut read = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut read).unwrap();
        if path.starts_with("/assets/") {
            assert_eq!(read, raw);
            assert!(compressed.len() * 10 < raw.len(), "{} bytes of {}", compressed.len(), raw.len());
        } else {
            assert!(read.starts_with("<html>"), "{read}");
        }
    }
    // Without gzip, as it is.
    let plain = client().get(server.url("/assets/app-9c8d7e.js")).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.text().await.unwrap(), script);
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_other_files_are_checked_again() {
    let (server, _dir) = with_ui().await;
    let script = client().get(server.url("/assets/index-3f2a1b.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(script.headers()[header::CONTENT_TYPE], "text/javascript");
    assert_eq!(script.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(script.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'self'"));
    let icon = client().get(server.url("/favicon.svg")).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()[header::CACHE_CONTROL], "no-cache");
    let head = client().head(server.url("/deployments")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn missing_files_and_api_paths_are_404s_never_the_app() {
    let (server, _dir) = with_ui().await;
    // With a token: the gateway's own paths under /api/ need one before anything else.
    for path in ["/assets/gone-123.js", "/api/nothing", "/api/auth/nothing", "/robots.txt"] {
        let answer = server.get(path).await;
        assert_eq!(answer.status(), 404, "{path}");
        assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-cache", "a 404 is not cached for ever: {path}");
        assert_eq!(answer.json::<ErrorBody>().await.unwrap().code, "not_found", "{path}");
    }
    // A hidden path is refused by the file server itself.
    let hidden = client().get(server.url("/.well-known/nothing")).send().await.unwrap();
    assert_eq!(hidden.status(), 400);
    let post = client().post(server.url("/deployments")).send().await.unwrap();
    assert_ne!(post.status(), 200, "only GET and HEAD get the app");
}

#[tokio::test]
async fn the_api_still_answers_beside_the_ui() {
    let (server, _dir) = with_ui().await;
    let answer = client().get(server.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(answer.status(), 401, "the API's own answer, not index.html");
    let health = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_ui_folder_without_index_html_says_so() {
    let root = tempfile::tempdir().unwrap();
    let server = gateway(vec![("AUTH_GATEWAY_UI_DIR".into(), root.path().to_string_lossy().into_owned())]).await;
    let answer = client().get(server.url("/deployments")).send().await.unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.json::<ErrorBody>().await.unwrap().code, "ui_unavailable");
}

#[tokio::test]
async fn another_method_than_a_read_is_the_platforms_own_answer_not_the_files() {
    let (server, _dir) = with_ui().await;
    let trace = client().request(reqwest::Method::TRACE, server.url("/healthz")).send().await.unwrap();
    assert_eq!(trace.status(), 405);
    assert_eq!(trace.headers()[header::ALLOW], "GET, HEAD");
    assert_eq!(trace.json::<ErrorBody>().await.unwrap().code, "method_not_allowed");
}
