//! The one entry point of Job Orchestrator: LDAP login, signed tokens and roles, the reverse proxy for /api/* and the web UI.
//!
//! The gateway checks who logs in ([`directory`]: LDAP, or the static users file in dev), signs
//! their token ([`tokens`]), slows repeated failures down ([`throttle`]) and forwards `/api/*` to
//! the services ([`proxy`]), which check the token themselves. Its own pages (`/api/auth/me`,
//! `/api/links`, its API docs) need a token; login, logout, its keys, the proxy and the web UI do not.

pub mod address;
pub mod directory;
pub mod links;
pub mod login;
pub mod proxy;
pub mod settings;
pub mod throttle;
pub mod tokens;
pub mod web_ui;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::web;
use service_kit::Service;
use service_kit::auth::{Access, KeySource, Verifier};
use utoipa::OpenApi;

use crate::directory::Directory;
use crate::directory::ldap::LdapDirectory;
use crate::directory::users_file::UsersFile;
pub use crate::settings::Settings;
use crate::settings::UserSource;

pub const NAME: &str = "auth-gateway";

/// The service's API, as served at `/openapi.json` and committed as `openapi/auth-gateway.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(login::login, login::logout, login::me, login::jwks, links::links),
    components(schemas(login::LoginRequest, login::LoginResponse, service_kit::Caller, service_kit::Role, links::Link)),
    tags(
        (name = "auth", description = "Login, logout and the caller; the keys that check tokens"),
        (name = "links", description = "The external tools of the menu"),
        (name = "proxy", description = "`/api/catalog/*` goes to nexus-catalog's `/v1/*`, `/api/deployments/*` to \
            job-deployer's `/v1/deployments/*` and `/api/history/*` to job-history's `/v1/jobs/history/*`, bodies \
            streamed both ways; a service that is down answers 502 `upstream_unavailable`, a slow one 504 \
            `upstream_timeout`"),
    )
)]
pub struct ApiDoc;

/// Open: the probes, login, logout and the keys (they must be), the proxied services (they check
/// tokens themselves) and the web UI's files (public). Everything else of the gateway's own under
/// `/api/`, and its API docs, needs a token and the role its method needs, as in every service.
fn access(method: &Method, path: &str) -> Access {
    const OPEN: [&str; 3] = ["/api/auth/login", "/api/auth/logout", "/.well-known/jwks.json"];
    let proxied = proxy::PREFIXES
        .iter()
        .any(|prefix| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
    let own = path.starts_with("/api/") || path.starts_with("/docs") || path == "/openapi.json";
    if OPEN.contains(&path) || proxied || !own { Access::Open } else { Access::by_method(method, path) }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Users(String),
    #[error("token key: {0}")]
    Key(String),
    #[error("{0}")]
    Proxy(String),
    #[error("cannot serve: {0}")]
    Serve(#[from] std::io::Error),
}

pub async fn run(settings: Settings, listener: TcpListener) -> Result<Server, StartError> {
    let mut service = Service::new(NAME, ApiDoc::openapi()).policy(access);
    let directory = match &settings.users {
        UserSource::Ldap(ldap) => {
            tracing::info!(url = %ldap.url, "users log in with LDAP");
            Directory::Ldap(Box::new(
                LdapDirectory::new((**ldap).clone(), service.registry()).map_err(StartError::Users)?,
            ))
        }
        UserSource::File(path) => {
            tracing::info!(path = %path.display(), "users log in with the static users file");
            Directory::File(UsersFile::load(path).map_err(StartError::Users)?)
        }
    };
    let key = tokens::load_key(&settings.tokens).map_err(StartError::Key)?;
    let jwks = web::Data::new(key.jwks());
    let verifier = Verifier::new(KeySource::Fixed(key.jwks()));
    let login = web::Data::new(login::Login::new(directory, key, &settings, service.registry()));
    let proxy = web::Data::new(
        proxy::Proxy::new(&settings.upstreams, settings.trusted_proxies.clone()).map_err(StartError::Proxy)?,
    );
    let routes = proxy::routes(&settings.upstreams);
    let links = web::Data::new(settings.links.clone());
    let ui_dir = settings.ui_dir.clone();
    Ok(service.verifier(verifier).serve(listener, &settings.server, move |config| {
        config
            .app_data(login.clone())
            .app_data(jwks.clone())
            .app_data(links.clone())
            .app_data(proxy.clone())
            .route("/api/auth/login", web::post().to(login::login))
            .route("/api/auth/logout", web::post().to(login::logout))
            .route("/api/auth/me", web::get().to(login::me))
            .route("/.well-known/jwks.json", web::get().to(login::jwks))
            .route("/api/links", web::get().to(links::links));
        for route in &routes {
            let prefix = route.prefix;
            config.service(
                web::resource([prefix.to_owned(), format!("{prefix}/{{tail:.*}}")])
                    .app_data(web::Data::new(route.clone()))
                    .to(proxy::forward),
            );
        }
        if let Some(dir) = &ui_dir {
            web_ui::configure(config, dir);
        }
    })?)
}
