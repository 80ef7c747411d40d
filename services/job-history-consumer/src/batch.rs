//! The steps the consumer's two loops (job events: [`crate::worker`], runs' logs:
//! [`crate::logs::worker`]) take alike with a batch of messages: retry a step while what it needs
//! fails, send the messages that cannot be stored to the dead-letter topic, tell a database that
//! refuses a batch from one that refuses every write, and commit the batch's offsets once it is
//! stored (rule 8).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::{AsyncConnection, RunQueryDsl};
use history_store::DbPool;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::decode::Rejection;
use crate::kafka::{DeadLetters, EventConsumer};
use crate::metrics::{DependencyLabel, KindLabel};

/// What `/readyz` says of a dependency whose last attempt failed.
pub const FAILING: &str = "failing (the service's log says why)";

/// What is failing now, by dependency (`database`, `broker`, `dead-letter topic`, `migrations`,
/// `logs`), as `/readyz` reports it. Only a short reason: the errors themselves (host names, user
/// names) go to the log, not to an unauthenticated endpoint.
#[derive(Debug, Default)]
pub struct Problems(Mutex<BTreeMap<&'static str, &'static str>>);

impl Problems {
    pub fn set(&self, dependency: &'static str, reason: &'static str) {
        if let Ok(mut problems) = self.0.lock() {
            problems.insert(dependency, reason);
        }
    }

    pub fn clear(&self, dependency: &str) {
        if let Ok(mut problems) = self.0.lock() {
            problems.remove(dependency);
        }
    }

    pub fn check(&self, dependency: &str) -> Result<(), String> {
        match self.0.lock().map(|problems| problems.get(dependency).cloned()) {
            Ok(None) => Ok(()),
            Ok(Some(reason)) => Err(reason.to_owned()),
            Err(_) => Err("unknown".to_owned()),
        }
    }
}

/// What a loop works with: its topic's consumer, the dead-letter producer, the database, and where
/// it reports failures (`/readyz`'s problems and two metrics).
pub struct Steps {
    pub consumer: Arc<EventConsumer>,
    pub dead_letters: DeadLetters,
    pub pool: DbPool,
    pub problems: Arc<Problems>,
    /// The longest pause between two attempts (the first is 100 ms, then doubled).
    pub max_backoff: Duration,
    /// Failed attempts, by dependency.
    pub retries: Family<DependencyLabel, Counter>,
    /// Messages sent to the dead-letter topic, by kind of rejection.
    pub dead_lettered: Family<KindLabel, Counter>,
}

impl std::fmt::Debug for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steps").field("max_backoff", &self.max_backoff).finish_non_exhaustive()
    }
}

impl Steps {
    /// Tries `attempt` until it succeeds (its value) or `stop` is cancelled between two attempts
    /// (`None`). While it fails, `/readyz` reports `dependency` failing and each failure is counted.
    pub async fn retry<T, E, F, Fut>(
        &self,
        stop: &CancellationToken,
        dependency: &'static str,
        mut attempt: F,
    ) -> Option<T>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut backoff = Duration::from_millis(100).min(self.max_backoff);
        loop {
            match attempt().await {
                Ok(value) => {
                    self.problems.clear(dependency);
                    return Some(value);
                }
                Err(error) => {
                    tracing::warn!(dependency, %error, retry_in_ms = backoff.as_millis() as u64, "failed; retrying");
                    self.failing(dependency);
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    /// Reports `dependency` failing on `/readyz` and counts the failure.
    pub fn failing(&self, dependency: &'static str) {
        self.problems.set(dependency, FAILING);
        self.retries.get_or_create(&DependencyLabel { dependency: dependency.to_owned() }).inc();
    }

    /// Sends `letters` to the dead-letter topic, retrying while it fails (reported as
    /// `dependency`); `false` if asked to stop meanwhile.
    pub async fn dead_letter(
        &self,
        letters: &[(&OwnedMessage, Rejection)],
        stop: &CancellationToken,
        dependency: &'static str,
    ) -> bool {
        if letters.is_empty() {
            return true;
        }
        let sent = self
            .retry(stop, dependency, || async {
                for (message, rejection) in letters {
                    self.dead_letters.send(message, rejection).await?;
                }
                Ok::<_, rdkafka::error::KafkaError>(())
            })
            .await;
        if sent.is_none() {
            return false;
        }
        for (message, rejection) in letters {
            tracing::warn!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                error = rejection.kind,
                reason = rejection.reason,
                "message sent to the dead-letter topic"
            );
            self.dead_lettered.get_or_create(&KindLabel { kind: rejection.kind.to_owned() }).inc();
        }
        true
    }

    /// Whether a write goes through at all: `probe` (an insert), rolled back. Tells an outage, a
    /// revoked permission or a read-only database from a batch that the database refuses.
    pub async fn database_takes_writes(&self, probe: &str) -> bool {
        let Ok(mut connection) = self.pool.get().await else { return false };
        let probe = connection
            .transaction::<(), diesel::result::Error, _>(async |connection| {
                diesel::sql_query(probe).execute(connection).await?;
                Err(diesel::result::Error::RollbackTransaction)
            })
            .await;
        matches!(probe, Err(diesel::result::Error::RollbackTransaction))
    }

    /// Commits, for each partition of the batch, the offset after its last message. A failed commit
    /// loses nothing: those messages are delivered again, and storing them again changes nothing.
    pub async fn commit(&self, batch: &[OwnedMessage]) {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for message in batch {
            let offset = next.entry((message.topic(), message.partition())).or_default();
            *offset = (*offset).max(message.offset() + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) = offsets.add_partition_offset(topic, partition, Offset::Offset(offset)) {
                tracing::warn!(%error, topic, partition, "cannot name an offset to commit");
            }
        }
        // A synchronous commit blocks its thread until the broker answers.
        let consumer = self.consumer.clone();
        match tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "offsets not committed; the batch will be delivered again"),
            Err(error) => tracing::warn!(%error, "the commit task failed; the batch will be delivered again"),
        }
    }
}
