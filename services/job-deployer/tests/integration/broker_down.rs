//! With the broker away, deployments keep working, events wait in the bounded buffer (one too many
//! is dropped, counted and logged), `/readyz` and the metrics say so; once a broker answers on the
//! address, what waited is delivered.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use service_kit::testing::TestServer;

use crate::fetch::{nexus, sha256, zip_archive};
use crate::watch::read_topic_from;

fn free_port() -> u16 {
    // Below Linux's ephemeral range, so that no outgoing connection takes it meanwhile.
    for _ in 0..100 {
        let port = 20_000 + u16::try_from(uuid::Uuid::new_v4().as_u128() % 10_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// Apache Kafka on `port` as the test stack runs it, with its data and log (broker.log) in `dir`;
/// stopped (SIGTERM, then waited for) when dropped.
struct Broker(Child);

impl Broker {
    fn start(dir: &Path, port: u16) -> Broker {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/local/kafka/broker.sh");
        let log = std::fs::File::create(dir.join("broker.log")).unwrap();
        let child = Command::new(script)
            .arg(dir.join("kafka"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("deploy/local/kafka/broker.sh: run the tests through tests/run.sh, which installs Kafka");
        Broker(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn with_the_broker_away_runs_go_on_and_their_events_wait() {
    let work = std::env::temp_dir().join(format!("job-deployer-away-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("job/run.sh", "echo done")]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/job-1.zip", archive)]);
    let port = free_port();
    let brokers = format!("127.0.0.1:{port}");
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ("KAFKA_BROKERS", &brokers),
        ("JOB_EVENTS_TOPIC", "job-events"),
        // A run makes four events: the fourth finds the buffer full.
        ("JOB_DEPLOYER_EVENT_BUFFER", "3"),
    ]);
    let settings = job_deployer::Settings::from_env(&env).unwrap();
    let server = TestServer::start(|listener| job_deployer::run(settings, listener)).await;

    let spec = json!({
        "name": "away",
        "resource": {
            "repository": "apps", "group": "org", "name": "job", "version": "1", "path": "org/job/1/job-1.zip",
            "downloadUrl": format!("{url}/job-1.zip"), "checksum": {"algorithm": "sha256", "value": checksum}
        },
        "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/job/run.sh"]}
    });
    let deployed = server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(deployed.status(), 201);
    let mut runs = Value::Null;
    for _ in 0..100 {
        runs = server.get("/v1/deployments/away/runs").await.json().await.unwrap();
        if runs[0]["state"] == "Succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(runs[0]["state"], "Succeeded", "the run goes on without the broker: {runs}");

    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200, "the API still serves");
    let ready: Value = ready.json().await.unwrap();
    let kafka = ready["checks"]["kafka"].as_str().unwrap();
    // The broker's own error (its address) goes to the log only: /readyz answers without a token.
    assert_eq!(kafka, "degraded: 3 job event(s) waiting for the broker");
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric(&metrics, "job_events_waiting"), 3.0);
    assert_eq!(metric(&metrics, "job_events_dropped_total"), 1.0);

    // A broker comes (Kafka takes some seconds to start): the three events that waited go out, in order.
    let broker = Broker::start(&work, port);
    let mut delivered = 0.0;
    for _ in 0..300 {
        delivered = metric(&server.get("/metrics").await.text().await.unwrap(), "job_events_published_total");
        if delivered == 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(delivered, 3.0);
    let ready: Value = server.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["checks"]["kafka"], "ok");
    let events = read_topic_from(&brokers, "job-events").await;
    let statuses: Vec<&str> = events.iter().map(|(_, event)| event["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["SCHEDULED", "INIT", "EXECUTING"]);

    server.stop().await;
    drop(broker);
    std::fs::remove_dir_all(&work).unwrap();
}
