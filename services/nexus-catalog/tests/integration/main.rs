//! nexus-catalog, through its HTTP interface and as a process.

service_kit::conformance_tests! {
    service: nexus_catalog,
    binary: env!("CARGO_BIN_EXE_nexus-catalog"),
    listen_variable: "NEXUS_CATALOG_LISTEN",
    openapi: "nexus-catalog.json",
}
