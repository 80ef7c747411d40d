//! Helpers for the services' integration tests: a service on a port-0 listener, the checks every
//! service must pass, the committed OpenAPI document, and the real binary under signals.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test helpers: a broken expectation is a failed test")]

use std::fmt::Debug;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use utoipa::openapi::OpenApi as Document;

use crate::auth::{Claims, Role, SigningKey};

/// An HTTP client for tests, with the process' TLS provider installed first.
pub fn client() -> reqwest::Client {
    crate::tls::install_crypto_provider();
    reqwest::Client::new()
}

/// A client that sends `token` as its bearer token on every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    crate::tls::install_crypto_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {token}").parse().expect("a token is a header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder().default_headers(headers).build().expect("a client")
}

/// The signing key of the tests' gateway: tokens of any user and roles, and a JWKS file that the
/// services under test read through `AUTH_JWKS_FILE` ([`TestKeys::env`]).
#[derive(Debug)]
pub struct TestKeys {
    key: SigningKey,
    pem: String,
    jwks_file: String,
}

/// The tests' private key (Ed25519, PKCS#8): for tests only, it signs nothing else.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIK4PWrIR9fgrD2g0oTugT0s30GCMLfzqPgF5F1VcfeNi
-----END PRIVATE KEY-----
";

/// The user [`TestServer`]'s client calls as: an operator, so that every test may read and change.
pub const TEST_USER: &str = "tester";

impl TestKeys {
    /// The tests' key, the same for every test process.
    pub fn get() -> &'static TestKeys {
        static KEYS: std::sync::OnceLock<TestKeys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let key = SigningKey::from_pem(TEST_KEY).expect("the test key");
            let path = std::env::temp_dir().join(format!("job-orchestrator-test-jwks-{}.json", key.kid()));
            // Written by each process (never trusted as found), aside then renamed: processes starting
            // together never read half a file. One name for all, so that runs leave one file behind.
            let aside = path.with_extension(format!("{}.tmp", std::process::id()));
            std::fs::write(&aside, serde_json::to_vec(&key.jwks()).expect("JSON")).expect("write the JWKS file");
            std::fs::rename(&aside, &path).expect("move the JWKS file in place");
            TestKeys { key, pem: TEST_KEY.to_owned(), jwks_file: path.to_string_lossy().into_owned() }
        })
    }

    /// The variable that makes a service check tokens with these keys.
    pub fn env() -> (&'static str, String) {
        ("AUTH_JWKS_FILE", TestKeys::get().jwks_file.clone())
    }

    /// The private key, for a gateway under test to sign with (`AUTH_GATEWAY_TOKEN_KEY`).
    pub fn private_pem() -> String {
        TestKeys::get().pem.clone()
    }

    /// A token for `user` with `roles`, valid for an hour.
    pub fn token(user: &str, roles: &[Role]) -> String {
        let now = unix_now();
        TestKeys::sign(&Claims::new(user, &format!("{user} (test)"), roles, now, now + 3600))
    }

    pub fn sign(claims: &Claims) -> String {
        TestKeys::get().key.sign(claims).expect("a signed token")
    }
}

/// The environment of a service under test: `pairs` and the test keys' `AUTH_JWKS_FILE`.
pub fn test_env<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> crate::Env {
    let (variable, value) = TestKeys::env();
    let pairs = pairs.into_iter().map(|(k, v)| (k.into(), v.into()));
    crate::Env::from_pairs(pairs.chain(std::iter::once((variable.to_owned(), value))))
}

/// Seconds since 1970.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A service running in the test's process, and a client that calls it as [`TEST_USER`].
#[derive(Debug)]
pub struct TestServer {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    handle: ServerHandle,
    worker: Option<crate::Worker>,
}

impl TestServer {
    /// Runs `run` on a fresh port of 127.0.0.1.
    pub async fn start<F, Fut, R, E>(run: F) -> TestServer
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        R: Into<crate::Running>,
        E: Debug,
    {
        TestServer::start_on(TcpListener::bind("127.0.0.1:0").expect("a free port"), run).await
    }

    /// Runs `run` on `listener`, bound beforehand by a test whose other services need its address.
    pub async fn start_on<F, Fut, R, E>(listener: TcpListener, run: F) -> TestServer
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        R: Into<crate::Running>,
        E: Debug,
    {
        let address = listener.local_addr().expect("a bound address");
        let (server, worker) = run(listener).await.expect("the service starts").into().into_parts();
        let handle = server.handle();
        tokio::spawn(server);
        let client = client_with_token(&TestKeys::token(TEST_USER, &[Role::Operator]));
        TestServer { address, client, handle, worker }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("the service answers")
    }

    /// Stops the server and, if the service has one, its background worker.
    pub async fn stop(self) {
        if let Some(worker) = self.worker {
            worker.stop(Duration::from_secs(10)).await;
        }
        self.handle.stop(true).await;
    }
}

/// What every service answers the same way: health, readiness, metrics, API docs, JSON 404s,
/// request ids and the tokens it accepts.
pub async fn assert_operations_endpoints(server: &TestServer) {
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok"}));

    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200, "readyz");
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");

    let document: serde_json::Value = server.get("/openapi.json").await.json().await.unwrap();
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(document["paths"].get(path).is_some(), "{path} documented");
    }
    let docs = server.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"), "Swagger UI page");
    let script = server.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200, "Swagger UI's script is served by the service itself");

    let missing = server.get("/no/such/path").await;
    assert_eq!(missing.status(), 404);
    let body: crate::ErrorBody = missing.json().await.unwrap();
    assert_eq!(body.code, "not_found");

    // HEAD for probes; a known path asked with another method is a 405 saying which it takes.
    for path in ["/healthz", "/readyz"] {
        let head = server.client.head(server.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} has no body");
    }
    let wrong_method = server.client.delete(server.url("/healthz")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "GET, HEAD");
    let body: crate::ErrorBody = wrong_method.json().await.unwrap();
    assert_eq!(body.code, "method_not_allowed");
    assert!(body.message.contains("GET, HEAD"), "{}", body.message);

    let echoed = server.client.get(server.url("/healthz")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    let made = server.get("/healthz").await;
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a new uuid: {made}");

    assert_tokens_checked(server).await;

    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "requests are counted by route: {metrics}"
    );
    assert!(metrics.contains(r#"route="unmatched",status="404""#), "unknown paths share one label");
}

/// Every operation of the served document that takes a body refuses, with a 400 naming what is
/// wrong, a body that is not JSON, a body of the wrong type, a field of the wrong type and an unknown
/// field beside valid ones (the body's documented example, or `{}` where nothing is required).
pub async fn assert_bodies_checked(server: &TestServer) {
    let document: serde_json::Value = server.get("/openapi.json").await.json().await.unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(body) = operation.get("requestBody") else { continue };
            let media = &body["content"]["application/json"];
            let schema = resolve(&document, &media["schema"]);
            let url = server.url(
                &path
                    .split('/')
                    .map(|s| if s.starts_with('{') { "conformance" } else { s })
                    .collect::<Vec<_>>()
                    .join("/"),
            );
            let method: reqwest::Method = method.to_uppercase().parse().expect("a method");
            let what = format!("{method} {path}");
            let send = |body: String| {
                server.client.request(method.clone(), &url).header("content-type", "application/json").body(body).send()
            };
            let refused = |response: reqwest::Response, case: String| async move {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                assert_eq!(status, 400, "{case}: {text}");
                let error: crate::ErrorBody =
                    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{case}: a JSON error, not {text}"));
                error
            };
            refused(send("{\"".to_owned()).await.unwrap(), format!("{what} with a body that is not JSON")).await;
            let wrong = if schema["type"] == "array" { serde_json::json!({}) } else { serde_json::json!([]) };
            refused(send(wrong.to_string()).await.unwrap(), format!("{what} with a body of the wrong type")).await;
            let example = media.get("example").cloned().or_else(|| {
                let required = schema.get("required").and_then(|r| r.as_array()).is_some_and(|r| !r.is_empty());
                (!required).then(|| serde_json::json!({}))
            });
            let example = example.unwrap_or_else(|| panic!("{what}: document an example of its body"));
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                let mut body = example.clone();
                body[field] = wrong_type(&resolve(&document, property));
                let case = format!("{what} with `{field}` of the wrong type");
                let error = refused(send(body.to_string()).await.unwrap(), case.clone()).await;
                assert!(
                    error.message.contains(field.as_str())
                        || error.field.as_deref().is_some_and(|f| f.contains(field.as_str())),
                    "{case}: the error names it: {error:?}"
                );
            }
            let mut body = example.clone();
            body["conformanceUnknownField"] = serde_json::json!(1);
            let case = format!("{what} with an unknown field");
            let error = refused(send(body.to_string()).await.unwrap(), case.clone()).await;
            assert!(error.message.contains("conformanceUnknownField"), "{case}: the error names it: {error:?}");
            checked += 1;
        }
    }
    eprintln!("{checked} operation(s) with a body checked");
}

/// A schema with its `$ref` followed, within the document.
fn resolve(document: &serde_json::Value, schema: &serde_json::Value) -> serde_json::Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap_or_else(|| panic!("{reference} resolves")))
        }
        None => schema.clone(),
    }
}

/// A value that the schema's type cannot take.
fn wrong_type(schema: &serde_json::Value) -> serde_json::Value {
    let types: Vec<&str> = match &schema["type"] {
        serde_json::Value::String(one) => vec![one.as_str()],
        serde_json::Value::Array(many) => many.iter().filter_map(|t| t.as_str()).collect(),
        _ => vec!["object"],
    };
    if types.iter().any(|t| matches!(*t, "string")) {
        serde_json::json!({"not": "text"})
    } else {
        serde_json::json!("not of this type")
    }
}

/// The committed document equals the one the code serves. `UPDATE_OPENAPI=1` rewrites it.
pub fn assert_openapi_committed(document: &Document, committed: &Path) {
    let current = crate::docs::to_pretty_json(document);
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|value| value == "1") {
        std::fs::write(committed, &current).expect("write the OpenAPI document");
        return;
    }
    let on_disk = std::fs::read_to_string(committed).unwrap_or_default();
    assert!(
        on_disk == current,
        "{} differs from what the code serves; regenerate it with `UPDATE_OPENAPI=1 cargo nextest run` and commit it",
        committed.display()
    );
}

/// A service's real binary, started with the given environment on a port-0 listener.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    pub address: SocketAddr,
}

impl ServiceProcess {
    /// Starts `binary` and waits for its "listening on" log line. `listen_variable` is the service's
    /// `<PREFIX>_LISTEN`.
    pub async fn start(binary: &str, listen_variable: &str, env: &[(&str, &str)]) -> ServiceProcess {
        let mut child = Command::new(binary)
            .env(listen_variable, "127.0.0.1:0")
            .env("LOG_FORMAT", "compact")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let binary_name = Path::new(binary).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("readable stdout") {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    return address.parse::<SocketAddr>().expect("an address");
                }
            }
            panic!("{binary} exited before listening");
        })
        .await
        .expect("the service listens within 30 s");
        // Keep draining its output so that it never blocks on a full pipe; SHOW_SERVICE_LOGS=1 shows it.
        let show = std::env::var_os("SHOW_SERVICE_LOGS").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if show {
                    eprintln!("[{binary_name}] {line}");
                }
            }
        });
        ServiceProcess { child, address }
    }

    /// Sends `signal` (e.g. `TERM`) and returns how the process ended and how long it took.
    pub async fn signal_and_wait(mut self, signal: &str) -> (ExitStatus, Duration) {
        let pid = self.child.id().expect("a running child").to_string();
        let sent = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill runs");
        assert!(sent.success(), "kill -{signal} {pid}");
        let started = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the service exits within 30 s")
            .expect("an exit status");
        (status, started.elapsed())
    }
}

/// Runs `binary` with `env` and returns its exit status and what it wrote to stderr.
pub async fn run_to_end(binary: &str, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let output = Command::new(binary).envs(env.iter().copied()).output().await.expect("the binary runs");
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The tests every service has, in one line of its `tests/<name>/main.rs`:
///
/// ```ignore
/// service_kit::conformance_tests! {
///     service: job_history,
///     binary: env!("CARGO_BIN_EXE_job-history"),
///     listen_variable: "JOB_HISTORY_LISTEN",
///     openapi: "job-history.json",
/// }
/// ```
///
/// The service crate exposes `Settings::from_env(&Env)`, `run(settings, listener)` and `ApiDoc`.
/// A service that needs settings to start (a database...) adds `env: async { vec![(NAME, VALUE)] }`:
/// each test calls it for the variables of its own in-process service and binary.
#[macro_export]
macro_rules! conformance_tests {
    (service: $service:ident, binary: $binary:expr, listen_variable: $listen:literal, openapi: $openapi:literal $(,)?) => {
        $crate::conformance_tests! {
            service: $service, binary: $binary, listen_variable: $listen, openapi: $openapi,
            env: async { Vec::<(String, String)>::new() },
        }
    };
    (service: $service:ident, binary: $binary:expr, listen_variable: $listen:literal, openapi: $openapi:literal,
     env: $env:expr $(,)?) => {
        mod conformance {
            use std::time::Duration;

            use service_kit::testing::{
                ServiceProcess, TestServer, assert_openapi_committed, assert_operations_endpoints, run_to_end,
            };
            use utoipa::OpenApi as _;
            use $service::{ApiDoc, Settings, run};

            async fn env() -> Vec<(String, String)> {
                let mut env: Vec<(String, String)> = $env.await;
                let (variable, value) = service_kit::testing::TestKeys::env();
                env.push((variable.to_owned(), value));
                env
            }

            #[tokio::test]
            async fn serves_health_readiness_metrics_and_docs() {
                let settings = Settings::from_env(&service_kit::Env::from_pairs(env().await)).unwrap();
                let server = TestServer::start(|listener| run(settings, listener)).await;
                assert_operations_endpoints(&server).await;
            }

            #[test]
            fn the_committed_openapi_document_is_current() {
                let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi").join($openapi);
                assert_openapi_committed(&service_kit::docs::with_operations(ApiDoc::openapi()), &committed);
            }

            #[tokio::test]
            async fn refuses_every_body_it_cannot_read() {
                let settings = Settings::from_env(&service_kit::Env::from_pairs(env().await)).unwrap();
                let server = TestServer::start(|listener| run(settings, listener)).await;
                service_kit::testing::assert_bodies_checked(&server).await;
            }

            #[tokio::test]
            async fn stops_cleanly_on_sigterm_and_sigint() {
                let env = env().await;
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                for signal in ["TERM", "INT"] {
                    let process = ServiceProcess::start($binary, $listen, &env).await;
                    let (status, took) = process.signal_and_wait(signal).await;
                    assert!(status.success(), "SIG{signal}: {status}");
                    assert!(took < Duration::from_secs(5), "SIG{signal}: stopped in {took:?}");
                }
            }

            #[tokio::test]
            async fn a_bad_setting_stops_the_start_in_one_line_naming_it() {
                let (status, stderr) = run_to_end($binary, &[($listen, "nowhere")]).await;
                assert_eq!(status.code(), Some(2), "{stderr}");
                assert_eq!(stderr.lines().count(), 1, "{stderr}");
                assert!(stderr.contains(concat!($listen, ": cannot use `nowhere`")), "{stderr}");
            }
        }
    };
}

/// Probes need no token; everything else refuses a missing, forged, expired or foreign token (401)
/// and a role too weak for the method (403).
pub async fn assert_tokens_checked(server: &TestServer) {
    let anonymous = client();
    for path in crate::auth::OPEN_PATHS {
        let open = anonymous.get(server.url(path)).send().await.unwrap();
        assert_eq!(open.status(), 200, "{path} is open to probes and scrapers");
    }
    let refused = |response: reqwest::Response, what: &'static str| async move {
        assert_eq!(response.status(), 401, "{what}");
        let body: crate::ErrorBody = response.json().await.unwrap();
        (body.code, body.message)
    };
    let none = anonymous.get(server.url("/openapi.json")).send().await.unwrap();
    assert_eq!(refused(none, "no token").await.0, "unauthenticated");

    let now = unix_now();
    let claims = |exp: i64| Claims::new("mallory", "Mallory", &[Role::Admin], now - 7200, exp);
    let (foreign_key, _) = SigningKey::generate().unwrap();
    let valid = TestKeys::sign(&claims(now + 600));
    let expired = TestKeys::sign(&claims(now - 3600));
    let foreign = foreign_key.sign(&claims(now + 600)).unwrap();
    // The valid token's payload naming another user, under its own signature: any change breaks it.
    let mut parts: Vec<&str> = valid.split('.').collect();
    let tampered_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: serde_json::Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        payload["sub"] = "admin".into();
        engine.encode(payload.to_string())
    };
    parts[1] = &tampered_payload;
    let tampered = parts.join(".");
    // The same payload "signed" with no algorithm at all.
    let unsigned = format!("{}.{}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    // Algorithm confusion: HMAC keyed with the public key, under the real key's id.
    let kid = TestKeys::get().key.kid().to_owned();
    let public_x = match &TestKeys::get().key.jwk().algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(params) => params.x.clone(),
        _ => unreachable!("an Ed25519 key"),
    };
    let hmac_header =
        jsonwebtoken::Header { kid: Some(kid), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) };
    let confused = jsonwebtoken::encode(
        &hmac_header,
        &claims(now + 600),
        &jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();
    let valid_parts: Vec<&str> = valid.split('.').collect();
    let without_kid = format!("{}.{}.{}", base64_url(r#"{"alg":"EdDSA","typ":"JWT"}"#), valid_parts[1], valid_parts[2]);
    let elsewhere = TestKeys::sign(&Claims { iss: "someone-else".into(), ..claims(now + 600) });
    for (token, what, says) in [
        (confused.as_str(), "HMAC with the public key", "not EdDSA"),
        (without_kid.as_str(), "no key id", "names no key"),
        (elsewhere.as_str(), "another issuer", "not issued for this platform"),
        (expired.as_str(), "expired", "expired"),
        (foreign.as_str(), "signed by another key", "key"),
        (tampered.as_str(), "tampered", "signature"),
        (unsigned.as_str(), "unsigned", "not a JWT"),
        ("not-a-token", "garbage", "not a JWT"),
    ] {
        let response = client_with_token(token).get(server.url("/openapi.json")).send().await.unwrap();
        let (code, message) = refused(response, what).await;
        assert_eq!(code, "invalid_token", "{what}");
        assert!(message.contains(says), "{what}: {message}");
    }
    let ok = client_with_token(&valid).get(server.url("/openapi.json")).send().await.unwrap();
    assert_eq!(ok.status(), 200, "a valid token");

    let viewer = client_with_token(&TestKeys::token("vera", &[Role::Viewer]));
    let forbidden = viewer.post(server.url("/api/no/such/path")).send().await.unwrap();
    assert_eq!(forbidden.status(), 403, "a viewer may not change anything");
    let body: crate::ErrorBody = forbidden.json().await.unwrap();
    assert_eq!(body.code, "forbidden");
    assert!(body.message.contains("vera") && body.message.contains("operator"), "{}", body.message);

    // The cookie is sent by browsers on their own: a change from another site's page is refused.
    let cookie = format!("{}={}", crate::auth::TOKEN_COOKIE, TestKeys::token("olga", &[Role::Operator]));
    let cases = [
        ("POST", Some("cross-site"), 403),
        ("POST", Some("same-site"), 403),
        ("POST", Some("same-origin"), 404),
        // Typed in the address bar, or from a client that is no browser.
        ("POST", Some("none"), 404),
        ("POST", None, 404),
        // Reading from another site's link is how links work.
        ("GET", Some("cross-site"), 404),
    ];
    for (method, site, expected) in cases {
        let mut request =
            anonymous.request(method.parse().unwrap(), server.url("/api/no/such/path")).header("cookie", &cookie);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{method} with the cookie from {site:?}");
        if expected == 403 {
            assert_eq!(response.json::<crate::ErrorBody>().await.unwrap().code, "cross_site_request");
        }
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
