//! What a real API server cannot be made to do on demand, played by a stand-in that answers as
//! the real one documents: a refusal of the deployer's account (403), an overloaded or failing
//! server (429, 503), one that is down, and no cluster configured at all. Everything else the
//! deployer does on Kubernetes is tested on the test stack's control plane (`on_kubernetes`).

use serde_json::Value;

use crate::api_server::{self, list, not_found, status};
use crate::fixtures::{job_spec, server};

const CRONJOBS: &str = "/apis/batch/v1/namespaces/jobs/cronjobs";
const JOBS: &str = "/apis/batch/v1/namespaces/jobs/jobs";
const PODS: &str = "/api/v1/namespaces/jobs/pods";

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

    for (code, reason, message) in [
        (503, "ServiceUnavailable", "etcd is down"),
        (429, "TooManyRequests", "too many requests, please try again later"),
    ] {
        let overloaded = tokio::spawn(server.client.get(server.url("/v1/deployments/sales-etl")).send());
        api.expect("GET", &format!("{CRONJOBS}/sales-etl"), code, status(code, reason, message)).await;
        let response = overloaded.await.unwrap().unwrap();
        assert_eq!(response.status(), 503, "{code}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "kubernetes_unavailable");
        assert!(!body.to_string().contains(message), "{body}");
    }

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

/// A kubelet that does not answer: the API server, which proxies the log request to it, answers
/// 500 with the dial error (as kube-apiserver 1.34 does; the test stack's kwok cannot be made to
/// refuse). The deployer names the node, not the API server.
#[tokio::test]
async fn a_kubelet_that_cannot_be_reached_is_named_not_the_api_server() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let labels =
        "labelSelector=app.kubernetes.io%2Fmanaged-by%3Djob-orchestrator%2Cjob-orchestrator.io%2Fdeployment%3Dreport";
    let job = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "report", "namespace": "jobs", "uid": "uid-report", "creationTimestamp": "2026-11-21T10:00:00Z"},
        "spec": {"template": {"spec": {"containers": [{"name": "runner", "image": "x"}]}}}, "status": {"active": 1}});
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "report-x1", "namespace": "jobs", "creationTimestamp": "2026-11-21T10:00:01Z",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report", "uid": "uid-report"}]},
        "spec": {"nodeName": "node-7", "containers": [{"name": "runner", "image": "x"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "runner", "image": "x", "imageID": "", "ready": true,
            "restartCount": 0, "state": {"running": {"startedAt": "2026-11-21T10:00:02Z"}}}]}});
    let logs = tokio::spawn(server.client.get(server.url("/v1/deployments/report/logs")).send());
    api.expect("GET", &format!("{JOBS}?&{labels}"), 200, list("Job", vec![job])).await;
    api.expect("GET", &format!("{PODS}?&{labels}"), 200, list("Pod", vec![pod])).await;
    let refused = "Get \"https://10.0.0.7:10250/containerLogs/jobs/report-x1/runner?tailLines=1000\": dial tcp 10.0.0.7:10250: connect: connection refused";
    api.expect(
        "GET",
        &format!("{PODS}/report-x1/log?&container=runner&limitBytes=5242880&tailLines=1000"),
        500,
        status(500, "InternalError", refused),
    )
    .await;
    let response = logs.await.unwrap().unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "kubelet_unreachable");
    assert!(body["message"].as_str().unwrap().contains("node-7"), "{body}");
    assert!(!body.to_string().contains("10250"), "no internals: {body}");
    api.expect_nothing().await;
    server.stop().await;
}
