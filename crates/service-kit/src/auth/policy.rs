//! Which request needs which role, where its token is, and the middleware that checks both.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};

use super::{AuthError, OPEN_PATHS, Role, TOKEN_COOKIE, Verifier};

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
