//! Runs' logs through the broker into the history: chunks delivered twice and out of order, bad
//! messages beside them, and the retention's periodic clean-up.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::job_log::{Collected, Container, Extent, LogMessage, cut};
use common::time::Instant;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use history_store::logs::read::{self, Served};
use history_store::logs::{LogKey, decompress};
use history_store::schema::{job_log_chunks, job_logs};
use rdkafka::ClientConfig;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use service_kit::testing::ServiceProcess;

use crate::stack::{Stack, brokers, wait_for};

const BINARY: &str = env!("CARGO_BIN_EXE_job-history-consumer");

async fn start(env: &[(String, String)]) -> ServiceProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServiceProcess::start(BINARY, "JOB_HISTORY_CONSUMER_LISTEN", &env).await
}

/// Publishes values keyed by job on the stack's logs topic, as the deployer does.
async fn publish(stack: &Stack, messages: &[(String, Option<Vec<u8>>)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .create()
        .unwrap();
    let topic = stack.logs_topic();
    for (key, value) in messages {
        let mut record = FutureRecord::<str, [u8]>::to(&topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }
}

fn encoded(messages: &[LogMessage]) -> Vec<(String, Option<Vec<u8>>)> {
    messages.iter().map(|m| (m.job_id.clone(), Some(m.to_json().unwrap()))).collect()
}

fn log(job_id: &str, attempt: u32, lines: usize) -> (Vec<LogMessage>, String) {
    let text: String =
        (1..=lines).map(|n| format!("{job_id} attempt {attempt}: line {n} of the job's output\n")).collect();
    let collected = Collected { text: text.clone(), dropped: Extent::default() };
    (cut(job_id, Container::Runner, attempt, Instant(Utc::now()), &collected), text)
}

async fn chunks_stored(stack: &Stack) -> i64 {
    let mut connection = stack.database.connect().await;
    job_log_chunks::table.count().get_result(&mut connection).await.unwrap()
}

/// The text of the log served for `key`, and whether it is complete.
async fn served_text(stack: &Stack, key: &LogKey) -> (String, bool) {
    let mut connection = stack.database.connect().await;
    let readings: Vec<_> = read::readings(&mut connection, &key.job_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.key().as_ref() == Some(key))
        .collect();
    let Served::Reading(reading) = read::served(&readings) else { panic!("no reading of {key:?}") };
    let chunks = read::chunk_lines(&mut connection, &reading.row).await.unwrap();
    let all: Vec<i32> = chunks.iter().map(|c| c.chunk).collect();
    let contents = read::contents(&mut connection, &reading.row, &all).await.unwrap();
    let text = contents.iter().zip(&chunks).map(|((_, content), c)| decompress(content, c.bytes).unwrap()).collect();
    (text, reading.complete())
}

#[tokio::test]
async fn logs_delivered_twice_and_out_of_order_are_archived_once_and_bad_messages_dead_lettered() {
    let stack = Stack::new(1).await;
    let (first, first_text) = log("run-a", 1, 12_000);
    let (second, second_text) = log("run-b", 2, 5_000);
    assert!(first.len() >= 4 && second.len() >= 2);
    // Interleaved, backwards, every chunk twice; a second replica sends the first log again.
    let mut messages: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    for (a, b) in first.iter().rev().zip(second.iter().cycle()) {
        messages.extend(encoded(&[a.clone(), b.clone()]));
    }
    messages.extend(encoded(&first));
    let mut bad = first[0].clone();
    if let common::job_log::LogContent::Chunk(chunk) = &mut bad.content {
        chunk.index = chunk.chunks; // no such chunk
    }
    let bad_values: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("not-json", Some(b"{\"schemaVersion\": 1, \"jobId\":".to_vec())),
        ("schema", Some(serde_json::to_vec(&serde_json::json!({"schemaVersion": 1, "jobId": "x"})).unwrap())),
        ("schema", Some(bad.to_json().unwrap())),
        ("unsupported-schema-version", Some(br#"{"schemaVersion":2,"jobId":"x"}"#.to_vec())),
        ("no-value", None),
    ];
    messages.extend(bad_values.iter().map(|(kind, value)| (format!("bad-{kind}"), value.clone())));
    publish(&stack, &messages).await;

    let consumer = start(&stack.env()).await;
    let expected = (first.len() + second.len()) as i64;
    wait_for("every chunk stored", Duration::from_secs(60), || async { chunks_stored(&stack).await == expected }).await;
    let first_key = LogKey { job_id: "run-a".into(), container: Container::Runner, attempt: 1 };
    let second_key = LogKey { job_id: "run-b".into(), container: Container::Runner, attempt: 2 };
    assert_eq!(served_text(&stack, &first_key).await, (first_text, true));
    assert_eq!(served_text(&stack, &second_key).await, (second_text, true));

    let reader = dead_letter_reader(&stack);
    let mut kinds = Vec::new();
    while kinds.len() < bad_values.len() {
        let message = tokio::time::timeout(Duration::from_secs(30), reader.recv()).await.unwrap().unwrap();
        let header = |name: &str| {
            message
                .headers()
                .unwrap()
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(header("dlq.original.topic"), Some(stack.logs_topic()));
        kinds.push(header("dlq.error").unwrap());
    }
    let mut expected_kinds: Vec<&str> = bad_values.iter().map(|(kind, _)| *kind).collect();
    expected_kinds.sort_unstable();
    kinds.sort_unstable();
    assert_eq!(kinds, expected_kinds);
    let metrics =
        service_kit::testing::client().get(format!("http://{}/metrics", consumer.address)).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains(&format!("job_history_consumer_logs_chunks_archived_total {expected}")), "{metrics}");
    consumer.signal_and_wait("TERM").await;
}

fn dead_letter_reader(stack: &Stack) -> rdkafka::consumer::StreamConsumer {
    use rdkafka::consumer::Consumer;
    let reader: rdkafka::consumer::StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("{}-logs-reader", stack.group))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[&format!("{}.dlq", stack.logs_topic())]).unwrap();
    reader
}

#[tokio::test]
async fn the_retention_cleans_up_periodically() {
    let stack = Stack::new(1).await;
    let mut connection = stack.database.connect().await;
    let old = LogKey { job_id: "old".into(), container: Container::Runner, attempt: 1 };
    let young = LogKey { job_id: "young".into(), container: Container::Runner, attempt: 1 };
    let now = Utc::now();
    history_store::testing::insert_log(&mut connection, &old, now - TimeDelta::days(3), "old\n", Extent::default())
        .await;
    history_store::testing::insert_log(
        &mut connection,
        &young,
        now - TimeDelta::hours(1),
        "young\n",
        Extent::default(),
    )
    .await;
    let mut env = stack.env();
    env.extend([
        ("JOB_HISTORY_CONSUMER_LOG_RETENTION_DAYS".to_owned(), "2".to_owned()),
        ("JOB_HISTORY_CONSUMER_LOG_CLEANUP_INTERVAL_SECS".to_owned(), "1".to_owned()),
    ]);
    let consumer = start(&env).await;
    let removed = || async {
        let mut connection = stack.database.connect().await;
        job_logs::table
            .filter(job_logs::removed_at.is_not_null())
            .select(job_logs::job_id)
            .load::<String>(&mut connection)
            .await
            .unwrap()
    };
    wait_for("the old log removed", Duration::from_secs(30), || async { !removed().await.is_empty() }).await;
    assert_eq!(removed().await, ["old"]);
    assert_eq!(served_text(&stack, &young).await, ("young\n".to_owned(), true));
    consumer.signal_and_wait("TERM").await;
}
