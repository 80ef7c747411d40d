//! The deployer as a process, stopped by SIGTERM while runs go on, on each runtime: it exits 0 and
//! its log says nothing is wrong (no ERROR line), since nothing is.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use service_kit::Role;
use service_kit::testing::TestKeys;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cluster::{TestNamespace, image};
use crate::fetch::{nexus, sha256, zip_archive};
use crate::watch::brokers;

/// The deployer binary with `env`, its log lines collected, and its address once it listens.
pub async fn start(env: &[(&str, String)]) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let (keys, jwks) = TestKeys::env();
    let mut child = Command::new(env!("CARGO_BIN_EXE_job-deployer"))
        .env("JOB_DEPLOYER_LISTEN", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("KAFKA_BROKERS", brokers())
        .env("JOB_EVENTS_TOPIC", format!("job-events-{}", uuid::Uuid::new_v4().simple()))
        .env(keys, jwks)
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    for output in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(output).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
    }
    for _ in 0..150 {
        let listening = lines.lock().unwrap().iter().find_map(|line| {
            let rest = line.split("listening on http://").nth(1)?;
            Some(rest.chars().take_while(|c| *c != '"' && !c.is_whitespace()).collect::<String>())
        });
        if let Some(address) = listening {
            return (child, format!("http://{address}"), lines);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the deployer does not listen: {:#?}", lines.lock().unwrap());
}

/// Stops it with SIGTERM: it exits 0 and logged no error.
pub async fn stop(mut child: Child, lines: &Mutex<Vec<String>>) {
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("it stops").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = lines.lock().unwrap();
    assert!(status.success(), "{status}: {lines:#?}");
    let errors: Vec<&String> = lines.iter().filter(|line| line.contains("\"level\":\"ERROR\"")).collect();
    assert!(errors.is_empty(), "a clean stop logged errors: {errors:#?}");
    assert!(lines.iter().any(|line| line.contains("\"stopped\"")), "{lines:#?}");
}

pub fn client() -> reqwest::Client {
    service_kit::testing::client_with_token(&TestKeys::token("jane", &[Role::Operator]))
}

async fn until_running(url: &str, name: &str) {
    for _ in 0..200 {
        let runs: Value =
            client().get(format!("{url}/v1/deployments/{name}/runs")).send().await.unwrap().json().await.unwrap();
        if runs[0]["state"] == "Running" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} never ran");
}

#[tokio::test]
async fn a_stop_while_runs_go_on_logs_no_error_on_kubernetes() {
    let namespace = TestNamespace::create("stop").await;
    let kubeconfig = std::env::temp_dir().join(format!("{}.kubeconfig", namespace.name()));
    std::fs::write(&kubeconfig, namespace.deployer_kubeconfig()).unwrap();
    let (child, url, lines) = start(&[
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("JOB_DEPLOYER_NAMESPACE", namespace.name().to_owned()),
        ("JOB_DEPLOYER_NEXUS_URL", "https://nexus.example.com/".to_owned()),
    ])
    .await;
    let spec = crate::on_kubernetes::spec("long", &image::sleep(60), None);
    let deployed = client().post(format!("{url}/v1/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(deployed.status(), 201);
    until_running(&url, "long").await;
    stop(child, &lines).await;
    std::fs::remove_file(kubeconfig).unwrap();
    namespace.delete().await;
}

#[tokio::test]
async fn a_stop_while_runs_go_on_logs_no_error_on_the_local_runtime() {
    let work = std::env::temp_dir().join(format!("job-deployer-stop-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("job/run.sh", "echo started\nsleep 60\n")]);
    let checksum = sha256(&archive, &work);
    let url_of_nexus = nexus(vec![("/job-1.zip", archive)]);
    let (child, url, lines) = start(&[
        ("JOB_DEPLOYER_RUNTIME", "local".to_owned()),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").display().to_string()),
    ])
    .await;
    let spec = json!({
        "name": "long",
        "resource": {
            "repository": "apps", "group": "org", "name": "job", "version": "1", "path": "org/job/1/job-1.zip",
            "downloadUrl": format!("{url_of_nexus}/job-1.zip"), "checksum": {"algorithm": "sha256", "value": checksum}
        },
        "runner": {"image": "busybox", "command": ["sh", "$(JOB_RESOURCE_DIR)/job/run.sh"]}
    });
    let deployed = client().post(format!("{url}/v1/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(deployed.status(), 201);
    until_running(&url, "long").await;
    stop(child, &lines).await;
    std::fs::remove_dir_all(work).unwrap();
}
