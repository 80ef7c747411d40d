//! A stand-in for the Kubernetes API server, after kube-rs's own mock pattern, for what a real one
//! cannot be made to do on demand (a 403 for the deployer's account, a 429, a 5xx): the deployer's
//! client sends its requests here, the test asserts each one (method, path, query) in order and
//! answers with what the real API server answers then.

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

impl ApiServer {
    /// Takes the next request, checks its method and path with query, and answers `status` with
    /// `answer`.
    pub async fn expect(&mut self, method: &str, path_and_query: &str, status: u16, answer: Value) {
        let (request, respond) = tokio::time::timeout(Duration::from_secs(10), self.handle.next_request())
            .await
            .unwrap_or_else(|_| panic!("no request came; expected {method} {path_and_query}"))
            .expect("the client is alive");
        let seen =
            format!("{} {}", request.method(), request.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default());
        assert_eq!(seen, format!("{method} {path_and_query}"), "the request the deployer made");
        // A string is answered as the text it is (a pod's log); anything else as JSON.
        let (answer_type, answer) = match answer {
            Value::String(text) => ("text/plain", text.into_bytes()),
            other => ("application/json", serde_json::to_vec(&other).unwrap()),
        };
        let response =
            Response::builder().status(status).header("content-type", answer_type).body(Body::from(answer)).unwrap();
        respond.send_response(response);
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
