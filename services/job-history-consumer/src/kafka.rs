//! The Kafka side: the consumer (manual offsets, statistics for the lag metric, librdkafka's logs
//! in ours) and the dead-letter producer.

use std::sync::Arc;
use std::time::Duration;

use kafka_kit::KafkaSettings;
use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;

use crate::decode::Rejection;
use crate::metrics::{Metrics, PartitionLabels};

pub type EventConsumer = StreamConsumer<Context>;

/// What librdkafka reports while it works: its logs and errors go to ours, its statistics to the
/// lag metric. (Readiness asks the broker itself.)
#[derive(Debug)]
pub struct Context {
    metrics: Metrics,
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "broker error");
    }

    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in statistics.topics {
            // Partition -1 is librdkafka's internal "unassigned" one; -1 lag means unknown.
            for (partition, stats) in stats.partitions.into_iter().filter(|(p, s)| *p >= 0 && s.consumer_lag >= 0) {
                self.metrics
                    .lag
                    .get_or_create(&PartitionLabels { topic: topic.clone(), partition })
                    .set(stats.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for Context {}

/// The topic of the events and its dead-letter topic, created if missing (kafka_kit: with these
/// partitions and replicas) so that a fresh broker works; existing topics are left as they are.
#[derive(Debug, Clone)]
pub struct Topics {
    pub kafka: KafkaSettings,
    pub events: String,
}

impl Topics {
    pub fn dead_letters(&self) -> String {
        format!("{}.dlq", self.events)
    }

    pub async fn ensure(&self) -> KafkaResult<()> {
        self.kafka.create_missing_topics(&[&self.events, &self.dead_letters()], Duration::from_secs(10)).await
    }
}

/// A consumer of the group that stores no offset by itself: the worker commits them explicitly,
/// after the transaction that holds their events (rule 8).
pub fn consumer(
    kafka: &KafkaSettings,
    group: &str,
    session_timeout_ms: i32,
    metrics: Metrics,
) -> KafkaResult<Arc<EventConsumer>> {
    let consumer: EventConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("session.timeout.ms", session_timeout_ms.to_string())
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", "5000")
        .create_with_context(Context { metrics })?;
    Ok(Arc::new(consumer))
}

/// Message headers on a dead letter, beside the original message's own.
pub mod headers {
    pub const REASON: &str = "dlq.reason";
    pub const ERROR: &str = "dlq.error";
    pub const TOPIC: &str = "dlq.original.topic";
    pub const PARTITION: &str = "dlq.original.partition";
    pub const OFFSET: &str = "dlq.original.offset";
}

/// Sends refused messages, unchanged, to `<topic>.dlq`.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters").field("topic", &self.topic).finish_non_exhaustive()
    }
}

/// How long one dead letter may wait for the broker's acknowledgement before the batch is retried.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

impl DeadLetters {
    pub fn new(topics: &Topics) -> KafkaResult<DeadLetters> {
        // Idempotent: a retried send is written once.
        let producer: FutureProducer = topics
            .kafka
            .client_config()
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", DELIVERY_TIMEOUT.as_millis().to_string())
            .create()?;
        Ok(DeadLetters { producer, topic: topics.dead_letters() })
    }

    /// Sends `message` with its key, value and headers, adding why and where it came from; returns
    /// once the broker has it.
    pub async fn send(&self, message: &OwnedMessage, rejection: &Rejection) -> KafkaResult<()> {
        let mut headers = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for header in original.iter() {
                headers = headers.insert(header);
            }
        }
        let (partition, offset) = (message.partition().to_string(), message.offset().to_string());
        for (key, value) in [
            (headers::REASON, rejection.reason.as_str()),
            (headers::ERROR, rejection.kind),
            (headers::TOPIC, message.topic()),
            (headers::PARTITION, partition.as_str()),
            (headers::OFFSET, offset.as_str()),
        ] {
            headers = headers.insert(Header { key, value: Some(value) });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.producer.send(record, DELIVERY_TIMEOUT).await.map(drop).map_err(|(error, _)| error)
    }
}
