//! The local runtime: deployments run as processes of this machine, with the same API, schedules
//! and job events as on Kubernetes. It is the dev stack's default and what the end-to-end tests
//! run, where no cluster exists.
//!
//! What it does as Kubernetes does: a run fetches the resource with the init container's script
//! (http(s) or file URLs, checksum, zip/tar unpacked into the run's folder), runs the command with
//! `$(VAR)` expansion, retries a failed attempt up to `backoffLimit` times (6 when absent) with
//! Kubernetes' doubling pause, stops a run past `activeDeadlineSeconds`, and keeps the history
//! limits' number of finished runs. Schedules fire in their time zone with the concurrency policy
//! and the starting deadline. What it cannot do is refused when deploying (CIFS mounts, Secrets)
//! or ignored with a warning (the image, resources). Its schedules also take a leading seconds
//! field, which the CronJob controller refuses.

mod process;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use common::job::ExitStatus;
use futures_util::Stream;
use service_kit::ErrorBody;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::process::{Ended, RunFiles};
use self::store::{AttemptRecord, DeploymentRecord, FinishRecord, RunRecord, Store};
use crate::api::{LogQuery, Revision, RunRequest};
use crate::error::ApiError;
use crate::events::{self, Attempt, EnvValue, Finish, RunReport};
use crate::manifests::name_of;
use crate::publisher::Publisher;
use crate::schedule;
use crate::spec::{ConcurrencyPolicy, DeploymentSpec, WorkloadKind};
use crate::status::{ContainerState, DeploymentDetail, DeploymentState, DeploymentSummary, Run, RunState};

/// Kubernetes' Job defaults, kept here.
const DEFAULT_BACKOFF_LIMIT: i32 = 6;
const FIRST_RETRY_PAUSE: Duration = Duration::from_secs(10);
const LONGEST_RETRY_PAUSE: Duration = Duration::from_secs(360);
const DEFAULT_SUCCESSFUL_KEPT: i32 = 3;
const DEFAULT_FAILED_KEPT: i32 = 1;
/// How often a followed log is read again for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The local runtime; cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    publisher: Publisher,
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

fn storage_error(error: &std::io::Error, doing: &str) -> ApiError {
    tracing::error!(%error, doing, "the local runtime cannot use its folder");
    ApiError::Unavailable(ErrorBody::new(
        "local_storage_error",
        format!("the local runtime cannot {doing} (its folder is not usable; the service's log says why)"),
    ))
}

impl LocalRuntime {
    /// Opens the state in `dir`: deployments come back with their schedules; runs that were going
    /// on when the deployer stopped are reported lost (their processes were not ours any more).
    pub async fn start(dir: &Path, publisher: Publisher) -> std::io::Result<LocalRuntime> {
        let store = Store::open(dir)?;
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        let runtime = LocalRuntime {
            inner: Arc::new(Inner {
                store,
                publisher,
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
                // ids are the same, so the history takes each fact once).
                runtime.inner.publish(&run, &mut Default::default());
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

    /// Starts the schedule of a CronJob deployment that is not suspended.
    fn schedule(&self, record: &DeploymentRecord) -> Option<CancellationToken> {
        let schedule = record.spec.schedule.as_ref().filter(|_| !record.suspended)?;
        let cron = schedule::parse_local(&schedule.cron).ok()?;
        let zone = schedule.time_zone.as_deref().map_or(Ok(chrono_tz::UTC), schedule::time_zone).ok()?;
        let token = self.inner.stop.child_token();
        let runtime = self.clone();
        let name = name_of(&record.spec).to_owned();
        let stop = token.clone();
        tokio::spawn(async move {
            let mut after = Utc::now();
            while let Some(next) = cron.next_after(after, zone) {
                let wait = (next - Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                // Slots missed while this process slept (a laptop's lid closed) are skipped, as the
                // CronJob controller starts at most the latest missed one.
                after = next.max(Utc::now());
                runtime.fire(&name, next, &stop).await;
            }
        });
        Some(token)
    }

    /// A scheduled time came: start a run as the concurrency policy and the starting deadline say.
    async fn fire(&self, name: &str, due: DateTime<Utc>, schedule_stop: &CancellationToken) {
        let mut deployments = self.inner.deployments.lock().await;
        let Some(entry) = deployments.get_mut(name) else { return };
        // Suspended, changed or deleted while this fire waited for the lock.
        if schedule_stop.is_cancelled() || entry.record.suspended || entry.deleting {
            return;
        }
        let Some(schedule) = entry.record.spec.schedule.clone() else { return };
        let late = (Utc::now() - due).num_seconds();
        if schedule.starting_deadline_seconds.is_some_and(|deadline| late > deadline) {
            tracing::warn!(deployment = name, late, "run skipped: it could not start within its starting deadline");
            return;
        }
        match schedule.concurrency_policy {
            ConcurrencyPolicy::Forbid if !entry.active.is_empty() => {
                tracing::info!(
                    deployment = name,
                    "run skipped: the previous one still runs (concurrencyPolicy Forbid)"
                );
                return;
            }
            ConcurrencyPolicy::Replace => {
                for run in entry.active.values() {
                    run.stop.cancel();
                }
            }
            _ => {}
        }
        entry.record.last_scheduled = Some(due);
        if let Err(error) = self.inner.store.save_deployment(&entry.record) {
            tracing::error!(%error, deployment = name, "cannot record the schedule's last run");
        }
        let run_name = format!("{name}-{}", due.timestamp());
        if entry.active.contains_key(&run_name) || self.inner.store.run_dir(name, &run_name).exists() {
            return;
        }
        let by = entry.record.deployed_by.clone();
        let (env, args) = (entry.record.spec.runner.env.clone(), entry.record.spec.runner.args.clone());
        self.start_run(entry, run_name, by, false, env, args);
    }

    /// Records a new run and starts its task.
    fn start_run(
        &self,
        entry: &mut Entry,
        run_name: String,
        triggered_by: String,
        manual: bool,
        env: Vec<crate::spec::EnvVar>,
        args: Vec<String>,
    ) -> RunRecord {
        let spec = &entry.record.spec;
        let record = RunRecord {
            name: run_name.clone(),
            deployment: name_of(spec).to_owned(),
            revision: entry.record.revision,
            kind: spec.kind(),
            description: spec.description.clone(),
            artifact: spec.resource.name.clone(),
            artifact_version: spec.resource.version.clone(),
            manual,
            triggered_by,
            scheduled_at: Utc::now(),
            env,
            args,
            attempts: Vec::new(),
            finished: None,
        };
        // Recorded before its task starts, so that it is listed (and its log followed) at once.
        if let Err(error) = self.inner.store.save_run(&record) {
            tracing::error!(%error, run = %record.name, "cannot record the run");
        }
        let stop = self.inner.stop.child_token();
        let task = tokio::spawn(self.clone().run(record.clone(), entry.record.spec.clone(), stop.clone()));
        entry.active.insert(run_name, ActiveRun { stop, task });
        record
    }

    /// One run from start to end: attempts with retries, each step recorded and reported.
    async fn run(self, mut run: RunRecord, spec: DeploymentSpec, stop: CancellationToken) {
        let inner = &self.inner;
        let mut published = Default::default();
        let save = |run: &RunRecord, published: &mut std::collections::HashSet<String>| {
            if let Err(error) = inner.store.save_run(run) {
                tracing::error!(%error, run = %run.name, "cannot record the run");
            }
            inner.publish(run, published);
        };
        save(&run, &mut published);
        let files = RunFiles { dir: inner.store.run_dir(&run.deployment, &run.name) };
        let deadline = spec
            .active_deadline_seconds
            .map(|seconds| tokio::time::Instant::now() + Duration::from_secs(u64::try_from(seconds).unwrap_or(0)));
        let attempts = usize::try_from(spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT)).unwrap_or(0) + 1;
        let env: Vec<(String, String)> =
            run.env.iter().map(|var| (var.name.clone(), var.value.clone().unwrap_or_default())).collect();
        let mut pause = FIRST_RETRY_PAUSE;
        let finish = loop {
            let attempt = run.attempts.len();
            run.attempts.push(AttemptRecord {
                started_at: Utc::now(),
                executing_at: None,
                ended_at: None,
                exit_code: None,
                machine: inner.machine.clone(),
            });
            save(&run, &mut published);
            let (ended, setup_message) = match process::fetch(&spec, &files, deadline, &stop).await {
                Err((ended, message)) => (ended, Some(message.unwrap_or_else(|| "fetch failed".to_owned()))),
                Ok(()) => {
                    if let Some(current) = run.attempts.last_mut() {
                        current.executing_at = Some(Utc::now());
                    }
                    save(&run, &mut published);
                    let ended = process::execute(&spec, &env, &run.args, &files, attempt, deadline, &stop).await;
                    (ended, None)
                }
            };
            let finish = outcome(&ended, setup_message, inner.stop.is_cancelled());
            if let Some(current) = run.attempts.last_mut() {
                current.ended_at = Some(finish.at);
                current.exit_code = finish.exit_code;
            }
            let retry = finish.exit_status != ExitStatus::Success
                && !matches!(ended, Ended::Stopped | Ended::DeadlineExceeded)
                && (finish.exit_status != ExitStatus::FailedSetupExecutionEnvironment
                    || process::fetch_retryable(&ended))
                && run.attempts.len() < attempts;
            if !retry {
                break finish;
            }
            save(&run, &mut published);
            tracing::info!(run = %run.name, attempt, reason = ?finish.reason, "attempt failed; retrying");
            // The deadline counts from the run's start, pauses between attempts included.
            let deadline_passed = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => break outcome(&Ended::Stopped, None, inner.stop.is_cancelled()),
                () = deadline_passed => break outcome(&Ended::DeadlineExceeded, None, false),
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LONGEST_RETRY_PAUSE);
        };
        tracing::info!(run = %run.name, status = %finish.exit_status, "run ended");
        run.finished = Some(finish);
        save(&run, &mut published);
        self.ended(&run).await;
    }

    /// A run ended: it leaves the active ones, and the oldest finished runs beyond the history
    /// limits go, as the CronJob controller removes them.
    async fn ended(&self, run: &RunRecord) {
        let mut deployments = self.inner.deployments.lock().await;
        let Some(entry) = deployments.get_mut(&run.deployment) else { return };
        entry.active.remove(&run.name);
        let Some(schedule) = entry.record.spec.schedule.as_ref() else { return };
        let keep_successful = schedule.successful_jobs_history_limit.unwrap_or(DEFAULT_SUCCESSFUL_KEPT);
        let keep_failed = schedule.failed_jobs_history_limit.unwrap_or(DEFAULT_FAILED_KEPT);
        let Ok(mut runs) = self.inner.store.runs(&run.deployment) else { return };
        runs.sort_by_key(|run| std::cmp::Reverse(run.scheduled_at));
        let (mut successful, mut failed) = (0, 0);
        for old in runs {
            let Some(finished) = &old.finished else { continue };
            let count = if finished.exit_status == ExitStatus::Success { &mut successful } else { &mut failed };
            *count += 1;
            let limit = if finished.exit_status == ExitStatus::Success { keep_successful } else { keep_failed };
            if *count > limit
                && let Err(error) = self.inner.store.remove_run(&old.deployment, &old.name)
            {
                tracing::warn!(%error, run = %old.name, "cannot remove an old run");
            }
        }
    }

    fn entry_mut<'a>(deployments: &'a mut HashMap<String, Entry>, name: &str) -> Result<&'a mut Entry, ApiError> {
        deployments.get_mut(name).ok_or_else(|| ApiError::not_found(name))
    }

    /// Refuses to start anything while the deployer stops, or on a deployment being deleted.
    fn accepting(&self, entry: Option<&Entry>) -> Result<(), ApiError> {
        if self.inner.stop.is_cancelled() {
            return Err(ApiError::Unavailable(ErrorBody::new("stopping", "the deployer is stopping; try again")));
        }
        match entry {
            Some(entry) if entry.deleting => Err(ApiError::conflict(
                "deployment_being_deleted",
                format!("'{}' is being deleted (its runs are stopping); try again", name_of(&entry.record.spec)),
            )),
            _ => Ok(()),
        }
    }

    /// Deploys a checked spec (`create`) or changes a deployment: a new revision.
    pub async fn deploy(
        &self,
        spec: DeploymentSpec,
        author: &str,
        change: &str,
        create: bool,
    ) -> Result<DeploymentDetail, ApiError> {
        let name = name_of(&spec).to_owned();
        let mut deployments = self.inner.deployments.lock().await;
        self.accepting(deployments.get(&name))?;
        let old = deployments.get(&name).map(|entry| &entry.record);
        match (old, create) {
            (Some(_), true) => {
                return Err(ApiError::conflict(
                    "deployment_exists",
                    format!("a deployment named '{name}' exists; change it with PUT /v1/deployments/{name}"),
                ));
            }
            (None, false) => return Err(ApiError::not_found(&name)),
            _ => {}
        }
        let now = Utc::now();
        let revision = old.map_or(1, |old| old.revision + 1);
        let record = DeploymentRecord {
            owner: old.map_or_else(|| author.to_owned(), |old| old.owner.clone()),
            // Suspension is state, kept across changes until resumed.
            suspended: old.is_some_and(|old| old.suspended) || spec.schedule.as_ref().is_some_and(|s| s.suspend),
            suspend_reason: old.and_then(|old| old.suspend_reason.clone()),
            last_scheduled: old.and_then(|old| old.last_scheduled),
            spec,
            deployed_by: author.to_owned(),
            deployed_at: now,
            revision,
        };
        let kept = Revision {
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
        let detail = self.detail_of(&entry);
        deployments.insert(name, entry);
        Ok(detail)
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

    fn detail_of(&self, entry: &Entry) -> DeploymentDetail {
        let runs = self.inner.store.runs(name_of(&entry.record.spec)).unwrap_or_default();
        let latest = runs.iter().max_by_key(|run| run.scheduled_at);
        DeploymentDetail {
            summary: summary(&entry.record, latest, Utc::now()),
            suspended: entry.record.suspended,
            suspend_reason: entry.record.suspend_reason.clone(),
            spec: Some(entry.record.spec.clone()),
            active_runs: entry.active.len(),
            warnings: Vec::new(),
        }
    }

    pub async fn list(&self) -> Vec<DeploymentSummary> {
        let deployments = self.inner.deployments.lock().await;
        let now = Utc::now();
        deployments
            .values()
            .map(|entry| {
                let runs = self.inner.store.runs(name_of(&entry.record.spec)).unwrap_or_default();
                summary(&entry.record, runs.iter().max_by_key(|run| run.scheduled_at), now)
            })
            .collect()
    }

    pub async fn get(&self, name: &str) -> Result<DeploymentDetail, ApiError> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        Ok(self.detail_of(entry))
    }

    pub async fn spec(&self, name: &str) -> Result<DeploymentSpec, ApiError> {
        let mut deployments = self.inner.deployments.lock().await;
        Ok(Self::entry_mut(&mut deployments, name)?.record.spec.clone())
    }

    /// Removes the deployment: its schedule, its runs (those going on are stopped and reported
    /// KILLED), its folder.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let runs: Vec<ActiveRun> = {
            let mut deployments = self.inner.deployments.lock().await;
            let entry = Self::entry_mut(&mut deployments, name)?;
            self.accepting(Some(entry))?;
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

    pub async fn revisions(&self, name: &str) -> Result<Vec<Revision>, ApiError> {
        self.get(name).await?;
        let mut revisions =
            self.inner.store.revisions(name).map_err(|error| storage_error(&error, "read the revisions"))?;
        revisions.sort_by_key(|revision| std::cmp::Reverse(revision.revision));
        Ok(revisions)
    }

    pub async fn set_suspended(
        &self,
        name: &str,
        suspend: bool,
        reason: Option<String>,
    ) -> Result<DeploymentDetail, ApiError> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        if entry.record.spec.kind() != WorkloadKind::CronJob {
            return Err(ApiError::conflict(
                "not_a_cronjob",
                format!("'{name}' is a Job, which runs once; only a CronJob can be suspended or resumed"),
            ));
        }
        entry.record.suspended = suspend;
        entry.record.suspend_reason = reason.filter(|_| suspend);
        self.inner.store.save_deployment(&entry.record).map_err(|error| storage_error(&error, "record the change"))?;
        entry.schedule.take().iter().for_each(CancellationToken::cancel);
        entry.schedule = self.schedule(&entry.record);
        Ok(self.detail_of(entry))
    }

    pub async fn run_now(&self, name: &str, overrides: RunRequest, author: &str) -> Result<Run, ApiError> {
        let mut deployments = self.inner.deployments.lock().await;
        let entry = Self::entry_mut(&mut deployments, name)?;
        self.accepting(Some(entry))?;
        if entry.record.spec.kind() != WorkloadKind::CronJob {
            return Err(ApiError::conflict(
                "not_a_cronjob",
                format!("'{name}' is a Job, which runs once; change it with PUT to run it again"),
            ));
        }
        let mut env = entry.record.spec.runner.env.clone();
        for var in overrides.env {
            env.retain(|existing| existing.name != var.name);
            env.push(var);
        }
        let args = overrides.args.unwrap_or_else(|| entry.record.spec.runner.args.clone());
        let base = format!("{name}-m{}", crate::names::base36(Utc::now().timestamp().unsigned_abs()));
        let mut run_name = base.clone();
        let mut suffix = 1;
        while entry.active.contains_key(&run_name) || self.inner.store.run_dir(name, &run_name).exists() {
            suffix += 1;
            run_name = format!("{base}-{suffix}");
        }
        let record = self.start_run(entry, run_name, author.to_owned(), true, env, args);
        Ok(run_view(&record))
    }

    pub async fn runs(&self, name: &str) -> Result<Vec<Run>, ApiError> {
        self.get(name).await?;
        let mut runs = self.inner.store.runs(name).map_err(|error| storage_error(&error, "read the runs"))?;
        runs.sort_by_key(|run| std::cmp::Reverse((run.scheduled_at, run.name.clone())));
        Ok(runs.iter().map(run_view).collect())
    }

    /// The log of a run's attempt: the runner's (both streams, in order) or the fetch step's.
    pub async fn logs(&self, name: &str, query: &LogQuery) -> Result<Log, ApiError> {
        self.get(name).await?;
        if query.since_seconds.is_some() {
            return Err(ApiError::invalid(
                "sinceSeconds",
                "the local runtime keeps no time per log line: use tailLines or limitBytes",
            ));
        }
        let mut runs = self.inner.store.runs(name).map_err(|error| storage_error(&error, "read the runs"))?;
        runs.sort_by_key(|run| std::cmp::Reverse((run.scheduled_at, run.name.clone())));
        let run = match &query.run {
            Some(wanted) => runs.into_iter().find(|run| &run.name == wanted).ok_or_else(|| {
                ApiError::NotFound(
                    ErrorBody::new("run_not_found", format!("'{name}' has no run named '{wanted}'")).with_field("run"),
                )
            })?,
            None => runs
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::NotFound(ErrorBody::new("no_run", format!("'{name}' has not run yet"))))?,
        };
        let files = RunFiles { dir: self.inner.store.run_dir(name, &run.name) };
        let path = if query.container.as_deref() == Some(crate::manifests::FETCH) {
            files.fetch_log()
        } else {
            let latest = run.attempts.len().saturating_sub(1);
            let attempt = if query.previous.unwrap_or(false) { latest.checked_sub(1) } else { Some(latest) };
            let attempt = attempt.ok_or_else(|| {
                ApiError::NotFound(ErrorBody::new("no_previous", format!("the run '{}' had one attempt", run.name)))
            })?;
            files.runner_log(attempt)
        };
        if query.follow.unwrap_or(false) {
            return Ok(Log::Follow(Box::pin(self.follow(path, run.deployment.clone(), run.name.clone()))));
        }
        let text = tokio::fs::read(&path).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let all = query.all.unwrap_or(false);
        let tail = query.tail_lines.or((!all).then_some(crate::api::DEFAULT_TAIL_LINES));
        let limit = query.limit_bytes.or((!all).then_some(crate::api::DEFAULT_LIMIT_BYTES));
        Ok(Log::Text(bound(&text, tail, limit)))
    }

    /// The log as it grows, until the run ends and everything was read.
    fn follow(
        &self,
        path: PathBuf,
        deployment: String,
        run: String,
    ) -> impl Stream<Item = std::io::Result<Bytes>> + use<> {
        let store = self.inner.store.clone();
        futures_util::stream::unfold((0_u64, false), move |(offset, done)| {
            let (path, store, deployment, run) = (path.clone(), store.clone(), deployment.clone(), run.clone());
            async move {
                if done {
                    return None;
                }
                loop {
                    // Whether the run had ended is asked before reading: lines written before the end
                    // are then all read before the stream ends.
                    let ended = store
                        .runs(&deployment)
                        .ok()
                        .and_then(|runs| runs.into_iter().find(|r| r.name == run))
                        .is_none_or(|r| r.finished.is_some());
                    let chunk = read_from(&path, offset).await;
                    match chunk {
                        Ok(bytes) if !bytes.is_empty() => {
                            let next = offset + bytes.len() as u64;
                            return Some((Ok(Bytes::from(bytes)), (next, false)));
                        }
                        Ok(_) if ended => return None,
                        Ok(_) => tokio::time::sleep(FOLLOW_POLL).await,
                        Err(error) => return Some((Err(error), (offset, true))),
                    }
                }
            }
        })
    }
}

async fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut bytes = Vec::new();
    file.take(1024 * 1024).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// The last `tail` lines, then at most `limit` bytes of them (as the kubelet bounds a log).
fn bound(text: &str, tail: Option<i64>, limit: Option<i64>) -> String {
    let mut text = text;
    if tail == Some(0) {
        return String::new();
    }
    if let Some(tail) = tail.and_then(|tail| usize::try_from(tail).ok()) {
        let lines: Vec<(usize, &str)> = text.match_indices('\n').collect();
        let ends_with_newline = text.ends_with('\n');
        let count = lines.len() + usize::from(!ends_with_newline && !text.is_empty());
        if count > tail {
            let skip = count - tail;
            text = &text[lines[skip - 1].0 + 1..];
        }
    }
    let limit = limit.and_then(|limit| usize::try_from(limit).ok()).unwrap_or(usize::MAX);
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A log answer.
pub enum Log {
    Text(String),
    Follow(std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>>>>),
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Log::Text(text) => f.debug_tuple("Text").field(&text.len()).finish(),
            Log::Follow(_) => f.write_str("Follow"),
        }
    }
}

impl Inner {
    /// Publishes the events of `run` not yet in `published`.
    fn publish(&self, run: &RunRecord, published: &mut std::collections::HashSet<String>) {
        for event in events::events(&report(run)) {
            if published.insert(event.event_id.clone()) {
                self.publisher.publish(event);
            }
        }
    }
}

/// How an attempt ended, as the history and the run's view say it.
/// A process killed by a signal reads as on Kubernetes, where the runner's exit code is then 128 + the
/// signal and only an OOMKilled container (which a local run cannot tell) is KILLED.
fn outcome(ended: &Ended, setup_message: Option<String>, deployer_stopping: bool) -> FinishRecord {
    let at = Utc::now();
    let (exit_status, exit_code, reason) = match (ended, setup_message) {
        (Ended::Stopped, _) => {
            let why = if deployer_stopping { "the deployer stopped" } else { "the run was deleted or replaced" };
            (ExitStatus::Killed, None, Some(format!("stopped: {why}")))
        }
        (Ended::DeadlineExceeded, _) => (
            ExitStatus::Killed,
            None,
            Some("deadline exceeded: the run took longer than its activeDeadlineSeconds".to_owned()),
        ),
        (_, Some(message)) => (ExitStatus::FailedSetupExecutionEnvironment, None, Some(message)),
        (Ended::Exited(0), None) => (ExitStatus::Success, Some(0), None),
        (Ended::Exited(code), None) => {
            (ExitStatus::ExecutionError, Some(i64::from(*code)), Some(format!("exited with code {code}")))
        }
        (Ended::Signalled(signal), None) => {
            (ExitStatus::ExecutionError, Some(128 + i64::from(*signal)), Some(format!("killed by signal {signal}")))
        }
        (Ended::CannotStart(why), None) => {
            (ExitStatus::FailedSetupExecutionEnvironment, None, Some(format!("cannot start: {why}")))
        }
    };
    FinishRecord { at, exit_status, exit_code, reason }
}

/// The run as the history sees it, from its record alone.
fn report(run: &RunRecord) -> RunReport {
    let env = run.env.iter().map(|var| (var.name.as_str(), EnvValue::Plain(var.value.as_deref().unwrap_or_default())));
    RunReport {
        // Local run names are unique already (a Job deployment's run is named as its id would be).
        run: run.name.clone(),
        deployment: run.deployment.clone(),
        owner: Some(run.triggered_by.clone()),
        description: run.description.clone(),
        kind: run.kind,
        artifact: Some((run.artifact.clone(), run.artifact_version.clone())),
        parameters: events::parameters(env, &run.args),
        scheduled_at: run.scheduled_at,
        attempts: run
            .attempts
            .iter()
            .map(|attempt| Attempt {
                started_at: Some(attempt.started_at),
                executing_at: attempt.executing_at,
                machine: Some(attempt.machine.clone()),
            })
            .collect(),
        finished: run.finished.as_ref().map(|finish| Finish {
            at: finish.at,
            exit_status: finish.exit_status,
            exit_code: finish.exit_code,
            attempts: Some(i64::try_from(run.attempts.len()).unwrap_or(i64::MAX)),
            recorded: true,
        }),
    }
}

fn container_state(run: Option<&RunRecord>) -> ContainerState {
    let Some(run) = run else { return ContainerState::Scheduled };
    match (&run.finished, run.attempts.last()) {
        (Some(finish), _) if finish.exit_status == ExitStatus::Success => ContainerState::Stopped,
        (Some(_), _) => ContainerState::Failed,
        (None, Some(attempt)) if attempt.executing_at.is_some() && attempt.ended_at.is_none() => {
            ContainerState::Running
        }
        (None, Some(_)) => ContainerState::Initiated,
        (None, None) => ContainerState::Scheduled,
    }
}

fn run_view(run: &RunRecord) -> Run {
    let state = match (&run.finished, container_state(Some(run))) {
        (Some(finish), _) if finish.exit_status == ExitStatus::Success => RunState::Succeeded,
        (Some(_), _) => RunState::Failed,
        (None, ContainerState::Running) => RunState::Running,
        (None, _) => RunState::Pending,
    };
    Run {
        name: run.name.clone(),
        state,
        container_state: container_state(Some(run)),
        manual: run.manual,
        started_at: run.attempts.first().map(|attempt| attempt.started_at),
        finished_at: run.finished.as_ref().map(|finish| finish.at),
        exit_code: run.attempts.last().and_then(|attempt| attempt.exit_code).and_then(|code| i32::try_from(code).ok()),
        failure_reason: run.finished.as_ref().and_then(|finish| finish.reason.clone()),
        pod: None,
    }
}

fn summary(record: &DeploymentRecord, latest: Option<&RunRecord>, now: DateTime<Utc>) -> DeploymentSummary {
    let spec = &record.spec;
    let resource = &spec.resource;
    let schedule = spec.schedule.as_ref();
    let next_run = schedule.filter(|_| !record.suspended).and_then(|schedule| {
        let zone = schedule.time_zone.as_deref().map_or(Ok(chrono_tz::UTC), schedule::time_zone).ok()?;
        schedule::parse_local(&schedule.cron).ok()?.next_after(now, zone)
    });
    let state = match (schedule, latest.and_then(|run| run.finished.as_ref())) {
        (Some(_), _) if record.suspended => DeploymentState::Inactive,
        (Some(_), _) | (None, None) => DeploymentState::Active,
        (None, Some(_)) => DeploymentState::Inactive,
    };
    DeploymentSummary {
        name: name_of(spec).to_owned(),
        kind: spec.kind(),
        deployed_at: Some(record.deployed_at),
        deployed_by: Some(record.deployed_by.clone()),
        owner: Some(record.owner.clone()),
        state,
        container_state: container_state(latest),
        image: spec.runner.image.clone(),
        resource: format!("{}/{}:{}:{}", resource.repository, resource.group, resource.name, resource.version),
        schedule: schedule.map(|schedule| schedule.cron.clone()),
        time_zone: schedule.and_then(|schedule| schedule.time_zone.clone()),
        last_run: match schedule {
            Some(_) => record.last_scheduled,
            None => latest.map(|run| run.scheduled_at),
        },
        next_run,
        revision: record.revision,
        description: spec.description.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::bound;

    #[test]
    fn logs_are_bounded_by_lines_then_bytes() {
        assert_eq!(bound("a\nb\nc\n", Some(2), None), "b\nc\n");
        assert_eq!(bound("a\nb\nc", Some(2), None), "b\nc");
        assert_eq!(bound("a\nb\n", Some(5), Some(3)), "a\nb");
        assert_eq!(bound("é", None, Some(1)), "");
        assert_eq!(bound("a\n", Some(0), None), "");
        assert_eq!(bound("a\nb", Some(0), None), "");
    }
}
