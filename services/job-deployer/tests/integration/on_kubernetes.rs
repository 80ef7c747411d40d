//! The deployer on the test stack's real control plane (kube-apiserver 1.34, controller-manager,
//! scheduler, kwok running the pods), through its HTTP API, as the ServiceAccount of
//! deploy/kubernetes/job-deployer-rbac.yaml: what a user does and sees, checked also as `kubectl`
//! would see it (the admin client) and, for the runs, on the broker's topic of job events.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};
use service_kit::Role;
use service_kit::testing::{TestKeys, TestServer};

use crate::cluster::{TestNamespace, image, named, wait_until};
use crate::watch::{brokers, read_topic};

/// How long the deployer lets a container fail to start before it ends the run (180 s in
/// production).
pub const GRACE_SECS: &str = "4";

/// A deployer serving the namespace as its ServiceAccount, publishing to a topic of its own.
pub struct Deployer {
    pub namespace: TestNamespace,
    pub server: TestServer,
    pub topic: String,
}

impl Deployer {
    pub async fn start(prefix: &str) -> Deployer {
        let namespace = TestNamespace::create(prefix).await;
        let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
        let server = start_deployer(&namespace, &topic).await;
        Deployer { namespace, server, topic }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A request as `user` with `role`.
    pub fn call(&self, method: reqwest::Method, path: &str, user: &str) -> reqwest::RequestBuilder {
        self.server.client.request(method, self.url(path)).bearer_auth(TestKeys::token(user, &[Role::Operator]))
    }

    pub async fn deploy(&self, spec: &Value) -> reqwest::Response {
        self.call(reqwest::Method::POST, "/v1/deployments", "jane").json(spec).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.server.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The deployment's runs, once `done` holds for them (or fails after `seconds`).
    pub async fn runs_until(
        &self,
        name: &str,
        seconds: u64,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let (_, runs) = self.get(&format!("/v1/deployments/{name}/runs")).await;
            let runs = runs.as_array().cloned().unwrap_or_default();
            if done(&runs) {
                return runs;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: not within {seconds} s; runs: {runs:#?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The Secrets of a deployment, by name, as the admin sees them.
    pub async fn secrets_of(&self, deployment: &str) -> Vec<String> {
        let labels = ListParams::default().labels(&format!("job-orchestrator.io/deployment={deployment}"));
        let secrets = self.namespace.api::<Secret>().list(&labels).await.unwrap().items;
        let mut names: Vec<String> = secrets.into_iter().filter_map(|secret| secret.metadata.name).collect();
        names.sort();
        names
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.namespace.delete().await;
    }
}

/// The whole deployer (API, watcher, publisher) on the namespace, as its ServiceAccount.
async fn start_deployer(namespace: &TestNamespace, topic: &str) -> TestServer {
    let env = service_kit::testing::test_env([
        ("JOB_DEPLOYER_LISTEN", "127.0.0.1:0"),
        ("KAFKA_BROKERS", brokers().as_str()),
        ("JOB_EVENTS_TOPIC", topic),
        ("JOB_LOGS_TOPIC", &format!("{topic}-logs")),
    ]);
    let mut settings = job_deployer::Settings::from_env(&env).unwrap();
    settings.deployer = crate::fixtures::settings();
    settings.deployer.start_failure_grace = Duration::from_secs(GRACE_SECS.parse().unwrap());
    let cluster = job_deployer::Cluster::new(namespace.deployer(), namespace.name().to_owned());
    TestServer::start(|listener| job_deployer::run_on(settings, listener, cluster)).await
}

/// A deployment of a resource on the deployer's Nexus whose runner image makes kwok end it as
/// [`image`] says; a CronJob when `cron` is given.
pub fn spec(name: &str, runner_image: &str, cron: Option<&str>) -> Value {
    let mut spec = crate::fixtures::job_spec();
    spec["name"] = json!(name);
    spec["runner"]["image"] = json!(runner_image);
    spec["backoffLimit"] = json!(0);
    if let Some(cron) = cron {
        spec["schedule"] = json!({"cron": cron, "timeZone": "Europe/Paris"});
    }
    spec
}

/// A runner image that [`refuse_denied_images`] has the API server refuse.
const DENIED: &str = "kwok.invalid/denied:1";

/// Makes the API server refuse, in the deployer's namespace, any Job or CronJob that runs
/// [`DENIED`]: an admission policy such as a cluster's owners set, which the deployer's own checks
/// cannot know. Removed with [`allow_denied_images`].
async fn refuse_denied_images(namespace: &TestNamespace) {
    use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
    let name = format!("deny-{}", namespace.name());
    let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["jobs", "cronjobs"]}]},
            "validations": [
                {
                    "expression": format!("object.kind != 'Job' || !object.spec.template.spec.containers.exists(c, c.image == '{DENIED}')"),
                    "message": format!("the image {DENIED} is not allowed in this cluster"),
                    "fieldPath": "spec.template.spec.containers[0].image",
                },
                {
                    "expression": format!("object.kind != 'CronJob' || !object.spec.jobTemplate.spec.template.spec.containers.exists(c, c.image == '{DENIED}')"),
                    "message": format!("the image {DENIED} is not allowed in this cluster"),
                    "fieldPath": "spec.jobTemplate.spec.template.spec.containers[0].image",
                },
            ],
        },
    }))
    .unwrap();
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace.name()}}}},
    }))
    .unwrap();
    kube::Api::<ValidatingAdmissionPolicy>::all(namespace.admin())
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    kube::Api::<ValidatingAdmissionPolicyBinding>::all(namespace.admin())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    // The API server takes a moment to see a new policy.
    let probe: Job = serde_json::from_value(json!({"metadata": {"name": "probe"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": DENIED}]}}}}))
    .unwrap();
    let dry_run = PostParams { dry_run: true, ..PostParams::default() };
    for _ in 0..100 {
        if namespace.api::<Job>().create(&dry_run, &probe).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the admission policy never took effect");
}

async fn allow_denied_images(namespace: &TestNamespace) {
    use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
    let name = format!("deny-{}", namespace.name());
    kube::Api::<ValidatingAdmissionPolicyBinding>::all(namespace.admin())
        .delete(&name, &Default::default())
        .await
        .unwrap();
    kube::Api::<ValidatingAdmissionPolicy>::all(namespace.admin()).delete(&name, &Default::default()).await.unwrap();
}

fn ended(runs: &[Value]) -> bool {
    !runs.is_empty() && runs.iter().all(|run| run["state"] == "Succeeded" || run["state"] == "Failed")
}

#[tokio::test]
async fn a_job_and_a_cronjob_are_deployed_run_and_deleted_leaving_nothing() {
    let deployer = Deployer::start("deploy").await;
    let response = deployer.deploy(&spec("report", &image::exit(0), None)).await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("etag").is_some(), "a deployment has a version");
    assert_eq!(response.headers()["location"], "/v1/deployments/report");
    let response = deployer.deploy(&spec("nightly", &image::exit(0), Some("* * * * *"))).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(body["nextRun"].is_string(), "{body}");

    // As kubectl sees them.
    let job = deployer.namespace.api::<Job>().get("report").await.unwrap();
    let labels = job.metadata.labels.clone().unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "job-orchestrator");
    assert_eq!(labels["job-orchestrator.io/owner"], "jane");
    let cron_job = deployer.namespace.api::<CronJob>().get("nightly").await.unwrap();
    let cron_spec = cron_job.spec.unwrap();
    assert_eq!((cron_spec.schedule.as_str(), cron_spec.time_zone.as_deref()), ("* * * * *", Some("Europe/Paris")));
    assert_eq!(cron_spec.suspend, Some(false));
    assert_eq!(deployer.secrets_of("nightly").await, ["nightly.v1"]);

    // The Job runs; the CronJob fires at the next minute (the controller makes the Job, kwok runs it).
    let runs = deployer
        .runs_until("report", 60, "the Job's run succeeds", |runs| {
            runs.first().is_some_and(|run| run["state"] == "Succeeded")
        })
        .await;
    assert_eq!(runs[0]["exitCode"], 0);
    let log = deployer.server.get("/v1/deployments/report/logs").await;
    assert_eq!(log.status(), 200);
    assert!(log.text().await.unwrap().contains("kwok"), "the log kwok serves for every container");
    let runs = deployer
        .runs_until("nightly", 90, "the CronJob fires and its run succeeds", |runs| {
            runs.iter().any(|run| run["state"] == "Succeeded" && run["manual"] == false)
        })
        .await;
    assert_eq!(runs[0]["triggeredBy"], "jane");
    let (_, list) = deployer.get("/v1/deployments").await;
    let names: Vec<&str> =
        list["deployments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["nightly", "report"]);
    assert!(list["deployments"][0]["lastRun"].is_string(), "{list}");
    // The list's filters and pages.
    for (query, expected, total) in [
        ("type=Job", vec!["report"], 1),
        ("type=CronJob&state=Active&owner=jane", vec!["nightly"], 1),
        ("owner=nobody", vec![], 0),
        ("limit=1&offset=1", vec!["report"], 2),
    ] {
        let (_, page) = deployer.get(&format!("/v1/deployments?{query}")).await;
        let names: Vec<&str> =
            page["deployments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!((names, page["total"].as_u64().unwrap()), (expected, total), "{query}");
    }
    assert_eq!(deployer.get("/v1/deployments?limit=501").await.0, 400);
    assert_eq!(deployer.get("/v1/deployments?state=Sleeping").await.0, 400);

    // Deleted with background propagation: the garbage collector takes the runs and their pods.
    for name in ["report", "nightly"] {
        let deleted =
            deployer.call(reqwest::Method::DELETE, &format!("/v1/deployments/{name}"), "jane").send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(deployer.get(&format!("/v1/deployments/{name}")).await.0, 404);
    }
    let everything = ListParams::default().labels("app.kubernetes.io/managed-by=job-orchestrator");
    wait_until(
        &deployer.namespace.api::<Job>(),
        &everything,
        "no Job left",
        Duration::from_secs(60),
        <[Job]>::is_empty,
    )
    .await;
    wait_until(
        &deployer.namespace.api::<Pod>(),
        &everything,
        "no pod left",
        Duration::from_secs(60),
        <[Pod]>::is_empty,
    )
    .await;
    assert!(deployer.namespace.api::<Secret>().list(&everything).await.unwrap().items.is_empty(), "no Secret left");
    deployer.stop().await;
}

#[tokio::test]
async fn each_way_a_run_ends_reaches_the_job_history_with_its_status() {
    let deployer = Deployer::start("outcomes").await;
    let mut deadline = spec("too-long", &image::sleep(600), None);
    deadline["activeDeadlineSeconds"] = json!(3);
    let cases = [
        (spec("succeeds", &image::exit(0), None), "SUCCESS", Some(0), None),
        (spec("exits-2", &image::exit(2), None), "EXECUTION_ERROR", Some(2), Some("exited with code 2")),
        (spec("oom", image::OOM, None), "KILLED", Some(137), Some("out of memory (OOMKilled)")),
        (
            spec("no-image", image::PULL_ERROR, None),
            "FAILED_SETUP_EXECUTION_ENVIRONMENT",
            None,
            Some("cannot start: runner: "),
        ),
        (deadline, "KILLED", None, Some("deadline exceeded")),
    ];
    for (spec, ..) in &cases {
        assert_eq!(deployer.deploy(spec).await.status(), 201, "{spec}");
    }
    // A Job the platform did not make runs beside them: it is none of the history's business.
    let foreign: Job = serde_json::from_value(json!({
        "metadata": {"name": "theirs", "labels": {"job-orchestrator.io/deployment": "succeeds"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "runner", "image": image::exit(0)}]}}},
    }))
    .unwrap();
    deployer.namespace.api::<Job>().create(&PostParams::default(), &foreign).await.unwrap();
    for (spec, _, exit_code, reason) in &cases {
        let name = spec["name"].as_str().unwrap();
        let runs = deployer.runs_until(name, 90, &format!("the run of {name} ends"), ended).await;
        let run = &runs[0];
        assert_eq!(run["exitCode"], exit_code.map_or(Value::Null, |code| json!(code)), "{name}: {run}");
        match reason {
            Some(reason) => {
                assert!(run["failureReason"].as_str().is_some_and(|why| why.contains(reason)), "{name}: {run}")
            }
            None => assert_eq!(run["state"], "Succeeded", "{name}: {run}"),
        }
    }
    let events = read_topic(&deployer.topic).await;
    assert!(!events.iter().any(|(key, _)| key.starts_with("theirs")), "no event of a Job the platform did not make");
    for (spec, status, exit_code, _) in &cases {
        let name = spec["name"].as_str().unwrap();
        let finished: Vec<&Value> = events
            .iter()
            .map(|(_, event)| event)
            .filter(|event| {
                event["job"]["groupId"] == name
                    || event["jobId"].as_str().is_some_and(|id| id.starts_with(&format!("{name}-")))
            })
            .filter(|event| event["status"] == "FINISHED")
            .collect();
        assert_eq!(finished.len(), 1, "{name}: one FINISHED: {finished:#?}");
        assert_eq!(finished[0]["job"]["exitStatus"], *status, "{name}");
        if let Some(code) = exit_code {
            assert_eq!(finished[0]["job"]["exitCode"], *code, "{name}");
        }
        let scheduled =
            events.iter().find(|(key, event)| *key == finished[0]["jobId"] && event["status"] == "SCHEDULED");
        let scheduled = scheduled.unwrap_or_else(|| panic!("{name}: no SCHEDULED"));
        assert_eq!(scheduled.1["job"]["groupId"], name);
        assert_eq!(scheduled.1["job"]["jobOwner"], "jane");
        assert_eq!(scheduled.1["job"]["jobType"], "Job");
    }
    deployer.stop().await;
}

#[tokio::test]
async fn a_cronjob_is_suspended_resumed_run_by_hand_changed_and_rolled_back() {
    let deployer = Deployer::start("control").await;
    let mut nightly = spec("nightly", &image::exit(0), Some("30 2 * * *"));
    nightly["runner"]["env"] = json!([{"name": "MODE", "value": "full"}]);
    assert_eq!(deployer.deploy(&nightly).await.status(), 201);
    let api = deployer.namespace.api::<CronJob>();

    let suspended = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/suspend", "joe")
        .json(&json!({"reason": "month-end freeze"}))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), 200);
    let suspended: Value = suspended.json().await.unwrap();
    assert_eq!(
        (suspended["suspended"].clone(), suspended["suspendReason"].clone(), suspended["state"].clone()),
        (json!(true), json!("month-end freeze"), json!("Inactive"))
    );
    assert_eq!(api.get("nightly").await.unwrap().spec.unwrap().suspend, Some(true));
    let resumed: Value = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/resume", "joe")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((resumed["suspended"].clone(), resumed["state"].clone()), (json!(false), json!("Active")));
    assert_eq!(api.get("nightly").await.unwrap().spec.unwrap().suspend, Some(false));

    let run = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/run", "maria")
        .json(&json!({"env": [{"name": "MODE", "value": "rerun"}], "args": ["--day", "2026-11-20"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 201);
    let run: Value = run.json().await.unwrap();
    let job = deployer.namespace.api::<Job>().get(run["name"].as_str().unwrap()).await.unwrap();
    let runner = &job.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(runner.args.clone().unwrap(), ["--day", "2026-11-20"]);
    let env = runner.env.clone().unwrap();
    assert_eq!(
        env.iter().filter(|var| var.name == "MODE").map(|var| var.value.clone().unwrap()).collect::<Vec<_>>(),
        ["rerun"]
    );
    let runs = deployer.runs_until("nightly", 60, "the run started by hand succeeds", ended).await;
    assert_eq!((runs[0]["manual"].clone(), runs[0]["triggeredBy"].clone()), (json!(true), json!("maria")));

    let mut changed = nightly.clone();
    changed["resource"]["version"] = json!("2.1.0");
    let response =
        deployer.call(reqwest::Method::PUT, "/v1/deployments/nightly", "joe").json(&changed).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["revision"].clone(), body["owner"].clone(), body["deployedBy"].clone()),
        (json!(2), json!("jane"), json!("joe"))
    );
    let response = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/revisions/1/rollback", "joe")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["revision"].clone(), body["spec"]["resource"]["version"].clone()), (json!(3), json!("2.0.0")));
    let (_, revisions) = deployer.get("/v1/deployments/nightly/revisions").await;
    let changes: Vec<(u64, &str)> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_u64().unwrap(), r["change"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [(3, "rollback to 1"), (2, "changed"), (1, "deployed")]);
    assert_eq!(deployer.get("/v1/deployments/nightly/revisions/9/rollback").await.0, 405, "a GET is no rollback");
    let missing = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/revisions/9/rollback", "joe")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "revision_not_found");
    deployer.stop().await;
}

#[tokio::test]
async fn a_change_over_a_stale_version_is_refused_with_412() {
    let deployer = Deployer::start("etag").await;
    let nightly = spec("nightly", &image::exit(0), Some("30 2 * * *"));
    let created = deployer.deploy(&nightly).await;
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let read = deployer.server.get("/v1/deployments/nightly").await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag, "reading gives the same version");

    // Ana changes it over the version she read; Joe's change over the same version is stale.
    let mut ana = nightly.clone();
    ana["description"] = json!("Ana's");
    let response = deployer
        .call(reqwest::Method::PUT, "/v1/deployments/nightly", "ana")
        .header("If-Match", &etag)
        .json(&ana)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let newer = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(newer, etag);
    let mut joe = nightly.clone();
    joe["description"] = json!("Joe's");
    let response = deployer
        .call(reqwest::Method::PUT, "/v1/deployments/nightly", "joe")
        .header("If-Match", &etag)
        .json(&joe)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "precondition_failed");
    let (_, detail) = deployer.get("/v1/deployments/nightly").await;
    assert_eq!(detail["description"], "Ana's", "Joe's stale change wrote nothing");
    assert_eq!(deployer.secrets_of("nightly").await, ["nightly.v1", "nightly.v2"]);
    for (method, path) in [
        (reqwest::Method::POST, "/v1/deployments/nightly/suspend"),
        (reqwest::Method::POST, "/v1/deployments/nightly/resume"),
        (reqwest::Method::POST, "/v1/deployments/nightly/revisions/1/rollback"),
        (reqwest::Method::DELETE, "/v1/deployments/nightly"),
    ] {
        let response = deployer.call(method, path, "joe").header("If-Match", &etag).send().await.unwrap();
        assert_eq!(response.status(), 412, "{path}");
    }
    // Runs of the CronJob change its status, not its version.
    let run = deployer.call(reqwest::Method::POST, "/v1/deployments/nightly/run", "joe").send().await.unwrap();
    assert_eq!(run.status(), 201);
    deployer.runs_until("nightly", 60, "the run ends", ended).await;
    let suspended = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/suspend", "joe")
        .header("If-Match", &newer)
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), 200, "the version is that of the spec and state, not of the runs");
    deployer.stop().await;
}

#[tokio::test]
async fn a_dry_run_shows_what_kubernetes_would_store_and_writes_nothing() {
    let deployer = Deployer::start("dry-run").await;
    refuse_denied_images(&deployer.namespace).await;
    let mut full = crate::fixtures::full_spec();
    full["runner"]["image"] = json!(image::exit(0));
    let response =
        deployer.call(reqwest::Method::POST, "/v1/deployments?dryRun=true", "jane").json(&full).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let kinds: Vec<&str> = report["objects"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Secret", "Secret", "CronJob"]);
    let credentials = &report["objects"][1];
    assert_eq!(credentials["metadata"]["name"], "sales-etl.v1-smb-0");
    assert_eq!(credentials["data"]["password"], "<redacted>");
    assert!(
        !report.to_string().contains("czNjcjN0") && !report.to_string().contains("s3cr3t"),
        "no credential in a dry run"
    );
    // Defaults the API server fills in show: it is the server's own answer.
    assert!(
        report["objects"][2]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"].is_string(),
        "{report}"
    );
    assert_eq!(report["spec"]["mounts"][0]["secretName"], "sales-etl.v1-smb-0");
    assert!(deployer.namespace.api::<CronJob>().get_opt("sales-etl").await.unwrap().is_none(), "nothing written");
    assert!(deployer.secrets_of("sales-etl").await.is_empty(), "no Secret written");
    // What the API server refuses (here an admission policy of the cluster) comes back at the
    // spec's field.
    let mut refused = full.clone();
    refused["runner"]["image"] = json!(DENIED);
    let response = deployer
        .call(reqwest::Method::POST, "/v1/deployments?dryRun=true", "jane")
        .json(&refused)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rejected_by_kubernetes", "{body}");
    assert!(body["message"].as_str().unwrap().contains("not allowed in this cluster"), "{body}");
    allow_denied_images(&deployer.namespace).await;
    // A field the API server names in its refusal is named as the spec names it: the API server's
    // own answer for the CronJob with a Secret key too long (the deployer refuses it itself).
    let mut cron_job: CronJob = serde_json::from_value(report["objects"][2].clone()).unwrap();
    cron_job.metadata = kube::api::ObjectMeta { name: Some("probe".to_owned()), ..Default::default() };
    let env =
        cron_job.spec.as_mut().unwrap().job_template.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers
            [0]
        .env
        .as_mut()
        .unwrap();
    env[3].value_from.as_mut().unwrap().secret_key_ref.as_mut().unwrap().key = "k".repeat(300);
    let refused = deployer
        .namespace
        .api::<CronJob>()
        .create(&PostParams { dry_run: true, ..Default::default() }, &cron_job)
        .await;
    let Err(kube::Error::Api(status)) = refused else {
        panic!("the API server takes a key of 300 characters: {refused:?}")
    };
    let problems = job_deployer::kubernetes::problems_of(&status);
    assert_eq!(
        problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
        ["runner.env[1].secret.key"],
        "{status:?}"
    );
    deployer.stop().await;
}

#[tokio::test]
async fn bug_01_a_name_held_by_an_object_the_platform_did_not_make_is_refused_and_left_alone() {
    let deployer = Deployer::start("bug-01").await;
    let foreign_cron: CronJob = serde_json::from_value(json!({
        "metadata": {"name": "etl"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "theirs", "image": image::exit(0)}]}}}}},
    }))
    .unwrap();
    let foreign_job: Job = serde_json::from_value(json!({
        "metadata": {"name": "report"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "theirs", "image": image::sleep(600)}]}}},
    }))
    .unwrap();
    let before_cron = deployer.namespace.api::<CronJob>().create(&PostParams::default(), &foreign_cron).await.unwrap();
    let before_job = deployer.namespace.api::<Job>().create(&PostParams::default(), &foreign_job).await.unwrap();

    let mut etl = spec("etl", &image::exit(0), Some("* * * * *"));
    etl["mounts"] = json!([{"source": "//files/share", "mountPath": "/mnt/share", "credentials": {"username": "u", "password": "p"}}]);
    for (spec, kind, name) in [(etl, "CronJob", "etl"), (spec("report", &image::exit(0), None), "Job", "report")] {
        let response = deployer.deploy(&spec).await;
        assert_eq!(response.status(), 409, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "name_taken");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(kind) && message.contains(name) && message.contains("not made by the platform"),
            "{message}"
        );
        assert_eq!(deployer.get(&format!("/v1/deployments/{name}")).await.0, 404, "not a deployment");
        let deleted =
            deployer.call(reqwest::Method::DELETE, &format!("/v1/deployments/{name}"), "jane").send().await.unwrap();
        assert_eq!(deleted.status(), 404, "not ours to delete");
    }
    let after_cron = deployer.namespace.api::<CronJob>().get("etl").await.unwrap();
    assert_eq!(
        after_cron.metadata.resource_version, before_cron.metadata.resource_version,
        "the foreign CronJob was not written"
    );
    assert_eq!(after_cron.spec.unwrap().schedule, "*/5 * * * *");
    let after_job = deployer.namespace.api::<Job>().get("report").await.unwrap();
    assert_eq!(after_job.metadata.uid, before_job.metadata.uid, "the foreign Job is still there");
    let secrets = deployer.namespace.api::<Secret>().list(&ListParams::default()).await.unwrap().items;
    let ours: Vec<_> = secrets
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .filter(|n| n.starts_with("etl") || n.starts_with("report"))
        .collect();
    assert!(ours.is_empty(), "no Secret written: {ours:?}");
    deployer.stop().await;
}

#[tokio::test]
async fn bug_02_a_change_the_api_server_refuses_leaves_a_job_deployment_as_it_was() {
    let deployer = Deployer::start("bug-02").await;
    refuse_denied_images(&deployer.namespace).await;
    assert_eq!(deployer.deploy(&spec("report", &image::sleep(600), None)).await.status(), 201);
    let before = deployer.namespace.api::<Job>().get("report").await.unwrap();
    // The cluster's admission refuses it; the deployer's own checks pass.
    let refused = spec("report", DENIED, None);
    let response =
        deployer.call(reqwest::Method::PUT, "/v1/deployments/report", "jane").json(&refused).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status.as_u16(), body["code"].as_str()), (400, Some("rejected_by_kubernetes")), "{body}");
    let after = deployer.namespace.api::<Job>().get("report").await.unwrap();
    assert_eq!(after.metadata.uid, before.metadata.uid, "the Job was neither deleted nor replaced");
    let (status, detail) = deployer.get("/v1/deployments/report").await;
    assert_eq!((status, detail["revision"].clone()), (200, json!(1)));
    assert_eq!(deployer.secrets_of("report").await, ["report.v1"], "no revision recorded");
    assert!(body["message"].as_str().unwrap().contains("not allowed in this cluster"), "{body}");
    allow_denied_images(&deployer.namespace).await;
    deployer.stop().await;
}

#[tokio::test]
async fn bug_03_suspension_is_state_not_spec_across_changes_and_exports() {
    let deployer = Deployer::start("bug-03").await;
    let nightly = spec("nightly", &image::exit(0), Some("30 2 * * *"));
    assert_eq!(deployer.deploy(&nightly).await.status(), 201);
    let suspend = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/suspend", "jane")
        .json(&json!({"reason": "freeze"}))
        .send()
        .await
        .unwrap();
    assert_eq!(suspend.status(), 200);
    // The UI saves the spec it read, while suspended.
    let (_, detail) = deployer.get("/v1/deployments/nightly").await;
    assert!(detail["spec"]["schedule"].get("suspend").is_none(), "no suspension in the spec: {detail}");
    let saved = deployer
        .call(reqwest::Method::PUT, "/v1/deployments/nightly", "jane")
        .json(&detail["spec"])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(
        (saved["suspended"].clone(), saved["suspendReason"].clone()),
        (json!(true), json!("freeze")),
        "still suspended, for the same reason"
    );
    let resumed: Value = deployer
        .call(reqwest::Method::POST, "/v1/deployments/nightly/resume", "jane")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["suspended"], false);
    // Saved again once resumed, it stays resumed; the export is not paused.
    let saved: Value = deployer
        .call(reqwest::Method::PUT, "/v1/deployments/nightly", "jane")
        .json(&resumed["spec"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["suspended"], false);
    assert_eq!(deployer.namespace.api::<CronJob>().get("nightly").await.unwrap().spec.unwrap().suspend, Some(false));
    let dag = deployer.server.get("/v1/deployments/nightly/airflow").await.text().await.unwrap();
    assert!(dag.contains("is_paused_upon_creation=False"), "{dag}");
    // A spec that still says `suspend` is refused with the field named, not obeyed.
    let mut old_client = nightly.clone();
    old_client["schedule"]["suspend"] = json!(true);
    let refused =
        deployer.call(reqwest::Method::PUT, "/v1/deployments/nightly", "jane").json(&old_client).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("suspend"));
    deployer.stop().await;
}

#[tokio::test]
async fn bug_04_a_refused_or_lost_change_writes_no_credentials() {
    let deployer = Deployer::start("bug-04").await;
    refuse_denied_images(&deployer.namespace).await;
    let mounted = |name: &str, password: &str| {
        let mut spec = spec(name, &image::exit(0), Some("30 2 * * *"));
        spec["mounts"] = json!([{"source": "//files/share", "mountPath": "/mnt/share", "credentials": {"username": "svc", "password": password}}]);
        spec
    };
    // A create the API server refuses leaves no Secret behind.
    let mut refused = mounted("refused", "first");
    refused["runner"]["image"] = json!(DENIED);
    assert_eq!(deployer.deploy(&refused).await.status(), 400);
    assert!(deployer.secrets_of("refused").await.is_empty(), "nothing written");

    // A refused change does not touch the live revision's credentials.
    assert_eq!(deployer.deploy(&mounted("share", "first")).await.status(), 201);
    let password = |secret: Secret| String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap();
    let live = || async { deployer.namespace.api::<Secret>().get("share.v1-smb-0").await.unwrap() };
    let mut change = mounted("share", "second");
    change["runner"]["image"] = json!(DENIED);
    let response =
        deployer.call(reqwest::Method::PUT, "/v1/deployments/share", "jane").json(&change).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(password(live().await), "first");
    assert_eq!(deployer.secrets_of("share").await, ["share.v1", "share.v1-smb-0"]);

    // Of two concurrent changes over the same version, the one answered 409 wrote nothing: the
    // winning revision holds the winner's password.
    let etag = deployer.server.get("/v1/deployments/share").await.headers()["etag"].to_str().unwrap().to_owned();
    let send = |password: &'static str| {
        let request = deployer
            .call(reqwest::Method::PUT, "/v1/deployments/share", "jane")
            .header("If-Match", &etag)
            .json(&mounted("share", password));
        async move { request.send().await.unwrap() }
    };
    let (a, b) = tokio::join!(send("from-a"), send("from-b"));
    let (winner, loser) = if a.status() == 200 { (("from-a", a), b) } else { (("from-b", b), a) };
    assert_eq!(winner.1.status(), 200);
    assert!(matches!(loser.status().as_u16(), 409 | 412), "{}", loser.status());
    let revision: Value = winner.1.json().await.unwrap();
    let secret_name = revision["spec"]["mounts"][0]["secretName"].as_str().unwrap().to_owned();
    assert_eq!(password(deployer.namespace.api::<Secret>().get(&secret_name).await.unwrap()), winner.0);
    assert_eq!(deployer.secrets_of("share").await, ["share.v1", "share.v1-smb-0", "share.v2", "share.v2-smb-0"]);
    allow_denied_images(&deployer.namespace).await;
    deployer.stop().await;
}

#[tokio::test]
async fn bug_05_a_rollback_restores_a_deployment_that_can_run() {
    let deployer = Deployer::start("bug-05").await;
    let mut with_share = spec("share", &image::exit(0), Some("30 2 * * *"));
    with_share["mounts"] = json!([{"source": "//files/share", "mountPath": "/mnt/share", "credentials": {"username": "svc", "password": "pw"}}]);
    assert_eq!(deployer.deploy(&with_share).await.status(), 201);
    // A change removes the mount; a rollback to revision 1 needs its credentials again.
    let without = spec("share", &image::exit(0), Some("30 2 * * *"));
    assert_eq!(
        deployer
            .call(reqwest::Method::PUT, "/v1/deployments/share", "jane")
            .json(&without)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let response = deployer
        .call(reqwest::Method::POST, "/v1/deployments/share/revisions/1/rollback", "jane")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cron_job = deployer.namespace.api::<CronJob>().get("share").await.unwrap();
    let pod = cron_job.spec.unwrap().job_template.spec.unwrap().template.spec.unwrap();
    let secret = pod.volumes.unwrap()[1].csi.clone().unwrap().node_publish_secret_ref.unwrap().name;
    let found = deployer.namespace.api::<Secret>().get_opt(&secret).await.unwrap();
    let found =
        found.unwrap_or_else(|| panic!("the rolled-back CronJob mounts the Secret {secret}, which does not exist"));
    assert_eq!(String::from_utf8(found.data.unwrap()["username"].0.clone()).unwrap(), "svc");
    deployer.stop().await;
}

#[tokio::test]
async fn bug_06_logs_say_why_there_is_none_yet() {
    let deployer = Deployer::start("bug-06").await;
    assert_eq!(deployer.deploy(&spec("no-image", image::PULL_ERROR, None)).await.status(), 201);
    deployer
        .runs_until("no-image", 60, "the pod waits on its image", |runs| {
            runs.first().is_some_and(|run| run["containerState"] == "Failed")
        })
        .await;
    let response = deployer.server.get("/v1/deployments/no-image/logs").await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("log_not_ready")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("runner") && message.contains("ImagePull"), "{message}");

    // A pod no node can take (a node selector no kwok node has) is not on a node.
    let mut unschedulable: Job = serde_json::from_value(json!({
        "metadata": {"name": "nowhere", "labels": {"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "nowhere", "job-orchestrator.io/role": "workload"}},
        "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "nowhere"}},
            "spec": {"restartPolicy": "Never", "nodeSelector": {"no-such": "node"}, "containers": [{"name": "runner", "image": image::exit(0)}]}}},
    }))
    .unwrap();
    unschedulable.metadata.annotations = Some([("job-orchestrator.io/revision".to_owned(), "1".to_owned())].into());
    deployer.namespace.api::<Job>().create(&PostParams::default(), &unschedulable).await.unwrap();
    wait_until(
        &deployer.namespace.api::<Pod>(),
        &ListParams::default().labels("job-name=nowhere"),
        "the pod",
        Duration::from_secs(30),
        |pods| !pods.is_empty(),
    )
    .await;
    let response = deployer.server.get("/v1/deployments/nowhere/logs").await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("log_not_ready")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("not on a node"), "{body}");
    deployer.stop().await;
}

#[tokio::test]
async fn bug_07_pods_pass_the_restricted_pod_security_level_and_a_refused_pod_ends_the_run() {
    let deployer = Deployer::start("bug-07").await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(deployer.namespace.admin());
    let label = json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    namespaces
        .patch(deployer.namespace.name(), &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&label))
        .await
        .unwrap();
    assert_eq!(deployer.deploy(&spec("secure", &image::exit(0), None)).await.status(), 201);
    let runs = deployer.runs_until("secure", 60, "the run of a restricted pod", ended).await;
    assert_eq!(runs[0]["state"], "Succeeded", "{runs:#?}");

    // A runner asking for root is refused by the deployer; one whose pod Kubernetes refuses to
    // make ends with Kubernetes' reason.
    let mut root = spec("root", &image::exit(0), None);
    root["runner"]["runAsUser"] = json!(0);
    let response = deployer.deploy(&root).await;
    assert_eq!(response.status(), 400);
    let refused_pod: Job = serde_json::from_value(json!({
        "metadata": {"name": "privileged", "labels": {"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "privileged", "job-orchestrator.io/role": "workload"},
            "annotations": {"job-orchestrator.io/revision": "1", "job-orchestrator.io/deployed-by": "jane"}},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "privileged"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "runner", "image": image::exit(0)}]}}},
    }))
    .unwrap();
    deployer.namespace.api::<Job>().create(&PostParams::default(), &refused_pod).await.unwrap();
    let runs = deployer.runs_until("privileged", 90, "the run whose pod is refused ends", ended).await;
    let reason = runs[0]["failureReason"].as_str().unwrap_or_default();
    assert!(reason.contains("cannot create its pod") && reason.contains("PodSecurity"), "{runs:#?}");
    let events = read_topic(&deployer.topic).await;
    let finished = events.iter().find(|(key, event)| key.starts_with("privileged-") && event["status"] == "FINISHED");
    let finished = finished.unwrap_or_else(|| panic!("no FINISHED for the refused run: {events:#?}"));
    assert_eq!(finished.1["job"]["exitStatus"], "FAILED_SETUP_EXECUTION_ENVIRONMENT");
    deployer.stop().await;
}

#[tokio::test]
async fn bug_08_two_runs_started_in_the_same_second_both_run() {
    let deployer = Deployer::start("bug-08").await;
    assert_eq!(deployer.deploy(&spec("nightly", &image::exit(0), Some("30 2 * * *"))).await.status(), 201);
    let start = || deployer.call(reqwest::Method::POST, "/v1/deployments/nightly/run", "jane").send();
    let (first, second) = tokio::join!(start(), start());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (201, 201));
    let (first, second): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_ne!(first["name"], second["name"]);
    let runs = deployer
        .runs_until("nightly", 60, "both runs succeed", |runs| {
            runs.len() == 2 && runs.iter().all(|run| run["state"] == "Succeeded")
        })
        .await;
    assert_eq!(runs.len(), 2);
    deployer.stop().await;
}

#[tokio::test]
async fn bug_09_the_longest_description_the_deployer_accepts_reaches_the_history() {
    let deployer = Deployer::start("bug-09").await;
    let mut described = spec("described", &image::exit(0), None);
    described["description"] = json!("é".repeat(750));
    assert_eq!(deployer.deploy(&described).await.status(), 201, "1500 bytes: the most the history keeps");
    let mut too_long = spec("too-long", &image::exit(0), None);
    too_long["description"] = json!("é".repeat(751));
    let response = deployer.deploy(&too_long).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["problems"][0]["field"], "description");
    assert!(body["problems"][0]["message"].as_str().unwrap().contains("1500 bytes"), "{body}");
    deployer.runs_until("described", 60, "the run ends", ended).await;
    let events = read_topic(&deployer.topic).await;
    let scheduled = events.iter().find(|(_, event)| event["status"] == "SCHEDULED").expect("a SCHEDULED event");
    // The run's first event carries the description whole, within what the history's consumer
    // keeps of a text (the platform's one limit, beyond which the consumer refuses the event).
    assert_eq!(scheduled.1["job"]["description"], described["description"]);
    assert_eq!(scheduled.1["job"]["description"].as_str().unwrap().len(), common::event::MAX_TEXT_BYTES);
    deployer.stop().await;
}

#[tokio::test]
async fn bug_10_readiness_names_the_permission_the_deployers_account_lacks() {
    let deployer = Deployer::start("bug-10").await;
    let ready = deployer.server.get("/readyz").await;
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    // A Role without one permission: the deployer is not ready, and says which.
    let roles: kube::Api<k8s_openapi::api::rbac::v1::Role> = deployer.namespace.api();
    let mut role = roles.get("job-deployer").await.unwrap();
    role.rules
        .as_mut()
        .unwrap()
        .retain(|rule| rule.resources.as_ref().is_none_or(|r| !r.contains(&"cronjobs/finalizers".to_owned())));
    role.metadata.managed_fields = None;
    roles.replace("job-deployer", &PostParams::default(), &role).await.unwrap();
    let deployer_ready = |_: ()| async {
        let server = start_deployer(&deployer.namespace, &deployer.topic).await;
        let ready = server.get("/readyz").await;
        let status = ready.status();
        let body: Value = ready.json().await.unwrap();
        server.stop().await;
        (status, body)
    };
    let (status, body) = deployer_ready(()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["checks"]["kubernetes"].as_str().unwrap().contains("update cronjobs/finalizers.batch"), "{body}");
    // No Role at all.
    roles.delete("job-deployer", &Default::default()).await.unwrap();
    let (status, body) = deployer_ready(()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["checks"]["kubernetes"].as_str().unwrap().contains("get cronjobs.batch"), "{body}");
    deployer.stop().await;
}

#[tokio::test]
async fn bug_11_values_kubernetes_reads_otherwise_are_refused_with_the_reason() {
    let deployer = Deployer::start("bug-11").await;
    let cases = [
        ("activeDeadlineSeconds", json!(10_000_000_000_i64), "activeDeadlineSeconds", "nanoseconds"),
        ("schedule.startingDeadlineSeconds", json!(5), "schedule.startingDeadlineSeconds", "10 s"),
        ("schedule.cron", json!("0 0 30 2 *"), "schedule.cron", "never run"),
        ("schedule.cron", json!("0 0 * * 7"), "schedule.cron", "Sunday is 0"),
    ];
    for (field, value, expected, why) in cases {
        let mut case = spec("odd", &image::exit(0), Some("30 2 * * *"));
        let mut target = &mut case;
        let parts: Vec<&str> = field.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            target = &mut target[*part];
        }
        target[parts[parts.len() - 1]] = value.clone();
        let response = deployer.deploy(&case).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{field}={value}: {body}");
        let problem = body["problems"].as_array().unwrap().iter().find(|p| p["field"] == expected);
        let problem = problem.unwrap_or_else(|| panic!("{field}={value}: {body}"));
        assert!(problem["message"].as_str().unwrap().contains(why), "{field}={value}: {problem}");
    }
    // A suspension whose body cannot be read suspends nothing.
    assert_eq!(deployer.deploy(&spec("odd", &image::exit(0), Some("30 2 * * *"))).await.status(), 201);
    for body in ["not json", "{\"reason\": 3}", "{\"reason\": \"x\", \"typo\": 1}"] {
        let response = deployer
            .call(reqwest::Method::POST, "/v1/deployments/odd/suspend", "jane")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_body");
    }
    assert_eq!(deployer.get("/v1/deployments/odd").await.1["suspended"], false);
    assert_eq!(deployer.namespace.api::<CronJob>().get("odd").await.unwrap().spec.unwrap().suspend, Some(false));
    let _ = named;
    deployer.stop().await;
}

/// The Role the product ships grants exactly what the deployer's code lists, and the API server,
/// asked as the ServiceAccount, agrees (`kubectl auth can-i`).
#[tokio::test]
async fn the_shipped_role_grants_exactly_the_deployers_calls() {
    use job_deployer::kubernetes::permissions::NEEDED;
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes/job-deployer-rbac.yaml");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(file).unwrap()).unwrap();
    let roles: Vec<&Value> = documents.iter().filter(|document| document["kind"] == "Role").collect();
    assert_eq!(roles.len(), 1, "one Role");
    assert!(
        documents.iter().all(|document| document["metadata"].get("namespace").is_none()),
        "no namespace named: it goes where it is applied"
    );
    let mut granted = std::collections::BTreeSet::new();
    for rule in roles[0]["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.insert((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    let needed: std::collections::BTreeSet<(String, String, String)> = NEEDED
        .iter()
        .flat_map(|p| p.verbs.iter().map(move |verb| (p.group.to_owned(), p.resource.to_owned(), (*verb).to_owned())))
        .collect();
    assert_eq!(granted, needed, "the Role grants exactly what the deployer calls");

    let namespace = TestNamespace::create("role").await;
    let cluster = job_deployer::Cluster::new(namespace.deployer(), namespace.name().to_owned());
    for (group, resource, verb) in &needed {
        assert!(cluster.may(group, resource, verb).await.unwrap(), "the ServiceAccount may {verb} {resource}");
    }
    for (group, resource, verb) in [
        ("", "pods", "delete"),
        ("", "secrets", "update"),
        ("batch", "jobs", "update"),
        ("", "configmaps", "get"),
        ("apps", "deployments", "create"),
    ] {
        assert!(!cluster.may(group, resource, verb).await.unwrap(), "the ServiceAccount may not {verb} {resource}");
    }
    namespace.delete().await;
}

/// `follow=true` streams a run's log (kwok never ends a followed log, so the read is bounded).
#[tokio::test]
async fn a_runs_log_is_followed() {
    let deployer = Deployer::start("follow").await;
    assert_eq!(deployer.deploy(&spec("report", &image::sleep(30), None)).await.status(), 201);
    deployer
        .runs_until("report", 60, "the run runs", |runs| runs.first().is_some_and(|run| run["state"] == "Running"))
        .await;
    let mut response = deployer.server.get("/v1/deployments/report/logs?follow=true").await;
    assert_eq!(response.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await;
    let chunk = first.expect("a line within 10 s").unwrap().expect("a chunk");
    assert!(String::from_utf8_lossy(&chunk).contains("kwok"), "{chunk:?}");
    drop(response);
    deployer.stop().await;
}

/// Issue 20 on Kubernetes: when a run's containers end, the deployer reads their logs through the
/// API server (kwok serves every container the same log) while the pod is there, publishes them on
/// the logs topic for the history, and records each on the run's Job, so that a restarted deployer
/// does not send them again.
#[tokio::test]
async fn an_ended_runs_container_logs_go_to_the_history_once() {
    let deployer = Deployer::start("archive").await;
    assert_eq!(deployer.deploy(&spec("archived", &image::exit(0), None)).await.status(), 201);
    let runs = deployer.runs_until("archived", 90, "the run ends", ended).await;
    let run = runs[0]["name"].as_str().unwrap().to_owned();
    let recorded = |job: &Job| {
        let annotations = job.metadata.annotations.clone().unwrap_or_default();
        ["fetch-1", "runner-1"].map(|log| annotations.get(&format!("logs.job-orchestrator.io/{log}")).cloned())
    };
    let jobs = deployer.namespace.api::<Job>();
    let job = wait_until(&jobs, &named(&run), "both logs recorded on the Job", Duration::from_secs(60), |jobs| {
        !jobs.is_empty() && jobs.iter().all(|job| recorded(job).iter().all(Option::is_some))
    })
    .await;
    let pod = runs[0]["pod"].as_str().unwrap();
    assert_eq!(recorded(&job[0]), [Some(pod.to_owned()), Some(pod.to_owned())]);

    let messages = read_topic(&format!("{}-logs", deployer.topic)).await;
    let mut containers: Vec<&str> = messages
        .iter()
        .filter(|(key, _)| key.starts_with("archived-"))
        .map(|(_, message)| {
            assert_eq!(message["attempt"], 1, "{message}");
            assert!(message["text"].as_str().is_some_and(|text| text.contains("kwok")), "the pod's log: {message}");
            message["container"].as_str().unwrap()
        })
        .collect();
    containers.sort();
    assert_eq!(containers, ["fetch", "runner"], "each container's log once: {messages:#?}");
    deployer.stop().await;
}
