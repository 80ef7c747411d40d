//! auth-gateway, through its HTTP interface and as a process.

service_kit::conformance_tests! {
    service: auth_gateway,
    binary: env!("CARGO_BIN_EXE_auth-gateway"),
    listen_variable: "AUTH_GATEWAY_LISTEN",
    openapi: "auth-gateway.json",
}
