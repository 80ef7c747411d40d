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

use actix_web::http::StatusCode;

use crate::error::ErrorBody;

mod caller;
mod keys;
mod policy;
mod signing;

pub use caller::{Caller, Claims, Role};
pub(crate) use keys::decoding_keys;
pub use keys::{KeySource, REFETCH_PAUSE, Verifier};
pub(crate) use policy::authenticate;
pub use policy::{Access, Policy};
pub use signing::SigningKey;

/// The cookie that carries the token for browsers (HttpOnly, SameSite=Strict, set by the gateway).
pub const TOKEN_COOKIE: &str = "jo_token";
/// The `iss` and `aud` of every token: the platform signs for itself.
pub const ISSUER: &str = "job-orchestrator";
pub const AUDIENCE: &str = "job-orchestrator";
/// Paths any caller may reach: probes and scrapers carry no token.
pub const OPEN_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

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
