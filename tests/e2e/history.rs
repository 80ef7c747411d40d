//! The history's whole path: events published to the broker, folded by job-history-consumer into
//! Postgres, served by job-history's RSQL search.

use std::time::Duration;

use e2e::kafka_brokers;
use history_store::testing::TestDatabase;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use service_kit::testing::TestServer;

/// The original history service's example run, exactly as `docs/contracts/job-events.md` gives it, in
/// the order a late producer might deliver it: the finish first.
const ORIGINAL_RUN: [&str; 3] = [
    r#"{"schemaVersion":1,"eventId":"admi@test.CBNNGZHYE2/FINISHED/1560385880926","jobId":"admi@test.CBNNGZHYE2","occurredAt":"2019-06-12T21:31:20.926-03:00","status":"FINISHED","job":{"endTime":"2019-06-12T21:31:20.926-03:00","exitCode":0,"exitStatus":"SUCCESS","wallclockTime":412}}"#,
    r#"{"schemaVersion":1,"eventId":"admi@test.CBNNGZHYE2/SCHEDULED/1560385465342","jobId":"admi@test.CBNNGZHYE2","occurredAt":"2019-06-12T21:24:25.342-03:00","status":"SCHEDULED","job":{"groupId":"admi@test.CBNNGZHYE2","projectId":"admin/testeYade","jobOwner":"admin","submissionTime":"2019-06-12T21:24:25.342-03:00","description":"test yade pela web","priority":1,"jobType":"ALGORITHM","numberOfProcesses":1,"algorithms":[{"algorithmId":"Yade","algorithmVersion":"5.0.0","algorithmName":"Yade","parameters":[{"parameterId":"number_of_cores","label":"The number of cores for a job","type":"INTEGER","value":["4"]}]}]}}"#,
    r#"{"schemaVersion":1,"eventId":"admi@test.CBNNGZHYE2/EXECUTING/1560385467358","jobId":"admi@test.CBNNGZHYE2","occurredAt":"2019-06-12T21:24:27.358-03:00","status":"EXECUTING","job":{"executionMachine":"40100"}}"#,
];

#[tokio::test]
async fn the_seed_run_published_as_events_is_served_by_the_history_search() {
    let database = TestDatabase::create().await;
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let env = service_kit::testing::test_env([
        ("DATABASE_URL", database.url.as_str()),
        ("KAFKA_BROKERS", &kafka_brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
        ("JOB_HISTORY_CONSUMER_GROUP", &format!("{topic}-group")),
    ]);
    let consumer_settings = job_history_consumer::Settings::from_env(&env).unwrap();
    let consumer = TestServer::start(|listener| job_history_consumer::run(consumer_settings, listener)).await;
    let history_settings = job_history::Settings::from_env(&env).unwrap();
    let history = TestServer::start(|listener| job_history::run(history_settings, listener)).await;

    // The consumer creates the topic when it starts; wait for it before publishing.
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", kafka_brokers()).create().unwrap();
    for event in ORIGINAL_RUN {
        let key = "admi@test.CBNNGZHYE2";
        let mut attempts = 0;
        while let Err((error, _)) =
            producer.send(FutureRecord::to(&topic).key(key).payload(event), Duration::from_secs(5)).await
        {
            attempts += 1;
            assert!(attempts < 50, "cannot publish: {error}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let query = r#"/v1/jobs/history?q=jobId=="admi@test.CBNNGZHYE2""#;
    let mut page = json!(null);
    for _ in 0..150 {
        page = history.get(query).await.json().await.unwrap();
        if page["jobs"][0]["statusHistory"].as_array().is_some_and(|s| s.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(page["total"], 1, "{page}");
    let job = &page["jobs"][0];
    let statuses: Vec<(&str, &str)> = job["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["status"].as_str().unwrap(), s["timestamp"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("SCHEDULED", "2019-06-13T00:24:25.342Z"),
            ("EXECUTING", "2019-06-13T00:24:27.358Z"),
            ("FINISHED", "2019-06-13T00:31:20.926Z"),
        ]
    );
    assert_eq!(job["jobOwner"], "admin");
    assert_eq!(job["executionMachine"], "40100");
    assert_eq!(job["exitStatus"], "SUCCESS");
    assert_eq!(job["wallclockTime"], 412);
    assert_eq!(job["lastModifiedTime"], "2019-06-13T00:31:20.926Z");
    let algorithm = &job["algorithms"][0];
    assert_eq!((&algorithm["algorithmId"], &algorithm["algorithmVersion"]), (&json!("Yade"), &json!("5.0.0")));
    let parameter: &Value = &algorithm["parameters"][0];
    assert_eq!(parameter["parameterId"], "number_of_cores");
    assert_eq!(parameter["label"], "The number of cores for a job");
    assert_eq!(parameter["type"], "INTEGER");
    assert_eq!(parameter["value"], json!(["4"]));

    consumer.stop().await;
    history.stop().await;
}
