//! What the catalog reads from the environment, read once at start.

use std::path::PathBuf;
use std::time::Duration;

use service_kit::{Env, Positive, ServerSettings, SettingsError};

use crate::nexus::NexusSettings;

/// Where the jobs are published.
#[derive(Debug, Clone)]
pub enum Source {
    Nexus(NexusSettings),
    /// `<folder>/<repository>/<group path>/<name>/<version>/<files>`.
    Folder(PathBuf),
}

/// Everything the service reads from the environment. With `NEXUS_CATALOG_NEXUS_URL` the source is
/// Nexus (`NEXUS_CATALOG_NEXUS_USERNAME`, `_PASSWORD` or `_PASSWORD_FILE`, `_CA_FILE`,
/// `_TIMEOUT_SECS` 10, `_CONNECT_TIMEOUT_SECS` 3, `_ATTEMPTS` 3, `_CONCURRENCY` 4); without it, the
/// folder `NEXUS_CATALOG_FOLDER` (default `$HOME/.local/share/job-orchestrator/catalog`).
/// `NEXUS_CATALOG_CACHE_TTL_SECS` (60) and `_CACHE_ENTRIES` (1000) size the cache of Nexus'
/// answers; `NEXUS_CATALOG_DEADLINE_SECS` (60) bounds one answer in all.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub source: Source,
    pub cache_ttl: Duration,
    pub cache_entries: u64,
    pub deadline: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        let seconds = |variable: &str, default: u64| -> Result<Duration, SettingsError> {
            Ok(Duration::from_secs(env.get_or(variable, Positive(default))?.0))
        };
        let source = match env.optional::<String>("NEXUS_CATALOG_NEXUS_URL")? {
            Some(url) => Source::Nexus(NexusSettings {
                url: nexus_url(url)?,
                username: env.optional("NEXUS_CATALOG_NEXUS_USERNAME")?,
                password: match env.optional::<PathBuf>("NEXUS_CATALOG_NEXUS_PASSWORD_FILE")? {
                    Some(file) => Some(
                        std::fs::read_to_string(&file)
                            .map_err(|error| SettingsError {
                                variable: "NEXUS_CATALOG_NEXUS_PASSWORD_FILE".to_owned(),
                                reason: format!("cannot read {}: {error}", file.display()),
                            })?
                            .trim_end_matches(['\r', '\n'])
                            .to_owned(),
                    ),
                    None => env.optional("NEXUS_CATALOG_NEXUS_PASSWORD")?,
                },
                ca_file: env.optional("NEXUS_CATALOG_NEXUS_CA_FILE")?,
                timeout: seconds("NEXUS_CATALOG_NEXUS_TIMEOUT_SECS", 10)?,
                connect_timeout: seconds("NEXUS_CATALOG_NEXUS_CONNECT_TIMEOUT_SECS", 3)?,
                attempts: env.get_or("NEXUS_CATALOG_NEXUS_ATTEMPTS", Positive(3))?.0,
                concurrency: env.get_or("NEXUS_CATALOG_NEXUS_CONCURRENCY", Positive(4))?.0,
                backoff: Duration::from_millis(200),
            }),
            None => {
                let folder = match env.optional::<PathBuf>("NEXUS_CATALOG_FOLDER")? {
                    Some(folder) => folder,
                    None => env.optional::<PathBuf>("HOME")?.map_or_else(
                        || PathBuf::from("catalog"),
                        |home| home.join(".local/share/job-orchestrator/catalog"),
                    ),
                };
                // Absolute, so that its files' file:// URLs are.
                Source::Folder(std::path::absolute(&folder).map_err(|error| SettingsError {
                    variable: "NEXUS_CATALOG_FOLDER".to_owned(),
                    reason: format!("cannot make {} absolute: {error}", folder.display()),
                })?)
            }
        };
        Ok(Settings {
            server: ServerSettings::from_env(env, "NEXUS_CATALOG", 8081)?,
            source,
            cache_ttl: seconds("NEXUS_CATALOG_CACHE_TTL_SECS", 60)?,
            cache_entries: env.get_or("NEXUS_CATALOG_CACHE_ENTRIES", Positive(1000))?.0,
            deadline: seconds("NEXUS_CATALOG_DEADLINE_SECS", 60)?,
        })
    }
}

/// An http(s) URL without credentials in it (they belong in `_USERNAME` and `_PASSWORD`, which
/// are never printed).
fn nexus_url(url: String) -> Result<String, SettingsError> {
    let invalid =
        |reason: &str| SettingsError { variable: "NEXUS_CATALOG_NEXUS_URL".to_owned(), reason: reason.to_owned() };
    let parsed = url::Url::parse(&url).map_err(|error| invalid(&format!("not a URL: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("an http:// or https:// URL is expected"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("put the credentials in NEXUS_CATALOG_NEXUS_USERNAME and _PASSWORD, not in the URL"));
    }
    Ok(url)
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}
