//! `/healthz` says the process answers (no dependency is asked); `/readyz` asks every dependency the
//! service registered and answers 503 while one of them fails, so that Kubernetes stops sending traffic.
//! An advisory dependency is shown the same way but does not fail readiness: the service still
//! serves without it (the deployer's events wait in a buffer while the broker is away).
//!
//! `/readyz` answers without authentication, so a failing check answers a [`NotReady`]: a reason
//! of the service's own words for the page, and the raw cause (host names, addresses, paths) for
//! the log only.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long one dependency may take to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a dependency is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    /// What `/readyz` shows: a fixed phrase, or facts of the service's own (a missing permission).
    reason: String,
    /// The error as it came, logged when the check fails.
    cause: Option<String>,
}

impl NotReady {
    /// A reason with nothing to hide.
    pub fn reason(reason: impl Into<String>) -> NotReady {
        NotReady { reason: reason.into(), cause: None }
    }

    /// `reason` for the page, `cause` for the log.
    pub fn because(reason: impl Into<String>, cause: impl std::fmt::Display) -> NotReady {
        NotReady { reason: reason.into(), cause: Some(cause.to_string()) }
    }
}

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), NotReady>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The dependencies a service needs to serve: each a name and an async check.
#[derive(Clone, Default)]
pub struct Readiness {
    /// Each dependency, and whether its failure fails readiness.
    checks: Vec<(&'static str, Check, bool)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.checks.iter().map(|(name, _, _)| name)).finish()
    }
}

impl Readiness {
    /// Adds a dependency; `check` answers `Err` while it is not usable.
    pub fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), NotReady>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()) as CheckFuture), true));
        self
    }

    /// Adds a dependency whose failure `/readyz` reports (prefixed `degraded: `) without failing.
    pub fn with_advisory<F, Fut>(mut self, name: &'static str, check: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), NotReady>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()) as CheckFuture), false));
        self
    }

    /// Asks every dependency at once.
    pub async fn report(&self) -> ReadinessReport {
        let answers = futures_util::future::join_all(self.checks.iter().map(|(name, check, required)| async move {
            let answer = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(NotReady { reason, cause })) => {
                    match cause {
                        Some(cause) => tracing::warn!(dependency = name, %reason, %cause, "not ready"),
                        None => tracing::warn!(dependency = name, %reason, "not ready"),
                    }
                    reason
                }
                Err(_) => {
                    tracing::warn!(dependency = name, "not ready: no answer within {} s", CHECK_TIMEOUT.as_secs());
                    format!("no answer within {} s", CHECK_TIMEOUT.as_secs())
                }
            };
            let fine = answer == "ok";
            let answer = if *required || fine { answer } else { format!("degraded: {answer}") };
            (name.to_string(), answer, fine || !required)
        }))
        .await;
        let ready = answers.iter().all(|(_, _, fine)| *fine);
        ReadinessReport {
            status: if ready { "ready" } else { "unready" }.to_owned(),
            checks: answers.into_iter().map(|(name, answer, _)| (name, answer)).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadinessReport {
    /// `ready` or `unready`.
    #[schema(example = "ready")]
    pub status: String,
    /// Each dependency: `ok`, or why it is not.
    pub checks: BTreeMap<String, String>,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".to_owned() })
}

/// The process is alive (no body).
#[utoipa::path(head, path = "/healthz", tag = "operations", security(()), responses((status = 200, description = "Alive")))]
pub(crate) async fn healthz_head() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Every dependency of the service answers (no body).
#[utoipa::path(
    head,
    path = "/readyz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Ready"), (status = 503, description = "A dependency is not usable"))
)]
pub(crate) async fn readyz_head(readiness: web::Data<Readiness>) -> HttpResponse {
    if readiness.report().await.status == "ready" { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() }
        .finish()
}

/// Every dependency of the service answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready", body = ReadinessReport),
        (status = 503, description = "A dependency is not usable", body = ReadinessReport)
    )
)]
pub(crate) async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let report = readiness.report().await;
    if report.status == "ready" {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}
