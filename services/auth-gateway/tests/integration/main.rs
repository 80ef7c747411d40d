//! auth-gateway, through its HTTP interface and as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

service_kit::conformance_tests! {
    service: auth_gateway,
    binary: env!("CARGO_BIN_EXE_auth-gateway"),
    listen_variable: "AUTH_GATEWAY_LISTEN",
    openapi: "auth-gateway.json",
}
