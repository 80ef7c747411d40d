//! A broker away for a few seconds delays the consumer by no more than that: librdkafka reports
//! each of its reconnection attempts, and the consumer once paused for its longest backoff on each
//! report, so that a broker stopped for 10 s left the consumer still for minutes after it was back
//! (found by the whole-platform fault test, tests/e2e/fault.rs).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use history_store::schema::job_status_history;
use history_store::testing::TestDatabase;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use service_kit::testing::ServiceProcess;

use crate::events::run;
use crate::stack::wait_for;

fn free_port() -> u16 {
    // Below Linux's ephemeral range, so that no outgoing connection takes it meanwhile.
    for _ in 0..100 {
        let port = 20_000 + u16::try_from(uuid::Uuid::new_v4().as_u128() % 12_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// Apache Kafka on `port` as the test stack runs it, its data in `dir`; stopped when dropped.
struct Broker(Child);

impl Broker {
    /// Starts it and waits until it serves.
    fn start(dir: &Path, port: u16, log_name: &str) -> Broker {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/local/kafka/broker.sh");
        let log = dir.join(log_name);
        let file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(script)
            .arg(dir.join("kafka"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("deploy/local/kafka/broker.sh: run the tests through tests/run.sh, which installs Kafka");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("Kafka Server started") {
            assert!(child.try_wait().unwrap().is_none(), "the broker exited; its log: {}", log.display());
            assert!(std::time::Instant::now() < deadline, "the broker does not serve; its log: {}", log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

async fn statuses(database: &TestDatabase) -> i64 {
    let mut connection = database.connect().await;
    job_status_history::table.count().get_result(&mut connection).await.unwrap()
}

async fn publish(brokers: &str, topic: &str, n: usize) {
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
    for event in run(n) {
        let payload = event.to_json().unwrap();
        let record = FutureRecord::to(topic).key(event.job_id.as_str()).payload(&payload);
        producer.send(record, Duration::from_secs(30)).await.map_err(|(error, _)| error).unwrap();
    }
}

#[tokio::test]
async fn a_broker_back_after_an_outage_is_read_again_at_once() {
    let dir = std::env::temp_dir().join(format!("consumer-broker-away-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let brokers = format!("127.0.0.1:{port}");
    let broker = Broker::start(&dir, port, "broker-1.log");
    let database = TestDatabase::create().await;
    let topic = "job-events";
    // The default longest backoff (5 s): the pauses it made pile up.
    let env = [
        ("DATABASE_URL", database.url.as_str()),
        ("KAFKA_BROKERS", &brokers),
        ("JOB_EVENTS_TOPIC", topic),
        ("JOB_HISTORY_CONSUMER_GROUP", "consumer"),
    ];
    let consumer =
        ServiceProcess::start(env!("CARGO_BIN_EXE_job-history-consumer"), "JOB_HISTORY_CONSUMER_LISTEN", &env).await;
    publish(&brokers, topic, 1).await;
    let first = run(1).iter().filter(|event| event.status.is_some()).count() as i64;
    wait_for("the first run in the history", Duration::from_secs(60), || async { statuses(&database).await == first })
        .await;

    // Away for 10 s: the consumer's librdkafka tries to reconnect and reports each failure.
    drop(broker);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let _broker = Broker::start(&dir, port, "broker-2.log");
    publish(&brokers, topic, 2).await;
    let both = first + run(2).iter().filter(|event| event.status.is_some()).count() as i64;
    // The group's member has its partitions again at once (same member, its session alive).
    wait_for("the run published once the broker is back", Duration::from_secs(20), || async {
        statuses(&database).await == both
    })
    .await;

    drop(consumer);
    std::fs::remove_dir_all(&dir).unwrap();
}
