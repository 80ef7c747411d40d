//! Specs and cluster objects the tests share.

use chrono::{TimeZone, Utc};
use job_deployer::kubernetes::manifests::Context;
use job_deployer::spec::check::check;
use job_deployer::spec::{CheckedSpec, Target};
use job_deployer::{Cluster, DeployerSettings};
use serde_json::{Value, json};
use service_kit::testing::TestServer;

pub const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A spec as the deployer checks it for Kubernetes (no Nexus URL to match).
pub fn checked(spec: Value) -> CheckedSpec {
    check(serde_json::from_value(spec).unwrap(), None, Target::Kubernetes { nexus_url: None }).unwrap()
}

/// The context of a deployment as the tests build its objects.
pub fn context() -> Context<'static> {
    Context {
        namespace: "jobs",
        fetch_image: "curlimages/curl:8.11.1",
        nexus_secret: Some("nexus-reader"),
        run_as_user: 65_532,
        owner: "jane",
        author: "joe",
        at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap(),
        revision: 3,
        suspended: false,
        suspend_reason: None,
    }
}

/// A CronJob deployment using every part of a spec, with inline credentials (`s3cr3t-pa55`).
pub fn full_spec() -> Value {
    json!({
        "name": "sales-etl",
        "description": "Nightly \"sales\" load",
        "resource": {
            "repository": "releases", "group": "com.example.etl", "name": "sales-etl", "version": "1.4.2",
            "path": "com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "downloadUrl": "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip",
            "checksum": {"algorithm": "sha256", "value": SHA256.to_uppercase()}
        },
        "runner": {
            "image": "registry.example.com:5000/talend/runner:8.0.1",
            "command": ["sh", "-c"],
            "args": ["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh --context=Prod"],
            "env": [
                {"name": "CONTEXT", "value": "Prod"},
                {"name": "DB_PASSWORD", "secret": {"name": "sales-db", "key": "password"}}
            ],
            "workingDir": "/work",
            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
        },
        "schedule": {
            "cron": "30 2 * * 1-5", "timeZone": "Europe/Paris", "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 5
        },
        "mounts": [
            {"source": "//files.example.com/exports", "mountPath": "/mnt/exports", "subPath": "sales",
             "credentials": {"username": "svc-etl", "password": "s3cr3t-pa55", "domain": "CORP"}},
            {"source": "//files.example.com/archive", "mountPath": "/mnt/archive", "readOnly": true, "secretName": "archive-smb"}
        ],
        "backoffLimit": 2,
        "activeDeadlineSeconds": 3600,
        "ttlSecondsAfterFinished": 86400
    })
}

/// The smallest deployment: a Job that runs a jar once.
pub fn job_spec() -> Value {
    json!({
        "resource": {
            "repository": "releases", "group": "com.example", "name": "Report_Builder", "version": "2.0.0",
            "path": "com/example/Report_Builder/2.0.0/Report_Builder-2.0.0.jar",
            "downloadUrl": "https://nexus.example.com/repository/releases/com/example/Report_Builder/2.0.0/Report_Builder-2.0.0.jar",
            "checksum": {"algorithm": "sha1", "value": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}
        },
        "runner": {"image": "eclipse-temurin:21-jre", "command": ["java", "-jar", "$(JOB_RESOURCE)"]}
    })
}

pub fn settings() -> DeployerSettings {
    DeployerSettings {
        fetch_image: "curlimages/curl:8.11.1".to_owned(),
        nexus_secret: Some("nexus-reader".to_owned()),
        nexus_url: Some("https://nexus.example.com/".to_owned()),
        start_failure_grace: std::time::Duration::from_secs(180),
        run_as_user: 65_532,
        runners: Vec::new(),
    }
}

/// The service, talking to `cluster`.
pub async fn server(cluster: Option<Cluster>) -> TestServer {
    let env = service_kit::testing::test_env([("JOB_DEPLOYER_LISTEN", "127.0.0.1:0")]);
    let mut settings = job_deployer::Settings::from_env(&env).unwrap();
    settings.deployer = self::settings();
    TestServer::start(|listener| async move { job_deployer::run_with(&settings, listener, cluster) }).await
}
