//! The static users file: the dev default, so that the dev stack needs no LDAP server.
//!
//! ```json
//! {"users": [{"username": "admin", "name": "Admin", "passwordHash": "$argon2id$v=19$...", "roles": ["admin"]}]}
//! ```
//!
//! Hashes are argon2 PHC strings, as `auth-gateway hash-password` prints them.

use std::collections::HashMap;
use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Deserialize;
use service_kit::Role;

use super::{Identity, LoginError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    users: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    username: String,
    #[serde(default)]
    name: Option<String>,
    password_hash: String,
    roles: Vec<Role>,
}

struct User {
    name: String,
    hash: String,
    roles: Vec<Role>,
}

/// The users of the file, read once at start.
pub struct UsersFile {
    users: HashMap<String, User>,
    /// Checked for unknown users, so that they take as long as known ones.
    decoy: String,
}

impl std::fmt::Debug for UsersFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsersFile").field("users", &self.users.len()).finish_non_exhaustive()
    }
}

impl UsersFile {
    pub fn load(path: &Path) -> Result<UsersFile, String> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "cannot read the users file {}: {error} (see docs/services/auth-gateway.md, \"Users and roles\")",
                path.display()
            )
        })?;
        let file: File = serde_json::from_str(&text)
            .map_err(|error| format!("the users file {} is not valid: {error}", path.display()))?;
        let mut users = HashMap::new();
        for entry in file.users {
            PasswordHash::new(&entry.password_hash).map_err(|error| {
                format!(
                    "the users file {}: {}'s passwordHash is not an argon2 hash: {error}",
                    path.display(),
                    entry.username
                )
            })?;
            let user = User {
                name: entry.name.unwrap_or_else(|| entry.username.clone()),
                hash: entry.password_hash,
                roles: super::roles(entry.roles),
            };
            if users.insert(entry.username.clone(), user).is_some() {
                return Err(format!("the users file {}: {} is there twice", path.display(), entry.username));
            }
        }
        Ok(UsersFile { users, decoy: hash_password("decoy").map_err(|e| format!("argon2: {e}"))? })
    }

    pub(super) async fn authenticate(&self, username: &str, password: &str) -> Result<Identity, LoginError> {
        let user = self.users.get(username);
        let hash = user.map_or_else(|| self.decoy.clone(), |user| user.hash.clone());
        let password = password.to_owned();
        // argon2 takes tens of milliseconds of CPU by design: off the async workers.
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await
        .unwrap_or(false);
        match user {
            Some(user) if matches => {
                Ok(Identity { user: username.to_owned(), name: user.name.clone(), roles: user.roles.clone() })
            }
            Some(_) => Err(LoginError::bad("wrong password")),
            None => Err(LoginError::bad("no such user")),
        }
    }
}

/// An argon2id hash (PHC string) of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| e.to_string())
}
