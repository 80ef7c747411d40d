//! The test stack's broker does what the platform relies on, with the same client library the
//! services use: topic creation, an idempotent producer keyed by job, and a consumer group whose
//! manually committed offsets are honoured by the next member.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e2e::kafka_brokers;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

fn config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", kafka_brokers());
    config
}

async fn create_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = config().create().unwrap();
    let topic = NewTopic::new(name, PARTITIONS, TopicReplication::Fixed(1));
    let results = admin.create_topics([&topic], &AdminOptions::new()).await.unwrap();
    for result in results {
        result.unwrap_or_else(|(topic, code)| panic!("creating {topic}: {code}"));
    }
}

async fn produce(topic: &str, range: std::ops::Range<u32>) {
    let producer: FutureProducer = config().set("enable.idempotence", "true").set("acks", "all").create().unwrap();
    for n in range {
        let key = format!("job-{}", n % 7);
        let payload = format!("event-{n}");
        producer
            .send(FutureRecord::to(topic).key(&key).payload(&payload), Duration::from_secs(10))
            .await
            .unwrap_or_else(|(error, _)| panic!("sending {payload}: {error}"));
    }
}

fn consumer(group: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

/// Receives `count` messages and returns their payloads.
async fn receive(consumer: &StreamConsumer, count: usize) -> Vec<String> {
    receive_with_partition(consumer, count).await.into_iter().map(|(_, payload)| payload).collect()
}

/// Receives `count` messages and returns their partitions and payloads.
async fn receive_with_partition(consumer: &StreamConsumer, count: usize) -> Vec<(i32, String)> {
    let mut messages = Vec::new();
    while messages.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages arrived within 30 s", messages.len()))
            .unwrap();
        messages.push((message.partition(), String::from_utf8(message.payload().unwrap().to_vec()).unwrap()));
    }
    messages
}

/// Leaves the group, serving the revocation, before the consumer is dropped. A member dropped right
/// after asking `committed()` hung here in librdkafka's close, "waiting for assign call" (the family
/// of fede1024/rust-rdkafka#509 and confluentinc/librdkafka#4884); leaving first, and asking the
/// committed offsets from a client outside the group, avoids it.
async fn leave(consumer: StreamConsumer) {
    consumer.unsubscribe();
    for _ in 0..100 {
        if consumer.assignment().map(|a| a.count() == 0).unwrap_or(true) {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
}

/// The sum of the group's committed offsets over the topic's partitions, asked by a client that is
/// not a member of the group.
async fn committed_total(group: &str, topic: &str) -> i64 {
    let outsider: StreamConsumer = config().set("group.id", group).create().unwrap();
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_range(topic, 0, PARTITIONS - 1);
    let committed = outsider.committed_offsets(partitions, Duration::from_secs(10)).unwrap();
    committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            Offset::Offset(offset) => offset,
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn keyed_events_flow_through_a_consumer_group_with_manual_commits() {
    let topic = format!("stack-check-{}", uuid::Uuid::new_v4());
    let group = format!("{topic}-group");
    create_topic(&topic).await;
    produce(&topic, 0..30).await;

    let first = consumer(&group, &topic);
    let mut received = receive(&first, 30).await;
    received.sort();
    let mut expected: Vec<String> = (0..30).map(|n| format!("event-{n}")).collect();
    expected.sort();
    assert_eq!(received, expected, "every event once");
    first.commit_consumer_state(CommitMode::Sync).unwrap();
    leave(first).await;
    assert_eq!(committed_total(&group, &topic).await, 30, "the committed offsets cover the 30 events");

    // The next member of the group starts after what was committed.
    produce(&topic, 30..35).await;
    let second = consumer(&group, &topic);
    let mut received = receive(&second, 5).await;
    received.sort();
    assert_eq!(received, (30..35).map(|n| format!("event-{n}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn events_of_one_key_keep_their_order_on_one_partition() {
    let topic = format!("stack-order-{}", uuid::Uuid::new_v4());
    create_topic(&topic).await;
    produce(&topic, 0..21).await;
    let consumer = consumer(&format!("{topic}-group"), &topic);
    let mut by_key: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut partitions: BTreeMap<u32, BTreeSet<i32>> = BTreeMap::new();
    for (partition, payload) in receive_with_partition(&consumer, 21).await {
        let n: u32 = payload.trim_start_matches("event-").parse().unwrap();
        by_key.entry(n % 7).or_default().push(n);
        partitions.entry(n % 7).or_default().insert(partition);
    }
    for (key, events) in by_key {
        let mut sorted = events.clone();
        sorted.sort();
        assert_eq!(events, sorted, "events of job-{key} in the order they were sent");
        assert_eq!(partitions[&key].len(), 1, "every event of job-{key} on one partition");
    }
    let used: BTreeSet<i32> = partitions.values().flatten().copied().collect();
    assert!(used.len() > 1, "seven keys spread over the {PARTITIONS} partitions: {used:?}");
}
