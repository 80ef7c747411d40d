//! End-to-end tests across the services and the real servers of the test stack.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod broker;
mod deployed_runs;
mod fault;
mod gateway;
mod history;
mod logs;
mod on_kubernetes;
