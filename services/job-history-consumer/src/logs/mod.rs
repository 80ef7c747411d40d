//! Runs' logs (`docs/contracts/job-logs.md`): a second loop beside the job events', on the
//! `job-logs` topic in a group of its own, that stores each chunk compressed ([`worker`], reading
//! messages with [`decode`]), and the retention's periodic clean-up ([`retention`]).

pub mod decode;
pub mod metrics;
pub mod retention;
pub mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use history_store::logs::retention::Retention;
use prometheus_client::registry::Registry;
use service_kit::{Env, Positive, SettingsError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::batch::{Problems, Steps};
use crate::kafka::{self, DeadLetters, Topics};

/// The logs' settings:
/// - `JOB_LOGS_TOPIC` (`job-logs`; dead letters go to `<topic>.dlq`), read in the group
///   `<JOB_HISTORY_CONSUMER_GROUP>-logs`;
/// - `JOB_HISTORY_CONSUMER_LOG_RETENTION_DAYS` (30): logs whose container ended longer ago are
///   removed; `JOB_HISTORY_CONSUMER_LOG_RETENTION_MAX_MIB` (10240): past this total (compressed),
///   the oldest go first; `JOB_HISTORY_CONSUMER_LOG_CLEANUP_INTERVAL_SECS` (3600): how often.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub topic: String,
    pub retention: Retention,
    pub cleanup_interval: Duration,
}

impl LogSettings {
    pub fn from_env(env: &Env) -> Result<LogSettings, SettingsError> {
        let days = env.get_or::<Positive<i64>>("JOB_HISTORY_CONSUMER_LOG_RETENTION_DAYS", Positive(30))?.0;
        let mib = env.get_or::<Positive<i64>>("JOB_HISTORY_CONSUMER_LOG_RETENTION_MAX_MIB", Positive(10_240))?.0;
        let interval = env.get_or::<Positive<u64>>("JOB_HISTORY_CONSUMER_LOG_CLEANUP_INTERVAL_SECS", Positive(3600))?.0;
        Ok(LogSettings {
            topic: env.get_or("JOB_LOGS_TOPIC", "job-logs".to_owned())?,
            retention: Retention {
                max_age: TimeDelta::try_days(days).unwrap_or(TimeDelta::MAX),
                max_stored_bytes: mib.saturating_mul(1024 * 1024),
            },
            cleanup_interval: Duration::from_secs(interval),
        })
    }
}

/// The logs' loop and clean-up, ready to run.
#[derive(Debug)]
pub struct Logs {
    worker: worker::LogWorker,
    cleanup: retention::Cleanup,
}

/// Connections of the logs' own pool: one for the loop, one for the clean-up.
const POOL_SIZE: usize = 2;

impl Logs {
    /// Everything the logs need, its metrics registered; nothing runs yet. The consumer's lag and the
    /// failed attempts are counted in the events' `shared` metrics (their labels tell the topic, and
    /// `logs` the dependency).
    pub fn new(
        settings: &crate::Settings,
        registry: &mut Registry,
        shared: crate::metrics::Metrics,
        problems: Arc<Problems>,
    ) -> Result<Logs, crate::StartError> {
        let logs = &settings.logs;
        let topics = Topics { events: logs.topic.clone(), ..settings.topics.clone() };
        let group = format!("{}-logs", settings.group);
        let retries = shared.retries.clone();
        let consumer = kafka::consumer(&topics.kafka, &group, settings.session_timeout_ms, shared)?;
        let pool = history_store::pool(&settings.database_url, POOL_SIZE)?;
        let metrics = metrics::LogMetrics::register(registry);
        Ok(Logs {
            worker: worker::LogWorker {
                steps: Steps {
                    consumer,
                    dead_letters: DeadLetters::new(&topics)?,
                    pool: pool.clone(),
                    problems,
                    max_backoff: settings.batch.max_backoff,
                    retries,
                    dead_lettered: metrics.dead_lettered.clone(),
                },
                database_url: settings.database_url.clone(),
                topics,
                metrics: metrics.clone(),
            },
            cleanup: retention::Cleanup { pool, retention: logs.retention, interval: logs.cleanup_interval, metrics },
        })
    }

    /// Runs `events` (the job events' loop), the logs' loop and the clean-up until `stop`; the task
    /// ends when all three have, with the first error.
    pub fn run_beside<F>(self, events: F, stop: CancellationToken) -> JoinHandle<Result<(), String>>
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        let events = tokio::spawn(events);
        let logs = tokio::spawn(self.worker.run(stop.clone()));
        let cleanup = tokio::spawn(self.cleanup.run(stop));
        tokio::spawn(async move {
            let (events, logs, cleanup) = tokio::join!(events, logs, cleanup);
            let ended =
                |result: Result<Result<(), String>, tokio::task::JoinError>| result.map_err(|e| e.to_string())?;
            ended(events).and(ended(logs)).and(cleanup.map_err(|e| e.to_string()))
        })
    }
}
