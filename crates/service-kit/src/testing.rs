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

/// An HTTP client for tests, with the process' TLS provider installed first.
pub fn client() -> reqwest::Client {
    crate::tls::install_crypto_provider();
    reqwest::Client::new()
}

/// A service running in the test's process.
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let (server, worker) = run(listener).await.expect("the service starts").into().into_parts();
        let handle = server.handle();
        tokio::spawn(server);
        TestServer { address, client: client(), handle, worker }
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

/// What every service answers the same way: health, readiness, metrics, API docs, JSON 404s and
/// request ids.
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

    let echoed = server.client.get(server.url("/healthz")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    let made = server.get("/healthz").await;
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a new uuid: {made}");

    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "requests are counted by route: {metrics}"
    );
    assert!(metrics.contains(r#"route="unmatched",status="404""#), "unknown paths share one label");
}

/// The committed document equals the one the code serves. `UPDATE_OPENAPI=1` rewrites it.
pub fn assert_openapi_committed(document: &Document, committed: &Path) {
    let current = crate::docs::to_pretty_json(document);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
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
                $env.await
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
