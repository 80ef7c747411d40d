//! Deploys a Nexus artifact as a Kubernetes Job or CronJob (or, without a cluster, as local
//! processes), then lists, inspects, controls, deletes and exports it to Airflow, and reports every
//! run as job events on Kafka. On Kubernetes, the cluster holds all of the state; the local runtime
//! keeps its own in a folder.

pub mod airflow;
pub mod api;
pub mod cluster;
mod error;
pub mod events;
pub mod image;
pub mod local;
pub mod manifests;
pub mod names;
pub mod publisher;
pub mod quantity;
pub mod schedule;
pub mod spec;
pub mod status;
pub mod validate;
pub mod watcher;

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{Env, Positive, Readiness, Running, ServerSettings, Service, SettingsError, Worker};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

pub use local::LocalRuntime;
pub use publisher::{KafkaSettings, Publisher};

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
    /// `JOB_DEPLOYER_RUNTIME`: `kubernetes` (the default) or `local`.
    pub runtime: RuntimeKind,
    /// `JOB_DEPLOYER_LOCAL_DIR`: the local runtime's state, runs and logs
    /// (`$HOME/.local/share/job-orchestrator/job-deployer` when absent).
    pub local_dir: PathBuf,
    /// `KAFKA_BROKERS` (`127.0.0.1:9092`), `JOB_EVENTS_TOPIC` (`job-events`),
    /// `JOB_EVENTS_TOPIC_PARTITIONS` (6, when the deployer creates the topic),
    /// `JOB_DEPLOYER_EVENT_BUFFER` (10000 events kept while the broker is away).
    pub kafka: KafkaSettings,
}

/// Where deployments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Kubernetes,
    Local,
}

impl std::str::FromStr for RuntimeKind {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<RuntimeKind, Self::Err> {
        match text {
            "kubernetes" => Ok(RuntimeKind::Kubernetes),
            "local" => Ok(RuntimeKind::Local),
            _ => Err("`kubernetes` or `local` is expected"),
        }
    }
}

/// What shapes every deployment's pods.
#[derive(Debug, Clone)]
pub struct DeployerSettings {
    /// `JOB_DEPLOYER_FETCH_IMAGE`: the init container's image (sh, curl, sha*sum, unzip, tar).
    pub fetch_image: String,
    /// `JOB_DEPLOYER_NEXUS_SECRET`: a Secret of the namespace with `username` and `password` for
    /// Nexus; downloads are anonymous when absent.
    pub nexus_secret: Option<String>,
    /// `JOB_DEPLOYER_START_FAILURE_GRACE_SECS` (180): how long a run's container may fail to start
    /// (an image that cannot be pulled) before the deployer ends the run.
    pub start_failure_grace: std::time::Duration,
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
                start_failure_grace: std::time::Duration::from_secs(
                    env.get_or("JOB_DEPLOYER_START_FAILURE_GRACE_SECS", 180)?,
                ),
            },
            runtime: env.get_or("JOB_DEPLOYER_RUNTIME", RuntimeKind::Kubernetes)?,
            local_dir: match env.optional::<PathBuf>("JOB_DEPLOYER_LOCAL_DIR")? {
                Some(dir) => dir,
                None => env.optional::<PathBuf>("HOME")?.map_or_else(
                    || PathBuf::from("job-deployer"),
                    |home| home.join(".local/share/job-orchestrator/job-deployer"),
                ),
            },
            kafka: KafkaSettings {
                brokers: env.get_or("KAFKA_BROKERS", "127.0.0.1:9092".to_owned())?,
                topic: env.get_or("JOB_EVENTS_TOPIC", "job-events".to_owned())?,
                partitions: env.get_or("JOB_EVENTS_TOPIC_PARTITIONS", Positive(6_i32))?.0,
                buffer: env.get_or("JOB_DEPLOYER_EVENT_BUFFER", Positive(10_000_usize))?.0,
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

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the Kafka producer: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot open the local runtime's folder: {0}")]
    Local(std::io::Error),
    #[error(
        "the local runtime runs commands for whoever reaches its API: it listens on 127.0.0.1 only, not {0} (JOB_DEPLOYER_LISTEN)"
    )]
    LocalNotLoopback(std::net::SocketAddr),
    #[error("cannot serve: {0}")]
    Serve(std::io::Error),
}

/// Starts the configured runtime, the publisher of job events and, on Kubernetes, the watcher of
/// the runs, then serves. Without any cluster configuration the Kubernetes runtime still starts
/// (so that the platform runs on a laptop) and its deployment endpoints answer 503
/// `kubernetes_not_configured`.
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Running, StartError> {
    let mut service = Service::new(NAME, ApiDoc::openapi());
    let (publisher, delivery) = publisher::publisher(&settings.kafka, service.registry())?;
    let stop = CancellationToken::new();
    let stop_delivery = CancellationToken::new();
    let delivering = tokio::spawn(delivery.run(stop_delivery.clone()));
    let mut cluster = None;
    let mut local = None;
    let mut watching = None;
    match settings.runtime {
        RuntimeKind::Local => {
            // Anyone who reaches the API runs commands as this process: only from this machine.
            let address = listener.local_addr().map_err(StartError::Serve)?;
            if !address.ip().is_loopback() {
                return Err(StartError::LocalNotLoopback(address));
            }
            local = Some(LocalRuntime::start(&settings.local_dir, publisher.clone()).await.map_err(StartError::Local)?);
        }
        RuntimeKind::Kubernetes => {
            cluster = connect(&settings).await;
            if let Some(cluster) = &cluster {
                let watch = watcher::watch(
                    cluster.client(),
                    cluster.namespace().to_owned(),
                    publisher.clone(),
                    settings.deployer.start_failure_grace,
                    stop.child_token(),
                );
                watching = Some(tokio::spawn(watch));
            }
        }
    }
    let readiness = readiness(cluster.as_ref(), Some(&publisher));
    let server =
        serve(service.readiness(readiness), settings, listener, cluster, local.clone()).map_err(StartError::Serve)?;
    // The runs stop (and report it) before the last events are delivered. A watch that ends by
    // itself fails the service, so that it is restarted rather than silently reporting nothing.
    let task = tokio::spawn({
        let stop = stop.clone();
        async move {
            let watched = match watching {
                Some(mut watching) => tokio::select! {
                    () = stop.cancelled() => watching.await.map_err(|error| error.to_string()).and_then(|ended| ended),
                    ended = &mut watching => {
                        let error = ended.map_err(|error| error.to_string()).and_then(|ended| ended).err();
                        Err(error.unwrap_or_else(|| "the watch of the runs ended".to_owned()))
                    }
                },
                None => {
                    stop.cancelled().await;
                    Ok(())
                }
            };
            if let Some(local) = local {
                local.shutdown().await;
            }
            stop_delivery.cancel();
            delivering.await.map_err(|error| error.to_string())??;
            watched
        }
    });
    Ok(Running::with_worker(server, Worker { stop, task }))
}

/// The cluster the environment names (in-cluster service account, or `KUBECONFIG`), if any.
async fn connect(settings: &Settings) -> Option<Cluster> {
    match kube::Config::infer().await {
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
    }
}

/// `/readyz`: the API server answers; the broker's state is shown without failing readiness, since
/// deployments keep working while events wait.
fn readiness(cluster: Option<&Cluster>, publisher: Option<&Publisher>) -> Readiness {
    let mut readiness = Readiness::default();
    if let Some(cluster) = cluster.cloned() {
        readiness = readiness.with_check("kubernetes", move || {
            let cluster = cluster.clone();
            async move { cluster.ping().await }
        });
    }
    let Some(publisher) = publisher.cloned() else { return readiness };
    readiness.with_advisory("kafka", move || {
        let publisher = publisher.clone();
        async move { publisher.check() }
    })
}

/// Serves the API only, on the given cluster (the tests give one whose API server they play).
pub fn run_with(settings: Settings, listener: TcpListener, cluster: Option<Cluster>) -> std::io::Result<Server> {
    let service = Service::new(NAME, ApiDoc::openapi()).readiness(readiness(cluster.as_ref(), None));
    serve(service, settings, listener, cluster, None)
}

fn serve(
    service: Service,
    settings: Settings,
    listener: TcpListener,
    cluster: Option<Cluster>,
    local: Option<LocalRuntime>,
) -> std::io::Result<Server> {
    let Settings { server, deployer, .. } = settings;
    let state = web::Data::new(api::State { cluster, local, settings: deployer });
    service.serve(listener, &server, move |config| {
        config.app_data(state.clone()).configure(api::routes);
    })
}
