//! Who may log in and with which roles: an LDAP directory, or the static users file of the dev stack.

pub mod ldap;
pub mod users_file;

use service_kit::Role;

/// A user who proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub name: String,
    pub roles: Vec<Role>,
}

/// Why a login fails. Unknown user and wrong password are one case, so that an answer never says
/// which user names exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    BadCredentials {
        /// For the audit log only: what was wrong.
        reason: &'static str,
    },
    #[error("you are not a member of a group allowed to use Job Orchestrator")]
    NotMember,
    #[error("the directory cannot be reached; try again later")]
    Unavailable {
        /// For the log only.
        reason: String,
    },
}

impl LoginError {
    pub fn bad(reason: &'static str) -> LoginError {
        LoginError::BadCredentials { reason }
    }
}

/// Where users are checked.
#[derive(Debug)]
pub enum Directory {
    Ldap(Box<ldap::LdapDirectory>),
    File(users_file::UsersFile),
}

impl Directory {
    /// The user's identity if `password` is theirs and they may log in.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Identity, LoginError> {
        // Refused before any directory is asked: an empty simple bind is an anonymous bind, which
        // many LDAP servers accept.
        if password.is_empty() {
            return Err(LoginError::bad("empty password"));
        }
        match self {
            Directory::Ldap(directory) => directory.authenticate(username, password).await,
            Directory::File(file) => file.authenticate(username, password).await,
        }
    }
}

/// Roles in order, each once; a member with no role group reads (viewer).
fn roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        roles.push(Role::Viewer);
    }
    roles
}
