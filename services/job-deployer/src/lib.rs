//! Deploys a Nexus artifact as a Kubernetes Job or CronJob, then lists, inspects, controls, deletes
//! and exports it to Airflow. Kubernetes holds all of the state: the deployer keeps nothing itself.

pub mod airflow;
pub mod api;
pub mod cluster;
mod error;
pub mod image;
pub mod manifests;
pub mod names;
pub mod quantity;
pub mod schedule;
pub mod spec;
pub mod status;
pub mod validate;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{Env, Readiness, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub use cluster::Cluster;
pub use error::InvalidBody;

pub const NAME: &str = "job-deployer";

/// Everything the service reads from the environment (variables prefixed `JOB_DEPLOYER_`), beside
/// the Kubernetes connection, which comes from the pod's service account or `KUBECONFIG`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    /// `JOB_DEPLOYER_NAMESPACE`: where deployments go; the kubeconfig's (or the pod's) namespace
    /// when absent.
    pub namespace: Option<String>,
    pub deployer: DeployerSettings,
}

/// What shapes every deployment's pods.
#[derive(Debug, Clone)]
pub struct DeployerSettings {
    /// `JOB_DEPLOYER_FETCH_IMAGE`: the init container's image (sh, curl, sha*sum, unzip, tar).
    pub fetch_image: String,
    /// `JOB_DEPLOYER_NEXUS_SECRET`: a Secret of the namespace with `username` and `password` for
    /// Nexus; downloads are anonymous when absent.
    pub nexus_secret: Option<String>,
    /// `JOB_DEPLOYER_NEXUS_URL`: when set, every `downloadUrl` must start with it (set it whenever
    /// the Nexus Secret is set: the credentials go to the download's host).
    pub nexus_url: Option<String>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_DEPLOYER", 8082)?,
            namespace: env.optional("JOB_DEPLOYER_NAMESPACE")?,
            deployer: DeployerSettings {
                fetch_image: env.get_or("JOB_DEPLOYER_FETCH_IMAGE", "curlimages/curl:8.11.1".to_owned())?,
                nexus_secret: env.optional("JOB_DEPLOYER_NEXUS_SECRET")?,
                nexus_url: env.optional("JOB_DEPLOYER_NEXUS_URL")?,
            },
        })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-deployer.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        api::create_deployment, api::list_deployments, api::get_deployment, api::update_deployment,
        api::delete_deployment, api::list_revisions, api::rollback, api::suspend, api::resume, api::run_now,
        api::list_runs, api::logs, api::airflow_dag
    ),
    components(schemas(spec::DeploymentSpec, status::DeploymentDetail, status::DeploymentSummary, status::Run, InvalidBody)),
    tags(
        (name = "deployments", description = "Nexus artifacts deployed as Kubernetes Jobs and CronJobs"),
        (name = "control", description = "Suspend, resume, run now"),
        (name = "runs", description = "Runs of a deployment and their logs"),
    )
)]
pub struct ApiDoc;

/// Connects to Kubernetes as the environment says (in-cluster service account, or `KUBECONFIG`),
/// then serves. Without any cluster configuration the service still starts (so that the platform
/// runs on a laptop) and its deployment endpoints answer 503 `kubernetes_not_configured`.
pub async fn run(settings: Settings, listener: TcpListener) -> std::io::Result<Server> {
    let cluster = match kube::Config::infer().await {
        Ok(config) => {
            let namespace = settings.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
            match kube::Client::try_from(config) {
                Ok(client) => Some(Cluster::new(client, namespace)),
                Err(error) => {
                    tracing::error!(%error, "cannot build a Kubernetes client");
                    None
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "no Kubernetes configuration: the deployment endpoints answer 503");
            None
        }
    };
    run_with(settings, listener, cluster)
}

/// Serves with the given cluster (the tests give one whose API server they play).
pub fn run_with(settings: Settings, listener: TcpListener, cluster: Option<Cluster>) -> std::io::Result<Server> {
    let mut readiness = Readiness::default();
    if let Some(cluster) = cluster.clone() {
        readiness = readiness.with_check("kubernetes", move || {
            let cluster = cluster.clone();
            async move { cluster.ping().await }
        });
    }
    let Settings { server, deployer, .. } = settings;
    let state = web::Data::new(api::State { cluster, settings: deployer });
    Service::new(NAME, ApiDoc::openapi()).readiness(readiness).serve(listener, &server, move |config| {
        config.app_data(state.clone()).configure(api::routes);
    })
}
