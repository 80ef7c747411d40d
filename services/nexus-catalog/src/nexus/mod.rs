//! A client of Nexus Repository Manager 3's REST API v1 (`/service/rest/v1/`): every request
//! bounded in time, retried a few times when Nexus is down or overloaded, and at most
//! `concurrency` of them in flight, whatever the number of callers.

pub mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::model::{self, Component, Repository};

/// How the catalog reaches Nexus. The password is never printed.
#[derive(Clone)]
pub struct NexusSettings {
    /// `https://nexus.example.com` (the API is under `/service/rest/v1/`).
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM certificates to trust beside the system's, for a Nexus behind a private CA.
    pub ca_file: Option<String>,
    /// One request, from sending to the last byte of the answer.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Tries of one request when Nexus is unreachable, times out or answers 429/5xx.
    pub attempts: u32,
    /// Requests in flight toward Nexus at most.
    pub concurrency: usize,
    /// The first pause between tries; it doubles after each.
    pub backoff: Duration,
}

impl std::fmt::Debug for NexusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NexusSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// Why Nexus gave no usable answer. Cloned to every caller of a coalesced request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NexusError {
    #[error("Nexus cannot be reached: {0}")]
    Unreachable(String),
    #[error("Nexus did not answer in time")]
    Timeout,
    #[error("Nexus answered {0}")]
    Failing(u16),
    /// 401: the catalog's own credentials.
    #[error("Nexus refused the catalog's credentials")]
    CredentialsRejected,
    /// 403: the catalog's account lacks a privilege.
    #[error("Nexus forbids the catalog's account to read this")]
    Forbidden,
    #[error("Nexus has no such thing")]
    NotFound,
    /// An answer the catalog cannot read, or a refusal (400, 422) of a request the catalog made.
    #[error("Nexus' answer cannot be used: {0}")]
    BadAnswer(String),
}

impl NexusError {
    /// What went wrong without the details that name hosts or quote answers (for `/readyz`).
    pub fn reason(&self) -> String {
        match self {
            NexusError::Unreachable(_) => "Nexus cannot be reached".to_owned(),
            NexusError::BadAnswer(_) => "Nexus' answer cannot be used".to_owned(),
            other => other.to_string(),
        }
    }

    fn retryable(&self) -> bool {
        matches!(self, NexusError::Unreachable(_) | NexusError::Timeout | NexusError::Failing(_))
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    /// `ok`, or the error's kind.
    outcome: &'static str,
}

#[derive(Debug, Clone)]
pub struct Nexus {
    http: reqwest::Client,
    api: String,
    username: Option<String>,
    password: Option<String>,
    attempts: u32,
    backoff: Duration,
    in_flight: Arc<Semaphore>,
    requests: Family<RequestLabels, Counter>,
}

impl Nexus {
    pub fn new(settings: &NexusSettings, registry: &mut Registry) -> Result<Nexus, String> {
        service_kit::tls::install_crypto_provider();
        let mut http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("job-orchestrator-nexus-catalog/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = &settings.ca_file {
            let pem = std::fs::read(file).map_err(|error| format!("cannot read the CA file {file}: {error}"))?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|error| format!("the CA file {file} holds no PEM certificate: {error}"))?
            {
                http = http.add_root_certificate(certificate);
            }
        }
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("nexus_requests", "Requests made to Nexus, by endpoint and outcome", requests.clone());
        Ok(Nexus {
            http: http.build().map_err(|error| format!("cannot make the HTTP client: {error}"))?,
            api: format!("{}/service/rest/v1", settings.url.trim_end_matches('/')),
            username: settings.username.clone(),
            password: settings.password.clone(),
            attempts: settings.attempts.max(1),
            backoff: settings.backoff,
            in_flight: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            requests,
        })
    }

    /// `GET /v1/status`: 200 when Nexus can serve reads. Tried once, within 2 s: it answers
    /// `/readyz`, whose probes have short timeouts of their own.
    pub async fn status(&self) -> Result<(), NexusError> {
        match tokio::time::timeout(Duration::from_secs(2), self.get_once("status", &[])).await {
            Ok(answer) => answer.map(|_| ()),
            Err(_) => Err(NexusError::Timeout),
        }
    }

    pub async fn repositories(&self) -> Result<Vec<Repository>, NexusError> {
        let body = self.get("repositories", &[]).await?;
        wire::repositories(&body).map_err(NexusError::BadAnswer)
    }

    /// Every component of `repository` (`GET /v1/components`): read from the database, not from
    /// the search index, so a new upload is there at once. 404 for an unknown repository.
    pub async fn components(&self, repository: &Repository) -> Result<Vec<Component>, NexusError> {
        let items = self.all("components", vec![("repository", repository.name.clone())]).await?;
        Ok(model::merged(items.iter().filter_map(|item| wire::component(item, repository)).collect()))
    }

    /// `GET /v1/search` in `repository` with Nexus' own parameters (`q`, `group`, `name`, ...).
    /// Answers from the search index, which may lag behind uploads; an unknown repository gives
    /// an empty list.
    pub async fn search(
        &self,
        repository: &Repository,
        filters: &[(&'static str, &str)],
    ) -> Result<Vec<Component>, NexusError> {
        let mut query = vec![("repository", repository.name.clone())];
        query.extend(filters.iter().filter(|(_, value)| !value.is_empty()).map(|(k, v)| (*k, (*v).to_owned())));
        let items = self.all("search", query).await?;
        Ok(model::merged(items.iter().filter_map(|item| wire::component(item, repository)).collect()))
    }

    /// Every item of a paged list. A full page always carries a token, even when nothing follows,
    /// so only a null token ends it; a token seen twice would loop for ever and is an error.
    async fn all(&self, endpoint: &'static str, query: Vec<(&'static str, String)>) -> Result<Vec<Value>, NexusError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut page_query = query.clone();
            if let Some(token) = &token {
                page_query.push(("continuationToken", token.clone()));
            }
            let body = self.get(endpoint, &page_query).await?;
            let page = wire::page(&body).map_err(NexusError::BadAnswer)?;
            items.extend(page.items);
            match page.continuation_token {
                None => return Ok(items),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(NexusError::BadAnswer(format!("the continuation token {next} came twice")));
                }
                Some(next) => token = Some(next),
            }
        }
    }

    /// One GET, tried up to `attempts` times with a doubling pause when the failure may pass.
    async fn get(&self, endpoint: &'static str, query: &[(&str, String)]) -> Result<Vec<u8>, NexusError> {
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            let result = self.get_once(endpoint, query).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(NexusError::Unreachable(_)) => "unreachable",
                Err(NexusError::Timeout) => "timeout",
                Err(NexusError::Failing(_)) => "failing",
                Err(NexusError::CredentialsRejected) => "credentials_rejected",
                Err(NexusError::Forbidden) => "forbidden",
                Err(NexusError::NotFound) => "not_found",
                Err(NexusError::BadAnswer(_)) => "bad_answer",
            };
            self.requests.get_or_create(&RequestLabels { endpoint, outcome }).inc();
            match result {
                Err(error) if error.retryable() && attempt < self.attempts => {
                    tracing::warn!(endpoint, attempt, %error, "Nexus request failed; trying again in {pause:?}");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn get_once(&self, endpoint: &str, query: &[(&str, String)]) -> Result<Vec<u8>, NexusError> {
        let _permit = self.in_flight.acquire().await.map_err(|_| NexusError::Unreachable("closing".to_owned()))?;
        let mut request =
            self.http.get(format!("{}/{endpoint}", self.api)).query(query).header("accept", "application/json");
        if let Some(username) = &self.username {
            request = request.basic_auth(username, self.password.as_deref());
        }
        let response = request.send().await.map_err(|error| transport(&error))?;
        // Since 3.30 error answers have no body: the status is all there is.
        match response.status() {
            status if status.is_success() => Ok(response.bytes().await.map_err(|error| transport(&error))?.to_vec()),
            StatusCode::UNAUTHORIZED => Err(NexusError::CredentialsRejected),
            StatusCode::FORBIDDEN => Err(NexusError::Forbidden),
            StatusCode::NOT_FOUND => Err(NexusError::NotFound),
            StatusCode::TOO_MANY_REQUESTS => Err(NexusError::Failing(429)),
            status if status.is_server_error() => Err(NexusError::Failing(status.as_u16())),
            status => Err(NexusError::BadAnswer(format!("Nexus refused the request with {status}"))),
        }
    }
}

fn transport(error: &reqwest::Error) -> NexusError {
    if error.is_timeout() {
        NexusError::Timeout
    } else {
        // The source chain says why (refused, DNS, TLS), without credentials: reqwest keeps them
        // out of its URLs.
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason = format!("{reason}: {cause}");
            source = cause.source();
        }
        NexusError::Unreachable(reason)
    }
}
