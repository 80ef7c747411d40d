//! How long a deploy, a change and a delete take through the deployer's API on a real control plane
//! (the test stack's: `KUBECONFIG_ADMIN`), as the ServiceAccount of the shipped Role: `BENCH_DEPLOYMENTS`
//! (20) CronJobs with inline CIFS credentials, each created, changed (a new version) and deleted,
//! one at a time; prints the median and the 95th percentile of each, and of a dry run.
//!
//! `KUBECONFIG_ADMIN=... cargo bench -p job-deployer --bench writes`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark that prints its figures"
)]

#[path = "../tests/integration/cluster.rs"]
#[allow(dead_code, unused_imports, reason = "the tests' fixture, of which the benchmark uses a namespace only")]
mod cluster;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use service_kit::testing::TestServer;

fn spec(name: &str, version: &str) -> Value {
    json!({
        "name": name,
        "resource": {
            "repository": "releases", "group": "com.example", "name": "report", "version": version,
            "path": format!("com/example/report/{version}/report-{version}.zip"),
            "downloadUrl": format!("https://nexus.example.com/repository/releases/com/example/report/{version}/report-{version}.zip"),
            "checksum": {"algorithm": "sha256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
        },
        "runner": {"image": "kwok.invalid/exit:0", "command": ["sh", "-c"], "args": ["$(JOB_RESOURCE_DIR)/run.sh"]},
        "schedule": {"cron": "30 2 * * *", "timeZone": "Europe/Paris"},
        "mounts": [{"source": "//files/share", "mountPath": "/mnt/share", "credentials": {"username": "svc", "password": "pw"}}]
    })
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |share: f64| times[((times.len() as f64 * share).ceil() as usize).saturating_sub(1)];
    println!(
        "{what:<8} n={:<3} median {:>7.1} ms   p95 {:>7.1} ms",
        times.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BENCH_DEPLOYMENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let namespace = cluster::TestNamespace::create("bench-writes").await;
    let env = service_kit::testing::test_env([("JOB_DEPLOYER_LISTEN", "127.0.0.1:0")]);
    let mut settings = job_deployer::Settings::from_env(&env).unwrap();
    settings.deployer.nexus_url = Some("https://nexus.example.com/".to_owned());
    let cluster = job_deployer::Cluster::new(namespace.deployer(), namespace.name().to_owned());
    let server =
        TestServer::start(|listener| async move { job_deployer::run_with(&settings, listener, Some(cluster)) }).await;
    let (mut created, mut changed, mut deleted, mut dry_runs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for index in 0..count {
        let name = format!("bench-{index}");
        let started = Instant::now();
        let response = server
            .client
            .post(server.url("/v1/deployments?dryRun=true"))
            .json(&spec(&name, "1.0.0"))
            .send()
            .await
            .unwrap();
        dry_runs.push(started.elapsed());
        // The code before dry runs ignores the parameter and deploys: then it is the create.
        let already = response.status() == 201;
        let started = Instant::now();
        if !already {
            let response =
                server.client.post(server.url("/v1/deployments")).json(&spec(&name, "1.0.0")).send().await.unwrap();
            assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
            created.push(started.elapsed());
        }
        let started = Instant::now();
        let response = server
            .client
            .put(server.url(&format!("/v1/deployments/{name}")))
            .json(&spec(&name, "1.1.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        changed.push(started.elapsed());
        let started = Instant::now();
        let response = server.client.delete(server.url(&format!("/v1/deployments/{name}"))).send().await.unwrap();
        assert_eq!(response.status(), 204);
        deleted.push(started.elapsed());
    }
    if !created.is_empty() {
        report("dry run", dry_runs);
        report("create", created);
    } else {
        report("create", dry_runs);
    }
    report("change", changed);
    report("delete", deleted);
    server.stop().await;
    namespace.delete().await;
}
