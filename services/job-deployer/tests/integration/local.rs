//! The local runtime with real processes: a zip served over HTTP, deployed on a schedule of a few
//! seconds, its runs, logs, suspension, manual runs, a restart of the deployer and the deletion,
//! and every run's events read back from the real broker.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use service_kit::testing::TestServer;

use crate::fetch::{nexus, sha256, zip_archive};
use crate::watch::{brokers, read_topic};

const SCRIPT: &str = "echo \"hello $GREETING in $(basename \"$(pwd)\")\"\necho to-stderr >&2\nsleep \"${PAUSE:-0}\"\nexit \"${EXIT_CODE:-0}\"\n";

async fn start(settings: &job_deployer::Settings) -> TestServer {
    let settings = settings.clone();
    TestServer::start(|listener| job_deployer::run(settings, listener)).await
}

/// A deployer on the local runtime keeping its state under `work`, publishing to a topic of its own.
async fn local_deployer(work: &std::path::Path) -> TestServer {
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ("KAFKA_BROKERS", &brokers()),
        ("JOB_EVENTS_TOPIC", &format!("job-events-{}", uuid::Uuid::new_v4().simple())),
    ]);
    start(&job_deployer::Settings::from_env(&env).unwrap()).await
}

async fn runs(server: &TestServer) -> Vec<Value> {
    server.get("/v1/deployments/hello/runs").await.json().await.unwrap()
}

/// Waits until `done` holds for the runs, or fails after 40 s.
async fn runs_until(server: &TestServer, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let runs = runs(server).await;
        if done(&runs) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: the runs are {:#}", Value::Array(runs(server).await));
}

fn succeeded(runs: &[Value]) -> usize {
    runs.iter().filter(|run| run["state"] == "Succeeded" && run["manual"] == false).count()
}

#[tokio::test]
async fn the_local_runtime_runs_a_schedule_and_reports_every_run() {
    let work = std::env::temp_dir().join(format!("job-deployer-local-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("hello/run.sh", SCRIPT)]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/repository/apps/org/hello/1.0/hello-1.0.zip", archive)]);
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let state = work.join("state");
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", state.to_str().unwrap()),
        ("KAFKA_BROKERS", &brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
    ]);
    let settings = job_deployer::Settings::from_env(&env).unwrap();
    let server = start(&settings).await;

    let spec = json!({
        "name": "hello",
        "description": "says hello",
        "resource": {
            "repository": "apps", "group": "org", "name": "hello", "version": "1.0",
            "path": "org/hello/1.0/hello-1.0.zip",
            "downloadUrl": format!("{url}/repository/apps/org/hello/1.0/hello-1.0.zip"),
            "checksum": {"algorithm": "sha256", "value": checksum}
        },
        "runner": {
            "image": "busybox:1.37",
            "command": ["sh", "$(JOB_RESOURCE_DIR)/hello/run.sh"],
            "env": [{"name": "GREETING", "value": "world"}]
        },
        "schedule": {"cron": "*/2 * * * * *", "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 20},
        "backoffLimit": 0
    });
    let created = server
        .client
        .post(server.url("/v1/deployments"))
        .bearer_auth(service_kit::testing::TestKeys::token("ana", &[service_kit::Role::Operator]))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["type"], "CronJob");
    assert_eq!(created["owner"], "ana");
    assert!(created["warnings"][0].as_str().unwrap().contains("busybox:1.37"), "{created}");

    // What the local runtime cannot do is refused, with where and why.
    let mut mounted = spec.clone();
    mounted["name"] = json!("mounted");
    mounted["mounts"] = json!([{"source": "//files/share", "mountPath": "/mnt/share", "secretName": "smb"}]);
    mounted["runner"]["env"] = json!([{"name": "PW", "secret": {"name": "db", "key": "password"}}]);
    let refused = server.client.post(server.url("/v1/deployments")).json(&mounted).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().await.unwrap();
    let fields: Vec<&str> =
        refused["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["mounts", "runner.env[0].secret"]);

    // The schedule fires every two seconds; each run fetches, checks and unpacks, then runs.
    let seen = runs_until(&server, "two scheduled runs succeed", |runs| succeeded(runs) >= 2).await;
    let first = seen.iter().rev().find(|run| run["state"] == "Succeeded").unwrap();
    assert_eq!(first["exitCode"], 0);
    assert_eq!(first["containerState"], "Stopped");
    let log_of = |run: &str, extra: &str| server.url(&format!("/v1/deployments/hello/logs?run={run}{extra}"));
    let run_name = first["name"].as_str().unwrap().to_owned();
    let log = server.client.get(log_of(&run_name, "")).send().await.unwrap().text().await.unwrap();
    assert_eq!(log, "hello world in resource\nto-stderr\n");
    let tail = server.client.get(log_of(&run_name, "&tailLines=1")).send().await.unwrap().text().await.unwrap();
    assert_eq!(tail, "to-stderr\n");
    let fetch_log =
        server.client.get(log_of(&run_name, "&container=fetch")).send().await.unwrap().text().await.unwrap();
    assert!(fetch_log.starts_with("fetched hello-1.0.zip (sha256sum "), "{fetch_log}");

    // Suspended, it starts nothing; started by hand, it runs with the overrides and the caller.
    let suspended: Value = server
        .client
        .post(server.url("/v1/deployments/hello/suspend"))
        .json(&json!({"reason": "maintenance"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (suspended["suspended"].clone(), suspended["suspendReason"].clone()),
        (json!(true), json!("maintenance"))
    );
    assert_eq!(suspended["nextRun"], Value::Null);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = runs(&server).await.len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(runs(&server).await.len(), before, "a suspended schedule started a run");
    let manual = server
        .client
        .post(server.url("/v1/deployments/hello/run"))
        .bearer_auth(service_kit::testing::TestKeys::token("maria", &[service_kit::Role::Operator]))
        .json(&json!({"env": [{"name": "EXIT_CODE", "value": "3"}, {"name": "PAUSE", "value": "1"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(manual.status(), 201);
    let manual: Value = manual.json().await.unwrap();
    let manual_name = manual["name"].as_str().unwrap().to_owned();
    assert_eq!(manual["manual"], true);
    // Followed, the log streams until the run ends.
    let followed = server.client.get(log_of(&manual_name, "&follow=true")).send().await.unwrap();
    assert_eq!(followed.status(), 200);
    assert_eq!(followed.text().await.unwrap(), "hello world in resource\nto-stderr\n");
    let ended = runs_until(&server, "the manual run fails", |runs| {
        runs.iter().any(|run| run["name"] == manual_name.as_str() && run["state"] == "Failed")
    })
    .await;
    let failed = ended.iter().find(|run| run["name"] == manual_name.as_str()).unwrap();
    assert_eq!((failed["exitCode"].clone(), failed["failureReason"].clone()), (json!(3), json!("exited with code 3")));

    // A restart keeps the deployment, its suspension and its runs.
    server.stop().await;
    let server = start(&settings).await;
    let detail: Value = server.get("/v1/deployments/hello").await.json().await.unwrap();
    assert_eq!((detail["suspended"].clone(), detail["revision"].clone()), (json!(true), json!(1)));
    assert!(runs(&server).await.iter().any(|run| run["name"] == manual_name.as_str()));

    // Resumed, the schedule fires again.
    let resumed = server.client.post(server.url("/v1/deployments/hello/resume")).send().await.unwrap();
    assert_eq!(resumed.status(), 200);
    let count = succeeded(&runs(&server).await);
    let all = runs_until(&server, "the schedule resumes", |runs| succeeded(runs) > count).await;
    // The runs that had ended when listed (one going on now is stopped by the deletion).
    let names: Vec<String> = all
        .iter()
        .filter(|run| run["state"] == "Succeeded" || run["state"] == "Failed")
        .map(|run| run["name"].as_str().unwrap().to_owned())
        .collect();

    let deleted = server.client.delete(server.url("/v1/deployments/hello")).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(server.get("/v1/deployments/hello").await.status(), 404);
    assert!(!state.join("deployments/hello").exists(), "the runs' folders are removed");
    server.stop().await;

    // Every run listed reported its statuses; the failed one says why, and who started it.
    let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (_, event) in read_topic(&topic).await {
        events.entry(event["jobId"].as_str().unwrap().to_owned()).or_default().push(event);
    }
    for name in &names {
        let Some(run) = events.get(name) else { panic!("no event for the run {name}: {:?}", events.keys()) };
        let statuses: std::collections::BTreeSet<&str> = run.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(statuses, ["EXECUTING", "FINISHED", "INIT", "SCHEDULED"].into(), "{name}");
        let finished = run.iter().find(|e| e["status"] == "FINISHED").unwrap();
        let scheduled = run.iter().find(|e| e["status"] == "SCHEDULED").unwrap();
        if *name == manual_name {
            assert_eq!(finished["job"]["exitStatus"], "EXECUTION_ERROR");
            assert_eq!(finished["job"]["exitCode"], 3);
            assert_eq!(scheduled["job"]["jobOwner"], "maria");
            let parameters = &scheduled["job"]["algorithms"][0]["parameters"];
            assert_eq!(parameters[1], json!({"parameterId": "EXIT_CODE", "type": "env", "value": ["3"]}));
        } else {
            assert_eq!(finished["job"]["exitStatus"], "SUCCESS", "{name}");
            assert_eq!(scheduled["job"]["jobOwner"], "ana");
            assert_eq!(scheduled["job"]["algorithms"][0]["algorithmVersion"], "1.0");
        }
    }
    std::fs::remove_dir_all(&work).unwrap();
}

#[tokio::test]
async fn a_failed_attempt_is_tried_again_and_a_run_past_its_deadline_is_stopped() {
    let work = std::env::temp_dir().join(format!("job-deployer-retry-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let script = "if [ -n \"${MARK:-}\" ] && [ ! -e \"$MARK\" ]; then : > \"$MARK\"; echo first try; exit 1; fi\necho done\nsleep \"${PAUSE:-0}\"\n";
    let archive = zip_archive(&work, &[("job/run.sh", script)]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/job-1.zip", archive)]);
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ("KAFKA_BROKERS", &brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
    ]);
    let server = start(&job_deployer::Settings::from_env(&env).unwrap()).await;
    let spec = |name: &str, env: Value| {
        json!({
            "name": name,
            "resource": {
                "repository": "apps", "group": "org", "name": "job", "version": "1", "path": "org/job/1/job-1.zip",
                "downloadUrl": format!("{url}/job-1.zip"), "checksum": {"algorithm": "sha256", "value": checksum}
            },
            "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/job/run.sh"], "env": env},
            "backoffLimit": 1,
            "activeDeadlineSeconds": 3
        })
    };
    let mark = work.join("tried").display().to_string();
    for (name, env) in
        [("retried", json!([{"name": "MARK", "value": mark}])), ("slow", json!([{"name": "PAUSE", "value": "60"}]))]
    {
        let deployed = server.client.post(server.url("/v1/deployments")).json(&spec(name, env)).send().await.unwrap();
        assert_eq!(deployed.status(), 201);
    }
    let ended = |name: &'static str| {
        let server = &server;
        async move {
            for _ in 0..100 {
                let runs: Value = server.get(&format!("/v1/deployments/{name}/runs")).await.json().await.unwrap();
                if runs[0]["state"] == "Succeeded" || runs[0]["state"] == "Failed" {
                    return runs[0].clone();
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            panic!("{name} did not end");
        }
    };
    // The deadline counts from the run's start, retries included: 3 s, then SIGTERM.
    let slow = ended("slow").await;
    assert_eq!(slow["state"], "Failed");
    assert!(slow["failureReason"].as_str().unwrap().starts_with("deadline exceeded"), "{slow}");
    // The first attempt fails; the pause before the next (Kubernetes' first is 10 s) outlasts the
    // deadline, which stops the run. Without a deadline, the second attempt succeeds.
    let retried = ended("retried").await;
    assert_eq!(retried["state"], "Failed");
    assert!(retried["failureReason"].as_str().unwrap().starts_with("deadline exceeded"), "{retried}");
    let mut patient = spec("patient", json!([{"name": "MARK", "value": format!("{mark}-2")}]));
    patient.as_object_mut().unwrap().remove("activeDeadlineSeconds");
    let deployed = server.client.post(server.url("/v1/deployments")).json(&patient).send().await.unwrap();
    assert_eq!(deployed.status(), 201);
    let retried = ended("patient").await;
    assert_eq!((retried["state"].clone(), retried["exitCode"].clone()), (json!("Succeeded"), json!(0)));
    let run = retried["name"].as_str().unwrap();
    let log_of = |extra: &str| server.url(&format!("/v1/deployments/patient/logs?run={run}{extra}"));
    assert_eq!(server.client.get(log_of("")).send().await.unwrap().text().await.unwrap(), "done\n");
    let previous = server.client.get(log_of("&previous=true")).send().await.unwrap().text().await.unwrap();
    assert_eq!(previous, "first try\n", "the log of the attempt before");
    server.stop().await;

    let events = read_topic(&topic).await;
    let finished = |job_id: &str| {
        events
            .iter()
            .map(|(_, event)| event)
            .find(|event| event["jobId"] == job_id && event["status"] == "FINISHED")
            .unwrap_or_else(|| panic!("no FINISHED for {job_id}"))
            .clone()
    };
    let slow_end = finished(slow["name"].as_str().unwrap());
    assert_eq!(slow_end["job"]["exitStatus"], "KILLED");
    let patient_end = finished(run);
    assert_eq!(patient_end["job"]["exitStatus"], "SUCCESS");
    assert_eq!(patient_end["job"]["numberOfAttempts"], 2);
    let inits = events.iter().filter(|(_, e)| e["jobId"] == run && e["status"] == "INIT").count();
    assert_eq!(inits, 2, "one INIT per attempt");
    std::fs::remove_dir_all(&work).unwrap();
}

/// Copies the folder `from` into `to`, recursively.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The folder of a deployer of the version before suspension left the spec (`local-state-v1`: a
/// suspended CronJob at revision 2 with a failed run, and a run that was going on when that
/// deployer stopped) is read as it is, and what is written back is read again.
#[tokio::test]
async fn a_folder_of_the_previous_version_is_read_and_kept_working() {
    let work = std::env::temp_dir().join(format!("job-deployer-upgrade-{}", uuid::Uuid::new_v4().simple()));
    let state = work.join("state");
    copy_folder(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/local-state-v1"), &state);
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", state.to_str().unwrap()),
        ("KAFKA_BROKERS", &brokers()),
        ("JOB_EVENTS_TOPIC", &format!("job-events-{}", uuid::Uuid::new_v4().simple())),
    ]);
    let settings = job_deployer::Settings::from_env(&env).unwrap();
    let server = start(&settings).await;
    let detail = server.get("/v1/deployments/legacy").await;
    assert_eq!(detail.status(), 200);
    let etag = detail.headers()["etag"].to_str().unwrap().to_owned();
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(
        (
            detail["suspended"].clone(),
            detail["suspendReason"].clone(),
            detail["revision"].clone(),
            detail["owner"].clone()
        ),
        (json!(true), json!("month-end freeze"), json!(2), json!("ana"))
    );
    assert!(detail["spec"]["schedule"].get("suspend").is_none(), "suspension is no longer in the spec: {detail}");
    assert_eq!(detail["lastFailure"], "lost: the deployer stopped while the run went on", "the latest run's");
    let revisions: Value = server.get("/v1/deployments/legacy/revisions").await.json().await.unwrap();
    assert_eq!(revisions.as_array().unwrap().len(), 2);
    let runs: Value = server.get("/v1/deployments/legacy/runs").await.json().await.unwrap();
    // The run cut off by the stop is reported lost, not left running for ever.
    assert_eq!(
        (runs[0]["name"].clone(), runs[0]["state"].clone(), runs[0]["failureReason"].clone()),
        (json!("legacy-m1abcde"), json!("Failed"), json!("lost: the deployer stopped while the run went on"))
    );
    assert_eq!((runs[1]["name"].clone(), runs[1]["exitCode"].clone()), (json!("legacy-1763700000"), json!(2)));
    let log = server.get("/v1/deployments/legacy/logs?run=legacy-1763700000").await.text().await.unwrap();
    assert_eq!(log, "hello world\nsomething failed\n");
    // Lines by number, and a search, for a viewer.
    let window = server.get("/v1/deployments/legacy/logs?run=legacy-1763700000&lines=1").await;
    assert_eq!(
        (window.headers()["x-first-line"].to_str().unwrap(), window.headers()["x-total-lines"].to_str().unwrap()),
        ("2", "2")
    );
    assert_eq!(window.text().await.unwrap(), "something failed\n");
    let window =
        server.get("/v1/deployments/legacy/logs?run=legacy-1763700000&lines=1&fromLine=1").await.text().await.unwrap();
    assert_eq!(window, "hello world\n");
    let found: Value = server
        .get("/v1/deployments/legacy/logs/search?run=legacy-1763700000&pattern=FAIL&ignoreCase=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["matches"], json!([{"line": 2, "text": "something failed"}]), "{found}");
    assert_eq!((found["run"].clone(), found["lines"].clone()), (json!("legacy-1763700000"), json!(2)));

    // Saved back as the UI would (over the version read), then resumed: both written and read again.
    let saved = server
        .client
        .put(server.url("/v1/deployments/legacy"))
        .header("If-Match", &etag)
        .json(&detail["spec"])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!((saved["revision"].clone(), saved["suspended"].clone()), (json!(3), json!(true)));
    let resumed =
        server.client.post(server.url("/v1/deployments/legacy/resume")).header("If-Match", &etag).send().await.unwrap();
    assert_eq!(resumed.status(), 412, "the version read before the change is stale");
    assert_eq!(server.client.post(server.url("/v1/deployments/legacy/resume")).send().await.unwrap().status(), 200);
    server.stop().await;
    let server = start(&settings).await;
    let detail: Value = server.get("/v1/deployments/legacy").await.json().await.unwrap();
    assert_eq!((detail["revision"].clone(), detail["suspended"].clone()), (json!(3), json!(false)));
    server.stop().await;
    std::fs::remove_dir_all(&work).unwrap();
}

/// Anyone who reaches the local runtime's API runs commands as the deployer: it serves this
/// machine only.
#[tokio::test]
async fn the_local_runtime_refuses_to_listen_beyond_this_machine() {
    let env = service_kit::testing::test_env([("JOB_DEPLOYER_RUNTIME", "local"), ("KAFKA_BROKERS", "127.0.0.1:1")]);
    let settings = job_deployer::Settings::from_env(&env).unwrap();
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let refused = job_deployer::run(settings, listener).await.expect_err("refused");
    assert!(refused.to_string().contains("127.0.0.1 only"), "{refused}");
}

/// A run gets the spec's variables, the resource's, and PATH, HOME, LANG and TZ of the deployer:
/// nothing else of the deployer's environment (its broker, its keys) reaches a job.
#[tokio::test]
async fn a_local_run_gets_only_its_own_environment() {
    let work = std::env::temp_dir().join(format!("job-deployer-env-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("job/run.sh", "env\n")]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/job-1.zip", archive)]);
    let server = local_deployer(&work).await;
    let spec = json!({
        "name": "env",
        "resource": {
            "repository": "apps", "group": "org", "name": "job", "version": "1", "path": "org/job/1/job-1.zip",
            "downloadUrl": format!("{url}/job-1.zip"), "checksum": {"algorithm": "sha256", "value": checksum}
        },
        "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/job/run.sh"],
            "env": [{"name": "GREETING", "value": "hello $(JOB_RESOURCE_DIR)"}]}
    });
    assert_eq!(server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap().status(), 201);
    let mut log = String::new();
    for _ in 0..100 {
        let runs: Value = server.get("/v1/deployments/env/runs").await.json().await.unwrap();
        if runs[0]["state"] == "Succeeded" {
            log = server.get("/v1/deployments/env/logs").await.text().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen: BTreeMap<&str, &str> = log.lines().filter_map(|line| line.split_once('=')).collect();
    // What the shell sets for itself (PWD, SHLVL, _) is not the deployer's.
    let names: Vec<&str> =
        seen.keys().copied().filter(|name| !["PWD", "OLDPWD", "SHLVL", "_"].contains(name)).collect();
    let mut expected = vec!["GREETING", "JOB_RESOURCE", "JOB_RESOURCE_DIR"];
    expected.extend(["HOME", "LANG", "PATH", "TZ"].into_iter().filter(|name| std::env::var_os(name).is_some()));
    expected.sort_unstable();
    assert_eq!(names, expected, "{log}");
    let resource_dir = seen["JOB_RESOURCE_DIR"];
    assert_eq!(seen["GREETING"], format!("hello {resource_dir}"), "$(VAR) expanded as Kubernetes does");
    assert_eq!(seen["PATH"], std::env::var("PATH").unwrap());
    server.stop().await;
    std::fs::remove_dir_all(&work).unwrap();
}

/// The runs of `name`, newest first.
async fn runs_of(server: &TestServer, name: &str) -> Vec<Value> {
    server.get(&format!("/v1/deployments/{name}/runs")).await.json().await.unwrap()
}

/// The moment of a run's field as milliseconds (`None` while absent).
fn millis(run: &Value, field: &str) -> Option<i64> {
    run[field].as_str().map(|at| chrono::DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis())
}

/// The `resource` of a deployment of [`SCRIPT`] (as `hello/run.sh` in a zip), served by a Nexus
/// stand-in; the zip is made under `work`.
fn hello_resource(work: &std::path::Path) -> Value {
    let archive = zip_archive(work, &[("hello/run.sh", SCRIPT)]);
    let checksum = sha256(&archive, work);
    let url = nexus(vec![("/hello-1.0.zip", archive)]);
    json!({
        "repository": "apps", "group": "org", "name": "hello", "version": "1.0", "path": "org/hello-1.0.zip",
        "downloadUrl": format!("{url}/hello-1.0.zip"), "checksum": {"algorithm": "sha256", "value": checksum}
    })
}

/// The local runtime honours a schedule's concurrency policy as the CronJob controller does
/// (Forbid: a time is skipped while a run goes on; Allow: runs overlap; Replace: the running one is
/// stopped for the new one) and keeps only the newest finished runs within the history limits.
#[tokio::test]
async fn a_schedule_follows_its_concurrency_policy_and_history_limits() {
    let work = std::env::temp_dir().join(format!("job-deployer-policy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let resource = hello_resource(&work);
    let server = local_deployer(&work).await;
    // Every two seconds; a run of `pause` seconds.
    let deploy = async |name: &str, schedule: Value, pause: &str| {
        let mut schedule = schedule;
        schedule["cron"] = json!("*/2 * * * * *");
        let spec = json!({
            "name": name,
            "resource": resource,
            "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/hello/run.sh"],
                "env": [{"name": "PAUSE", "value": pause}]},
            "schedule": schedule,
            "backoffLimit": 0
        });
        let created = server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap();
        assert_eq!(created.status(), 201, "{name}: {}", created.text().await.unwrap());
    };
    deploy("forbid", json!({"concurrencyPolicy": "Forbid"}), "5").await;
    deploy("allow", json!({"concurrencyPolicy": "Allow"}), "5").await;
    deploy("replace", json!({"concurrencyPolicy": "Replace"}), "5").await;
    deploy("limits", json!({"successfulJobsHistoryLimit": 2}), "0").await;

    // Watched for 13 s: the most runs seen running at once, per deployment, and every run of `limits`.
    let mut most_running: BTreeMap<&str, usize> = BTreeMap::new();
    let mut limits_seen = std::collections::BTreeSet::new();
    let watched_until = tokio::time::Instant::now() + Duration::from_secs(13);
    while tokio::time::Instant::now() < watched_until {
        for name in ["forbid", "allow", "replace"] {
            let running = runs_of(&server, name).await.iter().filter(|run| run["state"] == "Running").count();
            let most = most_running.entry(name).or_default();
            *most = (*most).max(running);
        }
        for run in runs_of(&server, "limits").await {
            limits_seen.insert(run["name"].as_str().unwrap().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(most_running["forbid"], 1, "Forbid: never two runs at once");
    assert!(most_running["allow"] >= 2, "Allow: runs of 5 s every 2 s overlap: {most_running:?}");
    assert_eq!(most_running["replace"], 1, "Replace: the new run replaces the running one");

    // Forbid skipped the times that came while a run went on: no run started before the previous ended.
    let forbid = runs_of(&server, "forbid").await;
    assert!(forbid.len() >= 2, "{forbid:#?}");
    let mut spans: Vec<(i64, i64)> = forbid
        .iter()
        .map(|run| (millis(run, "startedAt").unwrap(), millis(run, "finishedAt").unwrap_or(i64::MAX)))
        .collect();
    spans.sort_unstable();
    assert!(spans.windows(2).all(|pair| pair[0].1 <= pair[1].0), "Forbid's runs overlap: {forbid:#?}");

    // Replace stopped runs before their 5 s: they failed, saying why.
    let replace = runs_of(&server, "replace").await;
    let replaced: Vec<&Value> = replace.iter().filter(|run| run["state"] == "Failed").collect();
    assert!(!replaced.is_empty(), "{replace:#?}");
    for run in &replaced {
        let lasted = millis(run, "finishedAt").unwrap() - millis(run, "startedAt").unwrap();
        assert!(lasted < 4_500, "stopped before its end: {run}");
        assert_eq!(run["failureReason"], "stopped: the run was deleted or replaced", "{run}");
    }

    // The history limit: of the many runs of `limits`, the two newest finished ones are kept.
    let kept = runs_of(&server, "limits").await;
    let finished: Vec<&str> =
        kept.iter().filter(|run| run["state"] == "Succeeded").map(|run| run["name"].as_str().unwrap()).collect();
    assert!(limits_seen.len() >= 5, "runs every 2 s for 13 s: {limits_seen:?}");
    assert!(finished.len() <= 2, "successfulJobsHistoryLimit 2: {kept:#?}");
    // Names end with the scheduled time's seconds: the newest sort last. One newer may still run.
    let newest: Vec<&str> = limits_seen.iter().rev().take(3).map(String::as_str).collect();
    assert!(
        finished.iter().all(|name| newest.contains(name)),
        "the newest runs are the ones kept: kept {finished:?} of {limits_seen:?}"
    );
    server.stop().await;
    std::fs::remove_dir_all(&work).unwrap();
}

/// A scheduled time that comes while the deployer cannot start a run (here its process is stopped,
/// as a laptop's closed lid stops it) starts late when the deployer can again, unless the schedule's
/// starting deadline has passed by then: that time is skipped, and the schedule goes on.
#[tokio::test]
async fn a_time_missed_by_more_than_its_starting_deadline_is_skipped() {
    let work = std::env::temp_dir().join(format!("job-deployer-deadline-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let resource = hello_resource(&work);
    // The deployer as a process, so that it can be stopped (SIGSTOP) and continued (SIGCONT).
    let (child, url, lines) = crate::shutdown::start(&[
        ("JOB_DEPLOYER_RUNTIME", "local".to_owned()),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").display().to_string()),
    ])
    .await;
    let client = crate::shutdown::client();
    // Every two seconds, runs kept; `strict` may start at most 10 s late (the least the deployer takes).
    for (name, deadline) in [("strict", json!(10)), ("lenient", Value::Null)] {
        let spec = json!({
            "name": name,
            "resource": resource,
            "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/hello/run.sh"]},
            "schedule": {"cron": "*/2 * * * * *", "startingDeadlineSeconds": deadline, "successfulJobsHistoryLimit": 50},
        });
        let created = client.post(format!("{url}/v1/deployments")).json(&spec).send().await.unwrap();
        assert_eq!(created.status(), 201, "{name}: {}", created.text().await.unwrap());
    }
    // How late each run started: its start less its scheduled time (the end of its name).
    // (A new client each time: the stop outlasts the server's keep-alive, which closes a pooled
    // connection as the process goes on.)
    let lateness = async |name: &str| -> Vec<i64> {
        let runs: Vec<Value> = crate::shutdown::client()
            .get(format!("{url}/v1/deployments/{name}/runs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        runs.iter()
            .filter_map(|run| {
                let due: i64 = run["name"].as_str()?.rsplit('-').next()?.parse().ok()?;
                Some(millis(run, "startedAt")? - due * 1000)
            })
            .collect()
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!lateness("strict").await.is_empty() && !lateness("lenient").await.is_empty(), "both run on time first");

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_secs(14)).await;
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let before = lateness("strict").await.len();
    tokio::time::sleep(Duration::from_secs(4)).await;

    let strict = lateness("strict").await;
    let lenient = lateness("lenient").await;
    assert!(lenient.iter().any(|late| *late >= 12_000), "lenient: the missed time ran late: {lenient:?} ms");
    assert!(strict.iter().all(|late| *late < 10_000), "strict: no run started 10 s late: {strict:?} ms");
    assert!(strict.len() > before, "strict: the schedule goes on after the skipped time: {strict:?}");
    let skipped = lines.lock().unwrap().iter().any(|line| {
        line.contains("could not start within its starting deadline") && line.contains("\"deployment\":\"strict\"")
    });
    assert!(skipped, "the skipped time is logged: {:#?}", lines.lock().unwrap());
    crate::shutdown::stop(child, &lines).await;
    std::fs::remove_dir_all(&work).unwrap();
}
