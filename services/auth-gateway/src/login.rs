//! Login, logout, who am I, and the public keys that check the tokens.
//!
//! Every login attempt is an audit event (target `audit`): the user name as typed, the caller's
//! address and the outcome, never the password.

use std::net::IpAddr;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use service_kit::auth::{SigningKey, TOKEN_COOKIE};
use service_kit::{Caller, ErrorBody};
use utoipa::ToSchema;

use crate::address::client_address;
use crate::directory::{Directory, Identity, LoginError};
use crate::settings::{Settings, TokenSettings};
use crate::throttle::{Outcome, Throttle};
use crate::tokens;

/// The longest user name taken: longer is a typing accident or an attack.
const MAX_USERNAME: usize = 256;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "jdupont")]
    username: String,
    #[schema(example = "secret", format = Password)]
    password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).finish_non_exhaustive()
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Send it as `Authorization: Bearer <token>`; browsers get it as an HttpOnly cookie as well.
    token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    expires_at: DateTime<Utc>,
    user: Caller,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("LoginResponse").field("user", &self.user).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What the login handlers share.
#[derive(Debug)]
pub struct Login {
    directory: Directory,
    throttle: Throttle,
    key: SigningKey,
    tokens: TokenSettings,
    trusted_proxies: Vec<IpAddr>,
    attempts: Family<OutcomeLabels, Counter>,
}

impl Login {
    pub fn new(directory: Directory, key: SigningKey, settings: &Settings, registry: &mut Registry) -> Login {
        let attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register("login_attempts", "Login attempts, by outcome", attempts.clone());
        Login {
            directory,
            throttle: Throttle::new(settings.throttle),
            key,
            tokens: settings.tokens.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            attempts,
        }
    }
}

/// A refused login: its answer and its audit outcome.
struct Refusal {
    status: StatusCode,
    body: ErrorBody,
    outcome: &'static str,
    reason: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: impl Into<String>, outcome: &'static str) -> Refusal {
        Refusal { status, body: ErrorBody::new(code, message), outcome, reason: String::new(), retry_after: None }
    }
}

impl From<LoginError> for Refusal {
    fn from(error: LoginError) -> Refusal {
        let message = error.to_string();
        match error {
            LoginError::BadCredentials { reason } => Refusal {
                reason: reason.to_owned(),
                ..Refusal::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message, "invalid_credentials")
            },
            LoginError::NotMember => Refusal::new(StatusCode::FORBIDDEN, "not_allowed", message, "not_member"),
            LoginError::Unavailable { reason } => Refusal {
                reason,
                ..Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "directory_unavailable", message, "unavailable")
            },
        }
    }
}

/// Logs in: a token as JSON and as an HttpOnly cookie.
///
/// Only as `application/json` and never from another site's page: a form on any page could
/// otherwise log its visitor into an account of the attacker's choosing (login CSRF). A browser says
/// where a request comes from (`Sec-Fetch-Site`, or else `Origin`); REST clients send neither.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()),
    request_body(content = LoginRequest, content_type = "application/json",
        example = json!({"username": "jdupont", "password": "secret"})),
    responses(
        (status = 200, body = LoginResponse, description = "Logged in; the token is also set as the `jo_token` cookie"),
        (status = 400, body = ErrorBody, description = "No user name, or not a JSON object with a username and a password"),
        (status = 401, body = ErrorBody, description = "Wrong user name or password (one answer for both)"),
        (status = 403, body = ErrorBody, description = "Not a member of a group allowed to log in (`not_allowed`), or sent from another site's page (`cross_site_request`)"),
        (status = 415, body = ErrorBody, description = "Not sent as `application/json`"),
        (status = 429, body = ErrorBody, description = "Too many failures for this user or address: wait `Retry-After` seconds"),
        (status = 503, body = ErrorBody, description = "The directory cannot be reached"),
    ))]
pub async fn login(request: HttpRequest, body: web::Bytes, state: web::Data<Login>) -> HttpResponse {
    let address = client_address(&request, &state.trusted_proxies);
    // Read here rather than by actix's extractor, so that a body that is no login is audited too.
    let parsed = same_site_json(&request).and_then(|()| read_login(&body));
    let (username, attempt) = match parsed {
        Ok(LoginRequest { username, password }) => {
            let username = username.trim().to_owned();
            let attempt = attempt(&state, &username, &password, &address).await;
            (username, attempt)
        }
        Err(refusal) => (String::new(), Err(*refusal)),
    };
    let outcome = attempt.as_ref().map_or_else(|refusal| refusal.outcome, |_| "ok");
    state.attempts.get_or_create(&OutcomeLabels { outcome }).inc();
    // As sent (trimmed), but quoted, escaped and cut: a name is never a way to forge or flood log lines.
    let user: String = username.chars().take(MAX_USERNAME).collect();
    match attempt {
        Ok(identity) => {
            tracing::info!(target: "audit", event = "login", user = ?user, subject = identity.user, address, outcome, roles = ?identity.roles);
            issue(&state, &identity)
        }
        Err(refusal) => {
            let reason = refusal.reason.as_str();
            tracing::warn!(target: "audit", event = "login", user = ?user, address, outcome, reason);
            let mut response = HttpResponse::build(refusal.status);
            if let Some(seconds) = refusal.retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            response.json(refusal.body)
        }
    }
}

/// Reads a login, saying which field is wrong, but never quoting a value: it may be the password.
fn read_login(body: &[u8]) -> Result<LoginRequest, Box<Refusal>> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let (path, inner) = match serde_path_to_error::deserialize::<_, LoginRequest>(&mut deserializer) {
        Ok(login) => match deserializer.end() {
            Ok(()) => return Ok(login),
            Err(trailing) => (".".to_owned(), trailing),
        },
        Err(error) => (error.path().to_string(), error.into_inner()),
    };
    let reason = inner.to_string();
    let message = if reason.starts_with("unknown field") || reason.starts_with("missing field") {
        // serde names the fields here, and no value.
        format!("{reason}; a JSON object with a username and a password is expected")
    } else if path != "." {
        format!("`{path}` must be a text (line {}, column {})", inner.line(), inner.column())
    } else {
        format!(
            "a JSON object with a username and a password is expected (line {}, column {})",
            inner.line(),
            inner.column()
        )
    };
    let refusal = Refusal::new(StatusCode::BAD_REQUEST, "invalid_body", message, "invalid_request");
    Err(Box::new(if path != "." { Refusal { body: refusal.body.with_field(path), ..refusal } } else { refusal }))
}

/// A login sent as JSON, and not from another site's page.
fn same_site_json(request: &HttpRequest) -> Result<(), Box<Refusal>> {
    let header = |name| request.headers().get(name).and_then(|value| value.to_str().ok());
    let cross_site = |why: String| {
        let message =
            format!("a login from another site's page is refused ({why}): log in from the platform's own page");
        Err(Box::new(Refusal::new(StatusCode::FORBIDDEN, "cross_site_request", message, "cross_site")))
    };
    match (header("sec-fetch-site"), header("origin")) {
        (Some(site @ ("cross-site" | "same-site")), _) => return cross_site(format!("Sec-Fetch-Site: {site}")),
        // A browser too old to say where it is: its Origin must be this host.
        (None, Some(origin)) if !same_origin(origin, header("host")) => {
            return cross_site(format!("Origin: {}", origin.chars().take(200).collect::<String>()));
        }
        _ => {}
    }
    let json = header("content-type")
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        let message = "a login is sent as `Content-Type: application/json`";
        let refusal =
            Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message, "invalid_request");
        return Err(Box::new(refusal));
    }
    Ok(())
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
    host.is_some_and(|host| !authority.is_empty() && authority.eq_ignore_ascii_case(host))
}

async fn attempt(state: &Login, username: &str, password: &str, address: &str) -> Result<Identity, Refusal> {
    // Letters, digits, ASCII punctuation and spaces: no invisible characters, which a directory
    // ignores when it compares names, so that one account has one spelling to throttle.
    let allowed = |c: char| c.is_alphanumeric() || c.is_ascii_punctuation() || c == ' ';
    if username.is_empty() || username.len() > MAX_USERNAME || !username.chars().all(allowed) {
        let message = format!("a user name of 1 to {MAX_USERNAME} letters, digits, punctuation or spaces is expected");
        let refusal = Refusal::new(StatusCode::BAD_REQUEST, "invalid_body", message, "invalid_request");
        return Err(Refusal { body: refusal.body.with_field("username"), ..refusal });
    }
    let admission = match state.throttle.admit(username, address) {
        Ok(admission) => admission,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let message = format!("too many failed logins: try again in {seconds} s");
            return Err(Refusal {
                retry_after: Some(seconds),
                ..Refusal::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message, "throttled")
            });
        }
    };
    let result = state.directory.authenticate(username, password).await;
    admission.settle(match &result {
        Ok(_) => Outcome::Succeeded,
        Err(LoginError::BadCredentials { .. }) => Outcome::WrongCredentials,
        Err(_) => Outcome::Other,
    });
    result.map_err(Refusal::from)
}

fn issue(state: &Login, identity: &Identity) -> HttpResponse {
    let claims = tokens::claims_for(identity, &state.tokens);
    let token = match state.key.sign(&claims) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "cannot sign a token");
            return ErrorBody::new("internal", "the token cannot be made")
                .into_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let mut cookie = token_cookie(token.clone(), &state.tokens);
    cookie.set_max_age(actix_web::cookie::time::Duration::seconds(claims.exp - claims.iat));
    let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_default();
    HttpResponse::Ok().cookie(cookie).json(LoginResponse {
        token,
        token_type: "Bearer",
        expires_at,
        user: claims.into(),
    })
}

/// The browser's token: out of scripts' reach (HttpOnly) and of other sites' requests (SameSite).
fn token_cookie(value: String, settings: &TokenSettings) -> Cookie<'static> {
    Cookie::build(TOKEN_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(settings.cookie_secure)
        .finish()
}

/// Logs out: the browser's cookie is removed. A token already handed out stays valid until it
/// expires (tokens are short-lived and checked by each service without asking the gateway).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(()), responses((status = 204, description = "The cookie is removed")))]
pub async fn logout(request: HttpRequest, caller: Option<Caller>, state: web::Data<Login>) -> HttpResponse {
    let address = client_address(&request, &state.trusted_proxies);
    let user = caller.map(|caller| caller.user).unwrap_or_default();
    tracing::info!(target: "audit", event = "logout", user, address);
    let mut cookie = token_cookie(String::new(), &state.tokens);
    cookie.make_removal();
    HttpResponse::NoContent().cookie(cookie).finish()
}

/// The caller, as their token says.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = Caller), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(caller)
}

/// The public keys that check the gateway's tokens (JWKS, RFC 7517), for the services.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", security(()),
    responses((status = 200, description = "The Ed25519 public keys (`OKP`), by `kid`", content_type = "application/json")))]
pub async fn jwks(keys: web::Data<JwkSet>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=300")).json(keys.get_ref())
}
