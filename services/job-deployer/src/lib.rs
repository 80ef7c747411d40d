//! Deploys a Nexus artifact as a Kubernetes Job or CronJob (or, without a cluster, as local
//! processes), then lists, inspects, controls, deletes and exports it to Airflow, and reports every
//! run as job events on Kafka. On Kubernetes, the cluster holds all of the state; the local runtime
//! keeps its own in a folder.

pub mod airflow;
mod error;
pub mod events;
pub mod http;
pub mod kubernetes;
pub mod local;
pub mod model;
pub mod runtime;
pub mod spec;

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{Env, NotReady, Positive, Readiness, Running, ServerSettings, Service, SettingsError, Worker};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

pub use error::Error;
pub use events::logs::{DEFAULT_MAX_BYTES, LogArchiveSettings, LogArchiver};
pub use events::{KafkaSettings, Publisher};
pub use http::ApiDoc;
pub use kubernetes::{Cluster, Kubernetes};
pub use local::LocalRuntime;
use model::RunnerImage;
use runtime::{Backend, Runtime};

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
    /// `JOB_LOGS_TOPIC` (`job-logs`), `JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES` (10 MiB): where runs' logs
    /// go, and how much of each container's is kept (its tail).
    pub logs: LogArchiveSettings,
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
    /// `JOB_DEPLOYER_RUN_AS_USER` (65532): the user id the runs' containers run as, unless a spec
    /// names the runner's (`runner.runAsUser`); never root, so that the pods pass the `restricted`
    /// Pod Security level.
    pub run_as_user: i64,
    /// `JOB_DEPLOYER_RUNNERS_FILE`: a JSON list of the runner images offered to the UI
    /// (`[{"image", "description", "command", "args"}]`); a few common ones when absent.
    pub runners: Vec<RunnerImage>,
}

/// The runner images offered when no file names them.
const DEFAULT_RUNNERS: &str = r#"[
    {"image": "eclipse-temurin:21-jre", "description": "Java 21: runs a jar", "command": ["java", "-jar", "$(JOB_RESOURCE)"]},
    {"image": "python:3.12-slim", "description": "Python 3.12: runs a script of the resource", "command": ["python3"]},
    {"image": "busybox:1.37", "description": "A shell: runs a script of the resource (Talend's *_run.sh)", "command": ["sh"]}
]"#;

/// The runner images of a file (`JOB_DEPLOYER_RUNNERS_FILE`).
struct RunnersFile(Vec<RunnerImage>);

impl std::str::FromStr for RunnersFile {
    type Err = String;

    fn from_str(path: &str) -> Result<RunnersFile, String> {
        let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read it: {error}"))?;
        let runners: Vec<RunnerImage> =
            serde_json::from_str(&text).map_err(|error| format!("not a list of runner images: {error}"))?;
        for runner in &runners {
            if let Some(problem) = spec::image::problem(&runner.image) {
                return Err(format!("the runner image '{}' {problem}", runner.image));
            }
        }
        Ok(RunnersFile(runners))
    }
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
                run_as_user: env.get_or("JOB_DEPLOYER_RUN_AS_USER", Positive(65_532_i64))?.0,
                runners: match env.optional::<RunnersFile>("JOB_DEPLOYER_RUNNERS_FILE")? {
                    Some(RunnersFile(runners)) => runners,
                    None => serde_json::from_str(DEFAULT_RUNNERS).unwrap_or_default(),
                },
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
            logs: LogArchiveSettings {
                topic: env.get_or("JOB_LOGS_TOPIC", "job-logs".to_owned())?,
                max_bytes: env.get_or("JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES", Positive(DEFAULT_MAX_BYTES))?.0,
            },
        })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

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
    let cluster = match settings.runtime {
        RuntimeKind::Kubernetes => connect(&settings).await,
        RuntimeKind::Local => None,
    };
    start(settings, listener, cluster).await
}

/// The whole service (API, watcher, events) on the given cluster rather than the one the
/// environment names: for the tests on the test stack's control plane.
pub async fn run_on(settings: Settings, listener: TcpListener, cluster: Cluster) -> Result<Running, StartError> {
    start(Settings { runtime: RuntimeKind::Kubernetes, ..settings }, listener, Some(cluster)).await
}

async fn start(settings: Settings, listener: TcpListener, cluster: Option<Cluster>) -> Result<Running, StartError> {
    let mut service = Service::new(NAME, ApiDoc::openapi());
    let (publisher, delivery) = events::publisher::publisher(&settings.kafka, service.registry())?;
    let archiver = LogArchiver::new(&settings.kafka.brokers, settings.logs.clone(), service.registry())?;
    let stop = CancellationToken::new();
    let stop_delivery = CancellationToken::new();
    let delivering = tokio::spawn(delivery.run(stop_delivery.clone()));
    let mut watching = None;
    let backend = match settings.runtime {
        RuntimeKind::Local => {
            // Anyone who reaches the API runs commands as this process: only from this machine.
            let address = listener.local_addr().map_err(StartError::Serve)?;
            if !address.ip().is_loopback() {
                return Err(StartError::LocalNotLoopback(address));
            }
            Backend::Local(
                LocalRuntime::start(&settings.local_dir, publisher.clone(), archiver)
                    .await
                    .map_err(StartError::Local)?,
            )
        }
        RuntimeKind::Kubernetes => match cluster {
            Some(cluster) => {
                let watch = kubernetes::watcher::watch(
                    cluster.client(),
                    cluster.namespace().to_owned(),
                    publisher.clone(),
                    Some(archiver),
                    settings.deployer.start_failure_grace,
                    stop.child_token(),
                );
                watching = Some(tokio::spawn(watch));
                Backend::Kubernetes(Box::new(Kubernetes::new(cluster, settings.deployer.clone())))
            }
            None => Backend::Unconfigured,
        },
    };
    let runtime = Runtime::new(backend.clone(), settings.deployer.clone());
    let readiness = readiness(&backend, Some(&publisher));
    let server =
        serve(service.readiness(readiness), &settings, listener, runtime.clone()).map_err(StartError::Serve)?;
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
                        match error {
                            // Asked to stop: the watch ended because of it (both were ready at once).
                            None if stop.is_cancelled() => Ok(()),
                            error => Err(error.unwrap_or_else(|| "the watch of the runs ended".to_owned())),
                        }
                    }
                },
                None => {
                    stop.cancelled().await;
                    Ok(())
                }
            };
            runtime.shutdown().await;
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

/// `/readyz`: on Kubernetes, the API server answers and grants the deployer every permission it
/// needs; the broker's state is shown without failing readiness, since deployments keep working
/// while events wait.
fn readiness(backend: &Backend, publisher: Option<&Publisher>) -> Readiness {
    let mut readiness = Readiness::default();
    if let Backend::Kubernetes(kubernetes) = backend {
        let kubernetes = kubernetes.clone();
        readiness = readiness.with_check("kubernetes", move || {
            let kubernetes = kubernetes.clone();
            // Its reasons are the missing permissions, or "failing" with the cause logged.
            async move { kubernetes.ready().await.map_err(NotReady::reason) }
        });
    }
    let Some(publisher) = publisher.cloned() else { return readiness };
    readiness.with_advisory("kafka", move || {
        let publisher = publisher.clone();
        async move { publisher.check() }
    })
}

/// Serves the API only, on the given cluster (the tests give one whose API server they play, or
/// a real one), or none.
pub fn run_with(settings: &Settings, listener: TcpListener, cluster: Option<Cluster>) -> std::io::Result<Server> {
    let backend = match cluster {
        Some(cluster) => Backend::Kubernetes(Box::new(Kubernetes::new(cluster, settings.deployer.clone()))),
        None => Backend::Unconfigured,
    };
    let service = Service::new(NAME, ApiDoc::openapi()).readiness(readiness(&backend, None));
    let runtime = Runtime::new(backend, settings.deployer.clone());
    serve(service, settings, listener, runtime)
}

fn serve(service: Service, settings: &Settings, listener: TcpListener, runtime: Runtime) -> std::io::Result<Server> {
    let state = web::Data::new(runtime);
    service.serve(listener, &settings.server, move |config| {
        config.app_data(state.clone()).configure(http::routes);
    })
}
