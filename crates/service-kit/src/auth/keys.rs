//! The gateway's public keys, fetched and cached, and the check of a token's signature, issuer,
//! audience and expiry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{AUDIENCE, AuthError, Caller, Claims, ISSUER};

/// Fetched keys are trusted this long before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(300);
/// A token with an unknown key makes a service fetch the keys again, at most this often, so that
/// forged tokens cannot make it hammer the gateway.
pub const REFETCH_PAUSE: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// A token already checked is trusted again for this long (never past its expiry): checking an
/// Ed25519 signature costs tens of microseconds, and a page makes many calls with one token.
const CHECKED_TTL: Duration = Duration::from_secs(60);

/// Where a service finds the gateway's public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Fetched from the gateway's JWKS URL (`AUTH_JWKS_URL`) and cached.
    Url(String),
    /// Read at start from a JWKS document (`AUTH_JWKS_FILE`), or given by the gateway itself.
    Fixed(JwkSet),
}

/// The Ed25519 keys of a JWKS by key id. Other kinds of keys are refused: tokens are EdDSA only, so
/// that no token can choose a weaker algorithm.
pub(crate) fn decoding_keys(set: &JwkSet) -> Result<HashMap<String, DecodingKey>, String> {
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
