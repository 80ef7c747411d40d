//! RSQL search over every job run, served from Postgres: the original history service (Soma Job History), rebuilt.

pub mod api;
mod error;
pub mod logs;
pub mod messages;
pub mod query;
pub mod search;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use history_store::PoolSize;
use query::limits::QueryLimits;
use service_kit::{Env, NotReady, Positive, Readiness, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub const NAME: &str = "job-history";

/// Everything the service reads from the environment: `DATABASE_URL` (default: the dev stack's
/// database), `JOB_HISTORY_DB_POOL_SIZE` (default 16), the bounds of a query
/// (`JOB_HISTORY_QUERY_MAX_*`), how long a search may run (`JOB_HISTORY_STATEMENT_TIMEOUT_SECS`,
/// default 10) and the server settings of `JOB_HISTORY_`.
#[derive(Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database_url: String,
    pub pool_size: usize,
    pub query_limits: QueryLimits,
    pub statement_timeout: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_HISTORY", 8086)?,
            database_url: env
                .get_or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/job_orchestrator_dev".to_owned())?,
            pool_size: env.get_or("JOB_HISTORY_DB_POOL_SIZE", PoolSize(16))?.0,
            query_limits: query_limits(env)?,
            statement_timeout: Duration::from_secs(env.get_or("JOB_HISTORY_STATEMENT_TIMEOUT_SECS", Positive(10))?.0),
        })
    }
}

impl std::fmt::Debug for Settings {
    // The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("pool_size", &self.pool_size)
            .field("query_limits", &self.query_limits)
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

fn query_limits(env: &Env) -> Result<QueryLimits, SettingsError> {
    let default = QueryLimits::default();
    let get = |limit: query::limits::Limit, default: usize| env.get_or(limit.setting(), Positive(default)).map(|p| p.0);
    use query::limits::Limit;
    Ok(QueryLimits {
        length: get(Limit::Length, default.length)?,
        comparisons: get(Limit::Comparisons, default.comparisons)?,
        subqueries: get(Limit::Subqueries, default.subqueries)?,
        list_values: get(Limit::ListValues, default.list_values)?,
    })
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-history.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(api::search_jobs, api::list_selectors, api::get_job, api::delete_job, logs::get_logs),
    components(schemas(api::SearchResponse, api::SelectorInfo, api::SelectorType, common::job::Job, logs::ArchivedLog)),
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
    // Postgres' own limit is a backstop, a little later than the API's, for a search whose
    // cancellation is lost on the way.
    let backstop = settings.statement_timeout + Duration::from_secs(2);
    let pool = history_store::pool_with_statement_timeout(&settings.database_url, settings.pool_size, backstop)?;
    let checked = pool.clone();
    let searches = web::Data::new(api::Searches { limits: settings.query_limits, timeout: settings.statement_timeout });
    let readiness = Readiness::default().with_check("database", move || {
        let checked = checked.clone();
        async move { history_store::ping(checked).await.map_err(|cause| NotReady::because("unavailable", cause)) }
    });
    let server = Service::new(NAME, ApiDoc::openapi()).readiness(readiness).serve(
        listener,
        &settings.server,
        move |config| {
            config
                .app_data(web::Data::new(pool.clone()))
                .app_data(searches.clone())
                .configure(api::routes)
                .configure(logs::routes);
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
