//! A stand-in for the Kubernetes API server, after kube-rs's own mock pattern: the deployer's
//! client sends its requests here, the test asserts each one (method, path, query, body) in order
//! and answers with what the real API server answers.

use std::time::Duration;

use http::{Request, Response};
use job_deployer::Cluster;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::Handle;

pub const NAMESPACE: &str = "jobs";

pub struct ApiServer {
    handle: Handle<Request<Body>, Response<Body>>,
}

/// A cluster whose API server the test plays.
pub fn cluster() -> (Cluster, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, NAMESPACE);
    (Cluster::new(client, NAMESPACE.to_owned()), ApiServer { handle })
}

/// A request the deployer made.
#[derive(Debug)]
pub struct Seen {
    pub content_type: Option<String>,
    pub body: Value,
}

impl ApiServer {
    /// Takes the next request, checks its method and path with query, answers `status` with
    /// `answer`, and gives back what was sent.
    pub async fn expect(&mut self, method: &str, path_and_query: &str, status: u16, answer: Value) -> Seen {
        let (request, respond) = tokio::time::timeout(Duration::from_secs(10), self.handle.next_request())
            .await
            .unwrap_or_else(|_| panic!("no request came; expected {method} {path_and_query}"))
            .expect("the client is alive");
        let seen =
            format!("{} {}", request.method(), request.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default());
        assert_eq!(seen, format!("{method} {path_and_query}"), "the request the deployer made");
        let content_type = request.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        // A string is answered as the text it is (a pod's log); anything else as JSON.
        let (answer_type, answer) = match answer {
            Value::String(text) => ("text/plain", text.into_bytes()),
            other => ("application/json", serde_json::to_vec(&other).unwrap()),
        };
        let response =
            Response::builder().status(status).header("content-type", answer_type).body(Body::from(answer)).unwrap();
        respond.send_response(response);
        Seen { content_type, body }
    }

    /// Answers a server-side apply by echoing the object, as the API server does, with the fields
    /// it sets itself.
    pub async fn expect_apply(&mut self, path: &str) -> Value {
        let (name, plural) = {
            let mut parts = path.rsplit('/');
            (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned())
        };
        let path_and_query = format!("{path}?&force=true&fieldManager=job-orchestrator");
        let (request, respond) = tokio::time::timeout(Duration::from_secs(10), self.handle.next_request())
            .await
            .unwrap_or_else(|_| panic!("no request came; expected an apply of {plural}/{name}"))
            .expect("the client is alive");
        assert_eq!(request.method().as_str(), "PATCH");
        assert_eq!(request.uri().path_and_query().unwrap().as_str(), path_and_query);
        assert_eq!(request.headers().get("content-type").unwrap(), "application/apply-patch+yaml");
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let sent: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(sent["metadata"]["name"], name.as_str());
        let mut stored = sent.clone();
        stored["metadata"]["uid"] = json!(format!("uid-{name}"));
        stored["metadata"]["resourceVersion"] = json!("2");
        stored["metadata"]["creationTimestamp"] = json!("2026-11-21T10:00:00Z");
        let response = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&stored).unwrap()))
            .unwrap();
        respond.send_response(response);
        sent
    }

    /// Nothing more is asked of the API server.
    pub async fn expect_nothing(&mut self) {
        let next = tokio::time::timeout(Duration::from_millis(200), self.handle.next_request()).await;
        if let Ok(Some((request, _))) = next {
            panic!("unexpected request: {} {}", request.method(), request.uri());
        }
    }
}

/// A `Status` failure as the API server sends it.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

pub fn not_found(resource: &str, name: &str) -> Value {
    status(404, "NotFound", &format!("{resource} \"{name}\" not found"))
}

/// A list of `kind` holding `items`.
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    let api_version = if kind == "Pod" || kind == "Secret" { "v1" } else { "batch/v1" };
    let mut list =
        json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": {"resourceVersion": "7"}});
    list["items"] = Value::Array(items);
    list
}
