//! Why an operation of the deployer did not happen, as the runtimes say it. What each becomes in
//! HTTP (status, code, body) is decided in one place, `http::error`.

use crate::spec::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec (or a run's overrides) has these problems; nothing was done.
    #[error("the deployment has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    /// A parameter of the request cannot be used.
    #[error("{message}")]
    InvalidParameter { field: &'static str, message: String },
    /// Kubernetes' own validation (a server-side dry run) refused the objects; nothing was written.
    #[error("Kubernetes refused the deployment: {}", .0.len())]
    RefusedByKubernetes(Vec<Problem>),

    #[error("there is no deployment named '{0}'")]
    DeploymentNotFound(String),
    #[error("'{name}' has no revision {revision}")]
    RevisionNotFound { name: String, revision: u32 },
    #[error("'{deployment}' has no run named '{run}'")]
    RunNotFound { deployment: String, run: String },
    #[error("'{0}' has not run yet")]
    NoRunYet(String),
    #[error("the run '{0}' had one attempt: there is no previous one")]
    NoPreviousAttempt(String),

    #[error("a deployment named '{0}' exists; change it with PUT /v1/deployments/{0}")]
    DeploymentExists(String),
    /// An object the deployer would write exists and was not made by the platform.
    #[error("a {kind} named '{name}' exists in the namespace and was not made by the platform; choose another name")]
    NameTaken { kind: String, name: String },
    #[error("'{name}' is a Job, which runs once; {what}")]
    NotACronJob { name: String, what: &'static str },
    #[error("the deployment was changed by someone else meanwhile; read it again and retry")]
    ChangedMeanwhile,
    /// `If-Match` named a version that is not the current one.
    #[error("'{name}' was changed since the version given in If-Match; read it again and retry")]
    Stale { name: String },
    #[error("'{0}' is being deleted (its runs are stopping); try again")]
    BeingDeleted(String),
    #[error("'{name}' cannot run on Kubernetes as it is: {why}")]
    NotExportable { name: String, why: String },
    #[error("'{0}' lost its spec annotation (changed outside the deployer); change it with PUT first")]
    SpecLost(String),
    /// A rollback whose revision needs a Secret that is gone.
    #[error(
        "revision {revision} of '{name}' needs the Secret '{secret}', which no longer exists; change the deployment with the credentials instead"
    )]
    RevisionNotRunnable { name: String, revision: u32, secret: String },

    /// The log cannot be read yet, and why (the pod is not on a node, the container waits).
    #[error("{0}")]
    LogNotReady(String),
    /// The API server answered but the node's kubelet, which holds the log, did not.
    #[error("the node '{node}' that ran the pod did not give its log (its kubelet cannot be reached); retry later")]
    KubeletUnreachable { node: String },

    /// A failed call to the Kubernetes API, `doing` what.
    #[error("Kubernetes: {failure:?} when asked to {doing}")]
    Kubernetes { failure: KubeFailure, doing: &'static str },
    #[error("the deployer has no Kubernetes cluster: run it in a cluster or give it a kubeconfig (KUBECONFIG)")]
    NotConfigured,
    #[error("the deployer is stopping; try again")]
    Stopping,
    /// The local runtime cannot use its folder (the log says why).
    #[error("the local runtime cannot {0} (its folder is not usable; the service's log says why)")]
    Storage(&'static str),
}

/// How a Kubernetes call failed, told apart for the caller: the deployer's account lacks a
/// permission (502), the API server is away or overloaded (503), or it answered nonsense (502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeFailure {
    Forbidden,
    Unavailable { status: Option<u16> },
    Unexpected,
}

impl Error {
    /// A failed Kubernetes call that no caller-specific answer (404, 409) took; logged here with
    /// its details, which the answer never carries.
    pub fn kubernetes(error: &kube::Error, doing: &'static str) -> Error {
        let failure = match error {
            // A quota is the namespace's policy refusing this request, not the deployer's Role.
            kube::Error::Api(status) if status.code == 403 && status.message.contains("exceeded quota") => {
                return Error::RefusedByKubernetes(crate::kubernetes::problems_of(status));
            }
            kube::Error::Api(status) if status.code == 403 => {
                tracing::error!(%error, doing, "Kubernetes refused the deployer's service account");
                KubeFailure::Forbidden
            }
            kube::Error::Api(status) if status.code == 409 => return Error::ChangedMeanwhile,
            kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
                return Error::RefusedByKubernetes(crate::kubernetes::problems_of(status));
            }
            kube::Error::Api(status) if status.code == 429 || status.code >= 500 => {
                tracing::error!(%error, doing, "the Kubernetes API server failed");
                KubeFailure::Unavailable { status: Some(status.code) }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                tracing::error!(%error, doing, "the Kubernetes API server is unreachable");
                KubeFailure::Unavailable { status: None }
            }
            _ => {
                tracing::error!(%error, doing, "unexpected answer from Kubernetes");
                KubeFailure::Unexpected
            }
        };
        Error::Kubernetes { failure, doing }
    }
}

/// Whether a Kubernetes call failed because the object is not there.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Whether a Kubernetes call failed because the object changed or already exists.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}
