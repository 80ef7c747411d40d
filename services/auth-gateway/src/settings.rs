//! The gateway's settings (variables prefixed `AUTH_GATEWAY_`). Secrets (the LDAP bind password,
//! the token key) are read here and kept out of every `Debug` output.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use service_kit::{Env, Positive, Role, ServerSettings, SettingsError};

use crate::links::Link;

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub users: UserSource,
    pub tokens: TokenSettings,
    pub throttle: ThrottleSettings,
    pub upstreams: Upstreams,
    pub links: Vec<Link>,
    /// The web UI's files, served at `/` when set.
    pub ui_dir: Option<PathBuf>,
    /// Proxies in front of the gateway (an ingress) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Who may log in: an LDAP directory when `AUTH_GATEWAY_LDAP_URL` is set, else the static users file.
#[derive(Debug, Clone)]
pub enum UserSource {
    Ldap(Box<LdapSettings>),
    File(PathBuf),
}

#[derive(Clone)]
pub struct LdapSettings {
    /// `ldap://` or `ldaps://`.
    pub url: String,
    pub starttls: bool,
    /// PEM certificates to trust instead of the system's, for LDAPS and StartTLS.
    pub ca_file: Option<PathBuf>,
    /// The service account that searches users and groups (anonymous when absent).
    pub bind_dn: Option<String>,
    pub bind_password: String,
    pub user_base: String,
    /// With `{username}`, replaced by the escaped user name.
    pub user_filter: String,
    pub name_attribute: String,
    /// The user name as the directory spells it, recorded in the token.
    pub username_attribute: String,
    pub groups: GroupLookup,
    pub group_base: String,
    /// With `{dn}` and `{username}`, replaced by the escaped user DN and name.
    pub group_filter: String,
    /// Groups that contain groups count for their members' members too.
    pub nested_groups: bool,
    /// Only members of one of these groups may log in.
    pub allowed_groups: Vec<String>,
    /// Which groups give which role; a member of an allowed group with none of them is a viewer.
    pub role_groups: Vec<(Role, String)>,
    /// For connecting and for each operation.
    pub timeout: Duration,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("user_base", &self.user_base)
            .field("groups", &self.groups)
            .field("allowed_groups", &self.allowed_groups)
            .finish_non_exhaustive()
    }
}

/// How a user's groups are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupLookup {
    /// The user entry's `memberOf` attribute (OpenLDAP's memberof overlay, Active Directory).
    MemberOf,
    /// A search of the groups naming the user (`member`, `uniqueMember` or `memberUid`).
    Search,
}

impl std::str::FromStr for GroupLookup {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<GroupLookup, Self::Err> {
        match text {
            "memberOf" | "memberof" => Ok(GroupLookup::MemberOf),
            "search" => Ok(GroupLookup::Search),
            _ => Err("`memberOf` or `search` is expected"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The signing key's PEM (`AUTH_GATEWAY_TOKEN_KEY`), or the file that holds it, made if missing.
    pub key: KeySetting,
    pub ttl: Duration,
    /// The cookie's `Secure` attribute: set it wherever the gateway is reached over HTTPS.
    pub cookie_secure: bool,
}

#[derive(Clone)]
pub enum KeySetting {
    Pem(String),
    File(PathBuf),
}

impl std::fmt::Debug for KeySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never the key itself.
            KeySetting::Pem(_) => f.write_str("Pem(from AUTH_GATEWAY_TOKEN_KEY)"),
            KeySetting::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failures of one user name before each next attempt waits.
    pub user_failures: u32,
    /// Failures from one address before each next attempt waits.
    pub address_failures: u32,
    /// The longest wait.
    pub max_delay: Duration,
}

/// Where the proxied services are, and how long they may take to answer.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub catalog: String,
    pub deployer: String,
    pub history: String,
    /// Until the response's headers; a streamed body (a log followed) may then last.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

fn data_dir(env: &Env) -> Result<PathBuf, SettingsError> {
    let home: PathBuf = env.get_or("HOME", PathBuf::from("."))?;
    Ok(home.join(".local/share/job-orchestrator/gateway"))
}

fn secs(env: &Env, variable: &str, default: u64) -> Result<Duration, SettingsError> {
    Ok(Duration::from_secs(env.get_or(variable, Positive(default))?.0))
}

fn service_url(env: &Env, variable: &str, default: &str) -> Result<String, SettingsError> {
    let url: String = env.get_or(variable, default.to_owned())?;
    match url::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.trim_end_matches('/').to_owned()),
        _ => Err(SettingsError {
            variable: variable.to_owned(),
            reason: format!("cannot use `{url}`: an http:// or https:// URL is expected"),
        }),
    }
}

/// A `,`-separated list of IP addresses.
fn addresses(env: &Env, variable: &str) -> Result<Vec<IpAddr>, SettingsError> {
    let text: String = env.get_or(variable, String::new())?;
    let parse = |address: &str| {
        address.parse().map_err(|error| SettingsError {
            variable: variable.to_owned(),
            reason: format!("cannot use `{address}`: {error} (IP addresses separated by `,` are expected)"),
        })
    };
    text.split(',').map(str::trim).filter(|address| !address.is_empty()).map(parse).collect()
}

/// A `;`-separated list of group DNs.
fn groups(env: &Env, variable: &str) -> Result<Vec<String>, SettingsError> {
    let text: String = env.get_or(variable, String::new())?;
    Ok(text.split(';').map(str::trim).filter(|dn| !dn.is_empty()).map(str::to_owned).collect())
}

impl LdapSettings {
    fn from_env(env: &Env, url: String) -> Result<LdapSettings, SettingsError> {
        let p = |name: &str| format!("AUTH_GATEWAY_LDAP_{name}");
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return Err(SettingsError {
                variable: p("URL"),
                reason: format!("cannot use `{url}`: an ldap:// or ldaps:// URL is expected"),
            });
        }
        let bind_password = match env.optional::<PathBuf>(&p("BIND_PASSWORD_FILE"))? {
            Some(path) => {
                std::fs::read_to_string(&path).map(|text| text.trim_end_matches(['\n', '\r']).to_owned()).map_err(
                    |e| SettingsError { variable: p("BIND_PASSWORD_FILE"), reason: format!("cannot read it: {e}") },
                )?
            }
            None => env.get_or(&p("BIND_PASSWORD"), String::new())?,
        };
        let bind_dn: Option<String> = env.optional(&p("BIND_DN"))?;
        if bind_dn.is_some() && bind_password.is_empty() {
            return Err(SettingsError {
                variable: p("BIND_PASSWORD"),
                reason: "(or its _FILE) is empty while BIND_DN is set: an empty password would bind anonymously".into(),
            });
        }
        let user_filter: String = env.get_or(&p("USER_FILTER"), "(uid={username})".to_owned())?;
        if !user_filter.contains("{username}") {
            return Err(SettingsError { variable: p("USER_FILTER"), reason: "must contain `{username}`".into() });
        }
        let mut role_groups = Vec::new();
        for role in [Role::Viewer, Role::Operator, Role::Admin] {
            let variable = p(&format!("{}_GROUPS", role.as_str().to_uppercase()));
            role_groups.extend(groups(env, &variable)?.into_iter().map(|dn| (role, dn)));
        }
        let allowed_groups = groups(env, &p("ALLOWED_GROUPS"))?;
        if allowed_groups.is_empty() {
            return Err(SettingsError {
                variable: p("ALLOWED_GROUPS"),
                reason: "is required with LDAP: the DNs of the groups whose members may log in, separated by `;`"
                    .into(),
            });
        }
        Ok(LdapSettings {
            url,
            starttls: env.get_or(&p("STARTTLS"), false)?,
            ca_file: env.optional(&p("CA_FILE"))?,
            bind_dn,
            bind_password,
            user_base: env.required(&p("USER_BASE"))?,
            user_filter,
            name_attribute: env.get_or(&p("NAME_ATTRIBUTE"), "cn".to_owned())?,
            username_attribute: env.get_or(&p("USERNAME_ATTRIBUTE"), "uid".to_owned())?,
            groups: env.get_or(&p("GROUPS"), GroupLookup::Search)?,
            group_base: match env.optional(&p("GROUP_BASE"))? {
                Some(base) => base,
                None => env.required(&p("USER_BASE"))?,
            },
            group_filter: env
                .get_or(&p("GROUP_FILTER"), "(|(member={dn})(uniqueMember={dn})(memberUid={username}))".to_owned())?,
            nested_groups: env.get_or(&p("NESTED_GROUPS"), false)?,
            allowed_groups,
            role_groups,
            timeout: secs(env, &p("TIMEOUT_SECS"), 5)?,
        })
    }
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        let data_dir = data_dir(env)?;
        let users = match env.optional::<String>("AUTH_GATEWAY_LDAP_URL")? {
            Some(url) => UserSource::Ldap(Box::new(LdapSettings::from_env(env, url)?)),
            None => UserSource::File(env.get_or("AUTH_GATEWAY_USERS_FILE", data_dir.join("users.json"))?),
        };
        let key = match env.optional::<String>("AUTH_GATEWAY_TOKEN_KEY")? {
            Some(pem) => KeySetting::Pem(pem),
            None => KeySetting::File(env.get_or("AUTH_GATEWAY_TOKEN_KEY_FILE", data_dir.join("token-key.pem"))?),
        };
        let link = |variable: &str, name: &str, description: &str| -> Result<Option<Link>, SettingsError> {
            let url: Option<String> = env.optional(variable)?;
            Ok(url.map(|url| Link { name: name.to_owned(), url, description: description.to_owned() }))
        };
        let links = [
            link("AUTH_GATEWAY_LINK_AIRFLOW_URL", "Apache Airflow", "Workflows that chain the jobs (DAGs)")?,
            link("AUTH_GATEWAY_LINK_GITLAB_URL", "GitLab monitor", "The CI pipelines that build and publish the jobs")?,
            link("AUTH_GATEWAY_LINK_NEXUS_URL", "Nexus", "The repository where the jobs are published")?,
            link("AUTH_GATEWAY_LINK_SPARK_URL", "Spark UI", "The Spark applications that jobs start")?,
        ];
        Ok(Settings {
            server: ServerSettings::from_env(env, "AUTH_GATEWAY", 8080)?,
            users,
            tokens: TokenSettings {
                key,
                ttl: secs(env, "AUTH_GATEWAY_TOKEN_TTL_SECS", 3600)?,
                cookie_secure: env.get_or("AUTH_GATEWAY_COOKIE_SECURE", false)?,
            },
            throttle: ThrottleSettings {
                user_failures: env.get_or("AUTH_GATEWAY_LOGIN_USER_FAILURES", Positive(5))?.0,
                address_failures: env.get_or("AUTH_GATEWAY_LOGIN_ADDRESS_FAILURES", Positive(20))?.0,
                max_delay: secs(env, "AUTH_GATEWAY_LOGIN_MAX_DELAY_SECS", 300)?,
            },
            upstreams: Upstreams {
                catalog: service_url(env, "AUTH_GATEWAY_CATALOG_URL", "http://127.0.0.1:8081")?,
                deployer: service_url(env, "AUTH_GATEWAY_DEPLOYER_URL", "http://127.0.0.1:8082")?,
                history: service_url(env, "AUTH_GATEWAY_HISTORY_URL", "http://127.0.0.1:8086")?,
                timeout: secs(env, "AUTH_GATEWAY_UPSTREAM_TIMEOUT_SECS", 30)?,
                connect_timeout: secs(env, "AUTH_GATEWAY_UPSTREAM_CONNECT_TIMEOUT_SECS", 3)?,
            },
            links: links.into_iter().flatten().collect(),
            ui_dir: env.optional("AUTH_GATEWAY_UI_DIR")?,
            trusted_proxies: addresses(env, "AUTH_GATEWAY_TRUSTED_PROXIES")?,
        })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}
