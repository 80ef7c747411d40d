//! The API against a Kubernetes API server stand-in: each test plays the requests the real server
//! would receive, in order, and answers as it would (objects, 404s, 409s, 403s, 5xx, down).

use serde_json::{Value, json};
use service_kit::Role;
use service_kit::testing::TestKeys;

use crate::api_server::{self, ApiServer, list, not_found, status};
use crate::fixtures::{full_spec, job_spec, server};

const CRONJOBS: &str = "/apis/batch/v1/namespaces/jobs/cronjobs";
const JOBS: &str = "/apis/batch/v1/namespaces/jobs/jobs";
const SECRETS: &str = "/api/v1/namespaces/jobs/secrets";
const PODS: &str = "/api/v1/namespaces/jobs/pods";

/// A label selector as kube puts it in a query.
fn selector(more: &str) -> String {
    let selector = format!("app.kubernetes.io/managed-by=job-orchestrator{more}");
    format!("labelSelector={}", form_encode(&selector))
}

fn form_encode(text: &str) -> String {
    text.replace('/', "%2F").replace('=', "%3D").replace(',', "%2C")
}

/// Deploys the full spec (a CronJob with inline credentials) and gives back the stored CronJob.
async fn deploy_cron_job(api: &mut ApiServer, server: &service_kit::testing::TestServer) -> Value {
    let request = server
        .client
        .post(server.url("/v1/deployments"))
        .bearer_auth(TestKeys::token("jane", &[Role::Operator]))
        .json(&full_spec())
        .send();
    let answer = tokio::spawn(request);
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 404, not_found("cronjobs.batch", "sales-etl")).await;
    api.expect("GET", &format!("{JOBS}/sales-etl"), 404, not_found("jobs.batch", "sales-etl")).await;
    let secret = api.expect_apply(&format!("{SECRETS}/sales-etl-smb-0")).await;
    assert_eq!(secret["data"]["password"], "czNjcjN0LXBhNTU=");
    let mut cron_job = api.expect_apply(&format!("{CRONJOBS}/sales-etl")).await;
    assert!(!cron_job.to_string().contains("czNjcjN0LXBhNTU") && !cron_job.to_string().contains("s3cr3t"));
    assert_eq!(cron_job["metadata"]["annotations"]["job-orchestrator.io/revision"], "1");
    assert!(cron_job["metadata"].get("resourceVersion").is_none(), "a new deployment has nothing to compare with");
    let revision = api.expect("POST", &format!("{SECRETS}?"), 201, json!({})).await;
    assert_eq!(revision.body["metadata"]["name"], "sales-etl.v1");
    assert_eq!(revision.body["metadata"]["annotations"]["job-orchestrator.io/deployed-by"], "jane");
    let response = answer.await.unwrap().unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "sales-etl");
    assert_eq!(body["type"], "CronJob");
    assert_eq!(body["owner"], "jane");
    assert_eq!(body["state"], "Active");
    assert_eq!(body["containerState"], "Scheduled");
    assert_eq!(body["schedule"], "30 2 * * 1-5");
    assert_eq!(body["timeZone"], "Europe/Paris");
    assert_eq!(body["revision"], 1);
    assert!(body["nextRun"].is_string());
    assert_eq!(body["spec"]["mounts"][0]["secretName"], "sales-etl-smb-0");
    assert!(body["spec"]["mounts"][0].get("credentials").is_none());
    assert!(!body.to_string().contains("s3cr3t"), "no password in an answer");
    cron_job["metadata"]["uid"] = json!("uid-sales-etl");
    cron_job["metadata"]["resourceVersion"] = json!("2");
    cron_job
}

#[tokio::test]
async fn a_deployment_is_applied_with_its_secrets_and_revision_and_not_deployed_twice() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let cron_job = deploy_cron_job(&mut api, &server).await;

    let again = tokio::spawn(server.client.post(server.url("/v1/deployments")).json(&full_spec()).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job).await;
    let response = again.await.unwrap().unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "deployment_exists");
    api.expect_nothing().await;

    api.expect_nothing().await;
    server.stop().await;
}

#[tokio::test]
async fn a_change_is_a_new_revision_applied_only_over_what_was_read() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let cron_job = deploy_cron_job(&mut api, &server).await;

    // The version changes; the share's credentials are now the Secret of the first revision.
    let mut spec = full_spec();
    spec["resource"]["version"] = json!("1.5.0");
    spec["mounts"][0]["credentials"] = Value::Null;
    spec["mounts"][0]["secretName"] = json!("sales-etl-smb-0");
    let change = tokio::spawn(
        server
            .client
            .put(server.url("/v1/deployments/sales-etl"))
            .bearer_auth(TestKeys::token("joe", &[Role::Operator]))
            .json(&spec)
            .send(),
    );
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job.clone()).await;
    let applied = api.expect_apply(&format!("{CRONJOBS}/sales-etl")).await;
    assert_eq!(applied["metadata"]["resourceVersion"], "2", "applied only over the object that was read");
    assert_eq!(applied["metadata"]["labels"]["app.kubernetes.io/version"], "1.5.0");
    assert_eq!(applied["metadata"]["annotations"]["job-orchestrator.io/revision"], "2");
    assert_eq!(applied["metadata"]["annotations"]["job-orchestrator.io/owner"], "jane", "the owner stays");
    assert_eq!(applied["metadata"]["annotations"]["job-orchestrator.io/deployed-by"], "joe");
    let revision = api.expect("POST", &format!("{SECRETS}?"), 201, json!({})).await;
    assert_eq!(revision.body["metadata"]["name"], "sales-etl.v2");
    let stale = json!({"metadata": {"name": "sales-etl-smb-1"}});
    let kept = json!({"metadata": {"name": "sales-etl-smb-0"}});
    api.expect(
        "GET",
        &format!(
            "{SECRETS}?&{}",
            selector(",job-orchestrator.io/deployment=sales-etl,job-orchestrator.io/role=credentials")
        ),
        200,
        list("PartialObjectMetadata", vec![kept, stale]),
    )
    .await;
    api.expect("DELETE", &format!("{SECRETS}/sales-etl-smb-1?"), 200, json!({})).await;
    api.expect(
        "GET",
        &format!("{PODS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Pod", vec![]),
    )
    .await;
    let response = change.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revision"], 2);
    assert_eq!(body["spec"]["resource"]["version"], "1.5.0");

    // Someone changed it meanwhile: Kubernetes refuses the apply, the caller is told to reload.
    let change = tokio::spawn(server.client.put(server.url("/v1/deployments/sales-etl")).json(&spec).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job).await;
    api.expect(
        "PATCH",
        &format!("{CRONJOBS}/sales-etl?&force=true&fieldManager=job-orchestrator"),
        409,
        status(409, "Conflict", "the object has been modified"),
    )
    .await;
    let response = change.await.unwrap().unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "changed_meanwhile");
    api.expect_nothing().await;
    server.stop().await;
}

#[tokio::test]
async fn kubernetes_failures_are_told_apart_and_never_leak_internals() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let forbidden = tokio::spawn(server.client.get(server.url("/v1/deployments/sales-etl")).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 403, status(403, "Forbidden", "cronjobs.batch \"sales-etl\" is forbidden: User \"system:serviceaccount:jobs:job-deployer\" cannot get resource")).await;
    let response = forbidden.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "kubernetes_forbidden");
    assert!(!body.to_string().contains("system:serviceaccount"), "{body}");

    let overloaded = tokio::spawn(server.client.get(server.url("/v1/deployments/sales-etl")).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 503, status(503, "ServiceUnavailable", "etcd is down")).await;
    let response = overloaded.await.unwrap().unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "kubernetes_unavailable");

    let missing = tokio::spawn(server.client.get(server.url("/v1/deployments/nothing")).send());
    api.expect("GET", &format!("{CRONJOBS}/nothing"), 404, not_found("cronjobs.batch", "nothing")).await;
    api.expect("GET", &format!("{JOBS}/nothing"), 404, not_found("jobs.batch", "nothing")).await;
    let response = missing.await.unwrap().unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "deployment_not_found");
    server.stop().await;

    // An API server that is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let server = crate::fixtures::server(Some(job_deployer::Cluster::new(client, "jobs".to_owned()))).await;
    let response = server.client.post(server.url("/v1/deployments")).json(&job_spec()).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "kubernetes_unavailable");
    assert!(body["message"].as_str().unwrap().contains("cannot be reached"), "{body}");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    server.stop().await;

    // No cluster configured at all.
    let server = crate::fixtures::server(None).await;
    let response = server.get("/v1/deployments").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "kubernetes_not_configured");
    server.stop().await;
}

fn pod(name: &str, job: &str, created: &str, status: Value) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "jobs", "creationTimestamp": created,
            "labels": {"job-orchestrator.io/deployment": "sales-etl", "app.kubernetes.io/managed-by": "job-orchestrator"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": format!("uid-{job}")}]},
        "spec": {"containers": [{"name": "runner", "image": "x"}]},
    });
    pod["status"] = status;
    pod
}

fn job(name: &str, created: &str, status: Value) -> Value {
    let mut job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "jobs", "creationTimestamp": created, "labels": {"job-orchestrator.io/deployment": "sales-etl"}},
        "spec": {"template": {"spec": {"containers": [{"name": "runner", "image": "x"}]}}},
    });
    job["status"] = status;
    job
}

fn terminated(name: &str, code: i32, reason: &str, message: &str) -> Value {
    json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": code, "reason": reason, "message": message}}})
}

fn failed_condition(reason: &str) -> Value {
    json!({"conditions": [{"type": "Failed", "status": "True", "reason": reason, "lastTransitionTime": "2026-11-21T03:00:00Z"}],
        "startTime": "2026-11-21T02:30:00Z"})
}

#[tokio::test]
async fn runs_say_why_they_failed_and_logs_come_from_the_latest_run() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let jobs = vec![
        job(
            "sales-etl-29400001",
            "2026-11-18T01:30:00Z",
            json!({"conditions": [{"type": "Complete", "status": "True"}], "startTime": "2026-11-18T01:30:00Z", "completionTime": "2026-11-18T01:40:00Z"}),
        ),
        job("sales-etl-29400002", "2026-11-19T01:30:00Z", failed_condition("BackoffLimitExceeded")),
        job("sales-etl-29400003", "2026-11-20T01:30:00Z", failed_condition("PodFailurePolicy")),
        job("sales-etl-29400004", "2026-11-21T01:30:00Z", failed_condition("DeadlineExceeded")),
        job("sales-etl-m1abcde", "2026-11-21T09:00:00Z", json!({"active": 1, "startTime": "2026-11-21T09:00:00Z"})),
    ];
    let mut jobs = jobs;
    jobs[4]["metadata"]["annotations"] = json!({"cronjob.kubernetes.io/instantiate": "manual"});
    let pods = vec![
        pod(
            "p1",
            "sales-etl-29400001",
            "2026-11-18T01:30:00Z",
            json!({"phase": "Succeeded", "containerStatuses": [terminated("runner", 0, "Completed", "")]}),
        ),
        pod(
            "p2",
            "sales-etl-29400002",
            "2026-11-19T01:30:00Z",
            json!({"phase": "Failed", "containerStatuses": [terminated("runner", 137, "OOMKilled", "")]}),
        ),
        pod(
            "p3",
            "sales-etl-29400003",
            "2026-11-20T01:30:00Z",
            json!({"phase": "Failed",
            "initContainerStatuses": [terminated("fetch", 3, "Error", "fetch failed: checksum mismatch for sales-etl-1.4.2.zip: expected 00, got 9f")]}),
        ),
        pod(
            "p5",
            "sales-etl-m1abcde",
            "2026-11-21T09:00:00Z",
            json!({"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "runner", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}),
        ),
    ];
    let runs = tokio::spawn(server.client.get(server.url("/v1/deployments/sales-etl/runs")).send());
    api.expect(
        "GET",
        &format!("{JOBS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Job", jobs.clone()),
    )
    .await;
    api.expect(
        "GET",
        &format!("{PODS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Pod", pods.clone()),
    )
    .await;
    let body: Value = runs.await.unwrap().unwrap().json().await.unwrap();
    let summary: Vec<(String, String, String, Value)> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (
                run["name"].as_str().unwrap().to_owned(),
                run["state"].as_str().unwrap().to_owned(),
                run["containerState"].as_str().unwrap().to_owned(),
                run["failureReason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "sales-etl-m1abcde".to_owned(),
                "Pending".to_owned(),
                "Failed".to_owned(),
                json!("image pull error: ImagePullBackOff (Back-off pulling image \"x\")")
            ),
            (
                "sales-etl-29400004".to_owned(),
                "Failed".to_owned(),
                "Failed".to_owned(),
                json!("deadline exceeded: the run took longer than its activeDeadlineSeconds")
            ),
            (
                "sales-etl-29400003".to_owned(),
                "Failed".to_owned(),
                "Failed".to_owned(),
                json!("fetch failed: checksum mismatch for sales-etl-1.4.2.zip: expected 00, got 9f")
            ),
            (
                "sales-etl-29400002".to_owned(),
                "Failed".to_owned(),
                "Failed".to_owned(),
                json!("out of memory (OOMKilled)")
            ),
            ("sales-etl-29400001".to_owned(), "Succeeded".to_owned(), "Stopped".to_owned(), Value::Null),
        ]
    );
    assert_eq!(body[0]["manual"], true);
    assert_eq!(body[3]["exitCode"], 137);
    assert_eq!(body[4]["finishedAt"], "2026-11-18T01:40:00Z");

    // Logs: of the latest run with a pod by default, bounded unless asked otherwise.
    let logs = tokio::spawn(
        server.client.get(server.url("/v1/deployments/sales-etl/logs?run=sales-etl-29400002&sinceSeconds=600")).send(),
    );
    api.expect(
        "GET",
        &format!("{JOBS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Job", jobs),
    )
    .await;
    api.expect(
        "GET",
        &format!("{PODS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Pod", pods),
    )
    .await;
    api.expect(
        "GET",
        &format!("{PODS}/p2/log?&container=runner&limitBytes=5242880&sinceSeconds=600"),
        200,
        json!("line 1\nline 2\n"),
    )
    .await;
    let response = logs.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "line 1\nline 2\n");

    let response = server.get("/v1/deployments/sales-etl/logs?container=sidecar").await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "container");
    api.expect_nothing().await;
    server.stop().await;
}

#[tokio::test]
async fn a_cronjob_is_suspended_resumed_run_by_hand_and_deleted_with_its_secrets() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let cron_job = deploy_cron_job(&mut api, &server).await;

    let suspend = tokio::spawn(
        server
            .client
            .post(server.url("/v1/deployments/sales-etl/suspend"))
            .json(&json!({"reason": "month-end freeze"}))
            .send(),
    );
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job.clone()).await;
    let mut suspended = cron_job.clone();
    suspended["spec"]["suspend"] = json!(true);
    suspended["metadata"]["annotations"]["job-orchestrator.io/suspend-reason"] = json!("month-end freeze");
    let patch = api
        .expect("PATCH", &format!("{CRONJOBS}/sales-etl?&fieldManager=job-orchestrator"), 200, suspended.clone())
        .await;
    assert_eq!(patch.content_type.as_deref(), Some("application/merge-patch+json"));
    assert_eq!(
        patch.body,
        json!({"metadata": {"annotations": {"job-orchestrator.io/suspend-reason": "month-end freeze"}}, "spec": {"suspend": true}})
    );
    api.expect(
        "GET",
        &format!("{PODS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Pod", vec![]),
    )
    .await;
    let body: Value = suspend.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(body["suspended"], true);
    assert_eq!(body["suspendReason"], "month-end freeze");
    assert_eq!(body["state"], "Inactive");
    assert_eq!(body["nextRun"], Value::Null);

    let resume = tokio::spawn(server.client.post(server.url("/v1/deployments/sales-etl/resume")).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, suspended).await;
    let patch = api
        .expect("PATCH", &format!("{CRONJOBS}/sales-etl?&fieldManager=job-orchestrator"), 200, cron_job.clone())
        .await;
    assert_eq!(
        patch.body,
        json!({"metadata": {"annotations": {"job-orchestrator.io/suspend-reason": null}}, "spec": {"suspend": false}})
    );
    api.expect(
        "GET",
        &format!("{PODS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Pod", vec![]),
    )
    .await;
    assert_eq!(resume.await.unwrap().unwrap().json::<Value>().await.unwrap()["state"], "Active");

    let run = tokio::spawn(
        server.client.post(server.url("/v1/deployments/sales-etl/run")).bearer_auth(TestKeys::token("joe", &[Role::Operator]))
            .json(&json!({"env": [{"name": "CONTEXT", "value": "Rerun"}, {"name": "DAY", "value": "2026-11-20"}], "args": ["--day", "2026-11-20"]}))
            .send(),
    );
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job.clone()).await;
    let created = api.expect("POST", &format!("{JOBS}?&fieldManager=job-orchestrator"), 201, json!({})).await;
    let job = created.body;
    assert!(job["metadata"]["name"].as_str().unwrap().starts_with("sales-etl-m"));
    assert!(job["metadata"]["name"].as_str().unwrap().len() <= 63);
    assert_eq!(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual");
    assert_eq!(
        job["metadata"]["ownerReferences"][0],
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "name": "sales-etl", "uid": "uid-sales-etl", "controller": true, "blockOwnerDeletion": true})
    );
    assert_eq!(job["metadata"]["labels"]["job-orchestrator.io/deployment"], "sales-etl");
    let runner = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(runner["args"], json!(["--day", "2026-11-20"]));
    let env = runner["env"].as_array().unwrap();
    assert!(
        env.contains(&json!({"name": "CONTEXT", "value": "Rerun"}))
            && env.contains(&json!({"name": "DAY", "value": "2026-11-20"}))
    );
    assert_eq!(env.iter().filter(|var| var["name"] == "CONTEXT").count(), 1, "an override replaces, not repeats");
    assert_eq!(run.await.unwrap().unwrap().status(), 201);

    let bad_run = server
        .client
        .post(server.url("/v1/deployments/sales-etl/run"))
        .json(&json!({"env": [{"name": "1X", "value": "v"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_run.status(), 400);
    assert_eq!(bad_run.json::<Value>().await.unwrap()["problems"][0]["field"], "env[0].name");

    let delete = tokio::spawn(server.client.delete(server.url("/v1/deployments/sales-etl")).send());
    api.expect("GET", &format!("{CRONJOBS}/sales-etl"), 200, cron_job).await;
    let deleted = api.expect("DELETE", &format!("{CRONJOBS}/sales-etl?"), 200, json!({})).await;
    assert_eq!(deleted.body["propagationPolicy"], "Background");
    api.expect(
        "DELETE",
        &format!("{SECRETS}?&{}", selector(",job-orchestrator.io/deployment=sales-etl")),
        200,
        list("Secret", vec![]),
    )
    .await;
    assert_eq!(delete.await.unwrap().unwrap().status(), 204);
    api.expect_nothing().await;
    server.stop().await;
}
