//! Browse, search and pick the exact version of a job in Nexus (REST API v1), or in a local
//! folder laid out as Nexus' Maven repositories are.

pub mod api;
pub mod catalog;
mod error;
pub mod folder;
pub mod layout;
pub mod listing;
pub mod maven;
pub mod model;
pub mod nexus;
pub mod settings;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::web;
use service_kit::{NotReady, Readiness, Service};
use utoipa::OpenApi;

use crate::catalog::{CachedNexus, Catalog};
use crate::folder::Folder;
use crate::nexus::Nexus;
pub use crate::settings::{Settings, Source};

pub const NAME: &str = "nexus-catalog";

/// The service's API, as served at `/openapi.json` and committed as `openapi/nexus-catalog.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(api::list_repositories, api::list_artifacts, api::list_versions, api::get_version),
    components(schemas(
        model::Repository,
        model::ArtifactPage,
        model::ArtifactSummary,
        model::VersionList,
        model::Version,
        model::Build,
        model::VersionDetail,
        model::Asset,
        model::Checksums,
        model::Resource,
        common::checksum::Checksum,
        common::checksum::ChecksumAlgorithm,
        layout::AssetKind
    )),
    tags((name = "catalog", description = "The jobs published to Nexus, their versions and files"))
)]
pub struct ApiDoc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("NEXUS_CATALOG_NEXUS_CA_FILE: {0}")]
    Nexus(String),
    #[error("cannot serve: {0}")]
    Serve(#[from] std::io::Error),
}

pub async fn run(settings: Settings, listener: TcpListener) -> Result<Server, StartError> {
    let mut service = Service::new(NAME, ApiDoc::openapi());
    // Nexus being down does not take the catalog out of its Service: it answers 502 with a code
    // the UI shows, and /readyz says why.
    let (catalog, readiness) = match &settings.source {
        Source::Nexus(nexus) => {
            tracing::info!(url = %nexus.url, "the catalog reads Nexus");
            let nexus = Nexus::new(nexus, service.registry()).map_err(StartError::Nexus)?;
            let cached = Arc::new(CachedNexus::new(nexus, settings.cache_ttl, settings.cache_entries));
            let checked = cached.clone();
            let readiness = Readiness::default().with_advisory("nexus", move || {
                let checked = checked.clone();
                async move { checked.status().await.map_err(|error| NotReady::because(error.reason(), error)) }
            });
            (Catalog::Nexus(cached), readiness)
        }
        Source::Folder(folder) => {
            tracing::info!(folder = %folder.display(), "the catalog reads a local folder");
            let folder = Folder::new(folder.clone());
            let checked = folder.clone();
            let readiness = Readiness::default().with_advisory("folder", move || {
                let checked = checked.clone();
                async move { checked.check().await.map_err(|cause| NotReady::because("cannot read the folder", cause)) }
            });
            (Catalog::Folder(folder), readiness)
        }
    };
    let state = web::Data::new(api::State { catalog, deadline: settings.deadline });
    Ok(service.readiness(readiness).serve(listener, &settings.server, move |config| {
        config.app_data(state.clone()).configure(api::routes);
    })?)
}
