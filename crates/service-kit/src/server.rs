//! The HTTP server of a service, with everything of this crate wired in, and the `main` that starts it.
//!
//! On SIGTERM or SIGINT, `main` stops the server gracefully: no new connections, in-flight requests
//! finish within the shutdown timeout, then the process exits 0. The signal handlers are installed
//! before the service says it listens, so a signal can never find the default (killing) action.

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
use utoipa::openapi::OpenApi as Document;

use crate::health::Readiness;
use crate::metrics::HttpMetrics;
use crate::settings::{Env, ServerSettings, SettingsError};
use crate::{docs, error, health, metrics, observe, telemetry};

/// One service: its name, its API document, its dependencies and its metrics.
pub struct Service {
    name: &'static str,
    document: Document,
    readiness: Readiness,
    registry: Registry,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("name", &self.name).field("readiness", &self.readiness).finish_non_exhaustive()
    }
}

impl Service {
    /// `document` is the service's own OpenAPI document; the shared endpoints are added to it.
    pub fn new(name: &'static str, document: Document) -> Service {
        Service {
            name,
            document: docs::with_operations(document),
            readiness: Readiness::default(),
            registry: Registry::default(),
        }
    }

    /// The dependencies `/readyz` asks.
    pub fn readiness(mut self, readiness: Readiness) -> Service {
        self.readiness = readiness;
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
        tracing::debug!(service = self.name, "starting workers");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(http_metrics.clone())
                .app_data(registry.clone())
                .app_data(readiness.clone())
                .configure(error::extractor_errors)
                .wrap(from_fn(observe::observe))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(metrics::metrics))
                .service(docs::swagger_ui(document.clone()))
                .configure(routes.clone())
                .default_service(web::to(error::not_found))
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(server)
    }
}

/// A service's whole `main`: read the settings (a bad one stops the start with one line naming the
/// variable, exit code 2), set up logs, bind, run until SIGTERM or SIGINT.
pub fn main<S, F, Fut, E>(name: &'static str, load: impl FnOnce(&Env) -> Result<S, SettingsError>, run: F) -> ExitCode
where
    S: AsRef<ServerSettings>,
    F: FnOnce(S, TcpListener) -> Fut,
    Fut: Future<Output = Result<Server, E>>,
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
    runtime.block_on(async move {
        let listen = settings.as_ref().listen;
        let listener = match TcpListener::bind(listen) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, %listen, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        let address = listener.local_addr().map_or_else(|_| listen.to_string(), |a| a.to_string());
        let server = match run(settings, listener).await {
            Ok(server) => server,
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
        tracing::info!(service = name, %address, "listening on http://{address}");
        let finished = tokio::select! {
            _ = terminate.recv() => None,
            _ = interrupt.recv() => None,
            finished = &mut serving => Some(finished),
        };
        let finished = match finished {
            Some(finished) => finished,
            None => {
                tracing::info!(service = name, "stopping: finishing the requests in flight");
                handle.stop(true).await;
                serving.await
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
    })
}
