//! A Kubernetes API server stand-in for watches: it keeps Jobs and pods, answers lists with a
//! `resourceVersion`, and streams watch events (`{"type": "ADDED", "object": ...}` lines) from the
//! version the client asks, as the API server does, and takes JSON merge patches of Jobs (RFC 7386,
//! what the deployer sends to end a run; refused with 409 when they name an older resourceVersion). A test changes the objects; every open watch sees the
//! change.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Job,
    Pod,
}

#[derive(Debug, Default)]
struct Objects {
    version: u64,
    jobs: BTreeMap<String, Value>,
    pods: BTreeMap<String, Value>,
    /// Every change: (kind, version, type, object).
    log: Vec<(Kind, u64, &'static str, Value)>,
    /// Watch requests received.
    watches: usize,
}

#[derive(Debug, Clone, Default)]
pub struct WatchServer {
    objects: Arc<Mutex<Objects>>,
    changed: Arc<Notify>,
}

#[derive(Debug, Deserialize)]
struct Params {
    watch: Option<bool>,
    #[serde(rename = "resourceVersion")]
    resource_version: Option<String>,
}

impl WatchServer {
    /// Serves on a free port; returns the server and its URL.
    pub fn start() -> (WatchServer, String) {
        let server = WatchServer::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = server.clone();
        let http = HttpServer::new(move || {
            let (jobs, pods, patches) = (state.clone(), state.clone(), state.clone());
            App::new()
                .route(
                    "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
                    web::patch().to(move |path: web::Path<(String, String)>, body: web::Json<Value>| {
                        let server = patches.clone();
                        async move {
                            let name = path.into_inner().1;
                            let mut job = server.get(Kind::Job, &name);
                            // A patch naming a resourceVersion applies only over that version.
                            let expected = &body["metadata"]["resourceVersion"];
                            if !expected.is_null() && *expected != job["metadata"]["resourceVersion"] {
                                return HttpResponse::Conflict().json(json!({
                                    "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                                    "message": format!("Operation cannot be fulfilled on jobs.batch \"{name}\": the object has been modified"),
                                }));
                            }
                            merge(&mut job, &body);
                            server.apply(Kind::Job, job.clone());
                            HttpResponse::Ok().json(server.get(Kind::Job, &name))
                        }
                    }),
                )
                .route(
                    "/apis/batch/v1/namespaces/{ns}/jobs",
                    web::get().to(move |query: web::Query<Params>| {
                        let server = jobs.clone();
                        async move { server.answer(Kind::Job, &query) }
                    }),
                )
                .route(
                    "/api/v1/namespaces/{ns}/pods",
                    web::get().to(move |query: web::Query<Params>| {
                        let server = pods.clone();
                        async move { server.answer(Kind::Pod, &query) }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(http);
        (server, url)
    }

    fn answer(&self, kind: Kind, query: &Params) -> HttpResponse {
        let objects = self.objects.lock().unwrap();
        if !query.watch.unwrap_or(false) {
            let items: Vec<Value> = match kind {
                Kind::Job => objects.jobs.values().cloned().collect(),
                Kind::Pod => objects.pods.values().cloned().collect(),
            };
            let (api_version, list_kind) = match kind {
                Kind::Job => ("batch/v1", "JobList"),
                Kind::Pod => ("v1", "PodList"),
            };
            return HttpResponse::Ok().json(json!({
                "apiVersion": api_version, "kind": list_kind,
                "metadata": {"resourceVersion": objects.version.to_string()},
                "items": items,
            }));
        }
        let from: u64 = query.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(objects.version);
        drop(objects);
        self.objects.lock().unwrap().watches += 1;
        let server = self.clone();
        let stream = futures_util::stream::unfold(from, move |seen| {
            let server = server.clone();
            async move {
                loop {
                    let notified = server.changed.notified();
                    let next = {
                        let objects = server.objects.lock().unwrap();
                        objects.log.iter().find(|(k, version, _, _)| *k == kind && *version > seen).cloned()
                    };
                    if let Some((_, version, kind, object)) = next {
                        let line = format!("{}\n", json!({"type": kind, "object": object}));
                        return Some((Ok::<_, actix_web::Error>(web::Bytes::from(line)), version));
                    }
                    notified.await;
                }
            }
        });
        HttpResponse::Ok().content_type("application/json").streaming(stream)
    }

    /// Creates or replaces an object (ADDED or MODIFIED).
    pub fn apply(&self, kind: Kind, mut object: Value) {
        let mut objects = self.objects.lock().unwrap();
        objects.version += 1;
        let version = objects.version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        let store = match kind {
            Kind::Job => &mut objects.jobs,
            Kind::Pod => &mut objects.pods,
        };
        let change = if store.insert(name, object.clone()).is_some() { "MODIFIED" } else { "ADDED" };
        objects.log.push((kind, version, change, object));
        drop(objects);
        self.changed.notify_waiters();
    }

    /// Removes an object (DELETED), as it was last, with `deletionTimestamp` when given.
    pub fn delete(&self, kind: Kind, name: &str, deleted_at: Option<&str>) {
        let mut objects = self.objects.lock().unwrap();
        objects.version += 1;
        let version = objects.version;
        let store = match kind {
            Kind::Job => &mut objects.jobs,
            Kind::Pod => &mut objects.pods,
        };
        let mut object = store.remove(name).unwrap();
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        if let Some(at) = deleted_at {
            object["metadata"]["deletionTimestamp"] = json!(at);
        }
        objects.log.push((kind, version, "DELETED", object));
        drop(objects);
        self.changed.notify_waiters();
    }

    /// Waits until the Job `name` carries the annotation `key`, and gives its value.
    pub async fn annotated(&self, name: &str, key: &str) -> String {
        for _ in 0..200 {
            if let Some(value) = self.get(Kind::Job, name)["metadata"]["annotations"][key].as_str() {
                return value.to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the Job {name} never got the annotation {key}");
    }

    /// Waits until `count` watches were opened.
    pub async fn watched(&self, count: usize) {
        for _ in 0..100 {
            if self.objects.lock().unwrap().watches >= count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the watcher did not start watching");
    }

    /// The object as it is now.
    pub fn get(&self, kind: Kind, name: &str) -> Value {
        let objects = self.objects.lock().unwrap();
        match kind {
            Kind::Job => objects.jobs[name].clone(),
            Kind::Pod => objects.pods[name].clone(),
        }
    }
}

/// RFC 7386: objects merge, null removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(target), Some(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}
