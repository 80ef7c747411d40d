//! auth-gateway, through its HTTP interface and as a process: logins from the users file and from a
//! real OpenLDAP server, the tokens and keys, the proxy to stand-in services.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod file_login;
mod ldap_login;
mod proxy;
mod slapd;

use std::sync::OnceLock;

use serde_json::{Value, json};
use service_kit::testing::{TestKeys, TestServer, client, test_env};

service_kit::conformance_tests! {
    service: auth_gateway,
    binary: env!("CARGO_BIN_EXE_auth-gateway"),
    listen_variable: "AUTH_GATEWAY_LISTEN",
    openapi: "auth-gateway.json",
    env: async { crate::file_env() },
}

/// The users of the users-file tests: (name, password, roles).
pub const USERS: [(&str, &str, &str); 3] =
    [("ann", "ann-pw", "admin"), ("olga", "olga-pw", "operator"), ("vic", "vic-pw", "viewer")];

/// A users file with [`USERS`], made once for the test process.
fn users_file() -> String {
    static FILE: OnceLock<String> = OnceLock::new();
    FILE.get_or_init(|| {
        let users: Vec<Value> = USERS
            .iter()
            .map(|(name, password, role)| {
                let hash = auth_gateway::directory::users_file::hash_password(password).unwrap();
                json!({"username": name, "name": format!("{name} (file)"), "passwordHash": hash, "roles": [role]})
            })
            .collect();
        let path = std::env::temp_dir().join(format!("auth-gateway-test-users-{}.json", std::process::id()));
        std::fs::write(&path, json!({"users": users}).to_string()).unwrap();
        path.to_string_lossy().into_owned()
    })
    .clone()
}

/// The gateway's variables with the users file, signing with the test keys (so that the tests'
/// own tokens are the gateway's).
pub fn file_env() -> Vec<(String, String)> {
    vec![
        ("AUTH_GATEWAY_USERS_FILE".to_owned(), users_file()),
        ("AUTH_GATEWAY_TOKEN_KEY".to_owned(), TestKeys::private_pem()),
    ]
}

/// A gateway with `variables` (on top of the users file's).
pub async fn gateway(variables: Vec<(String, String)>) -> TestServer {
    let mut env = file_env();
    env.extend(variables);
    let settings = auth_gateway::Settings::from_env(&test_env(env)).unwrap();
    TestServer::start(|listener| auth_gateway::run(settings, listener)).await
}

pub async fn login(server: &TestServer, username: &str, password: &str) -> reqwest::Response {
    client()
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}
