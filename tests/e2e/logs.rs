//! Runs' logs, all the way: the deployer's local runtime runs real processes and archives each
//! step's log when it ends, the consumer folds the chunks into Postgres, job-history serves them,
//! through the gateway; a 50 MiB log is cut to its tail; a deployer stopped between chunks sends
//! the log again at its next start.

use std::time::Duration;

use common::job_log::{Collected, Container, Extent, cut};
use e2e::kafka_brokers;
use history_store::testing::TestDatabase;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use service_kit::testing::{TestKeys, TestServer, client_with_token};
use service_kit::{Env, Role};

use crate::deployed_runs::{artifact, spec};

/// The platform on a database and topics of its own, the deployer running `work`'s local state.
struct Platform {
    work: std::path::PathBuf,
    env: Vec<(String, String)>,
    consumer: TestServer,
    history: TestServer,
    gateway: TestServer,
    _database: TestDatabase,
}

impl Platform {
    async fn start(work: &std::path::Path) -> Platform {
        let database = TestDatabase::create().await;
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", database.url.as_str()),
            ("KAFKA_BROKERS", &kafka_brokers()),
            ("JOB_EVENTS_TOPIC", &format!("job-events-{unique}")),
            ("JOB_LOGS_TOPIC", &format!("job-logs-{unique}")),
            ("JOB_HISTORY_CONSUMER_GROUP", &format!("group-{unique}")),
            ("JOB_DEPLOYER_RUNTIME", "local"),
            ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let settings = service_kit::testing::test_env(env.clone());
        let consumer_settings = job_history_consumer::Settings::from_env(&settings).unwrap();
        let consumer = TestServer::start(|listener| job_history_consumer::run(consumer_settings, listener)).await;
        let history_settings = job_history::Settings::from_env(&settings).unwrap();
        let history = TestServer::start(|listener| job_history::run(history_settings, listener)).await;
        std::fs::write(work.join("users.json"), r#"{"users": []}"#).unwrap();
        let gateway_env = Env::from_pairs([
            ("AUTH_GATEWAY_HISTORY_URL".to_owned(), history.url("")),
            ("AUTH_GATEWAY_USERS_FILE".to_owned(), work.join("users.json").to_string_lossy().into_owned()),
            ("AUTH_GATEWAY_TOKEN_KEY_FILE".to_owned(), work.join("token-key.pem").to_string_lossy().into_owned()),
        ]);
        let gateway_settings = auth_gateway::Settings::from_env(&gateway_env).unwrap();
        let gateway = TestServer::start(|listener| auth_gateway::run(gateway_settings, listener)).await;
        Platform { work: work.to_owned(), env, consumer, history, gateway, _database: database }
    }

    fn setting(&self, name: &str) -> String {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap()
    }

    /// Changes a setting of the deployers started from now on.
    fn set(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    async fn deployer(&self) -> TestServer {
        let settings = job_deployer::Settings::from_env(&service_kit::testing::test_env(self.env.clone())).unwrap();
        TestServer::start(|listener| job_deployer::run(settings, listener)).await
    }

    /// The run id of deployment `name`'s run, once the history has it finished.
    async fn finished_run(&self, name: &str) -> String {
        for _ in 0..300 {
            let page: Value =
                self.history.get(&format!("/v1/jobs/history?q=groupId=={name}")).await.json().await.unwrap();
            if let Some(job) = page["jobs"].as_array().and_then(|jobs| jobs.first())
                && job["statusHistory"].as_array().unwrap().iter().any(|s| s["status"] == "FINISHED")
            {
                return job["jobId"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the run of {name} never finished in the history");
    }

    /// The archived log answer for `query`, through the gateway, once `done` holds for it.
    async fn log(&self, run: &str, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let viewer = client_with_token(&TestKeys::token("vic", &[Role::Viewer]));
        let mut answer = Value::Null;
        for _ in 0..300 {
            let response =
                viewer.get(self.gateway.url(&format!("/api/history/{run}/logs{query}"))).send().await.unwrap();
            answer = response.json().await.unwrap();
            if done(&answer) {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the log of {run}{query} never came as expected: {answer:#}");
    }

    async fn stop(self) {
        self.consumer.stop().await;
        self.history.stop().await;
        self.gateway.stop().await;
        std::fs::remove_dir_all(self.work).unwrap();
    }
}

fn work_dir() -> std::path::PathBuf {
    let work = std::env::temp_dir().join(format!("e2e-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    work
}

/// A deployment running `script` (sh) from the artifact's folder.
fn running(name: &str, zip: &std::path::Path, checksum: &str, script: &str) -> Value {
    let mut spec = spec(name, zip, checksum, "0");
    spec["runner"]["command"] = json!(["sh", "-c", script]);
    spec
}

async fn deploy(deployer: &TestServer, spec: &Value) {
    let response = deployer.client.post(deployer.url("/v1/deployments")).json(spec).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

fn complete(answer: &Value) -> bool {
    answer["complete"] == true
}

fn texts(answer: &Value) -> Vec<(u64, String)> {
    let lines = answer["lines"].as_array().unwrap();
    lines.iter().map(|l| (l["line"].as_u64().unwrap(), l["text"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn a_finished_runs_logs_reach_the_history_and_a_50_mib_log_keeps_its_tail() {
    let work = work_dir();
    let (zip, checksum) = artifact(&work);
    let platform = Platform::start(&work).await;
    let deployer = platform.deployer().await;
    let hello =
        "for i in $(seq 1 3000); do echo \"row $i loaded\"; done; echo 'ERROR customer C042 rejected' >&2; echo done";
    deploy(&deployer, &running("e2e-logs-hello", &zip, &checksum, hello)).await;
    // 7,000,000 numbered lines: 54 MiB, of which the last 10 MiB are kept.
    deploy(&deployer, &running("e2e-logs-chatty", &zip, &checksum, "seq 1 7000000")).await;

    let run = platform.finished_run("e2e-logs-hello").await;
    let answer = platform.log(&run, "?tailLines=2", complete).await;
    assert_eq!(texts(&answer), [(3001, "ERROR customer C042 rejected".to_owned()), (3002, "done".to_owned())]);
    assert_eq!(
        (answer["attempt"].clone(), answer["firstLine"].clone(), answer["total"].clone()),
        (json!(1), json!(1), json!(3002))
    );
    let found = platform.log(&run, "?grep=error&ignoreCase=true", complete).await;
    assert_eq!(texts(&found), [(3001, "ERROR customer C042 rejected".to_owned())]);
    let earlier = platform.log(&run, "?offset=1499&tailLines=2", complete).await;
    assert_eq!(texts(&earlier), [(1500, "row 1500 loaded".to_owned()), (1501, "row 1501 loaded".to_owned())]);
    let fetch = platform.log(&run, "?container=fetch", complete).await;
    let fetched = texts(&fetch);
    assert_eq!(fetched.len(), 1);
    assert!(fetched[0].1.starts_with("fetched hello-2.1.zip (sha256sum "), "{fetched:?}");
    let containers: Vec<&str> =
        answer["archived"].as_array().unwrap().iter().map(|a| a["container"].as_str().unwrap()).collect();
    assert_eq!(containers, ["fetch", "runner"]);

    let run = platform.finished_run("e2e-logs-chatty").await;
    let answer = platform.log(&run, "?tailLines=3", complete).await;
    let (first, dropped) = (answer["firstLine"].as_u64().unwrap(), answer["droppedLines"].as_u64().unwrap());
    assert_eq!(answer["lastLine"], 7_000_000);
    assert_eq!(first, dropped + 1, "lines keep their numbers in the whole log");
    assert!(answer["keptBytes"].as_u64().unwrap() <= 10 * 1024 * 1024, "{answer}");
    assert!(answer["keptBytes"].as_u64().unwrap() > 10 * 1024 * 1024 - 16, "the bound is used: {answer}");
    let whole: u64 = (1..=7_000_000_u64).map(|n| n.to_string().len() as u64 + 1).sum();
    assert_eq!(answer["droppedBytes"].as_u64().unwrap() + answer["keptBytes"].as_u64().unwrap(), whole);
    assert_eq!(
        texts(&answer),
        [(6_999_998, "6999998".into()), (6_999_999, "6999999".into()), (7_000_000, "7000000".into())]
    );
    // The first kept line is whole, and every line is the one of its number.
    let head = platform.log(&run, &format!("?offset={dropped}&tailLines=1000"), complete).await;
    let head = texts(&head);
    assert_eq!(head.len(), 1000);
    assert!(head.iter().all(|(number, text)| *text == number.to_string()), "{:?}", &head[..3]);

    deployer.stop().await;
    platform.stop().await;
}

#[tokio::test]
async fn a_deployer_stopped_between_chunks_sends_the_log_again_at_its_start() {
    let work = work_dir();
    let (zip, checksum) = artifact(&work);
    let mut platform = Platform::start(&work).await;
    let logs_topic = platform.setting("JOB_LOGS_TOPIC");
    // The first deployer's logs go where nobody reads: as if the broker never had them.
    platform.set("JOB_LOGS_TOPIC", &format!("{logs_topic}-unread"));
    let deployer = platform.deployer().await;
    deploy(&deployer, &running("e2e-logs-killed", &zip, &checksum, "seq 1 400000")).await;
    let run = platform.finished_run("e2e-logs-killed").await;
    // Until the log is noted as sent.
    let state = work.join("state");
    let done = loop {
        let found = walk(&state).into_iter().find(|path| path.ends_with("archived-logs/runner-1.done"));
        if let Some(found) = found {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    deployer.stop().await;

    // What a deployer killed between chunks leaves: some chunks on the topic, the log not noted as sent.
    let text: String = (1..=400_000).map(|n| format!("{n}\n")).collect();
    let log = Collected { text: text.clone(), dropped: Extent::default() };
    let chunks = cut(&run, Container::Runner, 1, common::time::Instant(chrono::Utc::now()), &log);
    assert!(chunks.len() >= 3);
    publish(&logs_topic, &chunks[..chunks.len() / 2]).await;
    std::fs::remove_file(&done).unwrap();
    platform.set("JOB_LOGS_TOPIC", &logs_topic);
    let partial = platform.log(&run, "?tailLines=1", |answer| answer["complete"] == false).await;
    assert!(!partial["missing"].as_array().unwrap().is_empty(), "incomplete, with its missing lines named: {partial}");

    // The restarted deployer sends it again: the history holds it whole.
    let deployer = platform.deployer().await;
    let answer = platform.log(&run, "?offset=0&tailLines=10000", complete).await;
    assert_eq!(answer["total"], 400_000);
    assert_eq!(answer["missing"], json!([]));
    assert!(texts(&answer).iter().all(|(number, text)| *text == number.to_string()));
    let tail = platform.log(&run, "?tailLines=1", complete).await;
    assert_eq!(texts(&tail), [(400_000, "400000".to_owned())]);
    deployer.stop().await;
    platform.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn publish(topic: &str, messages: &[common::job_log::LogMessage]) {
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", kafka_brokers()).create().unwrap();
    for message in messages {
        let payload = message.to_json().unwrap();
        let record = FutureRecord::to(topic).key(message.job_id.as_str()).payload(&payload);
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }
}
