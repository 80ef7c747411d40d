//! The Kubernetes runtime: a deployment is a Job or a CronJob of the deployer's namespace, with a
//! Secret recording each revision and, per revision, the Secrets of its inline CIFS credentials.
//! The cluster holds all of the state.
//!
//! A deploy, a change or a rollback writes in an order that a refusal or a lost race undoes:
//! 1. the workload is sent to the API server as a dry run, so that its own validation (and its
//!    admission) refuses what it would refuse, before anything is stored (a dry run asked by the
//!    caller sends every object, for its answer);
//! 2. the revision's record is created: it claims the revision number, so of two concurrent
//!    changes one goes on and the other is told to reload, with nothing of its own written;
//! 3. the revision's credentials are created (new names: a running revision's are never touched);
//! 4. the workload is created, or replaced over the version read (a Job's pod template cannot
//!    change: a Job deployment's Job is deleted and made again).
//!
//! A failure at 3 or 4 deletes what 2 and 3 created.

mod archive;
pub mod cluster;
mod logs;
pub mod manifests;
pub mod permissions;
pub mod status;
pub mod watcher;
mod write;

use chrono::Utc;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub use self::cluster::Cluster;
use self::manifests::{Context, DEPLOYMENT_LABEL, ROLE_LABEL, Workload};
pub use self::write::problems_of;
use self::write::stale;
use crate::DeployerSettings;
use crate::error::{Error, is_conflict};
use crate::model::{
    DeploymentDetail, DeploymentSummary, Log, LogRequest, Outcome, Precondition, Revision, Run, RunOverrides, Versioned,
};
use crate::spec::{CheckedSpec, DeploymentSpec, Target, WorkloadKind, check};

/// How often a write over a version is tried again when only the object's status moved meanwhile
/// (a CronJob's status changes at every run).
const WRITE_ATTEMPTS: usize = 5;

/// The deployer on a Kubernetes cluster.
#[derive(Debug, Clone)]
pub struct Kubernetes {
    cluster: Cluster,
    settings: DeployerSettings,
    permissions: permissions::Checked,
}

fn kube(doing: &'static str) -> impl Fn(kube::Error) -> Error {
    move |error| Error::kubernetes(&error, doing)
}

impl Kubernetes {
    pub fn new(cluster: Cluster, settings: DeployerSettings) -> Kubernetes {
        Kubernetes { cluster, settings, permissions: permissions::Checked::default() }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn namespace(&self) -> &str {
        self.cluster.namespace()
    }

    /// What a spec must pass to be deployed here.
    pub fn target(&self) -> Target<'_> {
        Target::Kubernetes { nexus_url: self.settings.nexus_url.as_deref() }
    }

    /// Readiness: the API server answers and grants every permission the deployer needs.
    pub async fn ready(&self) -> Result<(), String> {
        self.permissions.check(&self.cluster).await
    }

    /// The deployment named `name`, if the platform made one.
    async fn ours(&self, name: &str) -> Result<Workload, Error> {
        let found = self.cluster.deployment(name).await.map_err(kube("read the deployment"))?;
        found.ok_or_else(|| Error::DeploymentNotFound(name.to_owned()))
    }

    fn context<'a>(&'a self, owner: &'a str, author: &'a str, revision: u32) -> Context<'a> {
        Context {
            namespace: self.cluster.namespace(),
            fetch_image: &self.settings.fetch_image,
            nexus_secret: self.settings.nexus_secret.as_deref(),
            run_as_user: self.settings.run_as_user,
            owner,
            author,
            at: Utc::now(),
            revision,
            suspended: false,
            suspend_reason: None,
        }
    }

    pub async fn create(&self, spec: CheckedSpec, author: &str, dry_run: bool) -> Result<Outcome, Error> {
        let found = self.cluster.find(spec.name()).await.map_err(kube("read the deployment"))?;
        if found.ours().is_some() {
            return Err(Error::DeploymentExists(spec.name().to_owned()));
        }
        for kind in [WorkloadKind::CronJob, WorkloadKind::Job] {
            if found.foreign(kind) {
                return Err(Error::NameTaken { kind: kind.as_str().to_owned(), name: spec.name().to_owned() });
            }
        }
        let context = self.context(author, author, 1);
        let plan = Self::plan(spec, &context, "deployed", None);
        self.write(plan, dry_run, &Precondition::default()).await
    }

    /// Changes the deployment to `spec` as a new revision; `change` says why (`changed`,
    /// `rollback to N`). Its suspension is kept: it is state, not spec.
    pub async fn change(
        &self,
        spec: CheckedSpec,
        author: &str,
        change: &str,
        precondition: &Precondition,
        dry_run: bool,
    ) -> Result<Outcome, Error> {
        let name = spec.name().to_owned();
        let found = self.cluster.find(&name).await.map_err(kube("read the deployment"))?;
        let old = found.ours().ok_or_else(|| Error::DeploymentNotFound(name.clone()))?;
        precondition.check(&name, &old.etag())?;
        if spec.kind() != old.kind() && found.foreign(spec.kind()) {
            return Err(Error::NameTaken { kind: spec.kind().as_str().to_owned(), name });
        }
        let owner = old.annotation(manifests::OWNER_ANNOTATION).unwrap_or_else(|| author.to_owned());
        let reason = old.annotation(manifests::SUSPEND_REASON_ANNOTATION);
        let mut context = self.context(&owner, author, old.revision() + 1);
        if spec.kind() == WorkloadKind::CronJob && old.suspended() {
            context.suspended = true;
            context.suspend_reason = reason.as_deref();
        }
        let plan = Self::plan(spec, &context, change, Some(old));
        self.write(plan, dry_run, precondition).await
    }

    /// Deploys revision `revision` again, as a new revision; refused when a Secret it needs is gone.
    pub async fn rollback(
        &self,
        name: &str,
        revision: u32,
        author: &str,
        precondition: &Precondition,
    ) -> Result<Outcome, Error> {
        let spec = self.revision_spec(name, revision).await?;
        let spec = check::check(spec, Some(name), self.target()).map_err(Error::Invalid)?;
        for mount in &spec.spec().mounts {
            let Some(secret) = mount.secret_name.as_deref().filter(|secret| secret.starts_with(name)) else {
                continue;
            };
            if self.cluster.secret(secret).await.map_err(kube("read a Secret"))?.is_none() {
                return Err(Error::RevisionNotRunnable { name: name.to_owned(), revision, secret: secret.to_owned() });
            }
        }
        self.change(spec, author, &format!("rollback to {revision}"), precondition, false).await
    }

    async fn detail_of(&self, workload: Workload) -> Result<Versioned<DeploymentDetail>, Error> {
        let runs = self.runs_of(workload.name()).await?;
        Ok(Versioned { etag: workload.etag(), value: status::detail(&workload, &runs, Utc::now()) })
    }

    async fn runs_of(&self, name: &str) -> Result<Vec<Run>, Error> {
        let jobs: Vec<Job> = self.cluster.list(&[(DEPLOYMENT_LABEL, name)]).await.map_err(kube("list the runs"))?;
        let pods: Vec<Pod> =
            self.cluster.list(&[(DEPLOYMENT_LABEL, name)]).await.map_err(kube("list the runs' pods"))?;
        Ok(status::runs(jobs, pods))
    }

    pub async fn get(&self, name: &str) -> Result<Versioned<DeploymentDetail>, Error> {
        let workload = self.ours(name).await?;
        self.detail_of(workload).await
    }

    /// Every deployment's list line.
    pub async fn list(&self) -> Result<Vec<DeploymentSummary>, Error> {
        let cron_jobs: Vec<CronJob> =
            self.cluster.list(&[(ROLE_LABEL, "workload")]).await.map_err(kube("list the CronJobs"))?;
        let jobs: Vec<Job> = self.cluster.list(&[]).await.map_err(kube("list the Jobs"))?;
        let pods: Vec<Pod> = self.cluster.list(&[]).await.map_err(kube("list the pods"))?;
        let workloads: Vec<Workload> = cron_jobs
            .into_iter()
            .map(|c| Workload::CronJob(Box::new(c)))
            .chain(jobs.iter().cloned().map(|j| Workload::Job(Box::new(j))))
            .filter(Workload::is_ours)
            .collect();
        let runs = status::runs_by_deployment(jobs, pods);
        let now = Utc::now();
        Ok(workloads
            .iter()
            .map(|workload| status::summary(workload, runs.get(workload.name()).and_then(|runs| runs.first()), now))
            .collect())
    }

    /// Removes the deployment: its Job or CronJob, their runs and pods (in the background), and its
    /// Secrets (credentials and revisions).
    pub async fn delete(&self, name: &str, precondition: &Precondition) -> Result<(), Error> {
        let workload = self.ours(name).await?;
        precondition.check(name, &workload.etag())?;
        match self.cluster.delete_workload(&workload).await {
            Err(error) if crate::error::is_not_found(&error) => return Err(Error::DeploymentNotFound(name.to_owned())),
            Err(error) if is_conflict(&error) => return Err(stale(precondition, name)),
            other => other.map_err(kube("delete the deployment"))?,
        }
        self.cluster.delete_secrets(name).await.map_err(kube("remove the deployment's Secrets"))
    }

    pub async fn revisions(&self, name: &str) -> Result<Vec<Revision>, Error> {
        let records = self.cluster.revision_records(name).await.map_err(kube("list the revisions"))?;
        let mut revisions: Vec<Revision> = records.iter().filter_map(revision_of_record).collect();
        if revisions.is_empty() {
            self.ours(name).await?;
        }
        revisions.sort_by_key(|revision| std::cmp::Reverse(revision.revision));
        Ok(revisions)
    }

    async fn revision_spec(&self, name: &str, revision: u32) -> Result<DeploymentSpec, Error> {
        let record = self
            .cluster
            .secret(&manifests::revision_secret_name(name, revision))
            .await
            .map_err(kube("read a revision"))?;
        record
            .filter(|record| manifests::is_ours(&record.metadata))
            .as_ref()
            .and_then(revision_of_record)
            .and_then(|revision| revision.spec)
            .ok_or_else(|| Error::RevisionNotFound { name: name.to_owned(), revision })
    }

    /// Suspends or resumes a CronJob; `reason` is kept while it is suspended.
    pub async fn set_suspended(
        &self,
        name: &str,
        suspend: bool,
        reason: Option<&str>,
        precondition: &Precondition,
    ) -> Result<Versioned<DeploymentDetail>, Error> {
        let workload = self.ours(name).await?;
        precondition.check(name, &workload.etag())?;
        let first = workload.etag();
        let mut workload = workload;
        for _ in 0..WRITE_ATTEMPTS {
            let Workload::CronJob(cron_job) = &workload else {
                return Err(Error::NotACronJob {
                    name: name.to_owned(),
                    what: "only a CronJob can be suspended or resumed",
                });
            };
            let doing = if suspend { "suspend the CronJob" } else { "resume the CronJob" };
            match self.cluster.set_suspended(cron_job, suspend, reason.filter(|_| suspend)).await {
                Ok(changed) => {
                    tracing::info!(deployment = %name, suspend, "suspension changed");
                    return self.detail_of(Workload::CronJob(Box::new(changed))).await;
                }
                Err(error) if is_conflict(&error) => {
                    workload = self.ours(name).await?;
                    if workload.etag() != first {
                        return Err(stale(precondition, name));
                    }
                }
                Err(error) => return Err(Error::kubernetes(&error, doing)),
            }
        }
        Err(Error::ChangedMeanwhile)
    }

    /// Starts a run of a CronJob now, from its template (as `kubectl create job --from=cronjob/...`).
    pub async fn run_now(&self, name: &str, overrides: &RunOverrides, author: &str) -> Result<Run, Error> {
        let Workload::CronJob(cron_job) = self.ours(name).await? else {
            return Err(Error::NotACronJob { name: name.to_owned(), what: "change it with PUT to run it again" });
        };
        let job = manual_run(&cron_job, overrides, author)?;
        let created = self.cluster.create(&job, false).await.map_err(kube("start a run"))?;
        tracing::info!(deployment = %name, run = ?created.metadata.name, "run started by hand");
        Ok(status::run(&created, &[]))
    }

    pub async fn runs(&self, name: &str) -> Result<Vec<Run>, Error> {
        let runs = self.runs_of(name).await?;
        if runs.is_empty() {
            self.ours(name).await?;
        }
        Ok(runs)
    }

    /// The log of the latest run, or of the run named; the run's name with it.
    pub async fn logs(&self, name: &str, request: &LogRequest) -> Result<(String, Log), Error> {
        logs::read(self, name, request).await
    }

    /// The spec to export, and whether the deployment is suspended.
    pub async fn exported(&self, name: &str) -> Result<(DeploymentSpec, bool), Error> {
        let workload = self.ours(name).await?;
        let spec = status::kept_spec(&workload).ok_or_else(|| Error::SpecLost(name.to_owned()))?;
        Ok((spec, workload.suspended()))
    }
}

fn revision_of_record(secret: &Secret) -> Option<Revision> {
    let labels = secret.metadata.labels.as_ref()?;
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    Some(Revision {
        revision: labels.get(manifests::REVISION_LABEL)?.parse().ok()?,
        author: annotations.get(manifests::DEPLOYED_BY_ANNOTATION).cloned(),
        at: annotations
            .get(manifests::DEPLOYED_AT_ANNOTATION)
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc)),
        change: annotations.get(manifests::CHANGE_ANNOTATION).cloned(),
        spec: secret
            .data
            .as_ref()?
            .get("spec")
            .and_then(|bytes| serde_json::from_slice(&bytes.0).ok())
            .and_then(|value| DeploymentSpec::from_kept(value).ok()),
    })
}

/// A Job from the CronJob's template, named by the API server (`<name>-m` and five characters, so
/// that two runs started in the same second both run), owned by the CronJob.
fn manual_run(cron_job: &CronJob, overrides: &RunOverrides, author: &str) -> Result<Job, Error> {
    let name = cron_job.metadata.name.clone().unwrap_or_default();
    let template = cron_job.spec.as_ref().map(|spec| spec.job_template.clone()).unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    if let Some(runner) =
        spec.template.spec.as_mut().and_then(|pod| pod.containers.iter_mut().find(|c| c.name == manifests::RUNNER))
    {
        let env = runner.env.get_or_insert_with(Vec::new);
        for var in &overrides.env {
            let value = manifests::env_var(var);
            match env.iter_mut().find(|existing| existing.name == var.name) {
                Some(existing) => *existing = value,
                None => env.push(value),
            }
        }
        if let Some(args) = &overrides.args {
            runner.args = Some(args.clone());
        }
    }
    let mut annotations = template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
    annotations.insert(manifests::INSTANTIATE_ANNOTATION.0.to_owned(), manifests::INSTANTIATE_ANNOTATION.1.to_owned());
    annotations.insert(manifests::DEPLOYED_BY_ANNOTATION.to_owned(), author.to_owned());
    let uid = cron_job.metadata.uid.clone().ok_or(Error::Kubernetes {
        failure: crate::error::KubeFailure::Unexpected,
        doing: "start a run (the CronJob has no uid)",
    })?;
    Ok(Job {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-m")),
            namespace: cron_job.metadata.namespace.clone(),
            labels: template.metadata.and_then(|m| m.labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".to_owned(),
                kind: "CronJob".to_owned(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}
