//! RSQL search over every job run, served from Postgres.

use std::net::TcpListener;

use actix_web::dev::Server;
use service_kit::{Env, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub const NAME: &str = "job-history";

/// Everything the service reads from the environment (variables prefixed `JOB_HISTORY_`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings { server: ServerSettings::from_env(env, "JOB_HISTORY", 8086)? })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-history.json`.
#[derive(Debug, OpenApi)]
pub struct ApiDoc;

pub async fn run(settings: Settings, listener: TcpListener) -> std::io::Result<Server> {
    Service::new(NAME, ApiDoc::openapi()).serve(listener, &settings.server, |_| {})
}
