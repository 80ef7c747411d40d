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

pub mod cluster;
mod logs;
pub mod manifests;
pub mod permissions;
pub mod status;
pub mod watcher;

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::core::Status;

pub use self::cluster::Cluster;
use self::manifests::{Context, DEPLOYMENT_LABEL, ROLE_LABEL, Workload};
use crate::DeployerSettings;
use crate::error::{Error, is_conflict};
use crate::model::{
    DeploymentDetail, DeploymentSummary, DryRun, Log, LogRequest, Outcome, Precondition, Revision, Run, RunOverrides,
    Versioned,
};
use crate::spec::{CheckedSpec, DeploymentSpec, Problem, Target, WorkloadKind, check};

/// How often a write over a version is tried again when only the object's status moved meanwhile
/// (a CronJob's status changes at every run).
const WRITE_ATTEMPTS: usize = 5;
/// Longer than any write takes: a revision's Secret this old whose write has not finished was left
/// by a deployer that stopped in the middle.
const LEFTOVER: Duration = Duration::from_secs(120);

/// The deployer on a Kubernetes cluster.
#[derive(Debug, Clone)]
pub struct Kubernetes {
    cluster: Cluster,
    settings: DeployerSettings,
    permissions: permissions::Checked,
}

/// Everything one deploy, change or rollback writes.
struct Plan {
    spec: CheckedSpec,
    revision: u32,
    record: Secret,
    credentials: Vec<Secret>,
    workload: Workload,
    /// The deployment as read, which the workload replaces.
    old: Option<Workload>,
}

fn kube(doing: &'static str) -> impl Fn(kube::Error) -> Error {
    move |error| Error::kubernetes(&error, doing)
}

/// The problems Kubernetes found in objects it refused (a 422's causes), each at the spec's field
/// where one can be named, else at the object's own path.
pub fn problems_of(status: &Status) -> Vec<Problem> {
    let causes = status.details.as_ref().map(|details| details.causes.as_slice()).unwrap_or_default();
    if causes.is_empty() {
        return vec![Problem { field: String::new(), message: status.message.clone() }];
    }
    causes.iter().map(|cause| Problem { field: spec_field(&cause.field), message: cause.message.clone() }).collect()
}

/// The spec's field for a field path of the Job or CronJob (the runner is the first container,
/// after the two variables the deployer sets; the first volume is the resource's).
fn spec_field(path: &str) -> String {
    let job = path.strip_prefix("spec.jobTemplate.spec.").or_else(|| path.strip_prefix("spec."));
    let simple = [
        ("metadata.name", "name"),
        ("spec.schedule", "schedule.cron"),
        ("spec.timeZone", "schedule.timeZone"),
        ("spec.startingDeadlineSeconds", "schedule.startingDeadlineSeconds"),
        ("spec.successfulJobsHistoryLimit", "schedule.successfulJobsHistoryLimit"),
        ("spec.failedJobsHistoryLimit", "schedule.failedJobsHistoryLimit"),
    ];
    if let Some((_, field)) = simple.iter().find(|(kubernetes, _)| *kubernetes == path) {
        return (*field).to_owned();
    }
    let Some(job) = job else { return path.to_owned() };
    for field in ["activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"] {
        if job == field {
            return field.to_owned();
        }
    }
    if let Some(runner) = job.strip_prefix("template.spec.containers[0].") {
        if let Some(rest) = runner.strip_prefix("env[")
            && let Some((index, tail)) = rest.split_once(']')
            && let Ok(index) = index.parse::<usize>()
            && index >= 2
        {
            let tail = match tail {
                ".valueFrom.secretKeyRef.key" => ".secret.key",
                ".valueFrom.secretKeyRef.name" => ".secret.name",
                other => other,
            };
            return format!("runner.env[{}]{tail}", index - 2);
        }
        for (kubernetes, ours) in [
            ("image", "runner.image"),
            ("workingDir", "runner.workingDir"),
            ("resources", "runner.resources"),
            ("command", "runner.command"),
            ("args", "runner.args"),
            ("securityContext.runAsUser", "runner.runAsUser"),
        ] {
            if let Some(tail) = runner.strip_prefix(kubernetes) {
                return format!("{ours}{tail}");
            }
        }
    }
    if let Some(rest) = job.strip_prefix("template.spec.volumes[")
        && let Some((index, tail)) = rest.split_once(']')
        && let Ok(index) = index.parse::<usize>()
        && index >= 1
    {
        return format!("mounts[{}]{tail}", index - 1);
    }
    path.to_owned()
}

/// Secrets' values replaced, for an answer.
fn redacted(mut object: serde_json::Value) -> serde_json::Value {
    if object["kind"] == "Secret" && object["type"] != manifests::REVISION_SECRET_TYPE {
        for key in ["data", "stringData"] {
            if let Some(data) = object.get_mut(key).and_then(serde_json::Value::as_object_mut) {
                for value in data.values_mut() {
                    *value = serde_json::Value::String("<redacted>".to_owned());
                }
            }
        }
    }
    if let Some(meta) = object.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
        meta.remove("managedFields");
    }
    object
}

fn json<T: serde::Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).unwrap_or_default()
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

    fn plan(spec: CheckedSpec, context: &Context, change: &str, old: Option<Workload>) -> Plan {
        Plan {
            record: manifests::revision(&spec, context, change),
            credentials: manifests::credentials(&spec, context),
            workload: manifests::workload(&spec, context),
            revision: context.revision,
            spec,
            old,
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

    /// Writes `plan` (see the module's order), or only asks the API server what it would store.
    async fn write(&self, plan: Plan, dry_run: bool, precondition: &Precondition) -> Result<Outcome, Error> {
        let objects = self.validate_on_server(&plan, precondition, dry_run).await?;
        if dry_run {
            return Ok(Outcome::DryRun(Box::new(DryRun {
                spec: manifests::kept(plan.spec.spec(), plan.revision),
                objects: objects.into_iter().map(redacted).collect(),
                warnings: plan.spec.warnings().to_vec(),
            })));
        }
        self.create_secret(&plan.record, precondition).await?;
        let mut written = vec![plan.record.metadata.name.clone().unwrap_or_default()];
        let mut outcome = Ok(());
        for secret in &plan.credentials {
            match self.create_secret(secret, precondition).await {
                Ok(()) => written.push(secret.metadata.name.clone().unwrap_or_default()),
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        let applied = match outcome {
            Ok(()) => self.write_workload(&plan, precondition).await,
            Err(error) => Err(error),
        };
        match applied {
            Ok(workload) => {
                tracing::info!(
                    deployment = plan.spec.name(),
                    revision = plan.revision,
                    kind = workload.kind().as_str(),
                    "deployed"
                );
                // A new deployment has no run to list yet.
                let detail = match plan.old {
                    None => Versioned { etag: workload.etag(), value: status::detail(&workload, &[], Utc::now()) },
                    Some(_) => self.detail_of(workload).await?,
                };
                Ok(Outcome::Done(Box::new(detail)))
            }
            Err(error) => {
                self.undo(&written).await;
                Err(error)
            }
        }
    }

    /// Deletes the Secrets a refused write had created.
    async fn undo(&self, secrets: &[String]) {
        for name in secrets {
            if let Err(error) = self.cluster.delete_secret(name).await {
                tracing::error!(%error, secret = %name, "cannot remove a Secret of a refused change; remove it by hand");
            }
        }
    }

    /// The API server's dry run of every object of `plan`, as it would store them.
    /// The Secrets only for a dry run's answer: a real write creates them first (the record claims
    /// the revision), and deletes them when the workload is refused.
    async fn validate_on_server(
        &self,
        plan: &Plan,
        precondition: &Precondition,
        with_secrets: bool,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let mut objects = Vec::new();
        let secrets = if with_secrets { plan.credentials.as_slice() } else { &[] };
        for secret in std::iter::once(&plan.record).filter(|_| with_secrets).chain(secrets) {
            let mut created = self.cluster.create(secret, true).await;
            if let Err(error) = &created
                && is_conflict(error)
            {
                let name = secret.metadata.name.clone().unwrap_or_default();
                self.clear_leftover(&name, precondition).await?;
                created = self.cluster.create(secret, true).await;
            }
            objects.push(json(&created.map_err(kube("check the deployment's Secrets"))?));
        }
        let doing = "check the deployment";
        let workload = match (&plan.old, &plan.workload) {
            (Some(Workload::CronJob(old)), Workload::CronJob(_)) => {
                let new = plan.workload.clone().over(old.metadata.resource_version.clone());
                match self.cluster.replace_workload(&new, true).await {
                    // The CronJob's status moved since it was read: what is checked here is the spec.
                    Err(error) if is_conflict(&error) => json_of(&new),
                    other => json_of(&other.map_err(kube(doing))?),
                }
            }
            (old, new) => match self.cluster.create_workload(new, true).await {
                // A Job replacing the Job of the same name: valid, since only its name is taken.
                Err(error) if is_conflict(&error) && old.as_ref().is_some_and(|old| old.kind() == new.kind()) => {
                    json_of(new)
                }
                Err(error) if is_conflict(&error) => {
                    return Err(Error::NameTaken { kind: new.kind().as_str().to_owned(), name: new.name().to_owned() });
                }
                other => json_of(&other.map_err(kube(doing))?),
            },
        };
        objects.push(workload);
        Ok(objects)
    }

    /// Creates one of the revision's Secrets, after removing a leftover of the same name.
    async fn create_secret(&self, secret: &Secret, precondition: &Precondition) -> Result<(), Error> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let created = match self.cluster.create(secret, false).await {
            Err(error) if is_conflict(&error) => {
                self.clear_leftover(&name, precondition).await?;
                self.cluster.create(secret, false).await
            }
            other => other,
        };
        match created {
            Ok(_) => Ok(()),
            Err(error) if is_conflict(&error) => Err(stale(precondition, &name)),
            Err(error) => Err(Error::kubernetes(&error, "store the revision's Secrets")),
        }
    }

    /// A Secret the plan would create exists. Left by a write that died before it could undo
    /// itself (older than any write takes), it is removed; made by a change going on now, or not
    /// the platform's, it stops this one.
    async fn clear_leftover(&self, name: &str, precondition: &Precondition) -> Result<(), Error> {
        let found = self.cluster.secret(name).await.map_err(kube("read a Secret"))?;
        let Some(secret) = found.filter(|secret| manifests::is_ours(&secret.metadata)) else {
            return Err(Error::NameTaken { kind: "Secret".to_owned(), name: name.to_owned() });
        };
        let created = status::time(secret.metadata.creation_timestamp.as_ref());
        if created
            .is_some_and(|created| Utc::now() - created > chrono::Duration::from_std(LEFTOVER).unwrap_or_default())
        {
            tracing::warn!(secret = %name, "removing a Secret that a write which did not finish left");
            return self.cluster.delete_secret(name).await.map_err(kube("remove a Secret"));
        }
        Err(stale(precondition, name))
    }

    /// Creates or replaces the workload (step 4).
    async fn write_workload(&self, plan: &Plan, precondition: &Precondition) -> Result<Workload, Error> {
        let name = plan.spec.name();
        let doing = "write the deployment";
        let Some(old) = &plan.old else {
            return match self.cluster.create_workload(&plan.workload, false).await {
                Err(error) if is_conflict(&error) => Err(Error::DeploymentExists(name.to_owned())),
                other => other.map_err(kube(doing)),
            };
        };
        if let (Workload::CronJob(_), Workload::CronJob(_)) = (old, &plan.workload) {
            let mut version = old.metadata().resource_version.clone();
            for _ in 0..WRITE_ATTEMPTS {
                match self.cluster.replace_workload(&plan.workload.clone().over(version), false).await {
                    Err(error) if is_conflict(&error) => {
                        // Only its status moved (a run started): the same spec, another version.
                        let current = self.ours(name).await?;
                        if current.etag() != old.etag() {
                            return Err(stale(precondition, name));
                        }
                        version = current.metadata().resource_version.clone();
                    }
                    other => return other.map_err(kube(doing)),
                }
            }
            return Err(stale(precondition, name));
        }
        // A Job's pod template cannot change, and a Job cannot become a CronJob: the old object
        // goes (its runs with it) and the new one is made under the same name. The dry run has
        // shown that the new one will be accepted.
        let current = self.ours(name).await?;
        if current.etag() != old.etag() {
            return Err(stale(precondition, name));
        }
        match self.cluster.delete_workload(&current).await {
            Err(error) if is_conflict(&error) => return Err(stale(precondition, name)),
            other => other.map_err(kube("replace the deployment"))?,
        }
        let created = self.create_after_delete(&plan.workload).await;
        if created.is_err() {
            self.restore(old).await;
        }
        created
    }

    /// Creates a workload whose predecessor of the same name is being deleted: Kubernetes answers
    /// 409 until it is gone, which takes a moment.
    async fn create_after_delete(&self, workload: &Workload) -> Result<Workload, Error> {
        let mut attempt = 0;
        loop {
            match self.cluster.create_workload(workload, false).await {
                Err(error) if is_conflict(&error) && attempt < 40 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => return other.map_err(kube("write the deployment")),
            }
        }
    }

    /// Makes the deleted `old` workload again from its kept spec, after its replacement failed.
    async fn restore(&self, old: &Workload) {
        let rebuilt = status::kept_spec(old)
            .and_then(|spec| check::check(spec, Some(old.name()), Target::Kubernetes { nexus_url: None }).ok());
        let Some(spec) = rebuilt else {
            tracing::error!(
                deployment = old.name(),
                "the change failed after the old object was deleted, which cannot be made again (no spec)"
            );
            return;
        };
        let owner = old.annotation(manifests::OWNER_ANNOTATION).unwrap_or_default();
        let author = old.annotation(manifests::DEPLOYED_BY_ANNOTATION).unwrap_or_default();
        let context = self.context(&owner, &author, old.revision());
        if let Err(error) = self.create_after_delete(&manifests::workload(&spec, &context)).await {
            tracing::error!(%error, deployment = old.name(), "the change failed after the old object was deleted, which cannot be made again");
        }
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

/// What a change that lost a race is: stale when the caller named the version it changed.
fn stale(precondition: &Precondition, name: &str) -> Error {
    if precondition.given() { Error::Stale { name: name.to_owned() } } else { Error::ChangedMeanwhile }
}

fn json_of(workload: &Workload) -> serde_json::Value {
    match workload {
        Workload::Job(job) => json(job.as_ref()),
        Workload::CronJob(cron_job) => json(cron_job.as_ref()),
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
