//! Who is calling and what they may do, checked by every service itself (not only by the gateway,
//! so that a service called directly refuses what the caller may not do).
//!
//! The gateway signs short-lived JWTs with Ed25519 (`EdDSA`) and publishes its public keys as a JWKS
//! at `/.well-known/jwks.json`. Every service reads the token from `Authorization: Bearer` or from
//! the gateway's cookie, checks its signature, issuer, audience and expiry, and then the role the
//! request needs: reading (GET, HEAD) needs `viewer`, anything else `operator`; `admin` may do
//! everything. `/healthz`, `/readyz` and `/metrics` are open, for probes and scrapers.
//!
//! Keys come from `AUTH_JWKS_FILE` (a JWKS document, read at start) or are fetched from
//! `AUTH_JWKS_URL` (default: the gateway on this machine) and cached; a token signed by a key not
//! yet known makes the service fetch again, at most once per [`REFETCH_PAUSE`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::settings::{Env, SettingsError};

mod signing;

pub use signing::SigningKey;

/// The cookie that carries the token for browsers (HttpOnly, SameSite=Strict, set by the gateway).
pub const TOKEN_COOKIE: &str = "jo_token";
/// The `iss` and `aud` of every token: the platform signs for itself.
pub const ISSUER: &str = "job-orchestrator";
pub const AUDIENCE: &str = "job-orchestrator";
/// Paths any caller may reach: probes and scrapers carry no token.
pub const OPEN_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
/// Fetched keys are trusted this long before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(300);
/// A token with an unknown key makes a service fetch the keys again, at most this often, so that
/// forged tokens cannot make it hammer the gateway.
pub const REFETCH_PAUSE: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// A token already checked is trusted again for this long (never past its expiry): checking an
/// Ed25519 signature costs tens of microseconds, and a page makes many calls with one token.
const CHECKED_TTL: Duration = Duration::from_secs(60);
/// The gateway's keys when nothing else is configured: the dev stack's gateway.
const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:8080/.well-known/jwks.json";

/// What a user may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Deploys, changes, suspends, resumes, runs and deletes deployments; deletes history entries.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role a request needs: reading needs `viewer`, changing needs `operator`.
    pub fn needed_for(method: &Method) -> Role {
        if matches!(*method, Method::GET | Method::HEAD) { Role::Viewer } else { Role::Operator }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!("`{other}` is not a role (viewer, operator or admin)")),
        }
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name (the LDAP uid).
    pub sub: String,
    /// The display name.
    pub name: String,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    /// The claims of a token this platform issues (its `iss` and `aud`), valid from `issued` to
    /// `expires` (seconds since 1970).
    pub fn new(user: &str, name: &str, roles: &[Role], issued: i64, expires: i64) -> Claims {
        Claims {
            sub: user.to_owned(),
            name: name.to_owned(),
            roles: roles.to_vec(),
            iat: issued,
            exp: expires,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        }
    }
}

/// The authenticated caller of a request: handlers take it as an argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Caller {
    /// The user name, as recorded in owners and triggers.
    #[schema(example = "jdupont")]
    pub user: String,
    #[schema(example = "Jeanne Dupont")]
    pub name: String,
    pub roles: Vec<Role>,
    /// When the token ends, in seconds since 1970.
    pub expires: i64,
}

impl From<Claims> for Caller {
    fn from(claims: Claims) -> Caller {
        Caller { user: claims.sub, name: claims.name, roles: claims.roles, expires: claims.exp }
    }
}

impl Caller {
    pub fn may(&self, needed: Role) -> bool {
        self.roles.iter().any(|role| *role >= needed)
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Caller, actix_web::Error>>;

    /// The caller the middleware verified; a handler reached without one (an open path) refuses.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(request.extensions().get::<Caller>().cloned().ok_or_else(|| {
            let body = AuthError::Missing.body();
            actix_web::error::InternalError::from_response("no caller", body.into_response(StatusCode::UNAUTHORIZED))
                .into()
        }))
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no token: log in first")]
    Missing,
    #[error("the token is refused: {0}")]
    Invalid(String),
    #[error("the user {user} has no {needed} role, which {method} needs")]
    Forbidden { user: String, needed: &'static str, method: String },
    #[error("the gateway's keys cannot be fetched, so no token can be checked: {0}")]
    KeysUnavailable(String),
    #[error("a change sent with the login cookie from another site's page is refused")]
    CrossSite,
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Missing | AuthError::Invalid(_) => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden { .. } | AuthError::CrossSite => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let code = match self {
            AuthError::Missing => "unauthenticated",
            AuthError::Invalid(_) => "invalid_token",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::KeysUnavailable(_) => "auth_unavailable",
            AuthError::CrossSite => "cross_site_request",
        };
        ErrorBody::new(code, self.to_string())
    }
}

/// Where a service finds the gateway's public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Fetched from the gateway's JWKS URL (`AUTH_JWKS_URL`) and cached.
    Url(String),
    /// Read at start from a JWKS document (`AUTH_JWKS_FILE`), or given by the gateway itself.
    Fixed(JwkSet),
}

impl KeySource {
    pub fn from_env(env: &Env) -> Result<KeySource, SettingsError> {
        if let Some(path) = env.optional::<PathBuf>("AUTH_JWKS_FILE")? {
            let error = |reason: String| SettingsError { variable: "AUTH_JWKS_FILE".to_owned(), reason };
            let text =
                std::fs::read_to_string(&path).map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
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
}

/// The Ed25519 keys of a JWKS by key id. Other kinds of keys are refused: tokens are EdDSA only, so
/// that no token can choose a weaker algorithm.
fn decoding_keys(set: &JwkSet) -> Result<HashMap<String, DecodingKey>, String> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().ok_or("a key has no `kid`")?;
        let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
            return Err(format!("key {kid} is not an Ed25519 (OKP) key"));
        };
        if params.curve != EllipticCurve::Ed25519 {
            return Err(format!("key {kid} is not on the Ed25519 curve"));
        }
        let key = DecodingKey::from_ed_components(&params.x).map_err(|e| format!("key {kid}: {e}"))?;
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// Checks tokens. Cheap to clone: clones share the cached keys.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    source: KeySource,
    keys: RwLock<CachedKeys>,
    /// One fetch at a time: a caller without a known key waits for it; one with a known key goes on.
    fetching: tokio::sync::Mutex<()>,
    client: reqwest::Client,
    validation: Validation,
    checked: moka::sync::Cache<String, Caller>,
}

#[derive(Default)]
struct CachedKeys {
    by_id: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("source", &self.inner.source).finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(source: KeySource) -> Verifier {
        crate::tls::install_crypto_provider();
        let by_id = match &source {
            // Checked when the settings were read.
            KeySource::Fixed(set) => decoding_keys(set).unwrap_or_default(),
            KeySource::Url(_) => HashMap::new(),
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Verifier {
            inner: Arc::new(Inner {
                source,
                keys: RwLock::new(CachedKeys { by_id, ..CachedKeys::default() }),
                fetching: tokio::sync::Mutex::new(()),
                // A redirect could lead to keys someone else publishes.
                client: reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_else(|error| panic!("the TLS provider is installed, so a client can be made: {error}")),
                validation,
                checked: moka::sync::Cache::builder().max_capacity(10_000).time_to_live(CHECKED_TTL).build(),
            }),
        }
    }

    /// The caller a token names, if its signature, issuer, audience and times hold.
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if let Some(caller) = self.inner.checked.get(token)
            && u64::try_from(caller.expires).is_ok_and(|expires| expires > now)
        {
            return Ok(caller);
        }
        let caller = self.check(token).await?;
        self.inner.checked.insert(token.to_owned(), caller.clone());
        Ok(caller)
    }

    async fn check(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid("it is not a JWT".into()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid(format!("it is signed with {:?}, not EdDSA", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("it names no key (`kid`)".into()))?;
        let key = self.key(&kid).await?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.inner.validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Invalid(match error.kind() {
                ErrorKind::ExpiredSignature => "it has expired: log in again".to_owned(),
                ErrorKind::InvalidSignature => "its signature does not match".to_owned(),
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    "it was not issued for this platform".to_owned()
                }
                ErrorKind::ImmatureSignature => "it is not valid yet".to_owned(),
                // Details of the library's parsing are of no use to a caller.
                _ => "it cannot be read as this platform's token".to_owned(),
            })
        })?;
        Ok(data.claims.into())
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let KeySource::Url(url) = &self.inner.source else {
            return self.cached(kid).ok_or_else(unknown_key);
        };
        let cached = self.cached(kid);
        if let Some(key) = cached.clone().filter(|_| self.fresh()) {
            return Ok(key);
        }
        // One fetch at a time. While one runs, a key already known still checks its tokens: they
        // do not wait for a gateway that may be slow to answer.
        let _one_fetch = match (self.inner.fetching.try_lock(), cached) {
            (Ok(guard), _) => guard,
            (Err(_), Some(key)) => return Ok(key),
            (Err(_), None) => self.inner.fetching.lock().await,
        };
        if let Some(key) = self.cached(kid).filter(|_| self.fresh()) {
            return Ok(key);
        }
        let recently_tried = self.read_keys(|keys| keys.tried.is_some_and(|t| t.elapsed() < REFETCH_PAUSE));
        if recently_tried {
            // A fetch just happened: a key it did not bring is unknown, not worth asking again.
            return self.cached(kid).ok_or_else(|| self.without_fetch());
        }
        match self.fetch(url).await {
            Ok(by_id) => {
                // Tokens of a key no longer published must fail now, not when their check expires.
                self.inner.checked.invalidate_all();
                self.write_keys(|keys| {
                    keys.by_id = by_id;
                    keys.fetched = Some(Instant::now());
                    keys.tried = keys.fetched;
                });
                self.cached(kid).ok_or_else(unknown_key)
            }
            Err(reason) => {
                tracing::warn!(%url, %reason, "cannot fetch the gateway's keys");
                self.write_keys(|keys| keys.tried = Some(Instant::now()));
                // Keys fetched before still check the tokens they signed.
                self.cached(kid).ok_or(AuthError::KeysUnavailable(reason))
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self.inner.client.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let set: JwkSet = response.json().await.map_err(|e| format!("{url}: not a JWKS document: {e}"))?;
        decoding_keys(&set)
    }

    /// After a failed fetch, a token with an unknown key is a 503 only while no keys are known.
    fn without_fetch(&self) -> AuthError {
        if self.read_keys(|keys| keys.fetched.is_none()) {
            AuthError::KeysUnavailable("the last fetch failed; retrying in a few seconds".into())
        } else {
            unknown_key()
        }
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.read_keys(|keys| keys.by_id.get(kid).cloned())
    }

    fn fresh(&self) -> bool {
        self.read_keys(|keys| keys.fetched.is_some_and(|t| t.elapsed() < KEYS_TTL))
    }

    fn read_keys<T>(&self, read: impl FnOnce(&CachedKeys) -> T) -> T {
        read(&self.inner.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn write_keys(&self, write: impl FnOnce(&mut CachedKeys)) {
        write(&mut self.inner.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

fn unknown_key() -> AuthError {
    AuthError::Invalid("it is signed by a key the gateway does not publish".into())
}

/// Which requests need which role: [`Access::by_method`] for services; the gateway opens its login,
/// keys, proxy and web UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Open,
    Needs(Role),
}

impl Access {
    /// Every service's rule: the open paths, then reading needs `viewer`, changing `operator`.
    pub fn by_method(method: &Method, path: &str) -> Access {
        if OPEN_PATHS.contains(&path) { Access::Open } else { Access::Needs(Role::needed_for(method)) }
    }
}

/// The rule a service applies to each request (method, path as routed).
pub type Policy = fn(&Method, &str) -> Access;

/// A request's token, and whether the browser sent it by itself (the cookie).
struct Token {
    value: String,
    from_cookie: bool,
}

/// The token of a request: the bearer header first, then the gateway's cookie.
fn token_of(request: &HttpRequest) -> Option<Token> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(|token| Token { value: token.trim().to_owned(), from_cookie: false });
    bearer.or_else(|| request.cookie(TOKEN_COOKIE).map(|c| Token { value: c.value().to_owned(), from_cookie: true }))
}

/// A change sent with the cookie from a page of another origin (a sibling site, which SameSite lets
/// through): browsers say where a request comes from in `Sec-Fetch-Site`.
fn cross_site(request: &HttpRequest, token: &Token) -> bool {
    let site = request.headers().get("sec-fetch-site").and_then(|value| value.to_str().ok());
    token.from_cookie
        && Role::needed_for(request.method()) != Role::Viewer
        && site.is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

/// The middleware: verifies the caller of every request the policy does not open, checks the role,
/// and leaves the [`Caller`] for the handlers.
pub(crate) async fn authenticate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (Some(verifier), Some(policy)) = (
        request.app_data::<web::Data<Verifier>>().cloned(),
        request.app_data::<web::Data<Policy>>().map(|policy| *policy.get_ref()),
    ) else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let access = policy(request.method(), request.match_info().as_str());
    let token = token_of(request.request());
    let checked = match (access, token) {
        (Access::Open, None) => None,
        // On an open path a token is still read, for handlers that want to know who calls.
        (Access::Open, Some(token)) => verifier.verify(&token.value).await.ok().map(Ok),
        (Access::Needs(_), None) => Some(Err(AuthError::Missing)),
        (Access::Needs(_), Some(token)) if cross_site(request.request(), &token) => Some(Err(AuthError::CrossSite)),
        (Access::Needs(needed), Some(token)) => Some(verifier.verify(&token.value).await.and_then(|caller| {
            if caller.may(needed) {
                Ok(caller)
            } else {
                Err(AuthError::Forbidden {
                    user: caller.user,
                    needed: needed.as_str(),
                    method: request.method().to_string(),
                })
            }
        })),
    };
    match checked {
        None => Ok(next.call(request).await?.map_into_boxed_body()),
        Some(Ok(caller)) => {
            request.extensions_mut().insert(caller);
            Ok(next.call(request).await?.map_into_boxed_body())
        }
        Some(Err(error)) => {
            if error.status() == StatusCode::FORBIDDEN {
                tracing::warn!(target: "audit", outcome = "forbidden", %error, "request refused");
            }
            let response = error.body().into_response(error.status());
            Ok(request.into_response(response))
        }
    }
}
