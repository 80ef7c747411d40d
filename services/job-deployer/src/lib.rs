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
mod settings;
pub mod spec;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{NotReady, Readiness, Running, Service, Worker};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

pub use error::Error;
pub use events::logs::{DEFAULT_MAX_BYTES, LogArchiveSettings, LogArchiver};
pub use events::{EventSettings, Publisher};
pub use http::ApiDoc;
pub use kubernetes::{Cluster, Kubernetes};
pub use local::LocalRuntime;
use runtime::{Backend, Runtime};
pub use settings::{DeployerSettings, RuntimeKind, Settings};

pub const NAME: &str = "job-deployer";

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
    let (publisher, delivery) = events::publisher::publisher(&settings.events, service.registry())?;
    let archiver = LogArchiver::new(&settings.events.kafka, settings.logs.clone(), service.registry())?;
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
