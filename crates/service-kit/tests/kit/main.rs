//! The shared plumbing, exercised through a small service of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod keys;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use prometheus_client::metrics::counter::Counter;
use service_kit::testing::{TestServer, assert_operations_endpoints};
use service_kit::{Env, ErrorBody, NotReady, Readiness, ServerSettings, Service};

fn settings() -> ServerSettings {
    ServerSettings::from_env(&service_kit::testing::test_env(Vec::<(String, String)>::new()), "KIT", 9999).unwrap()
}

#[derive(serde::Deserialize)]
struct Paging {
    #[allow(dead_code, reason = "read only to be validated")]
    limit: u32,
}

async fn start(database_up: Arc<AtomicBool>) -> TestServer {
    TestServer::start(|listener: TcpListener| async move {
        let readiness = Readiness::default().with_check("database", move || {
            let up = database_up.load(Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err(NotReady::because("unavailable", "connection to db.internal:5432 refused"))
                }
            }
        });
        let document = utoipa::openapi::OpenApiBuilder::new().build();
        let mut service = Service::new("kit-test", document).readiness(readiness);
        let things_served = Counter::<u64>::default();
        service.registry().register("things_served", "Things the test service served", things_served.clone());
        service.serve(listener, &settings(), move |config| {
            let things_served = things_served.clone();
            config.route(
                "/v1/things/{id}",
                web::get().to(move |id: web::Path<u32>, _: service_kit::Query<Paging>| {
                    things_served.inc();
                    async move { HttpResponse::Ok().json(serde_json::json!({"id": *id})) }
                }),
            );
        })
    })
    .await
}

#[tokio::test]
async fn every_service_has_the_operations_endpoints() {
    let server = start(Arc::new(AtomicBool::new(true))).await;
    assert_operations_endpoints(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn readiness_follows_the_dependencies() {
    let up = Arc::new(AtomicBool::new(false));
    let server = start(up.clone()).await;
    let down = server.get("/readyz").await;
    assert_eq!(down.status(), 503);
    let report: serde_json::Value = down.json().await.unwrap();
    // The reason only: the cause names a host, and /readyz answers anyone.
    assert_eq!(report, serde_json::json!({"status": "unready", "checks": {"database": "unavailable"}}));
    assert_eq!(server.get("/healthz").await.status(), 200, "alive even when a dependency is not");
    up.store(true, Ordering::SeqCst);
    assert_eq!(server.get("/readyz").await.status(), 200);
}

/// What this process logs, for the one test that reads it (each test is a process of its own).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A service waiting for its database answers each probe 503 and logs why as a warning, never as
/// an error (an operator's alert on ERROR lines would fire at every start).
#[tokio::test]
async fn a_probe_while_not_ready_logs_why_as_a_warning_and_no_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let server = start(Arc::new(AtomicBool::new(false))).await;
    for _ in 0..3 {
        assert_eq!(server.get("/readyz").await.status(), 503);
    }
    server.stop().await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warnings = log.lines().filter(|line| line.contains(" WARN ") && line.contains("not ready"));
    assert_eq!(warnings.filter(|line| line.contains("db.internal:5432 refused")).count(), 3, "{log}");
    assert!(!log.lines().any(|line| line.contains(" ERROR ")), "{log}");
}

#[tokio::test]
async fn bad_parameters_are_json_errors_and_routes_are_metric_labels() {
    let server = start(Arc::new(AtomicBool::new(true))).await;
    assert_eq!(server.get("/v1/things/7?limit=3").await.status(), 200);
    let bad_query = server.get("/v1/things/7?limit=many").await;
    assert_eq!(bad_query.status(), 400);
    let body: ErrorBody = bad_query.json().await.unwrap();
    assert_eq!(body.code, "invalid_parameter");
    assert_eq!(body.field.as_deref(), Some("limit"));
    assert!(body.message.starts_with("the parameter `limit` is invalid"), "{}", body.message);
    let bad_path = server.get("/v1/things/seven?limit=3").await;
    assert_eq!(bad_path.status(), 400);
    assert_eq!(bad_path.json::<ErrorBody>().await.unwrap().code, "invalid_path");

    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/v1/things/{id}",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/v1/things/{id}",status="400"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains("things_served_total 1"), "the service's own metrics share /metrics: {metrics}");
}

#[test]
fn settings_name_the_variable_that_is_wrong() {
    let env = Env::from_pairs([("SVC_LISTEN", "localhost"), ("LOG_FORMAT", "json")]);
    let error = ServerSettings::from_env(&env, "SVC", 8086).unwrap_err();
    assert_eq!(error.variable, "SVC_LISTEN");
    assert!(error.to_string().starts_with("SVC_LISTEN: cannot use `localhost`"), "{error}");

    let env = Env::from_pairs([("LOG_FORMAT", "xml")]);
    let error = ServerSettings::from_env(&env, "SVC", 8086).unwrap_err();
    assert_eq!(error.to_string(), "LOG_FORMAT: cannot use `xml`: the log formats are json and compact");

    let defaults = ServerSettings::from_env(&Env::default(), "SVC", 8086).unwrap();
    assert_eq!(defaults.listen.to_string(), "127.0.0.1:8086");
    assert_eq!(defaults.shutdown_timeout.as_secs(), 10);

    let env = Env::from_pairs([("SVC_SHUTDOWN_TIMEOUT_SECS", "-1")]);
    assert_eq!(ServerSettings::from_env(&env, "SVC", 1).unwrap_err().variable, "SVC_SHUTDOWN_TIMEOUT_SECS");
    assert_eq!(
        Env::default().required::<u16>("SVC_PORT").unwrap_err().to_string(),
        "SVC_PORT: is required but not set"
    );
}
