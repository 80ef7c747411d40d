//! Runs' container logs to the job history (`docs/contracts/job-logs.md`): when a container of an
//! attempt ends, its log is read ([`collect`]: the whole log, or its tail within the bound, the cut
//! recorded), cut into chunks and published on the logs topic ([`LogArchiver`]). Both runtimes
//! call it, so that Kubernetes runs and local runs keep their logs alike.
//!
//! Publishing is idempotent: the chunks of one reading of a log always have the same ids, so a
//! retry, a restarted deployer reading the log again, or a second replica sends nothing the history
//! would keep twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::job_log::{Collected, Container, Extent, LogContent, LogMessage, cut};
use common::time::Instant;
use kafka_kit::KafkaSettings;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Semaphore;

/// Where logs go and how much of each is kept: `JOB_LOGS_TOPIC` (`job-logs`),
/// `JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES` (10 MiB per container).
#[derive(Debug, Clone)]
pub struct LogArchiveSettings {
    pub topic: String,
    pub max_bytes: usize,
}

/// The default bound of one container's archived log.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// Logs read and held at once: each holds up to twice the bound while it is read.
const AT_ONCE: usize = 2;
/// How long a log may wait for the broker (retried with a doubling pause) before it is given up.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(600);
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Which log: a container of an attempt of a run, and when it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOf {
    /// The run's id in the history.
    pub job_id: String,
    pub container: Container,
    /// 1 for the run's first attempt.
    pub attempt: u32,
    pub ended_at: DateTime<Utc>,
}

/// What archiving a log did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archived {
    pub chunks: usize,
    pub kept: Extent,
    pub dropped: Extent,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the log: {0}")]
    Read(#[from] std::io::Error),
    #[error("the broker did not take the log in time: {0}")]
    Publish(String),
    #[error("the log makes no valid message: {0}")]
    Invalid(String),
}

/// Reads `reader` to its end and keeps at most `bound` bytes of it: the tail, from the first line
/// that starts within it (from inside the last line only when that line alone is longer than the
/// bound). What is dropped before is counted. Bytes that are not UTF-8 become U+FFFD.
pub async fn collect<R: AsyncRead + Unpin>(mut reader: R, bound: usize) -> std::io::Result<Collected> {
    let mut held: Vec<u8> = Vec::new();
    let mut dropped = Extent::default();
    // Whether the byte before `held` ends a line (true at the log's start).
    let mut at_line_start = true;
    let mut block = vec![0_u8; 64 * 1024];
    loop {
        let read = reader.read(&mut block).await?;
        if read == 0 {
            break;
        }
        held.extend_from_slice(&block[..read]);
        // Hold at most twice the bound, so that a 50 MiB log never holds 50 MiB.
        if held.len() > bound.saturating_mul(2).max(block.len()) {
            let cut = held.len() - bound;
            drop_front(&mut held, cut, &mut dropped, &mut at_line_start);
        }
    }
    if held.len() > bound {
        let window = held.len() - bound;
        let start = if at_line_start_of(&held, window, at_line_start) {
            window
        } else {
            match held[window..].iter().position(|b| *b == b'\n') {
                Some(newline) if window + newline + 1 < held.len() => window + newline + 1,
                // No line starts within the bound: its tail, from a character's start.
                _ => (window..held.len()).find(|i| (held[*i] & 0xC0) != 0x80).unwrap_or(window),
            }
        };
        drop_front(&mut held, start, &mut dropped, &mut at_line_start);
    }
    let text = match String::from_utf8(held) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    };
    Ok(Collected { text, dropped })
}

fn at_line_start_of(held: &[u8], at: usize, before_held: bool) -> bool {
    match at.checked_sub(1) {
        Some(previous) => held[previous] == b'\n',
        None => before_held,
    }
}

fn drop_front(held: &mut Vec<u8>, count: usize, dropped: &mut Extent, at_line_start: &mut bool) {
    if count == 0 {
        return;
    }
    dropped.bytes += count as u64;
    dropped.lines += held[..count].iter().filter(|b| **b == b'\n').count() as u64;
    *at_line_start = held[count - 1] == b'\n';
    held.drain(..count);
}

/// Publishes runs' logs; cheap to clone.
#[derive(Clone)]
pub struct LogArchiver {
    producer: FutureProducer,
    settings: LogArchiveSettings,
    at_once: Arc<Semaphore>,
    metrics: Metrics,
}

impl std::fmt::Debug for LogArchiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogArchiver").field("settings", &self.settings).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default)]
struct Metrics {
    archived: Counter,
    failed: Counter,
    bytes: Counter,
    dropped_bytes: Counter,
}

impl LogArchiver {
    /// The archiver and its metrics, registered.
    pub fn new(
        kafka: &KafkaSettings,
        settings: LogArchiveSettings,
        registry: &mut Registry,
    ) -> Result<LogArchiver, KafkaError> {
        let producer: FutureProducer = kafka
            .client_config()
            .set("enable.idempotence", "true")
            // Job output compresses about six times; the broker and the network see that much less.
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .create()?;
        let metrics = Metrics::default();
        registry.register("job_logs_archived", "Container logs the broker took whole", metrics.archived.clone());
        registry.register("job_logs_failed", "Container logs given up (each is logged)", metrics.failed.clone());
        registry.register("job_log_bytes_archived", "Bytes of container logs published", metrics.bytes.clone());
        registry.register(
            "job_log_bytes_dropped",
            "Bytes cut from the start of logs longer than the bound",
            metrics.dropped_bytes.clone(),
        );
        Ok(LogArchiver { producer, settings, at_once: Arc::new(Semaphore::new(AT_ONCE)), metrics })
    }

    /// Reads the log from `reader` (to its end: give it a finished container's log), then publishes
    /// it; returns once the broker has every chunk.
    pub async fn archive<R: AsyncRead + Unpin>(&self, log: &LogOf, reader: R) -> Result<Archived, ArchiveError> {
        let _turn = self.at_once.acquire().await.map_err(|error| ArchiveError::Publish(error.to_string()))?;
        let collected = collect(reader, self.settings.max_bytes).await?;
        let messages = cut(&log.job_id, log.container, log.attempt, Instant(log.ended_at), &collected);
        if let Some(error) = messages.iter().find_map(|m| m.validate().err()) {
            return Err(ArchiveError::Invalid(error.to_string()));
        }
        let result = self.publish(&messages).await;
        self.count(result.as_ref().err(), &collected);
        result?;
        Ok(Archived { chunks: messages.len(), kept: collected.kept(), dropped: collected.dropped })
    }

    /// Tells the history that the log could not be read, and why.
    pub async fn unavailable(&self, log: &LogOf, why: &str) -> Result<(), ArchiveError> {
        let message = LogMessage {
            job_id: log.job_id.clone(),
            container: log.container,
            attempt: log.attempt,
            ended_at: Instant(log.ended_at),
            content: LogContent::Unavailable(why.to_owned()),
        };
        message.validate().map_err(|error| ArchiveError::Invalid(error.to_string()))?;
        self.publish(&[message]).await
    }

    /// Sends `messages` and waits for the broker's acknowledgement of each, trying again with a
    /// growing pause until [`PUBLISH_DEADLINE`].
    pub async fn publish(&self, messages: &[LogMessage]) -> Result<(), ArchiveError> {
        let deadline = tokio::time::Instant::now() + PUBLISH_DEADLINE;
        let mut pause = FIRST_PAUSE;
        let mut left: Vec<&LogMessage> = messages.iter().collect();
        loop {
            let failed = self.send(&left).await;
            let Some(error) = failed.iter().find_map(|(_, error)| error.clone()) else { return Ok(()) };
            left = failed.into_iter().filter(|(_, error)| error.is_some()).map(|(message, _)| message).collect();
            if tokio::time::Instant::now() + pause > deadline {
                return Err(ArchiveError::Publish(error));
            }
            tracing::warn!(%error, chunks = left.len(), "the broker did not take a log's chunks yet; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// Sends every message at once; answers each with its error, if it failed.
    async fn send<'m>(&self, messages: &[&'m LogMessage]) -> Vec<(&'m LogMessage, Option<String>)> {
        let mut deliveries = Vec::with_capacity(messages.len());
        for message in messages {
            let delivery = match message.to_json() {
                Err(error) => Err(error.to_string()),
                Ok(payload) => {
                    let record = FutureRecord::to(&self.settings.topic).key(message.job_id.as_str()).payload(&payload);
                    self.producer.send_result(record).map_err(|(error, _)| error.to_string())
                }
            };
            deliveries.push((*message, delivery));
        }
        let mut answers = Vec::with_capacity(deliveries.len());
        for (message, delivery) in deliveries {
            let error = match delivery {
                Err(error) => Some(error),
                Ok(future) => match future.await {
                    Ok(Ok(_)) => None,
                    Ok(Err((error, _))) => Some(error.to_string()),
                    Err(_) => Some("the producer closed".to_owned()),
                },
            };
            answers.push((message, error));
        }
        answers
    }

    fn count(&self, error: Option<&ArchiveError>, collected: &Collected) {
        match error {
            None => {
                self.metrics.archived.inc();
                self.metrics.bytes.inc_by(collected.text.len() as u64);
                self.metrics.dropped_bytes.inc_by(collected.dropped.bytes);
            }
            Some(_) => {
                self.metrics.failed.inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collected(text: &[u8], bound: usize) -> Collected {
        collect(text, bound).await.unwrap()
    }

    #[tokio::test]
    async fn a_log_within_the_bound_is_kept_whole() {
        let log = collected(b"one\ntwo\n", 100).await;
        assert_eq!((log.text.as_str(), log.dropped), ("one\ntwo\n", Extent::default()));
        assert_eq!(collected(b"", 10).await, Collected::default());
    }

    #[tokio::test]
    async fn a_longer_log_keeps_its_tail_from_a_line_start_and_counts_the_cut() {
        let log = collected(b"line 1\nline 2\nline 3\nline 4\n", 16).await;
        assert_eq!(log.text, "line 3\nline 4\n");
        assert_eq!(log.dropped, Extent { lines: 2, bytes: 14 });
        // A window that starts exactly at a line's start keeps it.
        let log = collected(b"line 1\nline 2\nline 3\n", 14).await;
        assert_eq!((log.text.as_str(), log.dropped.lines), ("line 2\nline 3\n", 1));
        // A last line longer than the bound: its tail, from a character's start.
        let log = collected("short\nééééé".as_bytes(), 5).await;
        assert_eq!(log.text, "éé");
        assert_eq!(log.dropped, Extent { lines: 1, bytes: 12 });
    }

    #[tokio::test]
    async fn a_log_far_longer_than_the_bound_holds_little_and_counts_every_line() {
        // Read in 64 KiB blocks: the front is dropped as it goes, the counts still exact.
        let text: String = (1..=200_000).map(|n| format!("line {n}\n")).collect();
        let log = collected(text.as_bytes(), 100_000).await;
        assert!(log.text.len() <= 100_000 && log.text.starts_with("line ") && log.text.ends_with("line 200000\n"));
        let first: u64 = log.text[5..log.text.find('\n').unwrap()].parse().unwrap();
        assert_eq!(log.dropped.lines + 1, first);
        assert_eq!(log.dropped.bytes as usize + log.text.len(), text.len());
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_replaced() {
        let log = collected(b"ok \xff\xfe end\n", 100).await;
        assert_eq!(log.text, "ok \u{fffd}\u{fffd} end\n");
    }
}
