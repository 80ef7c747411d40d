//! nexus-catalog, through its HTTP interface and as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

service_kit::conformance_tests! {
    service: nexus_catalog,
    binary: env!("CARGO_BIN_EXE_nexus-catalog"),
    listen_variable: "NEXUS_CATALOG_LISTEN",
    openapi: "nexus-catalog.json",
}
