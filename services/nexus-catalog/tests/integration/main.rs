//! nexus-catalog, through its HTTP interface: against a Nexus stand-in that answers as Nexus does,
//! quirks and failures included, and over a local folder; and as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod browse;
mod failures;
mod folder;
mod nexus_stand_in;
mod tls;

use reqwest::StatusCode;
use serde_json::Value;
use service_kit::testing::TestServer;

service_kit::conformance_tests! {
    service: nexus_catalog,
    binary: env!("CARGO_BIN_EXE_nexus-catalog"),
    listen_variable: "NEXUS_CATALOG_LISTEN",
    openapi: "nexus-catalog.json",
}

/// The catalog with these settings (`NEXUS_CATALOG_...` variables).
async fn catalog(variables: &[(&str, &str)]) -> TestServer {
    let settings =
        nexus_catalog::Settings::from_env(&service_kit::testing::test_env(variables.iter().copied())).unwrap();
    TestServer::start(|listener| nexus_catalog::run(settings, listener)).await
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let response = server.get(path).await;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A page's `[group:name@latest (count)]`.
fn jobs(page: &Value) -> Vec<String> {
    page["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}:{}@{} ({})",
                a["group"].as_str().unwrap(),
                a["name"].as_str().unwrap(),
                a["latestVersion"].as_str().unwrap(),
                a["versionCount"]
            )
        })
        .collect()
}
