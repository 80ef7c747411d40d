//! The local runtime's schedules: each CronJob deployment that is not suspended has a task that
//! sleeps until its next time (in its time zone) and starts a run as the concurrency policy and the
//! starting deadline say.

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::LocalRuntime;
use super::store::DeploymentRecord;
use crate::kubernetes::manifests::name_of;
use crate::spec::{ConcurrencyPolicy, schedule};

impl LocalRuntime {
    /// Starts the schedule of a CronJob deployment that is not suspended.
    pub(super) fn schedule(&self, record: &DeploymentRecord) -> Option<CancellationToken> {
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
}
