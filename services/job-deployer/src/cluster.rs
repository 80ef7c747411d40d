//! Every call the deployer makes to the Kubernetes API, in one namespace. Writes are server-side
//! applies under one field manager, so that retrying any of them changes nothing the second time.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, is_not_found};
use crate::manifests::{self, DEPLOYMENT_LABEL, MANAGED_BY, ROLE_LABEL, Workload};
use crate::spec::WorkloadKind;

/// The field manager of every apply: the owner of the fields the deployer sets.
pub const FIELD_MANAGER: &str = "job-orchestrator";

#[derive(Clone)]
pub struct Cluster {
    client: Client,
    namespace: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

/// `app.kubernetes.io/managed-by=job-orchestrator,<more>`.
pub fn selector(more: &[(&str, &str)]) -> String {
    std::iter::once(MANAGED_BY)
        .chain(more.iter().copied())
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Cluster {
    pub fn new(client: Client, namespace: String) -> Cluster {
        Cluster { client, namespace }
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope> + DeserializeOwned + Clone + std::fmt::Debug,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Readiness: the API server answers.
    pub async fn ping(&self) -> Result<(), String> {
        self.client.apiserver_version().await.map(|_| ()).map_err(|error| {
            tracing::warn!(%error, "the Kubernetes API server does not answer");
            "failing (the service's log says why)".to_owned()
        })
    }

    /// The deployment named `name`: its CronJob, else its Job.
    pub async fn find(&self, name: &str) -> Result<Option<Workload>, ApiError> {
        let doing = "read the deployment";
        if let Some(cron_job) =
            self.api::<CronJob>().get_opt(name).await.map_err(|e| ApiError::kubernetes(&e, doing))?
        {
            return Ok(Some(Workload::CronJob(Box::new(cron_job))).filter(is_ours));
        }
        let job = self.api::<Job>().get_opt(name).await.map_err(|e| ApiError::kubernetes(&e, doing))?;
        Ok(job.map(|job| Workload::Job(Box::new(job))).filter(is_ours))
    }

    /// Like [`Cluster::find`], a 404 when there is none.
    pub async fn get(&self, name: &str) -> Result<Workload, ApiError> {
        self.find(name).await?.ok_or_else(|| ApiError::not_found(name))
    }

    /// Applies the Job or CronJob. With `resource_version`, Kubernetes refuses (409) when the
    /// object changed since it was read: two changes never silently overwrite each other.
    pub async fn apply(&self, workload: &Workload, resource_version: Option<String>) -> Result<Workload, ApiError> {
        let doing = "apply the deployment";
        Ok(match workload {
            Workload::Job(job) => {
                let mut job = job.as_ref().clone();
                job.metadata.resource_version = resource_version;
                Workload::Job(Box::new(self.apply_object(&job).await.map_err(|e| ApiError::kubernetes(&e, doing))?))
            }
            Workload::CronJob(cron_job) => {
                let mut cron_job = cron_job.as_ref().clone();
                cron_job.metadata.resource_version = resource_version;
                Workload::CronJob(Box::new(
                    self.apply_object(&cron_job).await.map_err(|e| ApiError::kubernetes(&e, doing))?,
                ))
            }
        })
    }

    pub async fn apply_secret(&self, secret: &Secret) -> Result<(), ApiError> {
        self.apply_object(secret).await.map(|_| ()).map_err(|e| ApiError::kubernetes(&e, "apply a Secret"))
    }

    async fn apply_object<K>(&self, object: &K) -> Result<K, kube::Error>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Serialize
            + DeserializeOwned
            + Clone
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let name = object.meta().name.clone().unwrap_or_default();
        self.api::<K>().patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(object)).await
    }

    /// Removes the Job or CronJob; Kubernetes removes its runs and their pods in the background.
    pub async fn delete_workload(&self, kind: WorkloadKind, name: &str) -> Result<(), ApiError> {
        let params = DeleteParams::background();
        let deleted = match kind {
            WorkloadKind::Job => self.api::<Job>().delete(name, &params).await.map(|_| ()),
            WorkloadKind::CronJob => self.api::<CronJob>().delete(name, &params).await.map(|_| ()),
        };
        match deleted {
            Err(error) if is_not_found(&error) => Err(ApiError::not_found(name)),
            other => other.map_err(|e| ApiError::kubernetes(&e, "delete the deployment")),
        }
    }

    /// Removes the deployment's Secrets of `role` (`credentials`, `revision`; every role when
    /// absent), except those named in `keep`.
    pub async fn delete_secrets(&self, deployment: &str, role: Option<&str>, keep: &[String]) -> Result<(), ApiError> {
        let doing = "remove the deployment's Secrets";
        let mut labels = vec![(DEPLOYMENT_LABEL, deployment)];
        labels.extend(role.map(|role| (ROLE_LABEL, role)));
        let list = ListParams::default().labels(&selector(&labels));
        let secrets: Api<Secret> = self.api();
        if keep.is_empty() {
            return secrets
                .delete_collection(&DeleteParams::background(), &list)
                .await
                .map(|_| ())
                .map_err(|e| ApiError::kubernetes(&e, doing));
        }
        let found = secrets.list_metadata(&list).await.map_err(|e| ApiError::kubernetes(&e, doing))?;
        for name in
            found.items.into_iter().filter_map(|secret| secret.metadata.name).filter(|name| !keep.contains(name))
        {
            match secrets.delete(&name, &DeleteParams::background()).await {
                Err(error) if !is_not_found(&error) => return Err(ApiError::kubernetes(&error, doing)),
                _ => {}
            }
        }
        Ok(())
    }

    pub async fn list<K>(&self, labels: &[(&str, &str)], doing: &str) -> Result<Vec<K>, ApiError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope> + DeserializeOwned + Clone + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let list = ListParams::default().labels(&selector(labels));
        self.api::<K>().list(&list).await.map(|list| list.items).map_err(|e| ApiError::kubernetes(&e, doing))
    }

    /// Records a revision. Created, not applied: a revision is never rewritten.
    pub async fn record_revision(&self, secret: &Secret) -> Result<(), ApiError> {
        match self.api::<Secret>().create(&PostParams::default(), secret).await {
            // A retry of the same change finds its record already there.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            other => other.map(|_| ()).map_err(|e| ApiError::kubernetes(&e, "record the revision")),
        }
    }

    pub async fn revision(&self, deployment: &str, revision: u32) -> Result<Option<Secret>, ApiError> {
        self.api::<Secret>()
            .get_opt(&manifests::revision_secret_name(deployment, revision))
            .await
            .map_err(|e| ApiError::kubernetes(&e, "read a revision"))
    }

    /// Suspends or resumes a CronJob with a merge patch: suspension is state, not a new revision.
    pub async fn set_suspended(&self, name: &str, suspend: bool, reason: Option<&str>) -> Result<CronJob, ApiError> {
        let patch = serde_json::json!({
            "metadata": {"annotations": {manifests::SUSPEND_REASON_ANNOTATION: reason}},
            "spec": {"suspend": suspend},
        });
        self.api::<CronJob>()
            .patch(
                name,
                &PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| ApiError::kubernetes(&e, if suspend { "suspend the CronJob" } else { "resume the CronJob" }))
    }

    /// Starts a run by hand.
    pub async fn create_job(&self, job: &Job) -> Result<Job, ApiError> {
        self.api::<Job>()
            .create(&PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() }, job)
            .await
            .map_err(|e| ApiError::kubernetes(&e, "start a run"))
    }

    pub async fn logs(&self, pod: &str, params: &LogParams) -> Result<String, ApiError> {
        self.api::<Pod>().logs(pod, params).await.map_err(|e| ApiError::kubernetes(&e, "read the logs"))
    }

    pub async fn log_stream(
        &self,
        pod: &str,
        params: &LogParams,
    ) -> Result<impl futures_util::AsyncBufRead + use<>, ApiError> {
        self.api::<Pod>().log_stream(pod, params).await.map_err(|e| ApiError::kubernetes(&e, "follow the logs"))
    }
}

/// Only objects the deployer made are deployments: a Job of the same name made by someone else is
/// not ours to show, change or delete.
fn is_ours(workload: &Workload) -> bool {
    let labels = workload.metadata().labels.as_ref();
    labels.and_then(|labels| labels.get(MANAGED_BY.0)).is_some_and(|value| value == MANAGED_BY.1)
        && labels.and_then(|labels| labels.get(ROLE_LABEL)).is_some_and(|value| value == "workload")
}
