//! Every call the deployer makes to the Kubernetes API, in its one namespace. Each call here is one
//! of the permissions listed in [`super::permissions::NEEDED`], which the Role must grant.
//!
//! Objects are created with `create` and changed with `replace` over the version that was read,
//! never server-side applied: a create fails when anything of that name exists (so a CronJob the
//! platform did not make is never taken over, even in a race), and a replace makes the object
//! exactly what the deployer computed (an apply would merge, keeping another owner's container
//! beside ours) and refuses a stale version.

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, Preconditions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::manifests::{DEPLOYMENT_LABEL, MANAGED_BY, ROLE_LABEL, Workload};
use crate::spec::WorkloadKind;

/// The field manager of every write: the owner of the fields the deployer sets.
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

/// What holds a deployment's name: its CronJob and its Job, each ours or not.
#[derive(Debug, Default)]
pub struct Found {
    pub cron_job: Option<CronJob>,
    pub job: Option<Job>,
}

impl Found {
    /// The deployment of that name, if the platform made one.
    pub fn ours(&self) -> Option<Workload> {
        let cron_job = self.cron_job.clone().map(|c| Workload::CronJob(Box::new(c))).filter(Workload::is_ours);
        cron_job.or_else(|| self.job.clone().map(|j| Workload::Job(Box::new(j))).filter(Workload::is_ours))
    }

    /// An object of that name the platform did not make, by kind.
    pub fn foreign(&self, kind: WorkloadKind) -> bool {
        match kind {
            WorkloadKind::CronJob => self.cron_job.clone().is_some_and(|c| !Workload::CronJob(Box::new(c)).is_ours()),
            WorkloadKind::Job => self.job.clone().is_some_and(|j| !Workload::Job(Box::new(j)).is_ours()),
        }
    }
}

fn post(dry_run: bool) -> PostParams {
    PostParams { dry_run, field_manager: Some(FIELD_MANAGER.to_owned()) }
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

    /// The CronJob and the Job named `name`, whoever made them.
    pub async fn find(&self, name: &str) -> Result<Found, kube::Error> {
        let cron_job = self.api::<CronJob>().get_opt(name).await?;
        let job = self.api::<Job>().get_opt(name).await?;
        Ok(Found { cron_job, job })
    }

    /// The deployment named `name`, if the platform made one: its CronJob, else its Job.
    pub async fn deployment(&self, name: &str) -> Result<Option<Workload>, kube::Error> {
        if let Some(cron_job) = self.api::<CronJob>().get_opt(name).await?.map(|c| Workload::CronJob(Box::new(c)))
            && cron_job.is_ours()
        {
            return Ok(Some(cron_job));
        }
        let job = self.api::<Job>().get_opt(name).await?.map(|j| Workload::Job(Box::new(j)));
        Ok(job.filter(Workload::is_ours))
    }

    pub async fn create<K>(&self, object: &K, dry_run: bool) -> Result<K, kube::Error>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Serialize
            + DeserializeOwned
            + Clone
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>().create(&post(dry_run), object).await
    }

    /// Replaces the object; it must carry the `resourceVersion` it replaces.
    pub async fn replace<K>(&self, object: &K, dry_run: bool) -> Result<K, kube::Error>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Serialize
            + DeserializeOwned
            + Clone
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let name = object.meta().name.clone().unwrap_or_default();
        self.api::<K>().replace(&name, &post(dry_run), object).await
    }

    pub async fn create_workload(&self, workload: &Workload, dry_run: bool) -> Result<Workload, kube::Error> {
        Ok(match workload {
            Workload::Job(job) => Workload::Job(Box::new(self.create(job.as_ref(), dry_run).await?)),
            Workload::CronJob(cron_job) => Workload::CronJob(Box::new(self.create(cron_job.as_ref(), dry_run).await?)),
        })
    }

    /// Replaces the Job or CronJob over the `resourceVersion` it carries.
    pub async fn replace_workload(&self, workload: &Workload, dry_run: bool) -> Result<Workload, kube::Error> {
        Ok(match workload {
            Workload::Job(job) => Workload::Job(Box::new(self.replace(job.as_ref(), dry_run).await?)),
            Workload::CronJob(cron_job) => Workload::CronJob(Box::new(self.replace(cron_job.as_ref(), dry_run).await?)),
        })
    }

    /// Removes the Job or CronJob that was read (by its uid: one made again meanwhile under the same
    /// name is not removed, 409); Kubernetes removes its runs and their pods in the background.
    pub async fn delete_workload(&self, workload: &Workload) -> Result<(), kube::Error> {
        let meta = workload.metadata();
        let name = meta.name.clone().unwrap_or_default();
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: meta.uid.clone(), resource_version: None }),
            ..DeleteParams::background()
        };
        match workload.kind() {
            WorkloadKind::Job => self.api::<Job>().delete(&name, &params).await.map(|_| ()),
            WorkloadKind::CronJob => self.api::<CronJob>().delete(&name, &params).await.map(|_| ()),
        }
    }

    pub async fn delete_secret(&self, name: &str) -> Result<(), kube::Error> {
        match self.api::<Secret>().delete(name, &DeleteParams::background()).await {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Removes every Secret of the deployment (credentials and revisions).
    pub async fn delete_secrets(&self, deployment: &str) -> Result<(), kube::Error> {
        let list = ListParams::default().labels(&selector(&[(DEPLOYMENT_LABEL, deployment)]));
        self.api::<Secret>().delete_collection(&DeleteParams::background(), &list).await.map(|_| ())
    }

    pub async fn list<K>(&self, labels: &[(&str, &str)]) -> Result<Vec<K>, kube::Error>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope> + DeserializeOwned + Clone + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let list = ListParams::default().labels(&selector(labels));
        self.api::<K>().list(&list).await.map(|list| list.items)
    }

    pub async fn secret(&self, name: &str) -> Result<Option<Secret>, kube::Error> {
        self.api::<Secret>().get_opt(name).await
    }

    /// The deployment's revision records.
    pub async fn revision_records(&self, deployment: &str) -> Result<Vec<Secret>, kube::Error> {
        self.list(&[(DEPLOYMENT_LABEL, deployment), (ROLE_LABEL, "revision")]).await
    }

    /// Suspends or resumes a CronJob with a merge patch over the version read (suspension is
    /// state, not a new revision).
    pub async fn set_suspended(
        &self,
        cron_job: &CronJob,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<CronJob, kube::Error> {
        let patch = serde_json::json!({
            "metadata": {
                "resourceVersion": cron_job.metadata.resource_version,
                "annotations": {super::manifests::SUSPEND_REASON_ANNOTATION: reason},
            },
            "spec": {"suspend": suspend},
        });
        let name = cron_job.metadata.name.clone().unwrap_or_default();
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
        self.api::<CronJob>().patch(&name, &params, &Patch::Merge(&patch)).await
    }

    pub async fn logs(&self, pod: &str, params: &LogParams) -> Result<String, kube::Error> {
        self.api::<Pod>().logs(pod, params).await
    }

    pub async fn log_stream(
        &self,
        pod: &str,
        params: &LogParams,
    ) -> Result<impl futures_util::AsyncBufRead + use<>, kube::Error> {
        self.api::<Pod>().log_stream(pod, params).await
    }

    /// The events Kubernetes recorded about one object (by uid) for one reason.
    pub async fn events_of(&self, uid: &str, reason: &str) -> Result<Vec<Event>, kube::Error> {
        let list = ListParams::default().fields(&format!("involvedObject.uid={uid},reason={reason}"));
        self.api::<Event>().list(&list).await.map(|list| list.items)
    }

    /// Whether the deployer's own account may do `verb` on `resource` (`jobs`, `cronjobs/finalizers`)
    /// of `group` in the namespace.
    pub async fn may(&self, group: &str, resource: &str, verb: &str) -> Result<bool, kube::Error> {
        let (resource, subresource) = match resource.split_once('/') {
            Some((resource, subresource)) => (resource, Some(subresource.to_owned())),
            None => (resource, None),
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(self.namespace.clone()),
                    group: Some(group.to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource,
                    verb: Some(verb.to_owned()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let reviewed =
            Api::<SelfSubjectAccessReview>::all(self.client.clone()).create(&PostParams::default(), &review).await?;
        Ok(reviewed.status.is_some_and(|status| status.allowed))
    }
}
