//! Login against an LDAP directory: search the user with the service account, bind as the found DN
//! on a fresh connection, then read the user's groups with the service account.
//!
//! Every user value is escaped before it enters a filter (`ldap_escape`); the user's DN comes from
//! the directory, never from the user. The service account's connection is kept and shared (LDAP
//! multiplexes operations on one connection) and made again when it breaks; a user's bind always
//! gets a connection of its own, so that the shared one never runs as a user.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, ldap_escape};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::{Identity, LoginError};
use crate::settings::{GroupLookup, LdapSettings};

/// How deep nested groups are followed: enough for real trees, bounded for cycles.
const MAX_NESTING: usize = 8;
/// After the directory could not be reached, how long logins fail at once before trying again.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// LDAP result codes that mean "the server cannot answer now" rather than "no".
const BUSY: [u32; 3] = [51, 52, 80];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BindLabels {
    /// `service` (the search account) or `user`.
    account: &'static str,
    /// `ok`, `rejected` or `error`.
    outcome: &'static str,
}

/// The shared connection of the service account, which one it is, and when making one last failed.
#[derive(Default)]
struct ServiceSlot {
    ldap: Option<Ldap>,
    generation: u64,
    failed_at: Option<Instant>,
}

pub struct LdapDirectory {
    settings: LdapSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    service: tokio::sync::Mutex<ServiceSlot>,
    binds: Family<BindLabels, Counter>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl LdapDirectory {
    pub fn new(settings: LdapSettings, registry: &mut Registry) -> Result<LdapDirectory, String> {
        let tls = match &settings.ca_file {
            None => None,
            Some(path) => Some(Arc::new(tls_config(path)?)),
        };
        let binds = Family::<BindLabels, Counter>::default();
        registry.register("ldap_binds", "Binds to the LDAP directory, by account and outcome", binds.clone());
        if settings.url.starts_with("ldap://") && !settings.starttls {
            tracing::warn!(url = %settings.url, "passwords go to the directory unencrypted: use ldaps:// or STARTTLS");
        }
        Ok(LdapDirectory { settings, tls, service: tokio::sync::Mutex::new(ServiceSlot::default()), binds })
    }

    pub(super) async fn authenticate(&self, username: &str, password: &str) -> Result<Identity, LoginError> {
        let entry = self.find_user(username).await?;
        // The directory's spelling of the name (`ALICE` logs in as `alice`): owners and triggers
        // name one person one way.
        let spellings = attribute(&entry, &self.settings.username_attribute);
        let username =
            match spellings.iter().find(|spelling| spelling.eq_ignore_ascii_case(username)).or(spellings.first()) {
                Some(spelling) => spelling.clone(),
                None => {
                    tracing::warn!(
                        attribute = self.settings.username_attribute,
                        dn = entry.dn,
                        "the user entry has no such attribute: the name is kept as typed"
                    );
                    username.to_owned()
                }
            };
        let username = username.as_str();
        self.bind_as_user(&entry.dn, password).await?;
        let groups = self.groups_of(&entry, username).await?;
        let allowed = self.settings.allowed_groups.iter().any(|group| groups.contains(&normalize(group)));
        if !allowed {
            return Err(LoginError::NotMember);
        }
        let roles = self
            .settings
            .role_groups
            .iter()
            .filter(|(_, group)| groups.contains(&normalize(group)))
            .map(|(role, _)| *role)
            .collect();
        let name =
            attribute(&entry, &self.settings.name_attribute).first().cloned().unwrap_or_else(|| username.to_owned());
        Ok(Identity { user: username.to_owned(), name, roles: super::roles(roles) })
    }

    async fn find_user(&self, username: &str) -> Result<SearchEntry, LoginError> {
        let filter = self.settings.user_filter.replace("{username}", &ldap_escape(username));
        let attributes =
            vec![self.settings.name_attribute.as_str(), self.settings.username_attribute.as_str(), "memberOf"];
        let mut entries = self.search(&self.settings.user_base, &filter, attributes).await?;
        match entries.len() {
            1 => Ok(entries.remove(0)),
            0 => Err(LoginError::bad("no such user")),
            _ => {
                tracing::warn!(filter, found = entries.len(), "the user filter finds several entries: none may log in");
                Err(LoginError::bad("several entries match the user"))
            }
        }
    }

    async fn bind_as_user(&self, dn: &str, password: &str) -> Result<(), LoginError> {
        let mut ldap = self.connect().await.map_err(|error| self.unavailable("user", &error))?;
        let bound = ldap.with_timeout(self.settings.timeout).simple_bind(dn, password).await;
        // Best effort: the connection is dropped anyway.
        let _ = ldap.unbind().await;
        match bound {
            Ok(result) if result.rc == 0 => {
                self.count("user", "ok");
                Ok(())
            }
            Ok(result) if BUSY.contains(&result.rc) => Err(self.unavailable("user", &LdapError::LdapResult { result })),
            Ok(_) => {
                self.count("user", "rejected");
                Err(LoginError::bad("wrong password"))
            }
            Err(error) => Err(self.unavailable("user", &error)),
        }
    }

    /// The DNs (normalized) of the user's groups, and of the groups containing them when nested
    /// groups are followed.
    async fn groups_of(&self, entry: &SearchEntry, username: &str) -> Result<HashSet<String>, LoginError> {
        let direct: Vec<String> = match self.settings.groups {
            GroupLookup::MemberOf => attribute(entry, "memberOf"),
            GroupLookup::Search => {
                let filter = self
                    .settings
                    .group_filter
                    .replace("{dn}", &ldap_escape(entry.dn.as_str()))
                    .replace("{username}", &ldap_escape(username));
                self.search(&self.settings.group_base, &filter, vec!["1.1"]).await?.into_iter().map(|e| e.dn).collect()
            }
        };
        let mut groups: HashSet<String> = direct.iter().map(|dn| normalize(dn)).collect();
        if !self.settings.nested_groups {
            return Ok(groups);
        }
        let mut frontier = direct;
        for _ in 0..MAX_NESTING {
            if frontier.is_empty() {
                break;
            }
            let members: String = frontier
                .iter()
                .map(|dn| {
                    let dn = ldap_escape(dn.as_str());
                    format!("(member={dn})(uniqueMember={dn})")
                })
                .collect();
            let parents = self.search(&self.settings.group_base, &format!("(|{members})"), vec!["1.1"]).await?;
            frontier = parents.into_iter().map(|e| e.dn).filter(|dn| groups.insert(normalize(dn))).collect();
        }
        Ok(groups)
    }

    /// A subtree search with the service account. A connection that broke or hung since its last
    /// use (the server restarted, a firewall dropped it) is replaced, and the search tried once more.
    async fn search(&self, base: &str, filter: &str, attributes: Vec<&str>) -> Result<Vec<SearchEntry>, LoginError> {
        let mut retried = false;
        loop {
            let (mut ldap, generation) = self.service_connection().await?;
            let searched =
                ldap.with_timeout(self.settings.timeout).search(base, Scope::Subtree, filter, attributes.clone()).await;
            let error = match searched.and_then(|result| result.success()) {
                Ok((entries, _)) => return Ok(entries.into_iter().map(SearchEntry::construct).collect()),
                Err(error) => error,
            };
            let reason = format!("search in {base}: {error}");
            match &error {
                LdapError::LdapResult { result } if BUSY.contains(&result.rc) => {
                    tracing::warn!(base, %error, "the directory is busy");
                }
                // The server answered: a bad base or filter is the settings' fault, not the connection's.
                LdapError::LdapResult { .. } => {
                    tracing::error!(base, %error, "the directory refused a search: check the LDAP settings");
                }
                _ => {
                    self.forget(generation).await;
                    // After a timeout the server is slow, not the connection broken: no second wait.
                    if !retried && !matches!(error, LdapError::Timeout { .. }) {
                        retried = true;
                        continue;
                    }
                }
            }
            return Err(LoginError::Unavailable { reason });
        }
    }

    /// The shared connection and its generation (which connection it is, to forget the right one).
    async fn service_connection(&self) -> Result<(Ldap, u64), LoginError> {
        let mut slot = self.service.lock().await;
        if let Some(ldap) = slot.ldap.as_mut()
            && !ldap.is_closed()
        {
            return Ok((ldap.clone(), slot.generation));
        }
        // While the directory is down, logins fail at once instead of each waiting for its timeout.
        if let Some(failed) = slot.failed_at.filter(|at| at.elapsed() < RECONNECT_PAUSE) {
            let reason = format!("{}: unreachable {} ms ago", self.settings.url, failed.elapsed().as_millis());
            return Err(LoginError::Unavailable { reason });
        }
        match self.bound_service_connection().await {
            Ok(ldap) => {
                slot.ldap = Some(ldap.clone());
                slot.generation += 1;
                slot.failed_at = None;
                Ok((ldap, slot.generation))
            }
            Err(error) => {
                slot.failed_at = Some(Instant::now());
                Err(error)
            }
        }
    }

    async fn bound_service_connection(&self) -> Result<Ldap, LoginError> {
        let mut ldap = self.connect().await.map_err(|error| self.unavailable("service", &error))?;
        if let Some(dn) = &self.settings.bind_dn {
            let bound = ldap.with_timeout(self.settings.timeout).simple_bind(dn, &self.settings.bind_password).await;
            if let Err(error) = bound.and_then(|result| result.success()) {
                return Err(self.unavailable("service", &error));
            }
            self.count("service", "ok");
        }
        Ok(ldap)
    }

    /// Forgets the shared connection `generation`, unless another login has replaced it already.
    async fn forget(&self, generation: u64) {
        let mut slot = self.service.lock().await;
        if slot.generation == generation {
            slot.ldap = None;
        }
    }

    async fn connect(&self) -> Result<Ldap, LdapError> {
        let mut settings =
            LdapConnSettings::new().set_conn_timeout(self.settings.timeout).set_starttls(self.settings.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (connection, ldap) = LdapConnAsync::with_settings(settings, &self.settings.url).await?;
        ldap3::drive!(connection);
        Ok(ldap)
    }

    fn unavailable(&self, account: &'static str, error: &LdapError) -> LoginError {
        self.count(account, "error");
        LoginError::Unavailable { reason: format!("{} ({account} connection): {error}", self.settings.url) }
    }

    fn count(&self, account: &'static str, outcome: &'static str) {
        self.binds.get_or_create(&BindLabels { account, outcome }).inc();
    }
}

/// An attribute's values, whatever case the server spells its name in.
fn attribute(entry: &SearchEntry, name: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, values)| values.clone())
        .unwrap_or_default()
}

/// A DN as compared: without case or spaces around separators (`CN=Data, OU=Groups` is `cn=data,ou=groups`).
fn normalize(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// Trust the CA certificates of `path` (PEM) for LDAPS and StartTLS.
fn tls_config(path: &std::path::Path) -> Result<rustls::ClientConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in pem::parse_many(&text).map_err(|e| format!("{}: {e}", path.display()))? {
        roots
            .add(certificate.contents().to_vec().into())
            .map_err(|e| format!("{}: not a certificate: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(normalize("CN=Data Team, OU=Groups,dc=Example"), "cn=data team,ou=groups,dc=example");
    }
}
