//! The logs' loop: take a batch of messages (bounded in count and bytes: a chunk is up to 128 KiB),
//! send the bad ones to the dead-letter topic, compress the chunks off the async threads, store them
//! in one transaction, then commit the batch's offsets. Failures are retried with a capped backoff,
//! committing nothing, `/readyz` saying `logs: failing`; as the job events' loop does, a batch the
//! database keeps refusing while it takes other writes is stored message by message, and the
//! messages it still refuses go to the dead-letter topic.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::job_log::LogMessage;
use diesel_async::{AsyncConnection, RunQueryDsl};
use history_store::DbPool;
use history_store::logs::{self, Archived, Prepared};
use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::decode::decode;
use super::metrics::LogMetrics;
use crate::decode::Rejection;
use crate::kafka::{DeadLetters, EventConsumer, Topics};
use crate::metrics::KindLabel;
use crate::worker::Problems;

/// At most this many messages, or this many bytes of them, per batch.
const MAX_MESSAGES: usize = 256;
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// How long a batch waits for more messages once it has one.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// Failed attempts at a batch before the worker looks for the messages the database refuses.
const ATTEMPTS_BEFORE_ISOLATING: u32 = 3;
/// An attempt at the database longer than this is given up and retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the consumer polls without an error before `/readyz` stops reporting an earlier one.
const QUIET: Duration = Duration::from_secs(5);
/// `/readyz`'s name for this loop, and what it says while it fails.
const PROBLEM: &str = "logs";
const FAILING: &str = "failing (the service's log says why)";

pub struct LogWorker {
    pub consumer: Arc<EventConsumer>,
    pub dead_letters: DeadLetters,
    pub pool: DbPool,
    pub database_url: String,
    /// `events` is the logs topic here.
    pub topics: Topics,
    pub max_backoff: Duration,
    pub metrics: LogMetrics,
    pub problems: Arc<Problems>,
}

impl std::fmt::Debug for LogWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWorker").field("topics", &self.topics).finish_non_exhaustive()
    }
}

/// One message of a batch, read.
struct Read<'a> {
    message: &'a OwnedMessage,
    log: LogMessage,
}

impl LogWorker {
    /// Runs until `stop` is cancelled; a batch being stored is finished first.
    pub async fn run(self, stop: CancellationToken) -> Result<(), String> {
        let url = self.database_url.clone();
        if self.retry(&stop, || history_store::migrate(&url)).await.is_none() {
            return Ok(());
        }
        if self.retry(&stop, || self.topics.ensure()).await.is_none() {
            return Ok(());
        }
        self.consumer.subscribe(&[&self.topics.events]).map_err(|error| format!("cannot subscribe: {error}"))?;
        tracing::info!(topic = self.topics.events, "consuming logs");
        while let Some(batch) = self.next_batch(&stop).await {
            if !self.process(&batch, &stop).await {
                break;
            }
        }
        self.consumer.unsubscribe();
        Ok(())
    }

    async fn next_batch(&self, stop: &CancellationToken) -> Option<Vec<OwnedMessage>> {
        let first = loop {
            let received = tokio::select! {
                _ = stop.cancelled() => return None,
                received = tokio::time::timeout(QUIET, self.consumer.recv()) => received,
            };
            match received {
                Ok(Ok(message)) => break message.detach(),
                // Polling without an error for a while: whatever failed before has passed (logs
                // come only when runs end, so no message may come to say so).
                Err(_) => self.problems.clear(PROBLEM),
                // librdkafka retries by itself and reports each failed attempt: a pause per report
                // would let them pile up (see the events' worker).
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot receive logs from the broker; librdkafka retries");
                    self.problems.set(PROBLEM, FAILING);
                }
            }
        };
        self.problems.clear(PROBLEM);
        let mut bytes = first.payload().map_or(0, <[u8]>::len);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < MAX_MESSAGES && bytes < MAX_BYTES {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    bytes += message.payload().map_or(0, <[u8]>::len);
                    batch.push(message.detach());
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot receive logs from the broker");
                    break;
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Dead-letters, stores and commits one batch; `false` if it was abandoned to stop.
    async fn process(&self, batch: &[OwnedMessage], stop: &CancellationToken) -> bool {
        let mut read = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        for message in batch {
            match decode(message.payload()) {
                Ok(log) => read.push(Read { message, log }),
                Err(rejection) => rejected.push((message, rejection)),
            }
        }
        // Compression is CPU work: off the async threads.
        let logs: Vec<LogMessage> = read.iter().map(|r| r.log.clone()).collect();
        let prepared = match tokio::task::spawn_blocking(move || logs::prepare(&logs)).await {
            Ok(prepared) => prepared,
            Err(error) => {
                tracing::error!(%error, "the compression task failed; the batch will be delivered again");
                return false;
            }
        };
        let mut ready: Vec<(Prepared, &OwnedMessage)> = Vec::with_capacity(prepared.len());
        for (prepared, read) in prepared.into_iter().zip(&read) {
            match prepared {
                Ok(prepared) => ready.push((prepared, read.message)),
                Err(error) => {
                    rejected.push((read.message, Rejection { kind: "not-storable", reason: error.to_string() }))
                }
            }
        }
        if !self.dead_letter(&rejected, stop).await {
            return false;
        }
        if !ready.is_empty() {
            let Some((archived, refused)) = self.store(&ready, stop).await else { return false };
            self.metrics.chunks.inc_by(archived.chunks as u64);
            self.metrics.bytes.inc_by(archived.bytes);
            self.metrics.stored.inc_by(archived.stored);
            if !self.dead_letter(&refused, stop).await {
                return false;
            }
        }
        self.commit(batch).await;
        true
    }

    /// Stores the batch, retrying while it fails; `None` if asked to stop meanwhile. Answers what
    /// was stored and the messages the database refuses (see the module's doc).
    async fn store<'m>(
        &self,
        ready: &[(Prepared, &'m OwnedMessage)],
        stop: &CancellationToken,
    ) -> Option<(Archived, Vec<(&'m OwnedMessage, Rejection)>)> {
        let prepared: Vec<Prepared> = ready.iter().map(|(prepared, _)| prepared.clone()).collect();
        let mut failures = 0;
        self.retry(stop, || {
            failures += 1;
            let prepared = &prepared;
            async move {
                let error = match self.archive(prepared).await {
                    Ok(archived) => return Ok((archived, Vec::new())),
                    Err(error) => error,
                };
                if failures < ATTEMPTS_BEFORE_ISOLATING || !self.database_takes_writes().await {
                    return Err(error);
                }
                tracing::warn!(%error, "the database takes writes but refuses this batch of logs: storing it message by message");
                let mut total = Archived::default();
                let mut refused = Vec::new();
                for (prepared, message) in ready {
                    match self.archive(std::slice::from_ref(prepared)).await {
                        Ok(archived) => {
                            total.chunks += archived.chunks;
                            total.bytes += archived.bytes;
                            total.stored += archived.stored;
                        }
                        Err(error) => {
                            let reason = format!("the database refused this log message: {error}");
                            refused.push((*message, Rejection { kind: "refused-by-database", reason }));
                        }
                    }
                }
                Ok((total, refused))
            }
        })
        .await
    }

    async fn archive(&self, prepared: &[Prepared]) -> Result<Archived, String> {
        let mut connection = self.pool.get().await.map_err(|error| error.to_string())?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, logs::archive(&mut connection, prepared)).await {
            Ok(archived) => archived.map_err(|error| error.to_string()),
            Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
        }
    }

    /// Whether a write goes through at all (one that is rolled back): tells an outage from a batch
    /// that the database refuses.
    async fn database_takes_writes(&self) -> bool {
        let Ok(mut connection) = self.pool.get().await else { return false };
        let probe = connection
            .transaction::<(), diesel::result::Error, _>(async |connection| {
                diesel::sql_query(
                    "INSERT INTO job_logs (job_id, container, attempt, collection, ended_at, chunks, kept_lines, \
                     kept_bytes, dropped_lines, dropped_bytes) \
                     VALUES ('job-history-consumer/write-probe', 'runner', 1, '', now(), 0, 0, 0, 0, 0)",
                )
                .execute(connection)
                .await?;
                Err(diesel::result::Error::RollbackTransaction)
            })
            .await;
        matches!(probe, Err(diesel::result::Error::RollbackTransaction))
    }

    /// Sends `letters` to the dead-letter topic, retrying while it fails; `false` if asked to stop.
    async fn dead_letter(&self, letters: &[(&OwnedMessage, Rejection)], stop: &CancellationToken) -> bool {
        if letters.is_empty() {
            return true;
        }
        let sent = self
            .retry(stop, || async {
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
                "log message sent to the dead-letter topic"
            );
            self.metrics.dead_lettered.get_or_create(&KindLabel { kind: rejection.kind.to_owned() }).inc();
        }
        true
    }

    /// Commits, for each partition of the batch, the offset after its last message. A failed commit
    /// loses nothing: the messages come again, and storing them again changes nothing.
    async fn commit(&self, batch: &[OwnedMessage]) {
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
        let consumer = self.consumer.clone();
        match tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "log offsets not committed; the batch will be delivered again"),
            Err(error) => tracing::warn!(%error, "the commit task failed; the batch will be delivered again"),
        }
    }

    /// Tries `attempt` until it succeeds or `stop` is cancelled between two attempts (`None`).
    async fn retry<T, E, F, Fut>(&self, stop: &CancellationToken, mut attempt: F) -> Option<T>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut backoff = Duration::from_millis(100).min(self.max_backoff);
        loop {
            match attempt().await {
                Ok(value) => {
                    self.problems.clear(PROBLEM);
                    return Some(value);
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "logs: failed; retrying");
                    self.problems.set(PROBLEM, FAILING);
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }
}
