//! The local folder: Nexus' stand-in for the dev stack and the end-to-end tests. Each folder under
//! the root is a repository laid out as `<group path>/<name>/<version>/<files>` (see
//! [`crate::layout`]); files are offered as `file://` URLs, which the deployer's local runtime
//! fetches. Names starting with `.` are left out. Checksums are computed when a job's versions are
//! read, not for the whole listing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha1::Digest;
use walkdir::WalkDir;

use crate::layout;
use crate::listing::Listing;
use crate::model::{Asset, Checksums, Component, Repository};

/// The folder cannot be read: why, with the path.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct FolderError(pub String);

#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: PathBuf) -> Folder {
        Folder { root }
    }

    /// Whether the root can be read: for `/readyz`.
    pub async fn check(&self) -> Result<(), String> {
        let root = self.root.clone();
        match tokio::fs::read_dir(&root).await {
            Ok(_) => Ok(()),
            Err(error) => Err(format!("cannot read {}: {error}", root.display())),
        }
    }

    pub async fn repositories(&self) -> Result<Vec<Repository>, FolderError> {
        let root = self.root.clone();
        blocking(move || {
            let entries = match std::fs::read_dir(&root) {
                Ok(entries) => entries,
                // No folder yet: nothing published yet.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(error) => return Err(unreadable(&root, &error)),
            };
            let mut repositories: Vec<Repository> = entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.'))
                .map(|name| Repository {
                    url: file_url(&root.join(&name)),
                    name,
                    format: "folder".to_owned(),
                    kind: "local".to_owned(),
                })
                .collect();
            repositories.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(repositories)
        })
        .await
    }

    /// Every job of `repository`, without checksums.
    pub async fn listing(&self, repository: &str) -> Result<Listing, FolderError> {
        let folder = self.root.join(repository);
        blocking(move || Ok(Listing::new(components(&folder, &folder, false)?))).await
    }

    /// Every version of one job, with the checksums of its files.
    pub async fn job(&self, repository: &str, group: &str, name: &str) -> Result<Vec<Component>, FolderError> {
        let segments: Vec<&str> = if group.is_empty() { Vec::new() } else { group.split('.').collect() };
        // The group and name come from the request's path: they must not leave the repository.
        let safe = |part: &str| !part.is_empty() && part != "." && part != ".." && !part.contains(['/', '\\', '\0']);
        if !segments.iter().all(|part| safe(part)) || !safe(name) {
            return Ok(Vec::new());
        }
        let repository = self.root.join(repository);
        let job = segments.iter().fold(repository.clone(), |path, part| path.join(part)).join(name);
        let (group, name) = (group.to_owned(), name.to_owned());
        blocking(move || {
            let mut components = components(&repository, &job, true)?;
            // A deeper job (`<job>/<sub>/<version>/<file>`) is another job.
            components.retain(|c| c.group == group && c.name == name);
            Ok(components)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FolderError> + Send + 'static,
) -> Result<T, FolderError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| FolderError(format!("the folder reader stopped: {error}")))?
}

fn unreadable(path: &Path, error: &dyn std::fmt::Display) -> FolderError {
    FolderError(format!("cannot read {}: {error}", path.display()))
}

/// The components of the files under `under`, their paths taken from `repository`.
fn components(repository: &Path, under: &Path, with_checksums: bool) -> Result<Vec<Component>, FolderError> {
    if !under.is_dir() {
        return Ok(Vec::new());
    }
    let mut versions: BTreeMap<(String, String, String), Vec<Asset>> = BTreeMap::new();
    let walk = WalkDir::new(under)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|error| unreadable(under, &error))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(path) = entry.path().strip_prefix(repository).ok().and_then(Path::to_str) else { continue };
        let path = path.replace('\\', "/");
        let Some(coordinates) = layout::coordinates(&path) else { continue };
        let metadata = entry.metadata().map_err(|error| unreadable(entry.path(), &error))?;
        let modified = metadata.modified().ok().map(DateTime::<Utc>::from);
        let checksums = if with_checksums {
            checksums(entry.path()).map_err(|error| unreadable(entry.path(), &error))?
        } else {
            Checksums::default()
        };
        let asset = Asset {
            download_url: file_url(entry.path()),
            size: Some(metadata.len()),
            content_type: None,
            checksums,
            last_modified: modified,
            uploaded: modified,
            uploader: None,
            kind: layout::kind(&path),
            path,
        };
        versions.entry((coordinates.group, coordinates.name, coordinates.version)).or_default().push(asset);
    }
    Ok(versions
        .into_iter()
        .map(|((group, name, version), assets)| Component { group, name, version, assets })
        .collect())
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).map_or_else(|()| format!("file://{}", path.display()), String::from)
}

/// SHA-256, SHA-1 and MD5 of the file, read once.
fn checksums(path: &Path) -> std::io::Result<Checksums> {
    let mut file = std::fs::File::open(path)?;
    let (mut sha256, mut sha1, mut md5) = (sha2::Sha256::new(), sha1::Sha1::new(), md5::Md5::new());
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        sha256.update(&buffer[..read]);
        sha1.update(&buffer[..read]);
        md5.update(&buffer[..read]);
    }
    Ok(Checksums {
        sha512: None,
        sha256: Some(hex(&sha256.finalize())),
        sha1: Some(hex(&sha1.finalize())),
        md5: Some(hex(&md5.finalize())),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
