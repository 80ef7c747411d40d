//! Publishes job events to Kafka (`contracts/job-events.md`: key = jobId, value = the event's JSON)
//! with an idempotent producer, so that librdkafka's own retries never write a message twice.
//!
//! Events wait in a bounded buffer (counted from when they are published to when the broker
//! acknowledges them) while the broker is away; a batch whose delivery failed is sent
//! again with a growing pause, in the same order, until it goes through. Deployments keep working
//! meanwhile. Only a full buffer drops an event, and then with an error log and a metric; `/readyz`
//! shows how many events wait and why (without failing: the API still works).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::event::JobEvent;
use kafka_kit::KafkaSettings;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use service_kit::NotReady;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where events go (the brokers and how a missing topic is made, `JOB_EVENTS_TOPIC`), and how many
/// may wait.
#[derive(Debug, Clone)]
pub struct EventSettings {
    pub kafka: KafkaSettings,
    pub topic: String,
    /// `JOB_DEPLOYER_EVENT_BUFFER`: events kept while the broker is away.
    pub buffer: usize,
}

/// The handle the runtimes report through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Publisher {
    sender: mpsc::UnboundedSender<JobEvent>,
    /// Events accepted and not yet delivered, at most: the buffer's bound.
    buffer: i64,
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// Events accepted and not yet delivered.
    waiting: AtomicI64,
    published: AtomicU64,
    last_error: Mutex<Option<String>>,
    metrics: Metrics,
}

#[derive(Debug, Clone, Default)]
struct Metrics {
    published: Counter,
    dropped: Counter,
    failed_attempts: Counter,
    waiting: Gauge,
}

/// The delivery loop: runs until stopped, then delivers what waits for a few seconds more.
pub struct Delivery {
    receiver: mpsc::UnboundedReceiver<JobEvent>,
    producer: FutureProducer,
    settings: EventSettings,
    health: Arc<Health>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("settings", &self.settings).finish_non_exhaustive()
    }
}

const BATCH: usize = 200;
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const LONGEST_PAUSE: Duration = Duration::from_secs(10);
/// How long the stop waits for the events still buffered.
const DRAIN: Duration = Duration::from_secs(4);

/// The publisher and its delivery loop, its metrics registered.
pub fn publisher(settings: &EventSettings, registry: &mut Registry) -> Result<(Publisher, Delivery), KafkaError> {
    let producer: FutureProducer = settings
        .kafka
        .client_config()
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        // librdkafka gives up on a message after this; the loop then sends it again.
        .set("message.timeout.ms", "15000")
        .create()?;
    let health = Arc::new(Health::default());
    if let Ok(mut last) = health.last_error.lock() {
        *last = Some("not connected to the broker yet".to_owned());
    }
    let metrics = &health.metrics;
    registry.register("job_events_published", "Job events the broker acknowledged", metrics.published.clone());
    registry.register(
        "job_events_dropped",
        "Job events dropped because the buffer was full (each is logged)",
        metrics.dropped.clone(),
    );
    registry.register(
        "job_events_failed_deliveries",
        "Deliveries of a batch of job events that failed and were retried",
        metrics.failed_attempts.clone(),
    );
    registry.register("job_events_waiting", "Job events waiting for the broker", metrics.waiting.clone());
    let (sender, receiver) = mpsc::unbounded_channel();
    Ok((
        Publisher { sender, buffer: i64::try_from(settings.buffer).unwrap_or(i64::MAX), health: health.clone() },
        Delivery { receiver, producer, settings: settings.clone(), health },
    ))
}

impl Publisher {
    /// Queues `event` for the broker; never waits. A full buffer drops it, loudly.
    pub fn publish(&self, event: JobEvent) {
        let health = &self.health;
        // Counted before it is sent, so that the bound holds whatever the delivery loop holds.
        if health.waiting.fetch_add(1, Ordering::Relaxed) >= self.buffer {
            health.waiting.fetch_sub(1, Ordering::Relaxed);
            return dropped(health, &event, "the buffer of events waiting for the broker is full");
        }
        match self.sender.send(event) {
            Ok(()) => {
                health.metrics.waiting.inc();
            }
            Err(mpsc::error::SendError(event)) => {
                health.waiting.fetch_sub(1, Ordering::Relaxed);
                dropped(health, &event, "the deployer is stopping");
            }
        }
    }

    /// For `/readyz`: `Ok` while nothing waits because of a failure, else how many wait and why.
    pub fn check(&self) -> Result<(), NotReady> {
        let waiting = self.health.waiting.load(Ordering::Relaxed);
        let error = self.health.last_error.lock().map(|error| error.clone()).unwrap_or_default();
        match error {
            Some(error) if waiting > 0 => {
                Err(NotReady::because(format!("{waiting} job event(s) waiting for the broker"), error))
            }
            _ => Ok(()),
        }
    }

    /// Events the broker acknowledged since the start.
    pub fn published(&self) -> u64 {
        self.health.published.load(Ordering::Relaxed)
    }
}

fn dropped(health: &Health, event: &JobEvent, why: &str) {
    health.metrics.dropped.inc();
    tracing::error!(event_id = %event.event_id, job_id = %event.job_id, "job event dropped: {why}");
}

impl Delivery {
    /// Delivers events until `stop`, then for at most [`DRAIN`] more.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), String> {
        self.ensure_topic(&stop).await;
        let mut pending: VecDeque<JobEvent> = VecDeque::new();
        let mut pause = FIRST_PAUSE;
        loop {
            if pending.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break,
                    received = self.receiver.recv() => match received {
                        Some(event) => pending.push_back(event),
                        None => break,
                    },
                }
            }
            while pending.len() < BATCH {
                match self.receiver.try_recv() {
                    Ok(event) => pending.push_back(event),
                    Err(_) => break,
                }
            }
            let delivered = tokio::select! {
                () = stop.cancelled() => break,
                delivered = self.deliver(&mut pending) => delivered,
            };
            match delivered {
                Ok(()) => pause = FIRST_PAUSE,
                Err(error) => {
                    self.health.metrics.failed_attempts.inc();
                    tracing::warn!(%error, waiting = pending.len(), "cannot deliver job events yet; retrying");
                    if let Ok(mut last) = self.health.last_error.lock() {
                        *last = Some(error);
                    }
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
        self.drain(pending).await;
        Ok(())
    }

    /// Sends the batch in order; the events delivered leave `pending`, the others stay at its front.
    async fn deliver(&self, pending: &mut VecDeque<JobEvent>) -> Result<(), String> {
        let mut deliveries = Vec::with_capacity(pending.len());
        for event in pending.iter() {
            let payload = event.to_json().map_err(|error| error.to_string())?;
            let record = FutureRecord::to(&self.settings.topic).key(event.job_id.as_str()).payload(&payload);
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((error, _)) => {
                    deliveries.clear();
                    return Err(format!("the producer refused the event: {error}"));
                }
            }
        }
        let mut first_error = None;
        let mut delivered = 0;
        for (index, delivery) in deliveries.into_iter().enumerate() {
            match delivery.await {
                Ok(Ok(_)) if first_error.is_none() => delivered = index + 1,
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => {
                    first_error.get_or_insert_with(|| error.to_string());
                }
                Err(_) => {
                    first_error.get_or_insert_with(|| "the producer closed".to_owned());
                }
            }
        }
        // Those after the first failure go again with it, keeping the order (the idempotent
        // producer and the history's event ids make the repeats harmless).
        pending.drain(..delivered);
        let delivered = i64::try_from(delivered).unwrap_or(i64::MAX);
        self.health.waiting.fetch_sub(delivered, Ordering::Relaxed);
        self.health.metrics.waiting.dec_by(delivered);
        self.health.metrics.published.inc_by(delivered.unsigned_abs());
        self.health.published.fetch_add(delivered.unsigned_abs(), Ordering::Relaxed);
        match first_error {
            None => {
                if let Ok(mut last) = self.health.last_error.lock() {
                    *last = None;
                }
                Ok(())
            }
            Some(error) => Err(error),
        }
    }

    /// On the way out: a last chance for what waits, then an error line for each event lost.
    async fn drain(mut self, mut pending: VecDeque<JobEvent>) {
        self.receiver.close();
        while let Ok(event) = self.receiver.try_recv() {
            pending.push_back(event);
        }
        if pending.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + DRAIN;
        while !pending.is_empty() && tokio::time::Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, self.deliver(&mut pending)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => tokio::time::sleep(FIRST_PAUSE).await,
                Err(_) => break,
            }
        }
        for event in &pending {
            dropped(&self.health, event, "not delivered before the deployer stopped");
        }
        let _ = self.producer.flush(Duration::from_secs(1));
    }

    /// Creates the topic when the broker lacks it (existing topics are left as they are), trying
    /// until the broker answers.
    async fn ensure_topic(&self, stop: &CancellationToken) {
        let mut pause = FIRST_PAUSE;
        loop {
            let created = tokio::select! {
                () = stop.cancelled() => return,
                created = self.create_topic() => created,
            };
            match created {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, topic = %self.settings.topic, "cannot make sure the topic exists yet");
                    if let Ok(mut last) = self.health.last_error.lock() {
                        *last = Some(error.to_string());
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    async fn create_topic(&self) -> Result<(), KafkaError> {
        match self.settings.kafka.create_missing_topics(&[&self.settings.topic], Duration::from_secs(5)).await {
            // The broker answered but will not create it (no right to, say; logged): deliveries go
            // on and say for themselves whether the topic exists.
            Err(KafkaError::AdminOp(_)) => Ok(()),
            created => created,
        }
    }
}
