//! The HTTP API: repositories, the jobs of one (searched, paged), the versions of a job, one
//! version's files with the one to run.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use service_kit::{ErrorBody, Query};
use utoipa::IntoParams;

use crate::catalog::{Catalog, CatalogError};
use crate::error::ApiError;
use crate::listing::Filter;
use crate::model::{self, ArtifactPage, Repository, VersionDetail, VersionList};
use crate::nexus::NexusError;

/// A page of jobs holds this many unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// In a path, the empty group (a job directly under the repository, an npm package without scope).
pub const NO_GROUP: &str = "-";

/// What the handlers share: the catalog and how long one answer may take in all.
#[derive(Debug, Clone)]
pub struct State {
    pub catalog: Catalog,
    pub deadline: Duration,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/v1/repositories", web::get().to(list_repositories))
        .route("/v1/repositories/{repository}/artifacts", web::get().to(list_artifacts))
        .route("/v1/repositories/{repository}/artifacts/{group}/{name}/versions", web::get().to(list_versions))
        .route("/v1/repositories/{repository}/artifacts/{group}/{name}/versions/{version}", web::get().to(get_version));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefreshParams {
    /// true reads Nexus again instead of the catalog's cache.
    #[param(value_type = Option<bool>)]
    refresh: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArtifactParams {
    /// Keywords. In a Nexus repository with a search index (maven2 and most formats), Nexus'
    /// keyword search; in a raw repository and the local folder, every word must appear in the
    /// group, the name or a version (case ignored, `*` and `?` allowed).
    #[param(example = "sales")]
    q: Option<String>,
    /// The group, whole; `*` stands for any text and `?` for one character.
    #[param(example = "com.example.*")]
    group: Option<String>,
    /// The name, whole, with the same wildcards.
    #[param(example = "sales-*")]
    name: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    /// Jobs per page, 1 to 500 (default 50).
    #[param(value_type = Option<usize>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// true reads Nexus again instead of the catalog's cache.
    #[param(value_type = Option<bool>)]
    refresh: Option<String>,
}

fn refresh(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        // Empty is refused like any other word: the document says boolean.
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid("refresh", format!("`{other}` is not true or false"))),
    }
}

/// The group as the path writes it.
fn group(path_group: &str) -> &str {
    if path_group == NO_GROUP { "" } else { path_group }
}

/// Runs `work` within the answer's deadline: never a hang, whatever Nexus does.
async fn within<T>(state: &State, work: impl Future<Output = Result<T, CatalogError>>) -> Result<T, ApiError> {
    match tokio::time::timeout(state.deadline, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(CatalogError::Nexus(NexusError::Timeout).into()),
    }
}

/// The repositories the catalog can browse.
#[utoipa::path(
    get,
    path = "/v1/repositories",
    tag = "catalog",
    params(RefreshParams),
    responses(
        (status = 200, description = "Every repository, by name", body = [Repository]),
        (status = 400, description = "A parameter is wrong (`refresh` given twice or not true/false); `field` says which", body = ErrorBody),
        (status = 502, description = "Nexus is unavailable or refused the catalog's credentials; `code` says which", body = ErrorBody),
        (status = 504, description = "Nexus did not answer in time", body = ErrorBody)
    )
)]
pub async fn list_repositories(
    state: web::Data<State>,
    params: Query<RefreshParams>,
) -> Result<HttpResponse, ApiError> {
    let refresh = refresh(params.0.refresh.as_deref())?;
    let repositories = within(&state, state.catalog.repositories(refresh)).await?;
    Ok(HttpResponse::Ok().json(&*repositories))
}

/// The jobs of a repository: one entry per group and name, with its latest version.
#[utoipa::path(
    get,
    path = "/v1/repositories/{repository}/artifacts",
    tag = "catalog",
    params(("repository" = String, Path, description = "The repository's name"), ArtifactParams),
    responses(
        (status = 200, description = "A page of jobs, by group then name", body = ArtifactPage),
        (status = 400, description = "A parameter is wrong; `field` says which", body = ErrorBody),
        (status = 404, description = "No such repository", body = ErrorBody),
        (status = 502, description = "Nexus is unavailable or refused the catalog's credentials; `code` says which", body = ErrorBody),
        (status = 504, description = "Nexus did not answer in time", body = ErrorBody)
    )
)]
pub async fn list_artifacts(
    state: web::Data<State>,
    repository: web::Path<String>,
    params: Query<ArtifactParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => return Err(ApiError::invalid("limit", format!("`{text}` is not a number from 1 to {MAX_LIMIT}"))),
        },
    };
    let offset = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| {
            ApiError::invalid("cursor", "the cursor is not one this catalog gave; start again without it".to_owned())
        })?,
    };
    let filter = Filter {
        q: params.q.unwrap_or_default().trim().to_owned(),
        group: params.group.unwrap_or_default().trim().to_owned(),
        name: params.name.unwrap_or_default().trim().to_owned(),
    };
    let refresh = refresh(params.refresh.as_deref())?;
    let jobs = within(&state, state.catalog.jobs(&repository, &filter, refresh)).await?;
    let end = offset.saturating_add(limit).min(jobs.len());
    Ok(HttpResponse::Ok().json(ArtifactPage {
        artifacts: jobs.get(offset..end).map(<[_]>::to_vec).unwrap_or_default(),
        total: jobs.len(),
        next_cursor: (end < jobs.len()).then(|| encode_cursor(end)),
    }))
}

/// A cursor is where the next page starts, made opaque so that clients do not build their own.
fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// Every version of a job, newest first in Maven's order.
#[utoipa::path(
    get,
    path = "/v1/repositories/{repository}/artifacts/{group}/{name}/versions",
    tag = "catalog",
    params(
        ("repository" = String, Path, description = "The repository's name"),
        ("group" = String, Path, description = "The job's group; `-` for none"),
        ("name" = String, Path, description = "The job's name"),
        RefreshParams
    ),
    responses(
        (status = 200, description = "The versions, newest first; a snapshot's builds under it", body = VersionList),
        (status = 400, description = "A parameter is wrong (`refresh` given twice or not true/false); `field` says which", body = ErrorBody),
        (status = 404, description = "No such repository or job", body = ErrorBody),
        (status = 502, description = "Nexus is unavailable or refused the catalog's credentials; `code` says which", body = ErrorBody),
        (status = 504, description = "Nexus did not answer in time", body = ErrorBody)
    )
)]
pub async fn list_versions(
    state: web::Data<State>,
    path: web::Path<(String, String, String)>,
    params: Query<RefreshParams>,
) -> Result<HttpResponse, ApiError> {
    let (repository, path_group, name) = path.into_inner();
    let refresh = refresh(params.0.refresh.as_deref())?;
    let components = within(&state, state.catalog.job(&repository, group(&path_group), &name, refresh)).await?;
    Ok(HttpResponse::Ok().json(VersionList {
        group: group(&path_group).to_owned(),
        name,
        versions: model::versions(&components),
    }))
}

/// One version's files, with the one to run chosen and ready for a deployment's `resource`.
#[utoipa::path(
    get,
    path = "/v1/repositories/{repository}/artifacts/{group}/{name}/versions/{version}",
    tag = "catalog",
    params(
        ("repository" = String, Path, description = "The repository's name"),
        ("group" = String, Path, description = "The job's group; `-` for none"),
        ("name" = String, Path, description = "The job's name"),
        ("version" = String, Path, description = "A release, a snapshot (its newest build) or a snapshot's build"),
        RefreshParams
    ),
    responses(
        (status = 200, description = "The version's files", body = VersionDetail),
        (status = 400, description = "A parameter is wrong (`refresh` given twice or not true/false); `field` says which", body = ErrorBody),
        (status = 404, description = "No such repository, job or version", body = ErrorBody),
        (status = 502, description = "Nexus is unavailable or refused the catalog's credentials; `code` says which", body = ErrorBody),
        (status = 504, description = "Nexus did not answer in time", body = ErrorBody)
    )
)]
pub async fn get_version(
    state: web::Data<State>,
    path: web::Path<(String, String, String, String)>,
    params: Query<RefreshParams>,
) -> Result<HttpResponse, ApiError> {
    let (repository, path_group, name, version) = path.into_inner();
    let refresh = refresh(params.0.refresh.as_deref())?;
    let group = group(&path_group);
    let components =
        within(&state, state.catalog.job_with_version(&repository, group, &name, &version, refresh)).await?;
    let detail = model::detail(&repository, &components, &version).ok_or_else(|| CatalogError::UnknownVersion {
        repository: repository.clone(),
        group: group.to_owned(),
        name: name.clone(),
        version: version.clone(),
    })?;
    Ok(HttpResponse::Ok().json(detail))
}
