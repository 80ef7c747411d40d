//! A deployed job's runs, all the way: job-deployer's local runtime runs real processes and
//! publishes their events to the broker, job-history-consumer folds them into Postgres, and
//! job-history's RSQL search serves them.

use std::process::Command;
use std::time::Duration;

use e2e::kafka_brokers;
use history_store::testing::TestDatabase;
use serde_json::{Value, json};
use service_kit::testing::TestServer;

/// A zip holding `hello/run.sh`, and its sha256.
pub(crate) fn artifact(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let zip = dir.join("hello-2.1.zip");
    let made = Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('hello/run.sh', 'echo hello; exit \"${EXIT_CODE:-0}\"'); z.close()"])
        .arg(&zip)
        .status()
        .unwrap();
    assert!(made.success());
    let sum = Command::new("sha256sum").arg(&zip).output().unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap().split_whitespace().next().unwrap().to_owned();
    (zip, sum)
}

pub(crate) fn spec(name: &str, zip: &std::path::Path, checksum: &str, exit_code: &str) -> Value {
    json!({
        "name": name,
        "description": "end to end",
        "resource": {
            "repository": "apps", "group": "org.example", "name": "hello", "version": "2.1",
            "path": "org/example/hello/2.1/hello-2.1.zip",
            "downloadUrl": format!("file://{}", zip.display()),
            "checksum": {"algorithm": "sha256", "value": checksum}
        },
        "runner": {
            "image": "busybox:1.37",
            "command": ["sh", "$(JOB_RESOURCE_DIR)/hello/run.sh"],
            "env": [{"name": "EXIT_CODE", "value": exit_code}]
        },
        "backoffLimit": 0
    })
}

/// The history's page for `query`, once `done` holds for it (or after 30 s).
async fn search(history: &TestServer, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut page = Value::Null;
    for _ in 0..150 {
        page = history.get(&format!("/v1/jobs/history?q={query}")).await.json().await.unwrap();
        if done(&page) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the history never showed what was expected for {query}: {page:#}");
}

fn statuses(job: &Value) -> Vec<&str> {
    job["statusHistory"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn deployed_runs_reach_the_history_search() {
    let database = TestDatabase::create().await;
    let work = std::env::temp_dir().join(format!("e2e-deployer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let (zip, checksum) = artifact(&work);
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let env = service_kit::testing::test_env([
        ("DATABASE_URL", database.url.as_str()),
        ("KAFKA_BROKERS", &kafka_brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
        ("JOB_HISTORY_CONSUMER_GROUP", &format!("{topic}-group")),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
    ]);
    let consumer_settings = job_history_consumer::Settings::from_env(&env).unwrap();
    let consumer = TestServer::start(|listener| job_history_consumer::run(consumer_settings, listener)).await;
    let history_settings = job_history::Settings::from_env(&env).unwrap();
    let history = TestServer::start(|listener| job_history::run(history_settings, listener)).await;
    let deployer_settings = job_deployer::Settings::from_env(&env).unwrap();
    let deployer = TestServer::start(|listener| job_deployer::run(deployer_settings, listener)).await;

    for (name, exit_code) in [("e2e-hello", "0"), ("e2e-failing", "4")] {
        let deployed = deployer
            .client
            .post(deployer.url("/v1/deployments"))
            .bearer_auth(service_kit::testing::TestKeys::token("ana", &[service_kit::Role::Operator]))
            .json(&spec(name, &zip, &checksum, exit_code))
            .send()
            .await
            .unwrap();
        assert_eq!(deployed.status(), 201, "{}", deployed.text().await.unwrap());
    }
    // A resource whose checksum is not the one given never runs.
    let corrupt = spec("e2e-corrupt", &zip, &"0".repeat(64), "0");
    let deployed = deployer.client.post(deployer.url("/v1/deployments")).json(&corrupt).send().await.unwrap();
    assert_eq!(deployed.status(), 201);

    let finished = |page: &Value| {
        page["jobs"].as_array().is_some_and(|jobs| {
            jobs.len() == 1
                && jobs[0]["statusHistory"].as_array().is_some_and(|s| s.iter().any(|s| s["status"] == "FINISHED"))
        })
    };
    let page = search(&history, r#"groupId=="e2e-hello""#, finished).await;
    let job = &page["jobs"][0];
    let job_id = job["jobId"].as_str().unwrap();
    assert!(job_id.starts_with("e2e-hello-") && job_id.len() > "e2e-hello-".len(), "{job_id}");
    assert_eq!(statuses(job), ["SCHEDULED", "INIT", "EXECUTING", "FINISHED"]);
    assert_eq!((job["exitStatus"].clone(), job["exitCode"].clone()), (json!("SUCCESS"), json!(0)));
    assert_eq!((job["jobOwner"].clone(), job["jobType"].clone()), (json!("ana"), json!("Job")));
    assert_eq!(job["description"], "end to end");
    assert!(job["executionMachine"].as_str().is_some_and(|machine| !machine.is_empty()));
    let algorithm = &job["algorithms"][0];
    assert_eq!(
        (algorithm["algorithmId"].clone(), algorithm["algorithmVersion"].clone()),
        (json!("hello"), json!("2.1"))
    );
    assert_eq!(algorithm["parameters"][0]["parameterId"], "EXIT_CODE");

    let page = search(&history, r#"groupId=="e2e-failing""#, finished).await;
    let job = &page["jobs"][0];
    assert_eq!((job["exitStatus"].clone(), job["exitCode"].clone()), (json!("EXECUTION_ERROR"), json!(4)));

    let page = search(&history, r#"groupId=="e2e-corrupt""#, finished).await;
    let job = &page["jobs"][0];
    assert_eq!(job["exitStatus"], "FAILED_SETUP_EXECUTION_ENVIRONMENT");
    assert_eq!(statuses(job), ["SCHEDULED", "INIT", "FINISHED"], "the runner never started");

    // The failure reasons are data: one query finds both failed runs, and only them.
    let failed: Value = history
        .get("/v1/jobs/history?q=exitStatus=in=(EXECUTION_ERROR,FAILED_SETUP_EXECUTION_ENVIRONMENT)")
        .await
        .json()
        .await
        .unwrap();
    let mut groups: Vec<&str> =
        failed["jobs"].as_array().unwrap().iter().map(|j| j["groupId"].as_str().unwrap()).collect();
    groups.sort_unstable();
    assert_eq!(groups, ["e2e-corrupt", "e2e-failing"]);

    deployer.stop().await;
    consumer.stop().await;
    history.stop().await;
    std::fs::remove_dir_all(&work).unwrap();
}
