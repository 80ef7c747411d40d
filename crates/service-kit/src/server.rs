//! The HTTP server of a service, with everything of this crate wired in, and the `main` that starts it.
//!
//! On SIGTERM or SIGINT, `main` stops the server gracefully: no new connections, in-flight requests
//! finish within the shutdown timeout, then the process exits 0. The signal handlers are installed
//! before the service says it listens, so a signal can never find the default (killing) action.
//!
//! A service that also works in the background (a Kafka consumer) returns a [`Running`] with its
//! [`Worker`]: the worker is asked to stop on the same signal and waited for within the same timeout,
//! and a worker that ends by itself stops the service with a failure, so that it is restarted.

use std::fmt::Display;
use std::future::Future;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use prometheus_client::registry::Registry;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::openapi::OpenApi as Document;

use crate::auth::{Access, Policy, Verifier};
use crate::health::Readiness;
use crate::metrics::HttpMetrics;
use crate::settings::{Env, ServerSettings, SettingsError};
use crate::{auth, docs, error, health, metrics, observe, telemetry};

/// One service: its name, its API document, its dependencies and its metrics.
pub struct Service {
    name: &'static str,
    document: Document,
    readiness: Readiness,
    registry: Registry,
    verifier: Option<Verifier>,
    policy: Policy,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("name", &self.name).field("readiness", &self.readiness).finish_non_exhaustive()
    }
}

impl Service {
    /// `document` is the service's own OpenAPI document; the shared endpoints are added to it.
    pub fn new(name: &'static str, document: Document) -> Service {
        crate::tls::install_crypto_provider();
        Service {
            name,
            document: docs::with_operations(document),
            readiness: Readiness::default(),
            registry: Registry::default(),
            verifier: None,
            policy: Access::by_method,
        }
    }

    /// The dependencies `/readyz` asks.
    pub fn readiness(mut self, readiness: Readiness) -> Service {
        self.readiness = readiness;
        self
    }

    /// Checks tokens with these keys instead of those the settings name (the gateway knows its own).
    pub fn verifier(mut self, verifier: Verifier) -> Service {
        self.verifier = Some(verifier);
        self
    }

    /// Which requests need which role, instead of [`Access::by_method`].
    pub fn policy(mut self, policy: Policy) -> Service {
        self.policy = policy;
        self
    }

    /// Where the service registers its own metrics before serving.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Serves the shared endpoints and the service's `routes` on `listener`.
    pub fn serve<F>(mut self, listener: TcpListener, settings: &ServerSettings, routes: F) -> std::io::Result<Server>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let http_metrics = web::Data::new(HttpMetrics::register(&mut self.registry));
        let registry = web::Data::new(Arc::new(self.registry));
        let readiness = web::Data::new(self.readiness);
        let document = self.document;
        let known_paths = web::Data::new(docs::KnownPaths::of(&document));
        let verifier = web::Data::new(self.verifier.unwrap_or_else(|| Verifier::new(settings.auth.clone())));
        let policy = web::Data::new(self.policy);
        tracing::debug!(service = self.name, "starting workers");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(http_metrics.clone())
                .app_data(registry.clone())
                .app_data(readiness.clone())
                .app_data(verifier.clone())
                .app_data(policy.clone())
                .app_data(known_paths.clone())
                .configure(error::extractor_errors)
                .wrap(from_fn(auth::authenticate))
                .wrap(from_fn(observe::observe))
                .route("/healthz", web::get().to(health::healthz))
                .route("/healthz", web::head().to(health::healthz_head))
                .route("/readyz", web::get().to(health::readyz))
                .route("/readyz", web::head().to(health::readyz_head))
                .route("/metrics", web::get().to(metrics::metrics))
                .service(docs::swagger_ui(document.clone()))
                .configure(routes.clone())
                .default_service(web::to(error::not_found))
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        // A client that goes away ends its request at once: the handler is dropped, and with it
        // what it was waiting for (a search is then cancelled on the database, a proxied request
        // upstream).
        .h1_allow_half_closed(false)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(server)
    }
}

/// A service's whole `main`: read the settings (a bad one stops the start with one line naming the
/// variable, exit code 2), set up logs, bind, run until SIGTERM or SIGINT.
pub fn main<S, F, Fut, R, E>(
    name: &'static str,
    load: impl FnOnce(&Env) -> Result<S, SettingsError>,
    run: F,
) -> ExitCode
where
    S: AsRef<ServerSettings>,
    F: FnOnce(S, TcpListener) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    R: Into<Running>,
    E: Display,
{
    let settings = match load(&Env::from_process()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{name}: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.as_ref().log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let shutdown_timeout = settings.as_ref().shutdown_timeout;
    let code = runtime.block_on(async move {
        let listen = settings.as_ref().listen;
        let listener = match TcpListener::bind(listen) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, %listen, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        let address = listener.local_addr().map_or_else(|_| listen.to_string(), |a| a.to_string());
        let Running { server, worker } = match run(settings, listener).await {
            Ok(running) => running.into(),
            Err(error) => {
                tracing::error!(%error, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        let (mut terminate, mut interrupt) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot handle signals");
                return ExitCode::FAILURE;
            }
        };
        let handle = server.handle();
        let mut serving = tokio::spawn(server);
        let (stop_worker, mut working) = match worker {
            Some(Worker { stop, task }) => (Some(stop), Some(task)),
            None => (None, None),
        };
        let worker_ended = async {
            match working.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        tracing::info!(service = name, %address, "listening on http://{address}");
        let finished = tokio::select! {
            _ = terminate.recv() => None,
            _ = interrupt.recv() => None,
            finished = &mut serving => Some(finished),
            ended = worker_ended => {
                match ended {
                    Ok(Ok(())) => tracing::error!(service = name, "the background worker ended by itself"),
                    Ok(Err(error)) => tracing::error!(service = name, %error, "the background worker failed"),
                    Err(error) => tracing::error!(service = name, %error, "the background worker panicked"),
                }
                handle.stop(true).await;
                return ExitCode::FAILURE;
            }
        };
        let finished = match finished {
            Some(finished) => finished,
            None => {
                tracing::info!(service = name, "stopping: finishing the requests in flight");
                let stopping_worker = async {
                    if let (Some(stop), Some(task)) = (stop_worker, working) {
                        stop.cancel();
                        stop_in_time(task, shutdown_timeout).await;
                    }
                };
                let (_, finished) = tokio::join!(stopping_worker, async {
                    handle.stop(true).await;
                    serving.await
                });
                finished
            }
        };
        match finished {
            Ok(Ok(())) => {
                tracing::info!(service = name, "stopped");
                ExitCode::SUCCESS
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "the server failed");
                ExitCode::FAILURE
            }
            Err(error) => {
                tracing::error!(%error, "the server task failed");
                ExitCode::FAILURE
            }
        }
    });
    // A blocking call still running (a broker that does not answer a commit) must not hold the exit.
    runtime.shutdown_timeout(shutdown_timeout);
    code
}

/// What a service's `run` started: its HTTP server and, if it has one, its background worker.
pub struct Running {
    server: Server,
    worker: Option<Worker>,
}

impl Running {
    pub fn with_worker(server: Server, worker: Worker) -> Running {
        Running { server, worker: Some(worker) }
    }

    /// The server and the worker, for a test that drives them itself.
    pub fn into_parts(self) -> (Server, Option<Worker>) {
        (self.server, self.worker)
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("worker", &self.worker).finish_non_exhaustive()
    }
}

impl From<Server> for Running {
    fn from(server: Server) -> Running {
        Running { server, worker: None }
    }
}

/// Work a service does beside answering requests: a task that watches `stop` and returns when it is
/// cancelled, having finished or abandoned what it was doing.
#[derive(Debug)]
pub struct Worker {
    pub stop: CancellationToken,
    pub task: JoinHandle<Result<(), String>>,
}

impl Worker {
    /// Asks the worker to stop and waits for it.
    pub async fn stop(self, timeout: std::time::Duration) {
        self.stop.cancel();
        stop_in_time(self.task, timeout).await;
    }
}

/// Waits up to `timeout` for a worker that was asked to stop; a late one is aborted.
async fn stop_in_time(mut task: JoinHandle<Result<(), String>>, timeout: std::time::Duration) {
    match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(Ok(()))) => tracing::info!("the background worker stopped"),
        Ok(Ok(Err(error))) => tracing::error!(%error, "the background worker failed while stopping"),
        Ok(Err(error)) => tracing::error!(%error, "the background worker panicked while stopping"),
        Err(_) => {
            tracing::warn!(timeout_secs = timeout.as_secs(), "the background worker did not stop in time: aborted");
            task.abort();
        }
    }
}
