//! auth-gateway, through its HTTP interface and as a process: logins from the users file and from a
//! real OpenLDAP server, the tokens and keys, the proxy to stand-in services.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod file_login;
mod ldap_login;
mod proxy;
mod slapd;
mod web_ui;

use serde_json::json;
use service_kit::testing::{TestKeys, TestServer, client, test_env};

service_kit::conformance_tests! {
    service: auth_gateway,
    binary: env!("CARGO_BIN_EXE_auth-gateway"),
    listen_variable: "AUTH_GATEWAY_LISTEN",
    openapi: "auth-gateway.json",
    env: async { crate::file_env() },
}

/// The users of `users.json` (name, password, role): its hashes are of these passwords, made with
/// `auth-gateway hash-password`.
pub const USERS: [(&str, &str, &str); 3] =
    [("ann", "ann-pw", "admin"), ("olga", "olga-pw", "operator"), ("vic", "vic-pw", "viewer")];

fn users_file() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/users.json").to_owned()
}

/// An HTTP request sent as written: an HTTP client would resolve dots and backslashes itself.
pub async fn raw_get(server: &TestServer, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: gateway\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
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
