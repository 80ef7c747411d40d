//! What the catalog answers, and how a repository's components become jobs and versions: one
//! component is one version of one job (one build, for a Maven snapshot), whichever source it
//! came from.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use common::checksum::{Checksum, ChecksumAlgorithm};
use serde::Serialize;
use utoipa::ToSchema;

use crate::layout::{self, AssetKind};
use crate::maven::{self, MavenVersion};

/// A repository the catalog can browse.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Repository {
    #[schema(example = "releases")]
    pub name: String,
    /// `maven2`, `raw`, `docker`, ...; `folder` for the local folder.
    #[schema(example = "maven2")]
    pub format: String,
    /// `hosted`, `proxy` or `group`; `local` for the local folder.
    #[serde(rename = "type")]
    #[schema(example = "hosted")]
    pub kind: String,
    #[schema(example = "https://nexus.example.com/repository/releases")]
    pub url: String,
}

/// One file of a version.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    #[schema(example = "com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip")]
    pub path: String,
    /// Percent-encoded, ready to request.
    #[schema(
        example = "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip"
    )]
    pub download_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub checksums: Checksums,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
    /// When it was uploaded (Nexus' blob creation time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploader: Option<String>,
    pub kind: AssetKind,
}

impl Asset {
    fn uploaded_or_modified(&self) -> Option<DateTime<Utc>> {
        self.uploaded.or(self.last_modified)
    }
}

/// Hexadecimal digests; those the source does not know are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Checksums {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

impl Checksums {
    /// The strongest digest known, as the deployer takes it.
    fn strongest(&self) -> Option<Checksum> {
        [
            (ChecksumAlgorithm::Sha512, &self.sha512),
            (ChecksumAlgorithm::Sha256, &self.sha256),
            (ChecksumAlgorithm::Sha1, &self.sha1),
            (ChecksumAlgorithm::Md5, &self.md5),
        ]
        .into_iter()
        .find_map(|(algorithm, value)| value.clone().map(|value| Checksum { algorithm, value }))
    }
}

/// One version of one job in a repository: a build, for a Maven snapshot.
#[derive(Debug, Clone)]
pub struct Component {
    /// Empty when the source has none.
    pub group: String,
    pub name: String,
    pub version: String,
    pub assets: Vec<Asset>,
}

impl Component {
    /// The first upload of its files.
    fn uploaded(&self) -> Option<DateTime<Utc>> {
        self.assets.iter().filter_map(Asset::uploaded_or_modified).min()
    }

    fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.assets.iter().filter_map(|asset| asset.last_modified.or(asset.uploaded)).max()
    }
}

/// A job in a repository: the listing's entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSummary {
    #[schema(example = "com.example.etl")]
    pub group: String,
    #[schema(example = "sales-etl")]
    pub name: String,
    /// The newest in Maven's order; a snapshot's builds count as its base version.
    #[schema(example = "1.4.2")]
    pub latest_version: String,
    /// Versions, a snapshot's builds counting once.
    pub version_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactPage {
    pub artifacts: Vec<ArtifactSummary>,
    /// How many jobs match in all.
    pub total: usize,
    /// Pass it as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A version of a job, newest first in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    #[schema(example = "1.5.0-SNAPSHOT")]
    pub version: String,
    /// When it was uploaded; for a snapshot, its newest build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<DateTime<Utc>>,
    pub snapshot: bool,
    /// A snapshot's timestamped builds, newest first. Empty for a release.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<Build>,
}

/// One timestamped build of a snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Build {
    #[schema(example = "1.5.0-20240105.093000-3")]
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<DateTime<Utc>>,
}

/// Every version of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub group: String,
    pub name: String,
    pub versions: Vec<Version>,
}

/// One version's files, with the one to run chosen.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionDetail {
    pub group: String,
    pub name: String,
    /// As asked: a release, a snapshot (`1.5.0-SNAPSHOT`, meaning its newest build) or a build.
    pub version: String,
    /// The build whose files these are, for a snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    pub assets: Vec<Asset>,
    /// The file to run, as the deployer's `resource` takes it; absent when the version has no
    /// package or Nexus knows no checksum of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_run: Option<Resource>,
}

/// The deployer's `resource`: which file to fetch and how to check it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub repository: String,
    pub group: String,
    pub name: String,
    /// The exact version: a snapshot's build, not `-SNAPSHOT`, so that a run is repeatable.
    pub version: String,
    pub path: String,
    pub download_url: String,
    pub checksum: Checksum,
}

/// One component per version: Nexus makes one per file in raw repositories.
pub fn merged(components: Vec<Component>) -> Vec<Component> {
    let mut versions: BTreeMap<(String, String, String), Component> = BTreeMap::new();
    for component in components {
        let key = (component.group.clone(), component.name.clone(), component.version.clone());
        match versions.get_mut(&key) {
            Some(known) => known.assets.extend(component.assets),
            None => {
                versions.insert(key, component);
            }
        }
    }
    versions.into_values().collect()
}

/// The jobs among `components`, by group then name.
pub fn summaries<'a>(components: impl IntoIterator<Item = &'a Component>) -> Vec<ArtifactSummary> {
    let mut jobs: BTreeMap<(&str, &str), Vec<&Component>> = BTreeMap::new();
    for component in components {
        jobs.entry((&component.group, &component.name)).or_default().push(component);
    }
    jobs.into_iter()
        .map(|((group, name), builds)| {
            let distinct: BTreeSet<String> = builds.iter().map(|c| maven::base_version(&c.version)).collect();
            let mut versions: Vec<String> = distinct.into_iter().collect();
            versions.sort_by_cached_key(|v| Reverse(MavenVersion::parse(v)));
            ArtifactSummary {
                group: group.to_owned(),
                name: name.to_owned(),
                latest_version: versions.first().cloned().unwrap_or_default(),
                version_count: versions.len(),
                last_modified: builds.iter().filter_map(|c| c.last_modified()).max(),
            }
        })
        .collect()
}

/// The versions of one job's `components`, newest first; a snapshot's builds under it, newest first.
pub fn versions(components: &[Component]) -> Vec<Version> {
    let mut by_version: BTreeMap<String, Vec<&Component>> = BTreeMap::new();
    for component in components {
        by_version.entry(maven::base_version(&component.version)).or_default().push(component);
    }
    let mut versions: Vec<(MavenVersion, Version)> = by_version
        .into_iter()
        .map(|(version, mut builds)| {
            builds.sort_by_cached_key(|c| Reverse(build_order(&c.version)));
            let snapshot = maven::is_snapshot(&version);
            let uploaded = builds.iter().filter_map(|c| c.uploaded()).max();
            let builds = if snapshot {
                builds.iter().map(|c| Build { version: c.version.clone(), uploaded: c.uploaded() }).collect()
            } else {
                Vec::new()
            };
            (MavenVersion::parse(&version), Version { version, uploaded, snapshot, builds })
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, version)| version).collect()
}

/// Builds of one snapshot by time then number; a plain `-SNAPSHOT` (non-unique) one first of all.
fn build_order(version: &str) -> (String, u64) {
    maven::snapshot_build(version)
        .map_or_else(|| (String::new(), 0), |build| (build.timestamp.to_owned(), build.build_number))
}

/// `version` of one job: a release or build by its name, a snapshot by its newest build.
pub fn detail(repository: &str, components: &[Component], version: &str) -> Option<VersionDetail> {
    let component = match components.iter().find(|c| c.version == version) {
        Some(exact) => exact,
        None => components
            .iter()
            .filter(|c| maven::base_version(&c.version) == version)
            .max_by_key(|c| build_order(&c.version))?,
    };
    let mut assets = component.assets.clone();
    assets.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    let to_run = layout::to_run(assets.iter().map(|asset| asset.path.as_str()))
        .and_then(|path| assets.iter().find(|asset| asset.path == path))
        .and_then(|asset| {
            Some(Resource {
                repository: repository.to_owned(),
                group: component.group.clone(),
                name: component.name.clone(),
                version: component.version.clone(),
                path: asset.path.clone(),
                download_url: asset.download_url.clone(),
                checksum: asset.checksums.strongest()?,
            })
        });
    Some(VersionDetail {
        group: component.group.clone(),
        name: component.name.clone(),
        version: version.to_owned(),
        build: (component.version != version).then(|| component.version.clone()),
        assets,
        to_run,
    })
}
