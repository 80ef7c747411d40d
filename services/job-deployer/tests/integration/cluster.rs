//! The test stack's Kubernetes control plane (kube-apiserver, controller-manager, scheduler and
//! kwok's simulated nodes, started by `tests/run.sh`, see deploy/local/kube/kube.sh), seen from a
//! test: a namespace of its own in which the deployer runs as the ServiceAccount of
//! deploy/kubernetes/job-deployer-rbac.yaml, and an admin client to check what happened.
//!
//! This file is also the e2e tests' fixture (tests/lib.rs includes it), so it uses only what both
//! crates have.
//!
//! How a pod ends is chosen by its container's image (deploy/local/kube/stages.yaml):
//! [`image::exit`], [`image::OOM`], [`image::PULL_ERROR`], [`image::sleep`]; any other image
//! succeeds.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The variable `tests/run.sh` exports: the control plane's admin kubeconfig (group
/// system:masters).
pub const ADMIN_KUBECONFIG_VARIABLE: &str = "KUBECONFIG_ADMIN";

/// The images that make kwok end a container a given way.
pub mod image {
    /// Killed for memory: terminated, reason `OOMKilled`, exit code 137.
    pub const OOM: &str = "kwok.invalid/oom";
    /// Never pulled: waiting `ErrImagePull`, then `ImagePullBackOff`, the pod Pending for ever.
    pub const PULL_ERROR: &str = "kwok.invalid/pull-error";

    /// Ends with exit code `code` (`Completed` for 0, else `Error`).
    pub fn exit(code: u8) -> String {
        format!("kwok.invalid/exit:{code}")
    }

    /// Runs `seconds`, then exits 0.
    pub fn sleep(seconds: u32) -> String {
        format!("kwok.invalid/sleep:{seconds}")
    }
}

/// A namespace of the test stack's cluster for one test (or one group of tests), holding the
/// deployer's ServiceAccount, Role and RoleBinding. Delete it at the end with
/// [`TestNamespace::delete`]; one left behind by a failed test goes with the stack.
#[derive(Clone)]
pub struct TestNamespace {
    name: String,
    admin: Client,
    deployer: Client,
    deployer_kubeconfig: String,
}

impl std::fmt::Debug for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace").field("name", &self.name).finish_non_exhaustive()
    }
}

impl TestNamespace {
    /// A new namespace named `<prefix>-<8 random characters>` (the prefix says which test made it)
    /// with deploy/kubernetes/job-deployer-rbac.yaml applied in it and a token minted for its
    /// ServiceAccount.
    pub async fn create(prefix: &str) -> TestNamespace {
        assert!(
            !prefix.is_empty()
                && prefix.len() <= 40
                && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "a namespace prefix is lowercase letters, digits and '-', at most 40: {prefix:?}"
        );
        let admin = admin_client().await;
        let name = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("a namespace");
        Api::<Namespace>::all(admin.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|error| panic!("cannot create the namespace {name}: {error}"));
        let service_account = apply_rbac(&admin, &name).await;
        // The controller-manager gives each namespace its `default` ServiceAccount, without which
        // no pod is admitted (the Job controller would retry, slowly).
        wait_until(
            &Api::<ServiceAccount>::namespaced(admin.clone(), &name),
            &named("default"),
            "the namespace's default ServiceAccount",
            Duration::from_secs(30),
            |accounts| !accounts.is_empty(),
        )
        .await;
        let token = mint_token(&admin, &name, &service_account).await;
        let deployer_kubeconfig = service_account_kubeconfig(&name, &service_account, &token);
        let deployer = client_from(&deployer_kubeconfig).await;
        TestNamespace { name, admin, deployer, deployer_kubeconfig }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client with every right, for a test's own checks and set-up.
    pub fn admin(&self) -> Client {
        self.admin.clone()
    }

    /// A client acting as the deployer's ServiceAccount, with the Role's rights only: what the
    /// deployer under test gets (`job_deployer::Cluster::new(client, namespace)`).
    pub fn deployer(&self) -> Client {
        self.deployer.clone()
    }

    /// The same identity as a kubeconfig file's text (JSON, which every kubeconfig reader takes),
    /// its namespace this one: for a deployer started as a process (`KUBECONFIG`).
    pub fn deployer_kubeconfig(&self) -> &str {
        &self.deployer_kubeconfig
    }

    /// The deployer's identity on another API server of the same cluster, at `server`.
    pub async fn deployer_on(&self, server: &str) -> Client {
        let mut config = config_from(&self.deployer_kubeconfig).await;
        config.cluster_url = server.parse().unwrap_or_else(|error| panic!("{server}: {error}"));
        Client::try_from(config).expect("a Kubernetes client")
    }

    /// An admin's view of this namespace's `K`s.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.admin.clone(), &self.name)
    }

    /// Deletes the namespace and everything in it (in the background: the namespace controller
    /// finishes it).
    pub async fn delete(self) {
        Api::<Namespace>::all(self.admin)
            .delete(&self.name, &DeleteParams::background())
            .await
            .unwrap_or_else(|error| panic!("cannot delete the namespace {}: {error}", self.name));
    }
}

/// Waits up to `timeout` until the objects that `api` lists with `params` (e.g. [`named`], or a
/// label selector) satisfy `condition`, and gives them back; fails the test naming `what` and
/// showing the last list otherwise. Polls four times a second: enough for a test, and as simple
/// as it gets.
pub async fn wait_until<K>(
    api: &Api<K>,
    params: &ListParams,
    what: &str,
    timeout: Duration,
    condition: impl Fn(&[K]) -> bool,
) -> Vec<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let objects = api.list(params).await.unwrap_or_else(|error| panic!("cannot list for {what}: {error}")).items;
        if condition(&objects) {
            return objects;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: not seen within {timeout:?}; last seen: {objects:#?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The object named `name`, for [`wait_until`].
pub fn named(name: &str) -> ListParams {
    ListParams::default().fields(&format!("metadata.name={name}"))
}

/// The admin's kubeconfig that `tests/run.sh` names; the control plane's files are beside it.
pub fn admin_kubeconfig() -> std::path::PathBuf {
    std::env::var_os(ADMIN_KUBECONFIG_VARIABLE).map(std::path::PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{ADMIN_KUBECONFIG_VARIABLE} is not set: run the tests through tests/run.sh, which starts the \
             Kubernetes control plane (or start one with deploy/local/stack.sh's start_kube)"
        )
    })
}

/// The control plane's admin.
async fn admin_client() -> Client {
    let path = admin_kubeconfig();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    client_from(&text).await
}

async fn client_from(kubeconfig: &str) -> Client {
    Client::try_from(config_from(kubeconfig).await).expect("a Kubernetes client")
}

async fn config_from(kubeconfig: &str) -> Config {
    service_kit::tls::install_crypto_provider();
    let kubeconfig = Kubeconfig::from_yaml(kubeconfig).expect("a readable kubeconfig");
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("a usable kubeconfig")
}

/// The RBAC file the product ships, relative to the workspace's root.
const RBAC_FILE: &str = "deploy/kubernetes/job-deployer-rbac.yaml";

/// Applies every object of [`RBAC_FILE`] in `namespace` (server-side, as `kubectl apply
/// --server-side` would) and gives back the name of its ServiceAccount. The file names the
/// namespace `job-orchestrator` (until it is made namespace-agnostic): each object, and each
/// subject of a binding that names a namespace, is moved to this one.
async fn apply_rbac(admin: &Client, namespace: &str) -> String {
    let path = workspace_root().join(RBAC_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|error| panic!("{RBAC_FILE}: {error}"));
    let mut service_account = None;
    for mut document in documents.into_iter().filter(|document| !document.is_null()) {
        document["metadata"]["namespace"] = json!(namespace);
        if let Some(subjects) = document.get_mut("subjects").and_then(Value::as_array_mut) {
            for subject in subjects.iter_mut().filter(|subject| subject.get("namespace").is_some()) {
                subject["namespace"] = json!(namespace);
            }
        }
        let object: DynamicObject =
            serde_json::from_value(document).unwrap_or_else(|error| panic!("{RBAC_FILE}: {error}"));
        let types =
            object.types.as_ref().unwrap_or_else(|| panic!("{RBAC_FILE}: an object without apiVersion and kind"));
        let kind = GroupVersionKind::try_from(types).unwrap_or_else(|error| panic!("{RBAC_FILE}: {error}"));
        let name = object.metadata.name.clone().unwrap_or_else(|| panic!("{RBAC_FILE}: a {} without name", kind.kind));
        if kind.kind == "ServiceAccount" {
            service_account = Some(name.clone());
        }
        Api::<DynamicObject>::namespaced_with(admin.clone(), namespace, &ApiResource::from_gvk(&kind))
            .patch(&name, &PatchParams::apply("job-orchestrator-tests").force(), &Patch::Apply(&object))
            .await
            .unwrap_or_else(|error| panic!("cannot apply the {} {name} of {RBAC_FILE}: {error}", kind.kind));
    }
    service_account.unwrap_or_else(|| panic!("{RBAC_FILE} defines no ServiceAccount"))
}

fn workspace_root() -> std::path::PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .find(|dir| dir.join(RBAC_FILE).is_file())
        .unwrap_or_else(|| panic!("no {RBAC_FILE} above {}", crate_dir.display()))
        .to_path_buf()
}

/// A token of `service_account`, valid for two hours (longer than any test), as the kubelet
/// would mount it in the deployer's pod.
async fn mint_token(admin: &Client, namespace: &str, service_account: &str) -> String {
    let request = TokenRequest {
        spec: TokenRequestSpec { audiences: Vec::new(), expiration_seconds: Some(7200), ..TokenRequestSpec::default() },
        ..TokenRequest::default()
    };
    Api::<ServiceAccount>::namespaced(admin.clone(), namespace)
        .create_token_request(service_account, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|error| panic!("cannot mint a token for the ServiceAccount {service_account}: {error}"))
        .status
        .unwrap_or_else(|| panic!("the TokenRequest for {service_account} came back without a token"))
        .token
}

/// A kubeconfig for the cluster of the admin's kubeconfig, as `service_account` with `token`, in
/// `namespace`.
fn service_account_kubeconfig(namespace: &str, service_account: &str, token: &str) -> String {
    let path = std::env::var(ADMIN_KUBECONFIG_VARIABLE).expect("read already");
    let admin = Kubeconfig::read_from(&path).expect("read already");
    let cluster =
        admin.clusters.first().and_then(|named| named.cluster.as_ref()).expect("the admin kubeconfig's cluster");
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test-stack", "cluster": {
            "server": cluster.server,
            "certificate-authority-data": cluster.certificate_authority_data,
        }}],
        "users": [{"name": service_account, "user": {"token": token}}],
        "contexts": [{"name": service_account, "context": {
            "cluster": "test-stack", "user": service_account, "namespace": namespace,
        }}],
        "current-context": service_account,
    })
    .to_string()
}

/// The control plane does what the deployer relies on: as the deployer's ServiceAccount, a Job
/// runs (the Job controller makes its pod, the scheduler places it, kwok runs it) and its exit
/// code shows; a CronJob fires; the Role keeps the ServiceAccount out of what it does not need.
#[cfg(test)]
mod smoke {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStateWaiting, Pod, Secret};

    use super::*;

    fn job(name: &str, image: &str) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never",
                "initContainers": [{"name": "fetch", "image": "busybox:1.37"}],
                "containers": [{"name": "runner", "image": image}],
            }}},
        }))
        .expect("a Job")
    }

    fn terminated(pod: &Pod) -> Option<ContainerStateTerminated> {
        pod.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()?.terminated.clone()
    }

    fn waiting(pod: &Pod) -> Option<ContainerStateWaiting> {
        pod.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()?.waiting.clone()
    }

    fn phase(pod: &Pod) -> Option<&str> {
        pod.status.as_ref()?.phase.as_deref()
    }

    fn job_condition(job: &Job, kind: &str) -> bool {
        let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
        conditions.is_some_and(|conditions| conditions.iter().any(|c| c.type_ == kind && c.status == "True"))
    }

    /// The pod of Job `job`, once it satisfies `condition`.
    async fn pod_of(namespace: &TestNamespace, job: &str, what: &str, condition: impl Fn(&Pod) -> bool) -> Pod {
        let pods = ListParams::default().labels(&format!("job-name={job}"));
        let found = wait_until(&namespace.api::<Pod>(), &pods, what, Duration::from_secs(30), |pods: &[Pod]| {
            pods.iter().any(&condition)
        })
        .await;
        found.into_iter().find(|pod| condition(pod)).expect("seen")
    }

    #[tokio::test]
    async fn a_job_made_by_the_service_account_runs_and_ends_as_its_image_says() {
        let namespace = TestNamespace::create("smoke-job").await;
        let jobs = Api::<Job>::namespaced(namespace.deployer(), namespace.name());
        for (name, image) in
            [("succeeds", "busybox:1.37".to_owned()), ("exits-2", image::exit(2)), ("oom", image::OOM.to_owned())]
        {
            jobs.create(&PostParams::default(), &job(name, &image))
                .await
                .expect("the Role lets the deployer create Jobs");
        }

        let pod =
            pod_of(&namespace, "succeeds", "the pod of a Job that succeeds", |pod| phase(pod) == Some("Succeeded"))
                .await;
        assert!(
            pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|node| node.starts_with("kwok-node-"))
        );
        let init = &pod.status.as_ref().unwrap().init_container_statuses.as_ref().unwrap()[0];
        assert_eq!(init.state.as_ref().unwrap().terminated.as_ref().unwrap().reason.as_deref(), Some("Completed"));
        assert_eq!(terminated(&pod).unwrap().exit_code, 0);
        wait_until(&namespace.api::<Job>(), &named("succeeds"), "the Job Complete", Duration::from_secs(30), |jobs| {
            jobs.iter().any(|job| job_condition(job, "Complete"))
        })
        .await;

        let pod =
            pod_of(&namespace, "exits-2", "the pod of a Job that exits 2", |pod| phase(pod) == Some("Failed")).await;
        let ended = terminated(&pod).unwrap();
        assert_eq!((ended.exit_code, ended.reason.as_deref()), (2, Some("Error")));
        wait_until(&namespace.api::<Job>(), &named("exits-2"), "the Job Failed", Duration::from_secs(30), |jobs| {
            jobs.iter().any(|job| job_condition(job, "Failed"))
        })
        .await;

        let pod =
            pod_of(&namespace, "oom", "the pod of a Job killed for memory", |pod| phase(pod) == Some("Failed")).await;
        let ended = terminated(&pod).unwrap();
        assert_eq!((ended.exit_code, ended.reason.as_deref()), (137, Some("OOMKilled")));
        namespace.delete().await;
    }

    #[tokio::test]
    async fn an_image_that_cannot_be_pulled_stays_waiting_and_a_deadline_ends_a_long_run() {
        let namespace = TestNamespace::create("smoke-start").await;
        let jobs = Api::<Job>::namespaced(namespace.deployer(), namespace.name());
        jobs.create(&PostParams::default(), &job("no-image", image::PULL_ERROR)).await.unwrap();
        let mut long = job("too-long", &image::sleep(600));
        long.spec.as_mut().unwrap().active_deadline_seconds = Some(3);
        jobs.create(&PostParams::default(), &long).await.unwrap();

        let pod = pod_of(&namespace, "no-image", "a pod backing off its image pull", |pod| {
            waiting(pod).and_then(|w| w.reason).as_deref() == Some("ImagePullBackOff")
        })
        .await;
        assert_eq!(phase(&pod), Some("Pending"));

        let failed = wait_until(
            &namespace.api::<Job>(),
            &named("too-long"),
            "the Job past its deadline",
            Duration::from_secs(30),
            |jobs| jobs.iter().any(|job| job_condition(job, "Failed")),
        )
        .await;
        let conditions = failed[0].status.as_ref().unwrap().conditions.as_ref().unwrap();
        assert!(
            conditions.iter().any(|c| c.type_ == "Failed" && c.reason.as_deref() == Some("DeadlineExceeded")),
            "{conditions:?}"
        );
        // The Job controller deletes the pod; kwok kills it (137) and removes it once the
        // controller has let go of it.
        let its_pods = ListParams::default().labels("job-name=too-long");
        wait_until(
            &namespace.api::<Pod>(),
            &its_pods,
            "the pod of the Job past its deadline gone",
            Duration::from_secs(30),
            |pods| pods.is_empty(),
        )
        .await;
        namespace.delete().await;
    }

    #[tokio::test]
    async fn a_cron_job_fires_at_the_next_minute() {
        let namespace = TestNamespace::create("smoke-cron").await;
        let cron_job: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "every-minute"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": job("unused", &image::exit(0)).spec}},
        }))
        .unwrap();
        let started = tokio::time::Instant::now();
        Api::<CronJob>::namespaced(namespace.deployer(), namespace.name())
            .create(&PostParams::default(), &cron_job)
            .await
            .expect("the Role lets the deployer create CronJobs");
        wait_until(
            &namespace.api::<Job>(),
            &ListParams::default(),
            "a Job of the CronJob, Complete",
            Duration::from_secs(90),
            |jobs| jobs.iter().any(|job| job_condition(job, "Complete")),
        )
        .await;
        // A minute's schedule fires at the next minute: at most a minute, plus a few seconds.
        assert!(started.elapsed() < Duration::from_secs(70), "fired after {:?}", started.elapsed());
        namespace.delete().await;
    }

    #[tokio::test]
    async fn the_service_account_has_the_roles_rights_and_no_more() {
        let namespace = TestNamespace::create("smoke-rbac").await;
        let own: Api<Secret> = Api::namespaced(namespace.deployer(), namespace.name());
        own.list(&ListParams::default()).await.expect("the Role lets the deployer list its namespace's Secrets");
        let elsewhere: Api<Secret> = Api::namespaced(namespace.deployer(), "kube-system");
        let refused = elsewhere.list(&ListParams::default()).await.expect_err("no Secret outside the namespace");
        assert!(matches!(refused, kube::Error::Api(ref status) if status.code == 403), "{refused:?}");
        let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(namespace.deployer());
        assert!(nodes.list(&ListParams::default()).await.is_err(), "no cluster-wide reading");

        // The same identity through the kubeconfig a deployer process would be given.
        let from_file = client_from(namespace.deployer_kubeconfig()).await;
        let kubeconfig = Kubeconfig::from_yaml(namespace.deployer_kubeconfig()).unwrap();
        let context_namespace = kubeconfig.contexts[0].context.as_ref().unwrap().namespace.clone();
        assert_eq!(context_namespace.as_deref(), Some(namespace.name()));
        Api::<Secret>::namespaced(from_file, namespace.name()).list(&ListParams::default()).await.unwrap();
        namespace.delete().await;
    }
}
