//! The consumer as a process, fed through the broker: topics it makes, bad messages, a crash, a
//! resumption inside a record batch, a database outage and a group of two.

use std::time::Duration;

use common::event::JobEvent;
use rdkafka::message::{Headers, Message};
use service_kit::testing::ServiceProcess;

use crate::events::run;
use crate::model;
use crate::proxy::Proxy;
use crate::stack::{Stack, wait_for};

const BINARY: &str = env!("CARGO_BIN_EXE_job-history-consumer");

async fn start(env: &[(String, String)]) -> ServiceProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServiceProcess::start(BINARY, "JOB_HISTORY_CONSUMER_LISTEN", &env).await
}

async fn get(process: &ServiceProcess, path: &str) -> (u16, String) {
    let response =
        service_kit::testing::client().get(format!("http://{}{path}", process.address)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn runs(range: std::ops::Range<usize>) -> Vec<JobEvent> {
    range.flat_map(run).collect()
}

/// Waits until the history holds `statuses` status entries and the group committed `offsets`.
async fn wait_for_progress(stack: &Stack, statuses: i64, offsets: i64, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen = (stack.statuses().await, stack.committed().await);
        if seen == (statuses, offsets) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after {timeout:?}: {} statuses and {} offsets committed; expected {statuses} and {offsets}",
            seen.0,
            seen.1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_messages_go_unchanged_to_the_dead_letter_topic_and_every_good_event_is_applied() {
    let stack = Stack::new(3).await;
    let good = runs(0..40);
    let bad: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("not-utf8", Some(b"\xff\xfe\x00garbage".to_vec())),
        ("not-json", Some(b"{\"schemaVersion\": 1, \"eventId\":".to_vec())),
        ("schema", Some(br#"{"schemaVersion":1,"eventId":"x","jobId":"run-00001","occurredAt":"yesterday"}"#.to_vec())),
        (
            "unsupported-schema-version",
            Some(br#"{"schemaVersion":2,"eventId":"x","jobId":"run-00002","occurredAt":"2026-01-01T00:00:00Z"}"#.to_vec()),
        ),
        (
            "not-storable",
            Some(br#"{"schemaVersion":1,"eventId":"x","jobId":"run-00003","occurredAt":"2026-01-01T00:00:00Z","job":{"flowName":"a\u0000"}}"#.to_vec()),
        ),
        ("no-value", None),
    ];
    // Good and bad interleaved, on every partition.
    let mut messages: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    let mut good_events = good.iter();
    for (n, (kind, value)) in bad.iter().enumerate() {
        messages
            .extend(good_events.by_ref().take(30).map(|e| (e.job_id.clone().into_bytes(), Some(e.to_json().unwrap()))));
        messages.push((format!("{kind}-{n}").into_bytes(), value.clone()));
    }
    messages.extend(good_events.map(|e| (e.job_id.clone().into_bytes(), Some(e.to_json().unwrap()))));
    stack.publish_raw(&messages).await;

    let env = stack.env();
    let consumer = start(&env).await;
    wait_for_progress(&stack, 160, messages.len() as i64, Duration::from_secs(60)).await;
    assert_eq!(stack.history().await, model::history(&good), "every good event applied");

    // Every bad message is in the dead-letter topic, unchanged, with why and whence.
    let reader = stack.dead_letter_reader();
    for _ in 0..bad.len() {
        let letter = tokio::time::timeout(Duration::from_secs(30), reader.recv()).await.unwrap().unwrap();
        let key = String::from_utf8(letter.key().unwrap().to_vec()).unwrap();
        let (kind, value) = &bad[key.rsplit_once('-').unwrap().1.parse::<usize>().unwrap()];
        assert_eq!(letter.payload().map(<[u8]>::to_vec), *value, "{key}: the value unchanged");
        let headers: std::collections::BTreeMap<String, String> = letter
            .headers()
            .unwrap()
            .iter()
            .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
            .collect();
        assert_eq!(headers["dlq.error"], *kind, "{key}: {headers:?}");
        assert!(!headers["dlq.reason"].is_empty(), "{key}: {headers:?}");
        assert_eq!(headers["dlq.original.topic"], stack.topic);
        assert!(headers["dlq.original.partition"].parse::<i32>().unwrap() < stack.partitions);
        assert!(headers["dlq.original.offset"].parse::<i64>().is_ok());
        assert_eq!(headers["source"], "test", "{key}: the original headers are kept");
    }
    drop(reader);

    let (_, metrics) = get(&consumer, "/metrics").await;
    assert!(metrics.contains(r#"job_history_consumer_events_dead_lettered_total{kind="not-json"} 1"#), "{metrics}");
    assert!(metrics.contains("job_history_consumer_events_applied_total 200"), "{metrics}");
    let (status, _) = get(&consumer, "/readyz").await;
    assert_eq!(status, 200);
    // librdkafka's statistics come every 5 s: the lag of each partition, nothing left once all is committed.
    wait_for("the consumer lag per partition", Duration::from_secs(15), || async {
        let (_, metrics) = get(&consumer, "/metrics").await;
        (0..stack.partitions).all(|partition| {
            let line =
                format!(r#"job_history_consumer_consumer_lag{{topic="{}",partition="{partition}"}} 0"#, stack.topic);
            metrics.lines().any(|l| l == line)
        })
    })
    .await;
    let (exit, took) = consumer.signal_and_wait("TERM").await;
    assert!(exit.success() && took < Duration::from_secs(5), "SIGTERM: {exit} after {took:?}");
}

#[tokio::test]
async fn a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice() {
    let stack = Stack::new(3).await;
    let events = runs(0..1500);
    stack.publish(&events).await;
    let env = stack.env();

    let first = start(&env).await;
    wait_for("a part of the stream applied", Duration::from_secs(60), || async { stack.statuses().await >= 600 }).await;
    let (exit, _) = first.signal_and_wait("KILL").await;
    assert!(!exit.success());
    let at_kill = stack.statuses().await;
    assert!(at_kill < 6000, "killed mid-stream: {at_kill} of 6000 statuses applied");

    let second = start(&env).await;
    wait_for_progress(&stack, 6000, events.len() as i64, Duration::from_secs(120)).await;
    assert_eq!(stack.history().await, model::history(&events));
    second.signal_and_wait("TERM").await;
}

#[tokio::test]
async fn a_consumer_resuming_inside_a_record_batch_applies_the_rest_of_it() {
    // Events of 60 jobs sent in one go on one partition: one record batch. The group's committed
    // offset lies inside it, in the middle of a job's run, as a member that applied the first
    // events of a batch and stopped would leave it.
    let stack = Stack::new(1).await;
    let events = runs(0..60);
    stack.publish_in_one_batch(&events).await;
    let resume_at = 133;
    stack.commit(resume_at as i64).await;

    let consumer = start(&stack.env()).await;
    let statuses = events[resume_at..].iter().filter(|e| e.status.is_some()).count();
    wait_for_progress(&stack, statuses as i64, events.len() as i64, Duration::from_secs(60)).await;
    // Exactly what follows the committed offset was applied: nothing before it, nothing lost.
    assert_eq!(stack.history().await, model::history(&events[resume_at..]));
    consumer.signal_and_wait("TERM").await;
}

#[tokio::test]
async fn a_consumer_whose_topics_do_not_exist_yet_makes_them_and_reports_the_broker_ready_without_any_event() {
    // Kafka answers "unknown topic" for a while after making one; that must not stay a failure.
    let stack = Stack::new(1).await;
    let topic = format!("{}-made-by-the-consumer", stack.topic);
    let mut env = stack.env();
    for (name, value) in &mut env {
        if name == "JOB_EVENTS_TOPIC" {
            value.clone_from(&topic);
        }
    }
    let consumer = start(&env).await;
    // Long enough for the topics to be made, subscribed to, and any error of that time to be told.
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_for("the broker ready", Duration::from_secs(10), || async {
        let (_, body) = get(&consumer, "/readyz").await;
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["checks"]["broker"] == "ok"
    })
    .await;
    consumer.signal_and_wait("TERM").await;
}

#[tokio::test]
async fn a_database_outage_commits_nothing_and_the_history_completes_once_it_is_back() {
    let stack = Stack::new(2).await;
    let mut env = stack.env();
    // The test stack's Postgres, wherever TEST_POSTGRES_URL put it, reached through the proxy.
    let url = &mut env.iter_mut().find(|(name, _)| name == "DATABASE_URL").expect("DATABASE_URL").1;
    let server: String =
        url.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port in DATABASE_URL").to_owned();
    let proxy = Proxy::start(server.parse().expect("an IP address and port")).await;
    *url = url.replace(&server, &proxy.address.to_string());
    let consumer = start(&env).await;
    let (before, after) = (runs(0..100), runs(100..200));
    stack.publish(&before).await;
    wait_for_progress(&stack, 400, 500, Duration::from_secs(60)).await;

    proxy.cut().await;
    stack.publish(&after).await;
    wait_for("readiness to report the database", Duration::from_secs(20), || async {
        let (status, body) = get(&consumer, "/readyz").await;
        status == 503 && body.contains("\"database\"") && !body.contains("\"database\":\"ok\"")
    })
    .await;
    // The consumer holds the newer events meanwhile: given time to commit them, it must not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.committed().await, 500, "nothing committed past the failure");

    proxy.restore();
    wait_for_progress(&stack, 800, 1000, Duration::from_secs(60)).await;
    assert_eq!(stack.history().await, model::history(&[before, after].concat()));
    wait_for("readiness back", Duration::from_secs(20), || async { get(&consumer, "/readyz").await.0 == 200 }).await;
    let (_, metrics) = get(&consumer, "/metrics").await;
    assert!(metrics.contains(r#"job_history_consumer_retries_total{dependency="database"}"#), "{metrics}");
    consumer.signal_and_wait("TERM").await;
}

#[tokio::test]
async fn two_consumers_share_the_work_and_the_survivor_finishes_when_one_is_killed() {
    let stack = Stack::new(4).await;
    let env = stack.env();
    let (first, second) = (start(&env).await, start(&env).await);
    let applied = |process: &ServiceProcess| {
        let address = process.address;
        async move {
            let metrics = service_kit::testing::client()
                .get(format!("http://{address}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            metrics
                .lines()
                .find_map(|line| line.strip_prefix("job_history_consumer_events_applied_total "))
                .map_or(0, |n| n.parse::<u64>().unwrap())
        }
    };
    // Publish in slices until both members have applied some: the group shares the partitions
    // once both have joined, whenever that is.
    let events = runs(0..1200);
    let mut published = 0;
    while published < events.len() && (applied(&first).await == 0 || applied(&second).await == 0) {
        let slice = &events[published..(published + 250).min(events.len())];
        stack.publish(slice).await;
        published += slice.len();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(applied(&first).await > 0 && applied(&second).await > 0, "both members applied events");
    stack.publish(&events[published..]).await;
    let (exit, _) = first.signal_and_wait("KILL").await;
    assert!(!exit.success());

    wait_for_progress(&stack, 4800, events.len() as i64, Duration::from_secs(120)).await;
    assert_eq!(stack.history().await, model::history(&events));
    second.signal_and_wait("TERM").await;
}

#[tokio::test]
async fn a_job_the_database_refuses_goes_to_the_dead_letter_topic_and_the_rest_is_applied() {
    use diesel_async::RunQueryDsl;
    let stack = Stack::new(2).await;
    // Something no check foresaw: the database refuses every write of one job.
    let mut connection = stack.database.connect().await;
    for statement in [
        "CREATE FUNCTION refuse_run_7() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.job_id = 'run-00007' THEN RAISE EXCEPTION 'no run 7 here'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_run_7 BEFORE INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_run_7()",
    ] {
        diesel::sql_query(statement).execute(&mut connection).await.unwrap();
    }
    let events = runs(0..20);
    stack.publish(&events).await;
    let consumer = start(&stack.env()).await;
    wait_for_progress(&stack, 19 * 4, events.len() as i64, Duration::from_secs(60)).await;
    let applied: Vec<JobEvent> = events.iter().filter(|e| e.job_id != "run-00007").cloned().collect();
    assert_eq!(stack.history().await, model::history(&applied));

    let reader = stack.dead_letter_reader();
    for _ in 0..5 {
        let letter = tokio::time::timeout(Duration::from_secs(30), reader.recv()).await.unwrap().unwrap();
        assert_eq!(letter.key(), Some("run-00007".as_bytes()));
        let header = |name: &str| {
            let header = letter.headers().unwrap().iter().find(|h| h.key == name).unwrap();
            String::from_utf8(header.value.unwrap().to_vec()).unwrap()
        };
        assert_eq!(header("dlq.error"), "refused-by-database");
        assert!(header("dlq.reason").contains("no run 7 here"), "{}", header("dlq.reason"));
    }
    drop(reader);
    assert_eq!(get(&consumer, "/readyz").await.0, 200, "the consumer goes on");
    consumer.signal_and_wait("TERM").await;
}
