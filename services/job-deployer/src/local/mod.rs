//! The local runtime: deployments run as processes of this machine, with the same API, schedules
//! and job events as on Kubernetes. It is the dev stack's default and what the end-to-end tests
//! run where no cluster exists.
//!
//! What it does as Kubernetes does: a run fetches the resource with the init container's script
//! (http(s) or file URLs, checksum, zip/tar unpacked into the run's folder), runs the command with
//! `$(VAR)` expansion, retries a failed attempt up to `backoffLimit` times (6 when absent) with
//! Kubernetes' doubling pause, stops a run past `activeDeadlineSeconds`, and keeps the history
//! limits' number of finished runs. Schedules fire in their time zone with the concurrency policy
//! and the starting deadline. What it cannot do is refused when deploying (CIFS mounts, Secrets)
//! or ignored with a warning (the image, resources). Its schedules also take a leading seconds
//! field, which the CronJob controller refuses.

mod archive;
mod logs;
mod process;
mod runs;
mod store;
mod timer;
mod view;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use common::job::ExitStatus;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::store::{DeploymentRecord, FinishRecord, RevisionRecord, Store};
use crate::error::Error;
use crate::events::logs::LogArchiver;
use crate::events::{self, Publisher};
use crate::kubernetes::manifests::name_of;
use crate::model::{
    DeploymentDetail, DeploymentSummary, DryRun, ETag, Log, LogRequest, Outcome, Precondition, Revision, Run,
    RunOverrides, Versioned,
};
use crate::spec::{CheckedSpec, DeploymentSpec, WorkloadKind};

/// The local runtime; cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    publisher: Publisher,
    /// Sends each step's log to the history when it ends.
    archiver: LogArchiver,
    /// This machine's name, the runs' `executionMachine`.
    machine: String,
    deployments: Mutex<HashMap<String, Entry>>,
    /// Cancelled when the deployer stops: schedules stop, runs are stopped.
    stop: CancellationToken,
}

#[derive(Debug)]
struct Entry {
    record: DeploymentRecord,
    schedule: Option<CancellationToken>,
    active: HashMap<String, ActiveRun>,
    /// Being deleted: its runs are stopping; it takes no change and no new run.
    deleting: bool,
}

#[derive(Debug)]
struct ActiveRun {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

fn storage_error(error: &std::io::Error, doing: &'static str) -> Error {
    tracing::error!(%error, doing, "the local runtime cannot use its folder");
    Error::Storage(doing)
}

/// The deployment's version for clients: its revision (with when it was made, which a deployment
/// deleted and made again does not share) and its suspension.
fn etag(record: &DeploymentRecord) -> ETag {
    ETag::of(&[
        &record.deployed_at.to_rfc3339(),
        &record.revision.to_string(),
        &record.suspended.to_string(),
        record.suspend_reason.as_deref().unwrap_or_default(),
    ])
}

impl LocalRuntime {
    /// Opens the state in `dir`: deployments come back with their schedules; runs that were going
    /// on when the deployer stopped are reported lost (their processes were not ours any more).
    pub async fn start(dir: &Path, publisher: Publisher, archiver: LogArchiver) -> std::io::Result<LocalRuntime> {
        let store = Store::open(dir)?;
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        let runtime = LocalRuntime {
            inner: Arc::new(Inner {
                store,
                publisher,
                archiver,
                machine,
                deployments: Mutex::new(HashMap::new()),
                stop: CancellationToken::new(),
            }),
        };
        let now = Utc::now();
        let mut deployments = runtime.inner.deployments.lock().await;
        for record in runtime.inner.store.deployments()? {
            let name = name_of(&record.spec).to_owned();
            for mut run in runtime.inner.store.runs(&name)? {
                if run.finished.is_none() {
                    run.finished = Some(FinishRecord {
                        at: now,
                        exit_status: ExitStatus::Lost,
                        exit_code: None,
                        reason: Some("lost: the deployer stopped while the run went on".to_owned()),
                    });
                    runtime.inner.store.save_run(&run)?;
                }
                // Every run again: what a full buffer or a stop kept from the broker goes now (the
                // ids are the same, so the history takes each fact once). So do the logs not sent.
                runtime.inner.publish(&run, &mut Default::default());
                runtime.archive_pending(&run);
            }
            let schedule = runtime.schedule(&record);
            deployments.insert(name, Entry { record, schedule, active: HashMap::new(), deleting: false });
        }
        tracing::info!(dir = %dir.display(), deployments = deployments.len(), "local runtime ready");
        drop(deployments);
        Ok(runtime)
    }

    /// Stops the schedules and the runs (reported KILLED), and waits for their records.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        let tasks: Vec<JoinHandle<()>> = {
            let mut deployments = self.inner.deployments.lock().await;
            deployments.values_mut().flat_map(|entry| entry.active.drain().map(|(_, run)| run.task)).collect()
        };
        for task in tasks {
            let _ = task.await;
        }
    }

    fn entry_mut<'a>(deployments: &'a mut HashMap<String, Entry>, name: &str) -> Result<&'a mut Entry, Error> {
        deployments.get_mut(name).ok_or_else(|| Error::DeploymentNotFound(name.to_owned()))
    }

    /// Refuses to start anything while the deployer stops, or on a deployment being deleted.
    fn accepting(&self, entry: Option<&Entry>) -> Result<(), Error> {
        if self.inner.stop.is_cancelled() {
            return Err(Error::Stopping);
        }
        match entry {
            Some(entry) if entry.deleting => Err(Error::BeingDeleted(name_of(&entry.record.spec).to_owned())),
            _ => Ok(()),
        }
    }

    /// Deploys a checked spec (`create`) or changes a deployment: a new revision.
    pub async fn deploy(
        &self,
        spec: CheckedSpec,
        author: &str,
        change: &str,
        create: bool,
        precondition: &Precondition,
        dry_run: bool,
    ) -> Result<Outcome, Error> {
        let name = spec.name().to_owned();
        let mut deployments = self.inner.deployments.lock().await;
        self.accepting(deployments.get(&name))?;
        let old = deployments.get(&name).map(|entry| &entry.record);
        match (old, create) {
            (Some(_), true) => return Err(Error::DeploymentExists(name)),
            (None, false) => return Err(Error::DeploymentNotFound(name)),
            (Some(old), false) => precondition.check(&name, &etag(old))?,
            (None, true) => {}
        }
        if dry_run {
            return Ok(Outcome::DryRun(Box::new(DryRun {
                spec: spec.spec().clone(),
                objects: Vec::new(),
                warnings: spec.warnings().to_vec(),
            })));
        }
        let now = Utc::now();
        let revision = old.map_or(1, |old| old.revision + 1);
        let warnings = spec.warnings().to_vec();
        let record = DeploymentRecord {
            owner: old.map_or_else(|| author.to_owned(), |old| old.owner.clone()),
            // Suspension is state, kept across changes until resumed; never taken from a spec.
            suspended: old.is_some_and(|old| old.suspended) && spec.kind() == WorkloadKind::CronJob,
            suspend_reason: old
                .and_then(|old| old.suspend_reason.clone())
                .filter(|_| spec.kind() == WorkloadKind::CronJob),
            last_scheduled: old.and_then(|old| old.last_scheduled),
            spec: spec.spec().clone(),
            deployed_by: author.to_owned(),
            deployed_at: now,
            revision,
        };
        let kept = RevisionRecord {
            revision,
            author: Some(author.to_owned()),
            at: Some(now),
            change: Some(change.to_owned()),
            spec: Some(record.spec.clone()),
        };
        self.inner
            .store
            .save_deployment(&record)
            .and_then(|()| self.inner.store.save_revision(&name, &kept))
            .map_err(|error| storage_error(&error, "record the deployment"))?;
        let mut entry = Entry { record, schedule: None, active: HashMap::new(), deleting: false };
        if let Some(old) = deployments.remove(&name) {
            old.schedule.iter().for_each(CancellationToken::cancel);
            // A Job's run is replaced by the change (Kubernetes deletes the old Job with its pods);
            // a CronJob's runs go on.
            if old.record.spec.kind() == WorkloadKind::Job || entry.record.spec.kind() == WorkloadKind::Job {
                self.retire(&name, old.active);
            } else {
                entry.active = old.active;
            }
        }
        entry.schedule = self.schedule(&entry.record);
        if entry.record.spec.kind() == WorkloadKind::Job {
            let (env, args) = (entry.record.spec.runner.env.clone(), entry.record.spec.runner.args.clone());
            let run_name = events::run_id(&name, WorkloadKind::Job, now);
            self.start_run(&mut entry, run_name, author.to_owned(), false, env, args);
        }
        let mut detail = self.detail_of(&entry);
        detail.value.warnings = warnings;
        deployments.insert(name, entry);
        Ok(Outcome::Done(Box::new(detail)))
    }

    /// Stops the runs a change replaced and, once they have ended (and reported it), removes them
    /// and the runs that had ended before.
    fn retire(&self, deployment: &str, active: HashMap<String, ActiveRun>) {
        let store = self.inner.store.clone();
        let finished: Vec<String> = store
            .runs(deployment)
            .unwrap_or_default()
            .into_iter()
            .map(|run| run.name)
            .filter(|run| !active.contains_key(run))
            .collect();
        let deployment = deployment.to_owned();
        tokio::spawn(async move {
            for run in active.values() {
                run.stop.cancel();
            }
            let mut names = finished;
            for (name, run) in active {
                let _ = run.task.await;
                names.push(name);
            }
            for name in names {
                if let Err(error) = store.remove_run(&deployment, &name) {
                    tracing::warn!(%error, run = %name, "cannot remove a replaced run");
                }
            }
        });
    }

    fn detail_of(&self, entry: &Entry) -> Versioned<DeploymentDetail> {
        let runs = self.inner.store.runs(name_of(&entry.record.spec)).unwrap_or_default();
        let latest = runs.iter().max_by_key(|run| run.scheduled_at);
        Versioned {
            etag: etag(&entry.record),
            value: DeploymentDetail {
                summary: view::summary(&entry.record, latest, Utc::now()),
                suspended: entry.record.suspended,
                suspend_reason: entry.record.suspend_reason.clone().filter(|_| entry.record.suspended),
                spec: Some(entry.record.spec.clone()),
                active_runs: entry.active.len(),
                warnings: Vec::new(),
            },
        }
    }

    pub async fn list(&self) -> Vec<DeploymentSummary> {
        let deployments = self.inner.deployments.lock().await;
        let now = Utc::now();
        deployments
            .values()
            .map(|entry| {
                let runs = self.inner.store.runs(name_of(&entry.record.spec)).unwrap_or_default();
                view::summary(&entry.record, runs.iter().max_by_key(|run| run.scheduled_at), now)
            })
            .collect()
    }

    pub async fn get(&self, name: &str) -> Result<Versioned<DeploymentDetail>, Error> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        Ok(self.detail_of(entry))
    }

    /// The spec to export, and whether the deployment is suspended.
    pub async fn exported(&self, name: &str) -> Result<(DeploymentSpec, bool), Error> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        Ok((entry.record.spec.clone(), entry.record.suspended))
    }

    /// Removes the deployment: its schedule, its runs (those going on are stopped and reported
    /// KILLED), its folder.
    pub async fn delete(&self, name: &str, precondition: &Precondition) -> Result<(), Error> {
        let runs: Vec<ActiveRun> = {
            let mut deployments = self.inner.deployments.lock().await;
            let entry = Self::entry_mut(&mut deployments, name)?;
            self.accepting(Some(entry))?;
            precondition.check(name, &etag(&entry.record))?;
            entry.deleting = true;
            entry.schedule.take().iter().for_each(CancellationToken::cancel);
            entry.active.drain().map(|(_, run)| run).collect()
        };
        // The runs end (and report it) without the lock, which their last step takes.
        for run in &runs {
            run.stop.cancel();
        }
        for run in runs {
            let _ = run.task.await;
        }
        let mut deployments = self.inner.deployments.lock().await;
        let removed = self.inner.store.remove_deployment(name);
        if let Err(error) = removed {
            if let Some(entry) = deployments.get_mut(name) {
                entry.deleting = false;
            }
            return Err(storage_error(&error, "remove the deployment"));
        }
        deployments.remove(name);
        Ok(())
    }

    pub async fn revisions(&self, name: &str) -> Result<Vec<Revision>, Error> {
        self.get(name).await?;
        let mut revisions: Vec<Revision> = self
            .inner
            .store
            .revisions(name)
            .map_err(|error| storage_error(&error, "read the revisions"))?
            .into_iter()
            .map(Revision::from)
            .collect();
        revisions.sort_by_key(|revision| std::cmp::Reverse(revision.revision));
        Ok(revisions)
    }

    pub async fn set_suspended(
        &self,
        name: &str,
        suspend: bool,
        reason: Option<String>,
        precondition: &Precondition,
    ) -> Result<Versioned<DeploymentDetail>, Error> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        if entry.record.spec.kind() != WorkloadKind::CronJob {
            return Err(Error::NotACronJob {
                name: name.to_owned(),
                what: "only a CronJob can be suspended or resumed",
            });
        }
        precondition.check(name, &etag(&entry.record))?;
        entry.record.suspended = suspend;
        entry.record.suspend_reason = reason.filter(|_| suspend);
        self.inner.store.save_deployment(&entry.record).map_err(|error| storage_error(&error, "record the change"))?;
        entry.schedule.take().iter().for_each(CancellationToken::cancel);
        entry.schedule = self.schedule(&entry.record);
        Ok(self.detail_of(entry))
    }

    pub async fn run_now(&self, name: &str, overrides: &RunOverrides, author: &str) -> Result<Run, Error> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        self.accepting(Some(entry))?;
        if entry.record.spec.kind() != WorkloadKind::CronJob {
            return Err(Error::NotACronJob { name: name.to_owned(), what: "change it with PUT to run it again" });
        }
        let mut env = entry.record.spec.runner.env.clone();
        for var in &overrides.env {
            env.retain(|existing| existing.name != var.name);
            env.push(var.clone());
        }
        let args = overrides.args.clone().unwrap_or_else(|| entry.record.spec.runner.args.clone());
        let base = format!("{name}-m{}", crate::spec::names::base36(Utc::now().timestamp().unsigned_abs()));
        let mut run_name = base.clone();
        let mut suffix = 1;
        while entry.active.contains_key(&run_name) || self.inner.store.run_dir(name, &run_name).exists() {
            suffix += 1;
            run_name = format!("{base}-{suffix}");
        }
        let record = self.start_run(entry, run_name, author.to_owned(), true, env, args);
        Ok(view::run_view(&record))
    }

    pub async fn runs(&self, name: &str) -> Result<Vec<Run>, Error> {
        self.get(name).await?;
        let mut runs = self.inner.store.runs(name).map_err(|error| storage_error(&error, "read the runs"))?;
        runs.sort_by_key(|run| std::cmp::Reverse((run.scheduled_at, run.name.clone())));
        Ok(runs.iter().map(view::run_view).collect())
    }

    /// The log of a run's attempt (the latest run when none is named), with the run's name.
    pub async fn logs(&self, name: &str, request: &LogRequest) -> Result<(String, Log), Error> {
        self.get(name).await?;
        let runs = self.inner.store.runs(name).map_err(|error| storage_error(&error, "read the runs"))?;
        let run = logs::pick(name, runs, request.run.as_deref())?;
        let log = logs::read(&self.inner.store, &run, request).await?;
        Ok((run.name, log))
    }
}
