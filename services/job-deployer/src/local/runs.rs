//! One local run from start to end: it is recorded, fetches the resource, runs the command with
//! retries as `backoffLimit` says (with Kubernetes' doubling pause from 10 s), stops at its
//! deadline, and reports every step as job events. A run's end also applies the history limits.

use std::time::Duration;

use chrono::Utc;
use common::job::ExitStatus;
use common::job_log::Container;
use tokio_util::sync::CancellationToken;

use super::process::{self, Ended, RunFiles};
use super::store::{AttemptRecord, FinishRecord, RunRecord};
use super::{ActiveRun, Entry, Inner, LocalRuntime};
use crate::events::{self, Attempt, EnvValue, Finish, RunReport};
use crate::kubernetes::manifests::name_of;
use crate::spec::DeploymentSpec;

/// Kubernetes' Job defaults, kept here.
const DEFAULT_BACKOFF_LIMIT: i32 = 6;
const FIRST_RETRY_PAUSE: Duration = Duration::from_secs(10);
const LONGEST_RETRY_PAUSE: Duration = Duration::from_secs(360);
const DEFAULT_SUCCESSFUL_KEPT: i32 = 3;
const DEFAULT_FAILED_KEPT: i32 = 1;

impl LocalRuntime {
    /// Records a new run and starts its task.
    pub(super) fn start_run(
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
            // Each step's log goes to the history when it ends (the history counts attempts from 1).
            let number = u32::try_from(attempt + 1).unwrap_or(u32::MAX);
            self.log_starts(&run, Container::Fetch, number);
            let fetched = process::fetch(&spec, &files, deadline, &stop).await;
            self.log_ended(&run, Container::Fetch, number, Utc::now());
            let (ended, setup_message) = match fetched {
                Err((ended, message)) => (ended, Some(message.unwrap_or_else(|| "fetch failed".to_owned()))),
                Ok(()) => {
                    if let Some(current) = run.attempts.last_mut() {
                        current.executing_at = Some(Utc::now());
                    }
                    save(&run, &mut published);
                    self.log_starts(&run, Container::Runner, number);
                    let ended = process::execute(&spec, &env, &run.args, &files, attempt, deadline, &stop).await;
                    self.log_ended(&run, Container::Runner, number, Utc::now());
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
}

impl Inner {
    /// Publishes the events of `run` not yet in `published`.
    pub(super) fn publish(&self, run: &RunRecord, published: &mut std::collections::HashSet<String>) {
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
