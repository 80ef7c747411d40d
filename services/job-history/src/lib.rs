//! RSQL search over every job run, served from Postgres: the seed's Soma Job History, rebuilt.

pub mod api;
mod error;
pub mod messages;
pub mod query;
pub mod search;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::web;
use history_store::PoolSize;
use service_kit::{Env, Readiness, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub const NAME: &str = "job-history";

/// Everything the service reads from the environment: `DATABASE_URL` (default: the dev stack's
/// database), `JOB_HISTORY_DB_POOL_SIZE` (default 16) and the server settings of `JOB_HISTORY_`.
#[derive(Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database_url: String,
    pub pool_size: usize,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_HISTORY", 8086)?,
            database_url: env
                .get_or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/job_orchestrator_dev".to_owned())?,
            pool_size: env.get_or("JOB_HISTORY_DB_POOL_SIZE", PoolSize(16))?.0,
        })
    }
}

impl std::fmt::Debug for Settings {
    // The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-history.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(api::search_jobs, api::get_job, api::delete_job),
    components(schemas(api::SearchResponse, common::job::Job)),
    tags((name = "history", description = "Every run of every job, searched with RSQL"))
)]
pub struct ApiDoc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] history_store::StoreError),
    #[error("cannot serve: {0}")]
    Serve(#[from] std::io::Error),
}

/// Migrates the database, then serves the API on `listener`.
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Server, StartError> {
    let applied = history_store::migrate(&settings.database_url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let pool = history_store::pool(&settings.database_url, settings.pool_size)?;
    let checked = pool.clone();
    let readiness = Readiness::default().with_check("database", move || history_store::ping(checked.clone()));
    let server = Service::new(NAME, ApiDoc::openapi()).readiness(readiness).serve(
        listener,
        &settings.server,
        move |config| {
            config.app_data(web::Data::new(pool.clone())).configure(api::routes);
        },
    )?;
    Ok(server)
}

/// `job-history migrate`: applies the pending migrations and exits.
pub fn migrate_command() -> std::process::ExitCode {
    let settings = match Settings::from_env(&Env::from_process()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{NAME}: cannot migrate: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match runtime.map(|r| r.block_on(history_store::migrate(&settings.database_url))) {
        Ok(Ok(applied)) => {
            eprintln!("{NAME}: {} migration(s) applied: {}", applied.len(), applied.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            eprintln!("{NAME}: {error}");
            std::process::ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{NAME}: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
