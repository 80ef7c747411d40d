//! Settings from the environment, read once at start and passed down. A bad value stops the
//! service with one line naming the variable, what it holds and what it should hold.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use crate::auth::{KeySource, decoding_keys};
use crate::telemetry::LogFormat;

/// A setting that cannot be used, named by its variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct SettingsError {
    pub variable: String,
    pub reason: String,
}

/// A snapshot of the environment variables that settings are read from.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment (variables that are not UTF-8 are left out).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// Given variables only: for tests.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Env {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The variable parsed as `T`, or `None` when unset or empty.
    pub fn optional<T>(&self, variable: &str) -> Result<Option<T>, SettingsError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.vars.get(variable).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|error| SettingsError {
                variable: variable.to_owned(),
                reason: format!("cannot use `{text}`: {error}"),
            }),
        }
    }

    /// The variable parsed as `T`, or `default` when unset or empty.
    pub fn get_or<T>(&self, variable: &str, default: T) -> Result<T, SettingsError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(variable)?.unwrap_or(default))
    }

    /// The variable parsed as `T`; unset or empty is an error.
    pub fn required<T>(&self, variable: &str) -> Result<T, SettingsError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(variable)?.ok_or_else(|| SettingsError {
            variable: variable.to_owned(),
            reason: "is required but not set".to_owned(),
        })
    }
}

/// A setting that must be a whole number of 1 or more (a count, a size, a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positive<T>(pub T);

impl<T: FromStr + PartialOrd + From<u8>> FromStr for Positive<T> {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Positive<T>, Self::Err> {
        match text.parse::<T>() {
            Ok(n) if n > T::from(0) => Ok(Positive(n)),
            _ => Err("a whole number of 1 or more is expected"),
        }
    }
}

/// What every service's HTTP server needs. Variables: `<PREFIX>_LISTEN` (default `127.0.0.1:<port>`;
/// the Helm chart sets `0.0.0.0:<port>`), `<PREFIX>_SHUTDOWN_TIMEOUT_SECS` (default 10) and
/// `LOG_FORMAT` (`json`, the default, or `compact`), and where the gateway's keys are (`AUTH_JWKS_FILE`
/// or `AUTH_JWKS_URL`, see [`crate::auth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    /// The keys that tokens are checked with.
    pub auth: KeySource,
}

impl ServerSettings {
    pub fn from_env(env: &Env, prefix: &str, default_port: u16) -> Result<ServerSettings, SettingsError> {
        let default_listen = SocketAddr::from((Ipv4Addr::LOCALHOST, default_port));
        Ok(ServerSettings {
            listen: env.get_or(&format!("{prefix}_LISTEN"), default_listen)?,
            shutdown_timeout: Duration::from_secs(env.get_or(&format!("{prefix}_SHUTDOWN_TIMEOUT_SECS"), 10u64)?),
            log_format: env.get_or("LOG_FORMAT", LogFormat::Json)?,
            auth: key_source(env)?,
        })
    }
}

/// The gateway's keys when nothing else is configured: the dev stack's gateway.
const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:8080/.well-known/jwks.json";

/// The gateway's keys: the JWKS document `AUTH_JWKS_FILE` (read and checked now), or else the URL
/// `AUTH_JWKS_URL` (default: the dev stack's gateway), fetched when needed.
fn key_source(env: &Env) -> Result<KeySource, SettingsError> {
    if let Some(path) = env.optional::<PathBuf>("AUTH_JWKS_FILE")? {
        let error = |reason: String| SettingsError { variable: "AUTH_JWKS_FILE".to_owned(), reason };
        let text = std::fs::read_to_string(&path).map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        let keys: JwkSet = serde_json::from_str(&text)
            .map_err(|e| error(format!("{} is not a JWKS document: {e}", path.display())))?;
        decoding_keys(&keys).map_err(error)?;
        return Ok(KeySource::Fixed(keys));
    }
    let url: String = env.get_or("AUTH_JWKS_URL", DEFAULT_JWKS_URL.to_owned())?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(SettingsError {
            variable: "AUTH_JWKS_URL".to_owned(),
            reason: format!("cannot use `{url}`: an http:// or https:// URL is expected"),
        });
    }
    Ok(KeySource::Url(url))
}
