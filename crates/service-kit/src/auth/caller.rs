//! Who calls: the roles, what a token says, and the caller that handlers take as an argument.

use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AUDIENCE, AuthError, ISSUER};

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
