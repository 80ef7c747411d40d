//! What job-history-consumer reads from the environment.

use std::time::Duration;

use history_store::PoolSize;
use service_kit::{Env, Positive, ServerSettings, SettingsError};

use crate::NAME;
use crate::kafka::Topics;
use crate::logs;
use crate::worker::BatchSettings;

/// Everything the service reads from the environment:
/// - `DATABASE_URL` (default: the dev stack's database), `JOB_HISTORY_CONSUMER_DB_POOL_SIZE` (2: also
///   how many transactions apply a batch side by side);
/// - `KAFKA_BROKERS` (`127.0.0.1:9092`), `JOB_EVENTS_TOPIC` (`job-events`; dead letters go to
///   `<topic>.dlq`), `JOB_HISTORY_CONSUMER_GROUP` (`job-history-consumer`),
///   `JOB_HISTORY_CONSUMER_SESSION_TIMEOUT_MS` (45000: how long the group waits for a member that
///   stopped answering before giving its partitions to the others);
/// - for topics it creates when missing: `JOB_EVENTS_TOPIC_PARTITIONS` (6), `JOB_EVENTS_TOPIC_REPLICATION` (1);
/// - `JOB_HISTORY_CONSUMER_BATCH_SIZE` (2000 messages), `JOB_HISTORY_CONSUMER_BATCH_WAIT_MS` (50),
///   `JOB_HISTORY_CONSUMER_MAX_BACKOFF_MS` (5000: the longest pause between retries);
/// - the logs' topic and retention (see [`logs::LogSettings`]);
/// - the server settings of `JOB_HISTORY_CONSUMER_`.
#[derive(Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database_url: String,
    pub pool_size: usize,
    pub topics: Topics,
    pub group: String,
    pub session_timeout_ms: i32,
    pub batch: BatchSettings,
    pub logs: logs::LogSettings,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_HISTORY_CONSUMER", 8087)?,
            database_url: env
                .get_or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/job_orchestrator_dev".to_owned())?,
            pool_size: env.get_or("JOB_HISTORY_CONSUMER_DB_POOL_SIZE", PoolSize(2))?.0,
            topics: Topics {
                kafka: kafka_kit::KafkaSettings::from_env(env)?,
                events: env.get_or("JOB_EVENTS_TOPIC", "job-events".to_owned())?,
            },
            group: env.get_or("JOB_HISTORY_CONSUMER_GROUP", NAME.to_owned())?,
            session_timeout_ms: env
                .get_or::<Positive<i32>>("JOB_HISTORY_CONSUMER_SESSION_TIMEOUT_MS", Positive(45_000))?
                .0,
            batch: BatchSettings {
                size: env.get_or::<Positive<i32>>("JOB_HISTORY_CONSUMER_BATCH_SIZE", Positive(2000))?.0 as usize,
                wait: Duration::from_millis(env.get_or("JOB_HISTORY_CONSUMER_BATCH_WAIT_MS", 50)?),
                max_backoff: Duration::from_millis(
                    env.get_or::<Positive<i32>>("JOB_HISTORY_CONSUMER_MAX_BACKOFF_MS", Positive(5000))?.0 as u64,
                ),
            },
            logs: logs::LogSettings::from_env(env)?,
        })
    }
}

impl std::fmt::Debug for Settings {
    // The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("pool_size", &self.pool_size)
            .field("topics", &self.topics)
            .field("group", &self.group)
            .field("batch", &self.batch)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}
