//! The logs' loop: take a batch of messages (bounded in count and bytes: a chunk is up to 128 KiB),
//! send the bad ones to the dead-letter topic, compress the chunks off the async threads, store them
//! in one transaction, then commit the batch's offsets. Failures are retried with a capped backoff,
//! committing nothing, `/readyz` saying `logs: failing`; as the job events' loop does, a batch the
//! database keeps refusing while it takes other writes is stored message by message, and the
//! messages it still refuses go to the dead-letter topic (the steps in [`crate::batch`]).

use std::time::Duration;

use common::job_log::LogMessage;
use history_store::logs::{self, Archived, Prepared};
use rdkafka::Message;
use rdkafka::consumer::Consumer as _;
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;

use super::decode::decode;
use super::metrics::LogMetrics;
use crate::batch::Steps;
use crate::decode::Rejection;
use crate::kafka::Topics;

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
/// `/readyz`'s name for whatever this loop needs that fails.
const PROBLEM: &str = "logs";
/// A write that only the database's own state can refuse (rolled back), for
/// [`Steps::database_takes_writes`].
const WRITE_PROBE: &str = "INSERT INTO job_logs (job_id, container, attempt, collection, ended_at, chunks, kept_lines, \
                           kept_bytes, dropped_lines, dropped_bytes) \
                           VALUES ('job-history-consumer/write-probe', 'runner', 1, '', now(), 0, 0, 0, 0, 0)";

pub struct LogWorker {
    pub steps: Steps,
    pub database_url: String,
    /// `events` is the logs topic here.
    pub topics: Topics,
    pub metrics: LogMetrics,
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
        if self.steps.retry(&stop, PROBLEM, || history_store::migrate(&url)).await.is_none() {
            return Ok(());
        }
        if self.steps.retry(&stop, PROBLEM, || self.topics.ensure()).await.is_none() {
            return Ok(());
        }
        self.steps.consumer.subscribe(&[&self.topics.events]).map_err(|error| format!("cannot subscribe: {error}"))?;
        tracing::info!(topic = self.topics.events, "consuming logs");
        while let Some(batch) = self.next_batch(&stop).await {
            if !self.process(&batch, &stop).await {
                break;
            }
        }
        self.steps.consumer.unsubscribe();
        Ok(())
    }

    async fn next_batch(&self, stop: &CancellationToken) -> Option<Vec<OwnedMessage>> {
        let first = loop {
            let received = tokio::select! {
                _ = stop.cancelled() => return None,
                received = tokio::time::timeout(QUIET, self.steps.consumer.recv()) => received,
            };
            match received {
                Ok(Ok(message)) => break message.detach(),
                // Polling without an error for a while: whatever failed before has passed (logs
                // come only when runs end, so no message may come to say so).
                Err(_) => self.steps.problems.clear(PROBLEM),
                // librdkafka retries by itself and reports each failed attempt: a pause per report
                // would let them pile up (see the events' worker).
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot receive logs from the broker; librdkafka retries");
                    self.steps.failing(PROBLEM);
                }
            }
        };
        self.steps.problems.clear(PROBLEM);
        let mut bytes = first.payload().map_or(0, <[u8]>::len);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < MAX_MESSAGES && bytes < MAX_BYTES {
            match tokio::time::timeout_at(deadline, self.steps.consumer.recv()).await {
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
        if !self.steps.dead_letter(&rejected, stop, PROBLEM).await {
            return false;
        }
        if !ready.is_empty() {
            let Some((archived, refused)) = self.store(&ready, stop).await else { return false };
            self.metrics.chunks.inc_by(archived.chunks as u64);
            self.metrics.bytes.inc_by(archived.bytes);
            self.metrics.stored.inc_by(archived.stored);
            if !self.steps.dead_letter(&refused, stop, PROBLEM).await {
                return false;
            }
        }
        self.steps.commit(batch).await;
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
        self.steps.retry(stop, PROBLEM, || {
            failures += 1;
            let prepared = &prepared;
            async move {
                let error = match self.archive(prepared).await {
                    Ok(archived) => return Ok((archived, Vec::new())),
                    Err(error) => error,
                };
                if failures < ATTEMPTS_BEFORE_ISOLATING || !self.steps.database_takes_writes(WRITE_PROBE).await {
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
        let mut connection = self.steps.pool.get().await.map_err(|error| error.to_string())?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, logs::archive(&mut connection, prepared)).await {
            Ok(archived) => archived.map_err(|error| error.to_string()),
            Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
        }
    }
}
