//! The plumbing every Job Orchestrator service shares, written once: typed settings from the
//! environment ([`settings`]), JSON or compact logs ([`telemetry`]), `/healthz` and `/readyz`
//! ([`health`]), Prometheus metrics ([`metrics`]), request ids and request logs ([`observe`]),
//! `/openapi.json` and offline API docs ([`docs`]), who calls and what they may do ([`auth`]), JSON errors ([`error`]), the server with its
//! graceful shutdown ([`server`]) and the process' TLS provider ([`tls`]).
//!
//! A service's `main` is one call to [`server::main`]; its `lib.rs` exposes `run(settings, listener)`
//! built on [`server::Service`], which the tests call too.

pub mod auth;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod observe;
pub mod server;
pub mod settings;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use auth::{Caller, Role};
pub use error::ErrorBody;
pub use extract::Query;
pub use health::{NotReady, Readiness};
pub use server::{Running, Service, Worker, main};
pub use settings::{Env, Positive, ServerSettings, SettingsError};
