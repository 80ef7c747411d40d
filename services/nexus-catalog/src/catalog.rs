//! The catalog over its source, Nexus or a local folder: repositories, the jobs of one, the
//! versions of one job.
//!
//! Toward Nexus, every answer is cached for `cache_ttl` (a `refresh` drops it first), and callers
//! asking the same thing at once share one fetch. What is fetched:
//! - the jobs of a repository, unfiltered: its components (`/v1/components`, which has no index
//!   lag), once per `cache_ttl`; pages of the listing are cut from that;
//! - a search (`q`, `group` or `name`): Nexus' search with those filters, never the whole repository;
//! - the versions of a job: a search for its exact group and name, or the cached listing when
//!   the search index does not have the job yet;
//! - raw repositories have no group or version that Nexus' search could filter on, so they are
//!   listed once and filtered here, as the local folder is; so are searches that Nexus refuses (a
//!   pattern starting with a wildcard, which Nexus 3.74+ answers with a 400);
//! - the search index lags behind uploads: a version the listing knows and the search not yet is
//!   added from the listing, so that a version the catalog showed always opens.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::folder::{Folder, FolderError};
use crate::listing::{Filter, Listing};
use crate::model::{self, ArtifactSummary, Component, Repository};
use crate::nexus::{Nexus, NexusError};

/// What the catalog could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    #[error("there is no repository {repository}")]
    /// `none_visible`: Nexus shows the catalog no repository at all; `in_nexus`: Nexus, which hides
    /// a repository from an account without the privilege to read it, rather than a folder.
    UnknownRepository { repository: String, none_visible: bool, in_nexus: bool },
    #[error("there is no job {group}:{name} in {repository}")]
    UnknownArtifact { repository: String, group: String, name: String },
    #[error("{group}:{name} has no version {version} in {repository}")]
    UnknownVersion { repository: String, group: String, name: String, version: String },
    #[error(transparent)]
    Nexus(#[from] NexusError),
    /// The local folder cannot be read.
    #[error("{0}")]
    Folder(String),
}

impl From<FolderError> for CatalogError {
    fn from(FolderError(reason): FolderError) -> CatalogError {
        CatalogError::Folder(reason)
    }
}

#[derive(Debug, Clone)]
pub enum Catalog {
    Nexus(Arc<CachedNexus>),
    Folder(Folder),
}

/// Nexus behind the caches.
#[derive(Debug)]
pub struct CachedNexus {
    nexus: Nexus,
    repositories: Cache<(), Arc<Vec<Repository>>>,
    /// Whole repositories, by name.
    listings: Cache<String, Arc<Listing>>,
    /// Searches, by repository and filter.
    searches: Cache<(String, Filter), Arc<Vec<ArtifactSummary>>>,
    /// One job's components, by repository, group and name.
    jobs: Cache<(String, String, String), Arc<Vec<Component>>>,
}

impl CachedNexus {
    pub fn new(nexus: Nexus, ttl: Duration, entries: u64) -> CachedNexus {
        fn cache<K, V>(ttl: Duration, entries: u64) -> Cache<K, V>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            Cache::builder().time_to_live(ttl).max_capacity(entries).build()
        }
        CachedNexus {
            nexus,
            repositories: cache(ttl, 1),
            listings: cache(ttl, entries),
            searches: cache(ttl, entries),
            jobs: cache(ttl, entries),
        }
    }

    pub async fn status(&self) -> Result<(), NexusError> {
        self.nexus.status().await
    }
}

/// `get` through `cache`: one fetch for all who ask at once; `refresh` drops what is cached first.
/// Failures are not cached. The fetch runs as a task of its own, so that it ends and fills the
/// cache even when every caller gave up at its deadline: a repository longer to list than one
/// answer may take is still listed, and the next caller finds it.
async fn cached<K, V, F>(cache: &Cache<K, V>, key: K, refresh: bool, fetch: F) -> Result<V, CatalogError>
where
    K: std::hash::Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, CatalogError>> + Send + 'static,
{
    if refresh {
        cache.invalidate(&key).await;
    }
    let (filled, filled_key) = (cache.clone(), key.clone());
    // Spawned only when the cache has nothing, by the one caller that fetches.
    let fetch = async move {
        let task: tokio::task::JoinHandle<Result<V, CatalogError>> = tokio::spawn(async move {
            let value = fetch.await?;
            filled.insert(filled_key, value.clone()).await;
            Ok(value)
        });
        task.await.map_err(|error| CatalogError::Nexus(NexusError::BadAnswer(format!("the fetch stopped: {error}"))))?
    };
    cache.try_get_with(key, fetch).await.map_err(|error| (*error).clone())
}

impl Catalog {
    pub async fn repositories(&self, refresh: bool) -> Result<Arc<Vec<Repository>>, CatalogError> {
        match self {
            Catalog::Nexus(nexus) => {
                let source = nexus.clone();
                cached(&nexus.repositories, (), refresh, async move {
                    let mut repositories = source.nexus.repositories().await?;
                    repositories.sort_by(|a, b| a.name.cmp(&b.name));
                    Ok(Arc::new(repositories))
                })
                .await
            }
            Catalog::Folder(folder) => Ok(Arc::new(folder.repositories().await?)),
        }
    }

    /// The repository called `name`, or why not; `refresh` reads the list again.
    async fn repository(&self, name: &str, refresh: bool) -> Result<Repository, CatalogError> {
        let repositories = self.repositories(refresh).await?;
        repositories.iter().find(|r| r.name == name).cloned().ok_or_else(|| CatalogError::UnknownRepository {
            repository: name.to_owned(),
            none_visible: repositories.is_empty(),
            in_nexus: matches!(self, Catalog::Nexus(_)),
        })
    }

    /// The jobs of `repository` that `filter` selects, by group then name.
    pub async fn jobs(
        &self,
        repository: &str,
        filter: &Filter,
        refresh: bool,
    ) -> Result<Arc<Vec<ArtifactSummary>>, CatalogError> {
        let repository = self.repository(repository, refresh).await?;
        match self {
            Catalog::Folder(folder) => Ok(Arc::new(folder.listing(&repository.name).await?.filtered(filter))),
            Catalog::Nexus(nexus)
                if filter.is_empty() || repository.format == "raw" || filter.starts_with_wildcard() =>
            {
                let listing = listing(nexus, repository, refresh).await?;
                Ok(Arc::new(listing.filtered(filter)))
            }
            Catalog::Nexus(nexus) => {
                let key = (repository.name.clone(), filter.clone());
                let (source, filter) = (nexus.clone(), filter.clone());
                cached(&nexus.searches, key, refresh, async move {
                    let filters = [("q", filter.q.as_str()), ("group", &filter.group), ("name", &filter.name)];
                    let components = source.nexus.search(&repository, &filters).await?;
                    Ok(Arc::new(model::summaries(&components)))
                })
                .await
            }
        }
    }

    /// Every component of one job: its versions and their builds.
    pub async fn job(
        &self,
        repository: &str,
        group: &str,
        name: &str,
        refresh: bool,
    ) -> Result<Arc<Vec<Component>>, CatalogError> {
        let repository = self.repository(repository, refresh).await?;
        let components = match self {
            Catalog::Folder(folder) => Arc::new(folder.job(&repository.name, group, name).await?),
            Catalog::Nexus(nexus) if repository.format == "raw" => {
                Arc::new(listing(nexus, repository.clone(), refresh).await?.job(group, name))
            }
            Catalog::Nexus(nexus) => {
                let key = (repository.name.clone(), group.to_owned(), name.to_owned());
                let (source, searched, wanted_group, wanted_name) =
                    (nexus.clone(), repository.clone(), group.to_owned(), name.to_owned());
                let found = cached(&nexus.jobs, key, refresh, async move {
                    let components =
                        source.nexus.search(&searched, &[("group", &wanted_group), ("name", &wanted_name)]).await?;
                    // Nexus reads `*` and `?` as wildcards and may ignore case: keep the exact job.
                    Ok(Arc::new(
                        components.into_iter().filter(|c| c.group == wanted_group && c.name == wanted_name).collect(),
                    ))
                })
                .await?;
                match nexus.listings.get(&repository.name).await {
                    // Versions not in the search index yet, but in the listing the user clicked in.
                    Some(listing) => Arc::new(with_unindexed(&found, listing.job(group, name))),
                    None => found,
                }
            }
        };
        if components.is_empty() {
            return Err(CatalogError::UnknownArtifact {
                repository: repository.name,
                group: group.to_owned(),
                name: name.to_owned(),
            });
        }
        Ok(components)
    }
}

impl Catalog {
    /// One job's components, among which `version` if the catalog can find it: a version that the
    /// search index does not have yet is looked for in the whole repository's listing.
    pub async fn job_with_version(
        &self,
        repository: &str,
        group: &str,
        name: &str,
        version: &str,
        refresh: bool,
    ) -> Result<Arc<Vec<Component>>, CatalogError> {
        let components = self.job(repository, group, name, refresh).await?;
        let Catalog::Nexus(nexus) = self else { return Ok(components) };
        if model::detail(repository, &components, version).is_some() {
            return Ok(components);
        }
        let repository = self.repository(repository, false).await?;
        let listing = listing(nexus, repository, false).await?;
        Ok(Arc::new(with_unindexed(&components, listing.job(group, name))))
    }
}

/// `found` with the versions of `listed` that it lacks.
fn with_unindexed(found: &[Component], listed: Vec<Component>) -> Vec<Component> {
    let mut all = found.to_vec();
    all.extend(listed.into_iter().filter(|c| !found.iter().any(|known| known.version == c.version)));
    all
}

/// The whole repository, from `/v1/components`.
async fn listing(
    nexus: &Arc<CachedNexus>,
    repository: Repository,
    refresh: bool,
) -> Result<Arc<Listing>, CatalogError> {
    let source = nexus.clone();
    cached(&nexus.listings, repository.name.clone(), refresh, async move {
        match source.nexus.components(&repository).await {
            Ok(components) => Ok(Arc::new(Listing::new(components))),
            // Listed a moment ago, gone now.
            Err(NexusError::NotFound) => Err(CatalogError::UnknownRepository {
                repository: repository.name,
                none_visible: false,
                in_nexus: true,
            }),
            Err(error) => Err(error.into()),
        }
    })
    .await
}
