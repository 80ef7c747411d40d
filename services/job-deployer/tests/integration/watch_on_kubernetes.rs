//! The watcher on the test stack's real control plane, for what the watch stand-in
//! (`watch_server.rs`) does not do: a namespace with more runs than the first list's page holds,
//! and a watch that the API server can no longer serve from where it stopped (410 Gone), which
//! makes the watcher list everything again. A real API server answers 410 to a watch from a
//! resourceVersion older than its watch cache: here, a second API server of the cluster that was
//! restarted while the watcher was away.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use job_deployer::kubernetes::manifests::{self, Workload};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use tokio::process::{Child, Command};

use crate::cluster::{TestNamespace, admin_kubeconfig, image, wait_until};
use crate::watch::{Watching, read_topic};

/// A Job of deployment `deployment` as the deployer makes it, named `name` and suspended (so that
/// no pod runs: the runs stay SCHEDULED and cost the control plane nothing).
fn suspended_job(deployment: &str, name: &str, namespace: &str) -> Job {
    let spec = crate::fixtures::checked(crate::on_kubernetes::spec(deployment, &image::sleep(600), None));
    let context = manifests::Context { namespace, ..crate::fixtures::context() };
    let Workload::Job(job) = manifests::workload(&spec, &context) else { panic!("a Job") };
    let mut job = *job;
    job.metadata.name = Some(name.to_owned());
    job.spec.as_mut().expect("a Job's spec").suspend = Some(true);
    job
}

/// The runs (events' keys) that `topic` holds events of, with each event's status.
async fn runs_on(topic: &str) -> Vec<(String, String)> {
    let events = read_topic(topic).await;
    events.into_iter().map(|(key, event)| (key, event["status"].as_str().unwrap_or_default().to_owned())).collect()
}

/// 501 runs: one more than a page of the watcher's first list (kube-runtime asks for 500 at a
/// time), so every run is seen only if the watcher follows the API server's `continue` token.
#[tokio::test]
async fn the_first_list_of_more_runs_than_a_page_reports_every_run() {
    const RUNS: usize = 501;
    let namespace = TestNamespace::create("pages").await;
    let jobs = namespace.api::<Job>();
    futures_util::stream::iter(0..RUNS)
        .map(|i| {
            let jobs = jobs.clone();
            let job = suspended_job("bulk", &format!("bulk-{i}"), namespace.name());
            async move { jobs.create(&PostParams::default(), &job).await.map(|_| ()) }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    // The Job controller marks each Job suspended: done before the watcher starts, so that no later
    // change of a Job can bring it to the watcher otherwise than through the first list.
    let suspended = |jobs: &[Job]| {
        jobs.len() == RUNS
            && jobs.iter().all(|job| {
                let conditions = job.status.as_ref().and_then(|status| status.conditions.as_ref());
                conditions.is_some_and(|all| all.iter().any(|c| c.type_ == "Suspended" && c.status == "True"))
            })
    };
    wait_until(&jobs, &ListParams::default(), "every Job marked suspended", Duration::from_secs(120), suspended).await;
    // The API server itself pages them: a list of 500 leaves a `continue` token.
    let first_page = jobs.list(&ListParams::default().limit(500)).await.unwrap();
    assert!(first_page.metadata.continue_.is_some(), "a list of {RUNS} Jobs 500 at a time has a second page");

    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let watching = Watching::on(namespace.deployer(), namespace.name(), &topic);
    watching.delivered(&topic, RUNS as u64).await;
    watching.stop().await;
    let runs = runs_on(&topic).await;
    let scheduled: BTreeSet<&str> =
        runs.iter().filter(|(_, status)| status == "SCHEDULED").map(|(key, _)| key.as_str()).collect();
    assert_eq!(scheduled.len(), RUNS, "each run once SCHEDULED: {runs:?}");
    assert_eq!(runs.len(), RUNS, "and nothing else (no run of a suspended Job started): {runs:?}");
    namespace.delete().await;
}

/// A second API server of the test stack's cluster, on the same etcd (deploy/local/kube/kube.sh
/// writes the API server's command beside the admin's kubeconfig, taking the port), which a test
/// can stop and start again.
struct SecondApiServer {
    port: u16,
    child: Option<Child>,
}

impl SecondApiServer {
    async fn start() -> SecondApiServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = SecondApiServer { port, child: None };
        server.run();
        server
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let dir = admin_kubeconfig().parent().map(PathBuf::from).expect("the control plane's folder");
        let log = std::fs::File::create(dir.join("logs").join(format!("kube-apiserver-{}.log", self.port))).unwrap();
        let child = Command::new(dir.join("kube-apiserver"))
            .arg(self.port.to_string())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start a second API server from {}: {error}", dir.display()));
        self.child = Some(child);
    }

    /// Stops it at once, as a crash or a lost machine would.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Waits until it answers `client` (for `namespace`).
    async fn ready(&self, client: &Client, namespace: &str) {
        let jobs = Api::<Job>::namespaced(client.clone(), namespace);
        for _ in 0..240 {
            if jobs.list(&ListParams::default().limit(1)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the second API server on port {} is not ready within 60 s", self.port);
    }
}

/// The watcher watches through the second API server, which is killed; meanwhile one run's Job is
/// deleted before it ended and another run starts; then the API server comes back. Its watch cache
/// begins after the watcher's last resourceVersion, so the watcher's watch gets 410 Gone and it
/// lists again: the new run is reported, and the deleted one gets no end (how it ended is not
/// known, and not guessed), where a watch taken up where it stopped would have reported it KILLED.
#[tokio::test]
async fn a_watch_the_api_server_no_longer_serves_lists_again() {
    let namespace = TestNamespace::create("relist").await;
    let mut second = SecondApiServer::start().await;
    let client = namespace.deployer_on(&second.url()).await;
    second.ready(&client, namespace.name()).await;
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let watching = Watching::on(client.clone(), namespace.name(), &topic);
    let jobs = namespace.api::<Job>();
    jobs.create(&PostParams::default(), &suspended_job("before", "before-1", namespace.name())).await.unwrap();
    watching.delivered(&topic, 1).await;

    second.kill().await;
    jobs.delete("before-1", &DeleteParams::background()).await.unwrap();
    jobs.create(&PostParams::default(), &suspended_job("meanwhile", "meanwhile-1", namespace.name())).await.unwrap();
    assert!(jobs.get_opt("before-1").await.unwrap().is_none(), "a suspended Job has no pod to wait for: gone at once");
    second.run();
    second.ready(&client, namespace.name()).await;

    watching.delivered(&topic, 2).await;
    // Time for a late event of the deleted run to show, if the watch had been taken up again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    watching.stop().await;
    let runs = runs_on(&topic).await;
    let of = |prefix: &str| -> Vec<&str> {
        runs.iter().filter(|(key, _)| key.starts_with(prefix)).map(|(_, status)| status.as_str()).collect()
    };
    assert_eq!(of("meanwhile-"), ["SCHEDULED"], "the run started meanwhile is found by the new list: {runs:?}");
    assert_eq!(of("before-"), ["SCHEDULED"], "the deleted run gets no guessed end: {runs:?}");
    second.kill().await;
    namespace.delete().await;
}
