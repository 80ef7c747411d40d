//! RSQL search over every job run, served from Postgres: the original history service (Soma Job History), rebuilt.

pub mod api;
mod error;
pub mod logs;
pub mod messages;
pub mod query;
pub mod search;
mod settings;

pub use settings::Settings;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{Env, NotReady, Readiness, Service};
use utoipa::OpenApi;

pub const NAME: &str = "job-history";

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
