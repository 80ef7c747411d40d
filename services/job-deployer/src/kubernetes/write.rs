//! How a deploy, a change or a rollback is written (see the module `kubernetes` for the order), and
//! what the API server's refusals become.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::core::Status;

use super::manifests::{self, Context, Workload};
use super::{Kubernetes, WRITE_ATTEMPTS, kube, status};
use crate::error::{Error, is_conflict};
use crate::model::{DryRun, Outcome, Precondition, Versioned};
use crate::spec::{CheckedSpec, Problem, Target, check};

/// Longer than any write takes: a revision's Secret this old whose write has not finished was left
/// by a deployer that stopped in the middle.
const LEFTOVER: Duration = Duration::from_secs(120);

/// Everything one deploy, change or rollback writes.
pub(super) struct Plan {
    spec: CheckedSpec,
    revision: u32,
    record: Secret,
    credentials: Vec<Secret>,
    workload: Workload,
    /// The deployment as read, which the workload replaces.
    old: Option<Workload>,
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

/// What a change that lost a race is: stale when the caller named the version it changed.
pub(super) fn stale(precondition: &Precondition, name: &str) -> Error {
    if precondition.given() { Error::Stale { name: name.to_owned() } } else { Error::ChangedMeanwhile }
}

fn json_of(workload: &Workload) -> serde_json::Value {
    match workload {
        Workload::Job(job) => json(job.as_ref()),
        Workload::CronJob(cron_job) => json(cron_job.as_ref()),
    }
}

impl Kubernetes {
    pub(super) fn plan(spec: CheckedSpec, context: &Context, change: &str, old: Option<Workload>) -> Plan {
        Plan {
            record: manifests::revision(&spec, context, change),
            credentials: manifests::credentials(&spec, context),
            workload: manifests::workload(&spec, context),
            revision: context.revision,
            spec,
            old,
        }
    }

    /// Writes `plan` (see the module's order), or only asks the API server what it would store.
    pub(super) async fn write(&self, plan: Plan, dry_run: bool, precondition: &Precondition) -> Result<Outcome, Error> {
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
}
