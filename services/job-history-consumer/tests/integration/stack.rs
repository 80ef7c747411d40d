//! A consumer's surroundings for one test: its own database, topic and group on the test stack's
//! Postgres and broker, and ways to publish, wait and look.

use std::future::Future;
use std::time::Duration;

use common::event::JobEvent;
use common::job::Job;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use history_store::schema::{job_status_history, jobs};
use history_store::testing::TestDatabase;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").expect("KAFKA_BROKERS: run the tests through tests/run.sh, which starts the broker")
}

fn config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers());
    config
}

#[derive(Debug)]
pub struct Stack {
    pub database: TestDatabase,
    pub topic: String,
    pub group: String,
    pub partitions: i32,
}

impl Stack {
    /// A database, and a topic of `partitions` partitions with its dead-letter topic.
    pub async fn new(partitions: i32) -> Stack {
        let database = TestDatabase::create().await;
        let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
        let admin: AdminClient<DefaultClientContext> = config().create().unwrap();
        let dead_letters = format!("{topic}.dlq");
        let topics = [&topic, &dead_letters].map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)));
        for result in admin.create_topics(&topics, &AdminOptions::new()).await.unwrap() {
            result.unwrap();
        }
        Stack { database, group: format!("{topic}-group"), topic, partitions }
    }

    /// The consumer's settings for this stack: small batches and short pauses, so that a test
    /// sees several of each.
    pub fn env(&self) -> Vec<(String, String)> {
        let logs = self.logs_topic();
        [
            ("DATABASE_URL", self.database.url.as_str()),
            ("JOB_LOGS_TOPIC", &logs),
            ("KAFKA_BROKERS", &brokers()),
            ("JOB_EVENTS_TOPIC", &self.topic),
            ("JOB_HISTORY_CONSUMER_GROUP", &self.group),
            ("JOB_HISTORY_CONSUMER_BATCH_SIZE", "200"),
            ("JOB_HISTORY_CONSUMER_MAX_BACKOFF_MS", "500"),
            // A killed member's partitions move to the others after this (Kafka's minimum).
            ("JOB_HISTORY_CONSUMER_SESSION_TIMEOUT_MS", "6000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// This stack's topic of runs' logs (created by the consumer when missing).
    pub fn logs_topic(&self) -> String {
        format!("{}-logs", self.topic)
    }

    /// Publishes events keyed by job, as producers do.
    pub async fn publish(&self, events: &[JobEvent]) {
        self.publish_raw(&keyed(events)).await;
    }

    /// Publishes events keyed by job in one record batch per partition: the producer waits a second
    /// for more before sending (lingers), and sends all it holds then in one go.
    pub async fn publish_in_one_batch(&self, events: &[JobEvent]) {
        self.publish_with(config().set("enable.idempotence", "true").set("linger.ms", "1000"), &keyed(events)).await;
    }

    /// Publishes any key and value (a missing value is a message without one).
    pub async fn publish_raw(&self, messages: &[(Vec<u8>, Option<Vec<u8>>)]) {
        self.publish_with(config().set("enable.idempotence", "true"), messages).await;
    }

    async fn publish_with(&self, producer: &ClientConfig, messages: &[(Vec<u8>, Option<Vec<u8>>)]) {
        let producer: FutureProducer = producer.create().unwrap();
        let mut deliveries = Vec::new();
        for (key, value) in messages {
            let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic)
                .key(key)
                .headers(OwnedHeaders::new().insert(rdkafka::message::Header { key: "source", value: Some("test") }));
            if let Some(value) = value {
                record = record.payload(value);
            }
            deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
        }
        for delivery in deliveries {
            delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
        }
    }

    /// The group's committed offsets summed over the topic's partitions, asked from outside the group.
    pub async fn committed(&self) -> i64 {
        let outsider: StreamConsumer = config().set("group.id", &self.group).create().unwrap();
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition_range(&self.topic, 0, self.partitions - 1);
        let committed = tokio::task::spawn_blocking(move || {
            outsider.committed_offsets(partitions, Duration::from_secs(10)).unwrap()
        })
        .await
        .unwrap();
        committed.elements().iter().map(|e| if let Offset::Offset(o) = e.offset() { o } else { 0 }).sum()
    }

    /// Commits `offset` of partition 0 for the group, as a member that applied what lies before it
    /// would have.
    pub async fn commit(&self, offset: i64) {
        let member: BaseConsumer = config().set("group.id", &self.group).create().unwrap();
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition_offset(&self.topic, 0, Offset::Offset(offset)).unwrap();
        tokio::task::spawn_blocking(move || member.commit(&partitions, CommitMode::Sync).unwrap()).await.unwrap();
    }

    /// A reader of the dead-letter topic from its start, outside the consumer's group.
    pub fn dead_letter_reader(&self) -> StreamConsumer {
        let reader: StreamConsumer = config()
            .set("group.id", format!("{}-reader", self.group))
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        reader.subscribe(&[&format!("{}.dlq", self.topic)]).unwrap();
        reader
    }

    pub async fn statuses(&self) -> i64 {
        let mut connection = self.database.connect().await;
        job_status_history::table.count().get_result(&mut connection).await.unwrap()
    }

    /// Every job of the history, whole, with database-made ids taken out so that two databases compare.
    pub async fn history(&self) -> Vec<Job> {
        history_of(&self.database).await
    }
}

fn keyed(events: &[JobEvent]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    events.iter().map(|e| (e.job_id.clone().into_bytes(), Some(e.to_json().unwrap()))).collect()
}

pub async fn history_of(database: &TestDatabase) -> Vec<Job> {
    let mut connection = database.connect().await;
    let rows = jobs::table
        .order(jobs::job_id)
        .select(history_store::rows::JobRow::as_select())
        .load(&mut connection)
        .await
        .unwrap();
    let mut jobs = history_store::read::assemble(&mut connection, rows, true).await.unwrap();
    for job in &mut jobs {
        for parameter in job.algorithms.iter_mut().flat_map(|a| a.parameters.iter_mut().flatten()) {
            parameter.id = None;
        }
    }
    jobs
}

/// Waits up to `timeout` for `condition`, checking every 100 ms.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
