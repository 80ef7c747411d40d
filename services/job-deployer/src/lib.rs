//! Deploys a Nexus artifact as a Kubernetes Job or CronJob (or local processes) and reports every run as job events.

use std::net::TcpListener;

use actix_web::dev::Server;
use service_kit::{Env, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub const NAME: &str = "job-deployer";

/// Everything the service reads from the environment (variables prefixed `JOB_DEPLOYER_`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings { server: ServerSettings::from_env(env, "JOB_DEPLOYER", 8082)? })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-deployer.json`.
#[derive(Debug, OpenApi)]
pub struct ApiDoc;

pub async fn run(settings: Settings, listener: TcpListener) -> std::io::Result<Server> {
    Service::new(NAME, ApiDoc::openapi()).serve(listener, &settings.server, |_| {})
}
