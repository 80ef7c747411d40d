//! What the deployer may need to do in its namespace, listed once: every call of
//! [`super::cluster::Cluster`] and of the watcher is one of these. `/readyz` asks the API server
//! (SelfSubjectAccessReview) whether the deployer's account has each, and names what is missing;
//! the Role of `deploy/kubernetes/job-deployer-rbac.yaml` (and the Helm chart's) grants exactly
//! these, which a test compares.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::cluster::Cluster;

/// One rule: an API group, a resource (`resource/subresource`), and the verbs used on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
}

/// Everything the deployer does in its namespace.
pub const NEEDED: &[Permission] = &[
    // Deployments that run on a schedule: read, list, create (and its dry run), replace on a
    // change, suspend and resume (merge patch), delete.
    Permission { group: "batch", resource: "cronjobs", verbs: &["get", "list", "create", "update", "patch", "delete"] },
    // A run started by hand is owned by its CronJob with `blockOwnerDeletion`, which clusters
    // enforcing owner references' permissions allow only to whom may update the owner's finalizers.
    Permission { group: "batch", resource: "cronjobs/finalizers", verbs: &["update"] },
    // Deployments that run once, and every run: read, list and watch (the watcher), create (a
    // deployment, a run started by hand), patch (the watcher ends a run that cannot start), delete.
    Permission { group: "batch", resource: "jobs", verbs: &["get", "list", "watch", "create", "patch", "delete"] },
    // The runs' pods: states and failure reasons, watched for the job events.
    Permission { group: "", resource: "pods", verbs: &["list", "watch"] },
    Permission { group: "", resource: "pods/log", verbs: &["get"] },
    // Revision records and the mounts' credentials: created, read for a rollback, listed, deleted
    // (one that a refused change had made, or all of a deployment's).
    Permission { group: "", resource: "secrets", verbs: &["get", "list", "create", "delete", "deletecollection"] },
    // Why a run's Job could not make its pod (FailedCreate: refused by Pod Security, a quota).
    Permission { group: "", resource: "events", verbs: &["list"] },
];

/// How long an answer of the API server about the permissions is trusted: a Role changed is
/// seen within this time.
const TRUSTED_FOR: Duration = Duration::from_secs(60);

/// An answer and when it was given.
type Answer = (Instant, Result<(), String>);

/// The last check, shared by the clones of the runtime.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    last: Arc<Mutex<Option<Answer>>>,
}

impl Checked {
    /// `Ok` when the API server answers and grants every permission, else what is wrong.
    pub async fn check(&self, cluster: &Cluster) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = last.as_ref()
            && at.elapsed() < TRUSTED_FOR
        {
            return answer.clone();
        }
        let answer = ask(cluster).await;
        // A failure to ask is asked again at once; an answer is kept a while.
        if !matches!(&answer, Err(why) if why.starts_with("failing")) {
            *last = Some((Instant::now(), answer.clone()));
        }
        answer
    }
}

async fn ask(cluster: &Cluster) -> Result<(), String> {
    let asked = NEEDED.iter().flat_map(|permission| permission.verbs.iter().map(move |verb| (permission, *verb))).map(
        |(permission, verb)| async move {
            let allowed = cluster.may(permission.group, permission.resource, verb).await;
            (permission, verb, allowed)
        },
    );
    let mut missing = Vec::new();
    for (permission, verb, allowed) in futures_util::future::join_all(asked).await {
        match allowed {
            Ok(true) => {}
            Ok(false) => {
                let group = if permission.group.is_empty() { String::new() } else { format!(".{}", permission.group) };
                missing.push(format!("{verb} {}{group}", permission.resource));
            }
            Err(error) => {
                tracing::warn!(%error, "the Kubernetes API server does not answer");
                return Err("failing (the service's log says why)".to_owned());
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        tracing::error!(?missing, namespace = cluster.namespace(), "the deployer's account lacks permissions");
        Err(format!(
            "the deployer's account may not {} in namespace {} (see deploy/kubernetes/job-deployer-rbac.yaml)",
            missing.join(", "),
            cluster.namespace()
        ))
    }
}
