//! The watcher turns what Kubernetes shows of the runs into job events, in the real broker: a
//! scripted sequence of Job and pod changes on the API stand-in, a restart of the watcher in the
//! middle, and every event read back from the topic.
//!
//! A stand-in, for what a real control plane cannot be made to do on demand: a watch dropped and
//! taken up again from a list (the restart), and runs whose every time is chosen, so that the
//! events' ids can be compared exactly. How real runs end is tested on the control plane
//! (`on_kubernetes::each_way_a_run_ends_reaches_the_job_history_with_its_status`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use job_deployer::events::publisher::{EventSettings, publisher};
use job_deployer::kubernetes::manifests::{self, Context, Workload};
use prometheus_client::registry::Registry;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::fixtures::full_spec;
use crate::watch_server::{Kind, WatchServer};

pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").expect("KAFKA_BROKERS: run the tests through tests/run.sh, which starts the broker")
}

/// A watcher and its publisher, as the deployer runs them.
pub struct Watching {
    stop: CancellationToken,
    publisher: job_deployer::Publisher,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
}

impl Watching {
    /// Watching the stand-in at `url`.
    fn start(url: &str, topic: &str) -> Watching {
        let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        Watching::on(client, "jobs", topic)
    }

    /// Watching `namespace` with `client`, publishing to `topic`.
    pub fn on(client: kube::Client, namespace: &str, topic: &str) -> Watching {
        let kafka = kafka_kit::KafkaSettings { brokers: brokers(), partitions: 3, replication: 1 };
        let settings = EventSettings { kafka, topic: topic.to_owned(), buffer: 1000 };
        let (publisher, delivery) = publisher(&settings, &mut Registry::default()).unwrap();
        let stop = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(delivery.run(stop.clone())),
            tokio::spawn(job_deployer::kubernetes::watcher::watch(
                client,
                namespace.to_owned(),
                publisher.clone(),
                None,
                Duration::from_secs(60),
                stop.clone(),
            )),
        ];
        Watching { stop, publisher, tasks }
    }

    /// Waits until `count` events were delivered to `topic`.
    pub async fn delivered(&self, topic: &str, count: u64) {
        for _ in 0..300 {
            if self.publisher.published() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ids: Vec<Value> = read_topic(topic).await.into_iter().map(|(_, event)| event["eventId"].clone()).collect();
        panic!("{} events delivered, {count} expected: {ids:#?}", self.publisher.published());
    }

    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            task.await.unwrap().unwrap();
        }
    }
}

/// Every message of `topic`, as (key, JSON), read until the topic has been quiet for 3 s.
pub async fn read_topic(topic: &str) -> Vec<(String, Value)> {
    read_topic_from(&brokers(), topic).await
}

pub async fn read_topic_from(brokers: &str, topic: &str) -> Vec<(String, Value)> {
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[topic]).unwrap();
    let mut messages = Vec::new();
    let mut quiet = Duration::from_secs(15);
    while let Ok(message) = tokio::time::timeout(quiet, reader.recv()).await {
        let message = message.unwrap();
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        messages.push((key, serde_json::from_slice(message.payload().unwrap()).unwrap()));
        quiet = Duration::from_secs(3);
    }
    reader.unsubscribe();
    messages
}

/// The Job the CronJob controller makes from the real CronJob of the full spec.
fn job(name: &str, created: &str, deployed_by: Option<&str>) -> Value {
    let spec = crate::fixtures::checked(full_spec());
    let context = Context {
        nexus_secret: None,
        at: Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap(),
        ..crate::fixtures::context()
    };
    let Workload::CronJob(cron_job) = manifests::workload(&spec, &context) else { panic!("a CronJob") };
    let template = cron_job.spec.unwrap().job_template;
    let mut metadata = serde_json::to_value(template.metadata.unwrap()).unwrap();
    metadata["name"] = json!(name);
    metadata["namespace"] = json!("jobs");
    metadata["uid"] = json!(format!("uid-{name}"));
    metadata["creationTimestamp"] = json!(created);
    metadata["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "sales-etl", "uid": "cron-uid", "controller": true}]);
    if let Some(by) = deployed_by {
        metadata["annotations"][manifests::DEPLOYED_BY_ANNOTATION] = json!(by);
        metadata["annotations"][manifests::INSTANTIATE_ANNOTATION.0] = json!(manifests::INSTANTIATE_ANNOTATION.1);
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": template.spec, "status": {"active": 1}})
}

fn ended(mut job: Value, condition: &str, reason: &str, at: &str) -> Value {
    let counter = if condition == "Complete" { "succeeded" } else { "failed" };
    job["status"] = json!({
        counter: 1,
        "conditions": [{"type": condition, "status": "True", "reason": reason, "lastTransitionTime": at}],
    });
    if condition == "Complete" {
        job["status"]["completionTime"] = json!(at);
    }
    job
}

fn pod(job: &str, created: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{job}-x1"), "namespace": "jobs", "uid": format!("pod-{job}"), "creationTimestamp": created,
            "labels": {"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "sales-etl"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": format!("uid-{job}"), "controller": true}]
        },
        "spec": {"containers": [{"name": "runner", "image": "runner:1"}]},
        "status": {"phase": "Pending"}
    })
}

fn fetched() -> Value {
    json!([{"name": "fetch", "image": "curl", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
}

fn running(mut pod: Value, started: &str) -> Value {
    pod["spec"]["nodeName"] = json!("node-a");
    pod["status"] = json!({
        "phase": "Running",
        "initContainerStatuses": fetched(),
        "containerStatuses": [{"name": "runner", "image": "runner:1", "imageID": "", "ready": true, "restartCount": 0,
                               "state": {"running": {"startedAt": started}}}]
    });
    pod
}

fn terminated(mut pod: Value, phase: &str, exit_code: i32, reason: &str, started: &str, finished: &str) -> Value {
    pod["spec"]["nodeName"] = json!("node-a");
    pod["status"] = json!({
        "phase": phase,
        "initContainerStatuses": fetched(),
        "containerStatuses": [{"name": "runner", "image": "runner:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": finished}}}]
    });
    pod
}

fn millis(at: &str) -> i64 {
    common::time::parse_rfc3339(at).unwrap().timestamp_millis()
}

#[tokio::test]
async fn runs_become_exactly_their_events_across_a_restart() {
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let (server, url) = WatchServer::start();
    // Two replicas watch the same runs.
    let first = Watching::start(&url, &topic);
    let twin = Watching::start(&url, &topic);
    // Jobs and pods are watched before anything happens (a run made and deleted before the deployer
    // looks is not in any list).
    server.watched(4).await;
    let t = |hms: &str| format!("2026-11-21T{hms}Z");

    // A: succeeds.
    server.apply(Kind::Job, job("sales-etl-100", &t("10:00:00"), None));
    server.apply(Kind::Pod, pod("sales-etl-100", &t("10:00:01")));
    server.apply(Kind::Pod, running(pod("sales-etl-100", &t("10:00:01")), &t("10:00:05")));
    server.apply(
        Kind::Pod,
        terminated(pod("sales-etl-100", &t("10:00:01")), "Succeeded", 0, "Completed", &t("10:00:05"), &t("10:01:05")),
    );
    server.apply(Kind::Job, ended(job("sales-etl-100", &t("10:00:00"), None), "Complete", "Completed", &t("10:01:06")));
    // B: the runner exits with 2.
    server.apply(Kind::Job, job("sales-etl-200", &t("10:10:00"), None));
    server.apply(Kind::Pod, running(pod("sales-etl-200", &t("10:10:01")), &t("10:10:05")));
    server.apply(
        Kind::Pod,
        terminated(pod("sales-etl-200", &t("10:10:01")), "Failed", 2, "Error", &t("10:10:05"), &t("10:10:30")),
    );
    server.apply(
        Kind::Job,
        ended(job("sales-etl-200", &t("10:10:00"), None), "Failed", "BackoffLimitExceeded", &t("10:10:31")),
    );
    // C: out of memory.
    server.apply(Kind::Job, job("sales-etl-300", &t("10:20:00"), None));
    server.apply(
        Kind::Pod,
        terminated(pod("sales-etl-300", &t("10:20:01")), "Failed", 137, "OOMKilled", &t("10:20:05"), &t("10:20:30")),
    );
    server.apply(
        Kind::Job,
        ended(job("sales-etl-300", &t("10:20:00"), None), "Failed", "BackoffLimitExceeded", &t("10:20:31")),
    );
    // D: the image cannot be pulled: its pod (made over a minute ago) waits for ever, so the
    // deployer ends the run; Kubernetes then fails the Job on its deadline and deletes the pod.
    server.apply(Kind::Job, job("sales-etl-400", &t("10:30:00"), None));
    let mut pulling = pod("sales-etl-400", &t("10:30:01"));
    pulling["spec"]["nodeName"] = json!("node-a");
    pulling["status"] = json!({"phase": "Pending", "initContainerStatuses": fetched(), "containerStatuses": [
        {"name": "runner", "image": "runner:1", "imageID": "", "ready": false, "restartCount": 0,
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"runner:1\""}}}]});
    server.apply(Kind::Pod, pulling);
    let setup_failed_at = server.annotated("sales-etl-400", "job-orchestrator.io/setup-failed-at").await;
    let stopped = server.get(Kind::Job, "sales-etl-400");
    assert!(stopped["spec"]["activeDeadlineSeconds"].as_i64().unwrap() >= 1);
    assert!(
        stopped["metadata"]["annotations"]["job-orchestrator.io/setup-failure"]
            .as_str()
            .unwrap()
            .starts_with("cannot start: runner: ImagePullBackOff (Back-off pulling image"),
        "{stopped}"
    );
    server.apply(Kind::Job, ended(stopped, "Failed", "DeadlineExceeded", &t("10:40:00")));
    server.delete(Kind::Pod, "sales-etl-400-x1", Some(&t("10:40:00")));
    // E: evicted.
    server.apply(Kind::Job, job("sales-etl-500", &t("10:50:00"), None));
    server.apply(Kind::Pod, running(pod("sales-etl-500", &t("10:50:01")), &t("10:50:05")));
    let mut evicted = terminated(
        pod("sales-etl-500", &t("10:50:01")),
        "Failed",
        137,
        "ContainerStatusUnknown",
        &t("10:50:05"),
        &t("10:50:30"),
    );
    evicted["status"]["reason"] = json!("Evicted");
    evicted["status"]["message"] = json!("The node was low on resource: memory.");
    server.apply(Kind::Pod, evicted);
    server.apply(
        Kind::Job,
        ended(job("sales-etl-500", &t("10:50:00"), None), "Failed", "BackoffLimitExceeded", &t("10:50:31")),
    );
    // F: deleted while it runs (the deployment deleted), its pod after it.
    server.apply(Kind::Job, job("sales-etl-600", &t("11:00:00"), None));
    server.apply(Kind::Pod, running(pod("sales-etl-600", &t("11:00:01")), &t("11:00:05")));
    server.delete(Kind::Job, "sales-etl-600", Some(&t("11:00:30")));
    server.delete(Kind::Pod, "sales-etl-600-x1", Some(&t("11:00:30")));
    // G: started by hand; the deployer stops after its pod is made.
    server.apply(Kind::Job, job("sales-etl-m700", &t("11:10:00"), Some("maria")));
    server.apply(Kind::Pod, pod("sales-etl-m700", &t("11:10:01")));
    // H: a Job deployment's Job (no CronJob owns it), removed at once, without a deletion time.
    let mut report = job("report", &t("11:20:00"), None);
    report["metadata"]["ownerReferences"] = json!([]);
    server.apply(Kind::Job, report);
    server.delete(Kind::Job, "report", None);
    first.delivered(&topic, 27).await;
    twin.delivered(&topic, 27).await;
    first.stop().await;
    twin.stop().await;

    // While no deployer watches, G runs and ends.
    server.apply(
        Kind::Pod,
        terminated(
            server.get(Kind::Pod, "sales-etl-m700-x1"),
            "Succeeded",
            0,
            "Completed",
            &t("11:10:05"),
            &t("11:11:00"),
        ),
    );
    server.apply(Kind::Job, ended(server.get(Kind::Job, "sales-etl-m700"), "Complete", "Completed", &t("11:11:01")));
    let second = Watching::start(&url, &topic);
    // Everything still in the cluster is reported again, with the same ids: 4+4+4+4+4 for A, B, C,
    // E and G, and for D, whose pod is gone, 2.
    second.delivered(&topic, 22).await;
    second.stop().await;

    let messages = read_topic(&topic).await;
    let mut distinct: BTreeMap<String, Value> = BTreeMap::new();
    for (key, event) in &messages {
        assert_eq!(key, event["jobId"].as_str().unwrap(), "the key is the jobId");
        common::event::JobEvent::from_value(event).unwrap();
        let id = event["eventId"].as_str().unwrap().to_owned();
        if let Some(earlier) = distinct.insert(id.clone(), event.clone()) {
            if id.ends_with("/FINISHED/deleted") {
                // An end Kubernetes did not record: each replica saw it at its own time, and the
                // id, which carries none, names the fact once.
                assert_eq!(
                    (&earlier["jobId"], &earlier["job"]["exitStatus"]),
                    (&event["jobId"], &event["job"]["exitStatus"])
                );
            } else {
                assert_eq!(&earlier, event, "two different events with the id {id}");
            }
        }
    }
    let summary = |event: &Value| {
        json!([
            event["eventId"],
            event["job"]["exitStatus"],
            event["job"]["exitCode"],
            event["job"]["executionMachine"]
        ])
    };
    let got: Vec<Value> = distinct.values().map(summary).collect();
    // `at`: the time of day in the script, or a whole instant.
    let id = |run: &str, status: &str, at: &str| {
        let at = if at.contains('T') { at.to_owned() } else { t(at) };
        format!("{run}/{status}/{}", millis(&at))
    };
    let null = Value::Null;
    let mut expected: Vec<Value> = [
        ("sales-etl-100", "SCHEDULED", "10:00:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-100", "INIT", "10:00:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-100", "EXECUTING", "10:00:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-100", "FINISHED", "10:01:06", json!("SUCCESS"), json!(0), null.clone()),
        ("sales-etl-200", "SCHEDULED", "10:10:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-200", "INIT", "10:10:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-200", "EXECUTING", "10:10:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-200", "FINISHED", "10:10:31", json!("EXECUTION_ERROR"), json!(2), null.clone()),
        ("sales-etl-300", "SCHEDULED", "10:20:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-300", "INIT", "10:20:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-300", "EXECUTING", "10:20:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-300", "FINISHED", "10:20:31", json!("KILLED"), json!(137), null.clone()),
        ("sales-etl-400", "SCHEDULED", "10:30:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-400", "INIT", "10:30:01", null.clone(), null.clone(), null.clone()),
        (
            "sales-etl-400",
            "FINISHED",
            setup_failed_at.as_str(),
            json!("FAILED_SETUP_EXECUTION_ENVIRONMENT"),
            null.clone(),
            null.clone(),
        ),
        ("sales-etl-500", "SCHEDULED", "10:50:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-500", "INIT", "10:50:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-500", "EXECUTING", "10:50:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-500", "FINISHED", "10:50:31", json!("LOST"), json!(137), null.clone()),
        ("sales-etl-600", "SCHEDULED", "11:00:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-600", "INIT", "11:00:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-600", "EXECUTING", "11:00:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-600", "FINISHED", "11:00:30", json!("KILLED"), null.clone(), null.clone()),
        ("sales-etl-m700", "SCHEDULED", "11:10:00", null.clone(), null.clone(), null.clone()),
        ("sales-etl-m700", "INIT", "11:10:01", null.clone(), null.clone(), null.clone()),
        ("sales-etl-m700", "EXECUTING", "11:10:05", null.clone(), null.clone(), json!("node-a")),
        ("sales-etl-m700", "FINISHED", "11:11:01", json!("SUCCESS"), json!(0), null),
    ]
    .into_iter()
    .map(|(run, status, at, exit_status, exit_code, machine)| {
        json!([id(run, status, at), exit_status, exit_code, machine])
    })
    .collect();
    // H's id carries its creation second in base 36 (a Job deployment's Job keeps its name).
    let report_run =
        format!("report-{}", job_deployer::spec::names::base36(u64::try_from(millis(&t("11:20:00")) / 1000).unwrap()));
    expected.push(json!([id(&report_run, "SCHEDULED", "11:20:00"), null, null, null]));
    expected.push(json!([format!("{report_run}/FINISHED/deleted"), "KILLED", null, null]));
    expected.sort_by_key(|line| line[0].as_str().unwrap().to_owned());
    assert_eq!(got, expected);

    // What the history learns of a run when it is scheduled, and of a manual run's owner.
    let scheduled = &distinct[&id("sales-etl-100", "SCHEDULED", "10:00:00")];
    assert_eq!(
        scheduled["job"],
        json!({
            "groupId": "sales-etl", "jobOwner": "joe", "description": "Nightly \"sales\" load", "jobType": "CronJob",
            "submissionTime": "2026-11-21T10:00:00.000Z",
            "algorithms": [{"algorithmId": "sales-etl", "algorithmVersion": "1.4.2", "algorithmName": "sales-etl",
                "parameters": [
                    {"parameterId": "CONTEXT", "type": "env", "value": ["Prod"]},
                    {"parameterId": "DB_PASSWORD", "label": "from the Secret sales-db, key password", "type": "secret", "value": []},
                    {"parameterId": "args", "label": "the runner's arguments", "type": "args",
                     "value": ["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh --context=Prod"]}
                ]}]
        })
    );
    let finished = &distinct[&id("sales-etl-100", "FINISHED", "10:01:06")];
    assert_eq!(finished["job"]["wallclockTime"], 66, "from the run's creation to its end");
    assert_eq!(finished["job"]["numberOfAttempts"], 1);
    assert_eq!(distinct[&id("sales-etl-m700", "SCHEDULED", "11:10:00")]["job"]["jobOwner"], "maria");
}
