//! The one entry point of Job Orchestrator: LDAP login, signed tokens and roles, the reverse proxy for /api/* and the web UI.

use std::net::TcpListener;

use actix_web::dev::Server;
use service_kit::{Env, ServerSettings, Service, SettingsError};
use utoipa::OpenApi;

pub const NAME: &str = "auth-gateway";

/// Everything the service reads from the environment (variables prefixed `AUTH_GATEWAY_`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings { server: ServerSettings::from_env(env, "AUTH_GATEWAY", 8080)? })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}

/// The service's API, as served at `/openapi.json` and committed as `openapi/auth-gateway.json`.
#[derive(Debug, OpenApi)]
pub struct ApiDoc;

pub async fn run(settings: Settings, listener: TcpListener) -> std::io::Result<Server> {
    Service::new(NAME, ApiDoc::openapi()).serve(listener, &settings.server, |_| {})
}
