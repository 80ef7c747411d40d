//! The consumer's loop: take a batch of messages, send the bad ones to the dead-letter topic, fold
//! the good ones into Postgres (in a transaction per lane, see [`lanes`]), then commit the batch's
//! offsets (rule 8). A failure of the broker or the database is retried with a capped backoff,
//! committing nothing, with `/readyz` saying so; a stop request is honoured between attempts (the
//! steps in [`crate::batch`], which the logs' loop takes too).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::event::JobEvent;
use rdkafka::Message;
use rdkafka::consumer::Consumer as _;
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;

use crate::batch::Steps;
use crate::decode::{Rejection, decode};
use crate::kafka;
use crate::metrics::Metrics;
use crate::store;

/// How batches are made and failures retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// At most this many messages per batch.
    pub size: usize,
    /// How long a batch waits for more messages once it has one.
    pub wait: Duration,
    /// The longest pause between two attempts (the first is 100 ms, then doubled).
    pub max_backoff: Duration,
}

/// Splits a batch's events into `count` lanes by job, applied side by side, each in a transaction
/// of its own on a connection of its own, so that Postgres works on several cores (measured: 4,608
/// events per second in one transaction, 7,191 in two lanes, on two cores). A job's events stay in
/// one lane, so two lanes never wait for each other's locks; the batch's offsets are committed
/// once every lane has committed (a lane that fails makes the whole batch retried, harmlessly).
fn lanes(events: &[JobEvent], count: usize) -> Vec<Vec<JobEvent>> {
    let mut lanes = vec![Vec::new(); count.max(1)];
    for event in events {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&event.job_id, &mut hasher);
        let lane = (std::hash::Hasher::finish(&hasher) % lanes.len() as u64) as usize;
        lanes[lane].push(event.clone());
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Failed attempts at a batch before the worker looks for the jobs the database refuses.
const ATTEMPTS_BEFORE_ISOLATING: u32 = 3;

/// An attempt at the database longer than this is given up and retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A write that only the database's own state can refuse (rolled back), for
/// [`Steps::database_takes_writes`].
const WRITE_PROBE: &str = "INSERT INTO jobs (job_id) VALUES ('job-history-consumer/write-probe')";

/// The loop over the events topic, and everything it works with.
pub struct EventLoop {
    pub steps: Steps,
    pub database_url: String,
    pub topics: kafka::Topics,
    pub batch: BatchSettings,
    /// Transactions applied side by side per batch (see [`lanes`]); at most the pool's size.
    pub lanes: usize,
    pub metrics: Metrics,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop").field("topics", &self.topics).field("batch", &self.batch).finish_non_exhaustive()
    }
}

impl EventLoop {
    /// Runs until `stop` is cancelled; a batch being applied is finished first, one waiting for a
    /// retry is abandoned (its offsets are not committed, so it is delivered again).
    pub async fn run(self, stop: CancellationToken) -> Result<(), String> {
        let url = self.database_url.clone();
        if self.steps.retry(&stop, "migrations", || history_store::migrate(&url)).await.is_none() {
            return Ok(());
        }
        if self.steps.retry(&stop, "broker", || self.topics.ensure()).await.is_none() {
            return Ok(());
        }
        self.steps.consumer.subscribe(&[&self.topics.events]).map_err(|error| format!("cannot subscribe: {error}"))?;
        tracing::info!(topic = self.topics.events, "consuming");
        while let Some(batch) = self.next_batch(&stop).await {
            if !self.process(&batch, &stop).await {
                break;
            }
        }
        self.leave().await;
        Ok(())
    }

    /// The messages available now, up to the batch size, waiting at most the batch wait once the
    /// first has come; `None` when asked to stop.
    async fn next_batch(&self, stop: &CancellationToken) -> Option<Vec<OwnedMessage>> {
        let first = loop {
            // A wait without a message nor an error says the broker serves again: an error may be
            // over without any message coming (Kafka reports a topic just created as unknown until
            // its brokers have the topic's metadata), and `/readyz` must not keep reporting it.
            let received = tokio::select! {
                _ = stop.cancelled() => return None,
                received = tokio::time::timeout(self.batch.max_backoff, self.steps.consumer.recv()) => received,
            };
            match received {
                Err(_quiet) => self.steps.problems.clear("broker"),
                Ok(Ok(message)) => break message.detach(),
                // librdkafka reconnects by itself, at its own pace, and reports each failed attempt
                // here: the worker takes note and receives again at once. A pause per report let
                // them pile up (a broker away for 7 s left some 40, then 5 s each: minutes of
                // standing still after the broker was back).
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot receive from the broker; librdkafka retries");
                    self.steps.failing("broker");
                }
            }
        };
        self.steps.problems.clear("broker");
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.batch.wait;
        while batch.len() < self.batch.size {
            match tokio::time::timeout_at(deadline, self.steps.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot receive from the broker");
                    break;
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Dead-letters, applies and commits one batch; `false` if it was abandoned to stop.
    async fn process(&self, batch: &[OwnedMessage], stop: &CancellationToken) -> bool {
        self.metrics.batch_size.observe(batch.len() as f64);
        // `events[i]` came in `accepted[i]`.
        let mut events: Vec<JobEvent> = Vec::with_capacity(batch.len());
        let mut accepted: Vec<&OwnedMessage> = Vec::with_capacity(batch.len());
        let mut rejected: Vec<(&OwnedMessage, Rejection)> = Vec::new();
        for message in batch {
            match decode(message.payload()) {
                Ok(event) => {
                    events.push(event);
                    accepted.push(message);
                }
                Err(rejection) => rejected.push((message, rejection)),
            }
        }
        if !self.steps.dead_letter(&rejected, stop, "dead-letter topic").await {
            return false;
        }

        if !events.is_empty() {
            let started = Instant::now();
            let Some(refused) = self.apply_batch(&events, stop).await else { return false };
            self.metrics.apply_seconds.observe(started.elapsed().as_secs_f64());
            let refused: Vec<(&OwnedMessage, Rejection)> = events
                .iter()
                .zip(&accepted)
                .filter_map(|(event, message)| {
                    let reason = refused.get(&event.job_id)?;
                    Some((*message, Rejection { kind: "refused-by-database", reason: reason.clone() }))
                })
                .collect();
            self.metrics.applied.inc_by((events.len() - refused.len()) as u64);
            if !self.steps.dead_letter(&refused, stop, "dead-letter topic").await {
                return false;
            }
        }
        self.steps.commit(batch).await;
        true
    }

    /// Applies the events in lanes, retrying while it fails; `None` if asked to stop meanwhile.
    /// After [`ATTEMPTS_BEFORE_ISOLATING`] failures, if the database takes writes at all, the
    /// batch itself is the problem: it is applied job by job, and the jobs the database still
    /// refuses are answered, each with the database's error, for the dead-letter topic. Without
    /// that, one such event would stop its partition for good.
    async fn apply_batch(&self, events: &[JobEvent], stop: &CancellationToken) -> Option<BTreeMap<String, String>> {
        let lanes = lanes(events, self.lanes);
        let failures = AtomicU32::new(0);
        self.steps
            .retry(stop, "database", || async {
                // Every lane runs to its end (none is dropped mid-transaction), then any failure counts.
                let results = futures_util::future::join_all(lanes.iter().map(|lane| self.apply(lane))).await;
                let Err(error) = results.into_iter().collect::<Result<Vec<_>, String>>() else {
                    return Ok(BTreeMap::new());
                };
                if failures.fetch_add(1, Ordering::Relaxed) + 1 < ATTEMPTS_BEFORE_ISOLATING
                    || !self.steps.database_takes_writes(WRITE_PROBE).await
                {
                    return Err(error);
                }
                tracing::warn!(%error, "the database takes writes but refuses this batch: applying it job by job");
                Ok(self.apply_job_by_job(events).await)
            })
            .await
    }

    /// Applies each job's events in a transaction of its own (three tries each); answers the jobs
    /// that still failed, with the error.
    async fn apply_job_by_job(&self, events: &[JobEvent]) -> BTreeMap<String, String> {
        let mut by_job: BTreeMap<&str, Vec<JobEvent>> = BTreeMap::new();
        for event in events {
            by_job.entry(event.job_id.as_str()).or_default().push(event.clone());
        }
        let mut refused = BTreeMap::new();
        for (job, events) in by_job {
            let mut last = Ok(());
            for _ in 0..3 {
                last = self.apply(&events).await.map(drop);
                if last.is_ok() {
                    break;
                }
            }
            if let Err(error) = last {
                tracing::error!(job, %error, "the database refuses this job's events: sending them to the dead-letter topic");
                refused.insert(job.to_owned(), format!("the database refused the events of job {job}: {error}"));
            }
        }
        refused
    }

    /// Applies one lane of the batch in its own transaction.
    async fn apply(&self, events: &[JobEvent]) -> Result<store::Applied, String> {
        let mut connection = self.steps.pool.get().await.map_err(|error| error.to_string())?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, store::apply(&mut connection, events)).await {
            Ok(applied) => applied.map_err(|error| error.to_string()),
            Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
        }
    }

    /// Leaves the group before the consumer is dropped, so that its partitions go to the other
    /// members at once (and librdkafka's close does not wait on a rebalance).
    async fn leave(&self) {
        self.steps.consumer.unsubscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while self.steps.consumer.assignment().map(|a| a.count() > 0).unwrap_or(false) {
            if tokio::time::timeout_at(deadline, self.steps.consumer.recv()).await.is_err() {
                break;
            }
        }
        tracing::info!("left the consumer group");
    }
}
