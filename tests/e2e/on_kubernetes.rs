//! The whole platform with the deployer on the test stack's Kubernetes control plane: a user logs in
//! at the gateway (the catalog on a folder, job-history and the deployer behind it), deploys a
//! CronJob through it; the controller-manager fires it every minute, kwok runs the pods, the
//! deployer's watcher publishes the runs to Kafka, the consumer folds them into Postgres, and the
//! history holds exactly the runs the CronJob made, each with its statuses.

use std::net::TcpListener;
use std::time::Duration;

use e2e::cluster::{TestNamespace, image};
use e2e::kafka_brokers;
use history_store::testing::TestDatabase;
use serde_json::{Value, json};
use service_kit::Env;
use service_kit::testing::{TestServer, client, client_with_token};

/// How many firings the test waits for.
const FIRINGS: usize = 3;

#[tokio::test]
async fn a_cronjob_on_kubernetes_fires_three_times_and_the_history_holds_exactly_its_three_runs() {
    let database = TestDatabase::create().await;
    let namespace = TestNamespace::create("e2e-cron").await;
    let work = std::env::temp_dir().join(format!("e2e-kubernetes-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(work.join("catalog")).unwrap();
    let users = work.join("users.json");
    let hash = auth_gateway::directory::users_file::hash_password("olga-pw").unwrap();
    let file = json!({"users": [{"username": "olga", "passwordHash": hash, "roles": ["operator"]}]});
    std::fs::write(&users, file.to_string()).unwrap();

    // The gateway's address first: the services fetch its keys from there.
    let gateway_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/.well-known/jwks.json", gateway_listener.local_addr().unwrap());
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let key_file = work.join("gateway/token-key.pem");
    let env = Env::from_pairs([
        ("AUTH_JWKS_URL", jwks_url.as_str()),
        ("DATABASE_URL", database.url.as_str()),
        ("KAFKA_BROKERS", &kafka_brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
        ("JOB_LOGS_TOPIC", &format!("{topic}-logs")),
        ("JOB_HISTORY_CONSUMER_GROUP", &format!("{topic}-group")),
        ("JOB_DEPLOYER_NEXUS_URL", "https://nexus.example.com/"),
        ("JOB_DEPLOYER_NEXUS_SECRET", "nexus-reader"),
        ("NEXUS_CATALOG_FOLDER", work.join("catalog").to_str().unwrap()),
        ("AUTH_GATEWAY_USERS_FILE", users.to_str().unwrap()),
        ("AUTH_GATEWAY_TOKEN_KEY_FILE", key_file.to_str().unwrap()),
    ]);
    let consumer_settings = job_history_consumer::Settings::from_env(&env).unwrap();
    let consumer = TestServer::start(|listener| job_history_consumer::run(consumer_settings, listener)).await;
    let history_settings = job_history::Settings::from_env(&env).unwrap();
    let history = TestServer::start(|listener| job_history::run(history_settings, listener)).await;
    // The deployer as the ServiceAccount of deploy/kubernetes/job-deployer-rbac.yaml, in the namespace.
    let deployer_settings = job_deployer::Settings::from_env(&env).unwrap();
    let cluster = job_deployer::Cluster::new(namespace.deployer(), namespace.name().to_owned());
    let deployer = TestServer::start(|listener| job_deployer::run_on(deployer_settings, listener, cluster)).await;
    let catalog_settings = nexus_catalog::Settings::from_env(&env).unwrap();
    let catalog = TestServer::start(|listener| nexus_catalog::run(catalog_settings, listener)).await;
    let gateway_env = Env::from_pairs([
        ("AUTH_GATEWAY_USERS_FILE".to_owned(), users.to_string_lossy().into_owned()),
        ("AUTH_GATEWAY_TOKEN_KEY_FILE".to_owned(), key_file.to_string_lossy().into_owned()),
        ("AUTH_GATEWAY_HISTORY_URL".to_owned(), history.url("")),
        ("AUTH_GATEWAY_DEPLOYER_URL".to_owned(), deployer.url("")),
        ("AUTH_GATEWAY_CATALOG_URL".to_owned(), catalog.url("")),
    ]);
    let gateway_settings = auth_gateway::Settings::from_env(&gateway_env).unwrap();
    let gateway =
        TestServer::start_on(gateway_listener, |listener| auth_gateway::run(gateway_settings, listener)).await;

    let login = client()
        .post(gateway.url("/api/auth/login"))
        .json(&json!({"username": "olga", "password": "olga-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let olga = client_with_token(&token);
    let ready = olga.get(gateway.url("/api/catalog/repositories")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "the catalog answers through the gateway");

    // Every minute; kwok ends each pod with exit code 0.
    let spec = json!({
        "name": "e2e-every-minute",
        "description": "three firings on Kubernetes",
        "resource": {
            "repository": "releases", "group": "com.example", "name": "Report_Builder", "version": "2.0.0",
            "path": "com/example/Report_Builder/2.0.0/Report_Builder-2.0.0.jar",
            "downloadUrl": "https://nexus.example.com/repository/releases/com/example/Report_Builder/2.0.0/Report_Builder-2.0.0.jar",
            "checksum": {"algorithm": "sha1", "value": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}
        },
        "runner": {"image": image::exit(0), "command": ["java", "-jar", "$(JOB_RESOURCE)"]},
        "schedule": {"cron": "* * * * *", "timeZone": "Europe/Paris"},
        "backoffLimit": 0
    });
    let created = olga.post(gateway.url("/api/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    // The firings, as the deployer lists them (the first comes at the next minute).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60 * (FIRINGS as u64 + 1) + 30);
    let runs = loop {
        let runs: Value =
            olga.get(gateway.url("/api/deployments/e2e-every-minute/runs")).send().await.unwrap().json().await.unwrap();
        let ended = runs.as_array().unwrap().iter().filter(|run| run["state"] == "Succeeded").count();
        if ended >= FIRINGS {
            break runs;
        }
        assert!(tokio::time::Instant::now() < deadline, "{FIRINGS} firings not seen in time: {runs:#}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // Suspended at once: the next firing is a minute away.
    let suspended =
        olga.post(gateway.url("/api/deployments/e2e-every-minute/suspend")).json(&json!({"reason": "test done"}));
    assert_eq!(suspended.send().await.unwrap().status(), 200);
    let mut names: Vec<&str> = runs.as_array().unwrap().iter().map(|run| run["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names.len(), FIRINGS, "no firing beyond these: {runs:#}");

    // The history holds exactly these runs, each through its statuses to SUCCESS.
    let query = "/api/history?q=groupId==e2e-every-minute&limit=50";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let jobs = loop {
        let page: Value = olga.get(gateway.url(query)).send().await.unwrap().json().await.unwrap();
        let jobs = page["jobs"].as_array().cloned().unwrap_or_default();
        let finished = |job: &Value| job["exitStatus"] == "SUCCESS";
        if jobs.len() >= FIRINGS && jobs.iter().all(finished) {
            break jobs;
        }
        assert!(tokio::time::Instant::now() < deadline, "the history never held the {FIRINGS} runs: {page:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut job_ids: Vec<&str> = jobs.iter().map(|job| job["jobId"].as_str().unwrap()).collect();
    job_ids.sort_unstable();
    assert_eq!(job_ids, names, "the history's runs are the CronJob's, once each");
    for job in &jobs {
        let statuses: Vec<&str> =
            job["statusHistory"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["SCHEDULED", "INIT", "EXECUTING", "FINISHED"], "{job:#}");
        assert_eq!((job["exitCode"].clone(), job["jobType"].clone()), (json!(0), json!("CronJob")), "{job:#}");
        assert_eq!(job["jobOwner"], "olga");
    }

    for server in [gateway, catalog, deployer, history, consumer] {
        server.stop().await;
    }
    namespace.delete().await;
    let _ = std::fs::remove_dir_all(&work);
}
