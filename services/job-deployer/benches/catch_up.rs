//! How fast a deployer that comes back catches up: the API stand-in holds `BENCH_RUNS` (5,000)
//! finished runs, each a Job with its pod, when the watcher starts; it lists them and publishes
//! their 4 events each to the broker. Prints the time to the first and the last acknowledged event,
//! the events per second, and the process's peak memory (stand-in included).
//!
//! `KAFKA_BROKERS=... cargo bench -p job-deployer --bench catch_up` (tests/run.sh's broker, or
//! deploy/local/dev.sh's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, reason = "a benchmark's main")]

#[allow(dead_code, reason = "shared with the tests, which use all of it")]
#[path = "../tests/integration/watch_server.rs"]
mod watch_server;

use std::time::{Duration, Instant};

use job_deployer::events::publisher::{EventSettings, publisher};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use watch_server::{Kind, WatchServer};

fn at(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(1_795_000_000 + seconds, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the API server sends of every object beside what a report reads: the field managers'
/// records, and for a Job the kept spec and the fetch script of its init container.
fn realistic(object: &mut Value) {
    object["metadata"]["managedFields"] = json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": at(0),
         "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:conditions": {".": {}}, "f:phase": {}, "f:startTime": {}}}},
        {"manager": "job-orchestrator", "operation": "Apply", "apiVersion": "v1", "time": at(0),
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}}}}
    ]);
}

fn run(n: i64) -> (Value, Value) {
    let name = format!("etl-{n}");
    let labels = json!({"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "etl"});
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": name, "namespace": "jobs", "uid": format!("job-{n}"), "creationTimestamp": at(n * 60), "labels": labels,
            "annotations": {"job-orchestrator.io/deployed-by": "ana", "job-orchestrator.io/artifact": "etl",
                            "job-orchestrator.io/artifact-version": "1.0"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "etl", "uid": "cron", "controller": true}]
        },
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "runner", "image": "runner:1",
            "args": ["--day", "1"], "env": [{"name": "MODE", "value": "full"}]}]}}},
        "status": {"succeeded": 1, "completionTime": at(n * 60 + 50),
                   "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": at(n * 60 + 50)}]}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{name}-x1"), "namespace": "jobs", "uid": format!("pod-{n}"), "creationTimestamp": at(n * 60 + 1),
            "labels": labels,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": format!("job-{n}"), "controller": true}]
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "runner", "image": "runner:1"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [{"name": "runner", "image": "runner:1", "imageID": "",
            "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "startedAt": at(n * 60 + 5), "finishedAt": at(n * 60 + 49)}}}]}
    });
    let (mut job, mut pod) = (job, pod);
    realistic(&mut job);
    realistic(&mut pod);
    job["metadata"]["annotations"]["job-orchestrator.io/spec"] = json!("x".repeat(1500));
    job["spec"]["template"]["spec"]["initContainers"] =
        json!([{"name": "fetch", "image": "curl", "command": ["sh", "-c", "y".repeat(1800)]}]);
    (job, pod)
}

fn peak_memory_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[tokio::main]
async fn main() {
    let brokers = std::env::var("KAFKA_BROKERS").expect("KAFKA_BROKERS: a broker (tests/run.sh's or the dev stack's)");
    let runs: i64 = std::env::var("BENCH_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000);
    let (server, url) = WatchServer::start();
    for n in 0..runs {
        let (job, pod) = run(n);
        server.apply(Kind::Job, job);
        server.apply(Kind::Pod, pod);
    }
    let topic = format!("job-events-bench-{}", uuid::Uuid::new_v4().simple());
    let kafka = kafka_kit::KafkaSettings { brokers, partitions: 6, replication: 1 };
    let settings = EventSettings { kafka, topic, buffer: 100_000 };
    let (publisher, delivery) = publisher(&settings, &mut Registry::default()).unwrap();
    let stop = CancellationToken::new();
    let delivering = tokio::spawn(delivery.run(stop.clone()));
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let started = Instant::now();
    let watching = tokio::spawn(job_deployer::kubernetes::watcher::watch(
        client,
        "jobs".to_owned(),
        publisher.clone(),
        None,
        Duration::from_secs(180),
        stop.clone(),
    ));
    let expected = u64::try_from(runs * 4).unwrap();
    let mut first = None;
    while publisher.published() < expected {
        if first.is_none() && publisher.published() > 0 {
            first = Some(started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {expected} events after 10 min",
            publisher.published()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = started.elapsed();
    stop.cancel();
    watching.await.unwrap().unwrap();
    delivering.await.unwrap().unwrap();
    println!(
        "catch-up of {runs} finished runs ({expected} events): first event acknowledged after {:.2} s, all after {:.2} s = {:.0} events/s; peak memory {} MiB",
        first.unwrap_or(all).as_secs_f64(),
        all.as_secs_f64(),
        expected as f64 / all.as_secs_f64(),
        peak_memory_mib()
    );
}
