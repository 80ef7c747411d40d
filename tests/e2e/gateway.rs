//! The platform behind its one entry point: users log in at the gateway, whose token every service
//! checks itself with the keys it fetches from the gateway; a viewer reads but cannot change, even
//! when calling a service directly; tokens that the gateway did not sign, or that expired, are
//! refused everywhere.

use std::net::TcpListener;

use e2e::kafka_brokers;
use history_store::testing::TestDatabase;
use serde_json::{Value, json};
use service_kit::auth::{Claims, SigningKey};
use service_kit::testing::{TestKeys, TestServer, client, client_with_token};
use service_kit::{Env, Role};

use crate::deployed_runs::{artifact, spec};

async fn login(gateway: &TestServer, username: &str, password: &str) -> String {
    let response = client()
        .post(gateway.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{username} logs in");
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn status(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_viewer_reads_through_the_gateway_but_only_an_operator_changes_and_foreign_tokens_fail_everywhere() {
    let database = TestDatabase::create().await;
    let work = tempfile_dir();
    let (zip, checksum) = artifact(&work);
    std::fs::create_dir_all(work.join("catalog")).unwrap();
    let users = work.join("users.json");
    let hash = |password: &str| auth_gateway::directory::users_file::hash_password(password).unwrap();
    let file = json!({"users": [
        {"username": "vic", "passwordHash": hash("vic-pw"), "roles": ["viewer"]},
        {"username": "olga", "name": "Olga", "passwordHash": hash("olga-pw"), "roles": ["operator"]},
    ]});
    std::fs::write(&users, file.to_string()).unwrap();

    // The gateway's address first: the services fetch its keys from there.
    let gateway_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/.well-known/jwks.json", gateway_listener.local_addr().unwrap());
    let topic = format!("job-events-{}", uuid::Uuid::new_v4().simple());
    let env = Env::from_pairs([
        ("AUTH_JWKS_URL", jwks_url.as_str()),
        ("DATABASE_URL", database.url.as_str()),
        ("KAFKA_BROKERS", &kafka_brokers()),
        ("JOB_EVENTS_TOPIC", &topic),
        ("JOB_DEPLOYER_RUNTIME", "local"),
        ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ("NEXUS_CATALOG_FOLDER", work.join("catalog").to_str().unwrap()),
        ("AUTH_GATEWAY_USERS_FILE", users.to_str().unwrap()),
        ("AUTH_GATEWAY_TOKEN_KEY_FILE", work.join("gateway/token-key.pem").to_str().unwrap()),
    ]);
    let history_settings = job_history::Settings::from_env(&env).unwrap();
    let history = TestServer::start(|listener| job_history::run(history_settings, listener)).await;
    let deployer_settings = job_deployer::Settings::from_env(&env).unwrap();
    let deployer = TestServer::start(|listener| job_deployer::run(deployer_settings, listener)).await;
    let catalog_settings = nexus_catalog::Settings::from_env(&env).unwrap();
    let catalog = TestServer::start(|listener| nexus_catalog::run(catalog_settings, listener)).await;
    let upstreams = [
        ("AUTH_GATEWAY_HISTORY_URL".to_owned(), history.url("")),
        ("AUTH_GATEWAY_DEPLOYER_URL".to_owned(), deployer.url("")),
        ("AUTH_GATEWAY_CATALOG_URL".to_owned(), catalog.url("")),
    ];
    let gateway_env = Env::from_pairs(
        [
            ("AUTH_GATEWAY_USERS_FILE".to_owned(), users.to_string_lossy().into_owned()),
            (
                "AUTH_GATEWAY_TOKEN_KEY_FILE".to_owned(),
                work.join("gateway/token-key.pem").to_string_lossy().into_owned(),
            ),
        ]
        .into_iter()
        .chain(upstreams),
    );
    let gateway_settings = auth_gateway::Settings::from_env(&gateway_env).unwrap();
    let gateway =
        TestServer::start_on(gateway_listener, |listener| auth_gateway::run(gateway_settings, listener)).await;

    let viewer = client_with_token(&login(&gateway, "vic", "vic-pw").await);
    let operator = client_with_token(&login(&gateway, "olga", "olga-pw").await);
    let deployment = spec("e2e-gated", &zip, &checksum, "0");

    // A viewer reads everything through the gateway.
    for path in ["/api/history?limit=5", "/api/deployments", "/api/catalog/repositories"] {
        assert_eq!(status(viewer.get(gateway.url(path))).await.0, 200, "{path}");
    }
    // ... and changes nothing: the services themselves refuse, through the gateway or not.
    let refusals = [
        ("POST via the gateway", viewer.post(gateway.url("/api/deployments")).json(&deployment)),
        ("POST to the deployer", viewer.post(deployer.url("/v1/deployments")).json(&deployment)),
        ("DELETE via the gateway", viewer.delete(gateway.url("/api/history/some-run"))),
        ("DELETE to the history", viewer.delete(history.url("/v1/jobs/history/some-run"))),
        ("run now via the gateway", viewer.post(gateway.url("/api/deployments/e2e-gated/run"))),
    ];
    for (what, request) in refusals {
        let (code, body) = status(request).await;
        assert_eq!((code, body["code"].as_str()), (403, Some("forbidden")), "{what}: {body}");
        assert!(body["message"].as_str().unwrap().contains("vic"), "{what}: {body}");
    }
    // An operator deploys, and the deployer records who.
    let (code, created) = status(operator.post(gateway.url("/api/deployments")).json(&deployment)).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["owner"], "olga");
    let (code, body) = status(operator.delete(gateway.url("/api/history/no-such-run"))).await;
    assert_eq!((code, body["code"].as_str()), (404, Some("job_not_found")), "an operator may delete: {body}");

    // Tokens the gateway did not sign, or that expired, fail at every service.
    let key = SigningKey::from_pem(&std::fs::read_to_string(work.join("gateway/token-key.pem")).unwrap()).unwrap();
    let now = service_kit::testing::unix_now();
    let claims = |exp: i64| Claims::new("olga", "Olga", &[Role::Admin], now - 7200, exp);
    let expired = key.sign(&claims(now - 600)).unwrap();
    let foreign = TestKeys::sign(&claims(now + 600));
    let still_valid = key.sign(&claims(now + 600)).unwrap();
    // A viewer's real token whose payload was given the admin role: its signature no longer holds.
    let viewer_token = login(&gateway, "vic", "vic-pw").await;
    let parts: Vec<&str> = viewer_token.split('.').collect();
    let payload = String::from_utf8(base64_decode(parts[1])).unwrap().replace(r#""viewer""#, r#""admin""#);
    let forged = format!("{}.{}.{}", parts[0], base64_encode(&payload), parts[2]);
    let reads = [
        history.url("/v1/jobs/history"),
        deployer.url("/v1/deployments"),
        catalog.url("/v1/repositories"),
        gateway.url("/api/history"),
        gateway.url("/api/deployments"),
        gateway.url("/api/catalog/repositories"),
        gateway.url("/api/auth/me"),
    ];
    for url in &reads {
        for (what, caller) in [
            ("no token", client()),
            ("expired", client_with_token(&expired)),
            ("signed by another key", client_with_token(&foreign)),
            ("a viewer's token made admin", client_with_token(&forged)),
        ] {
            let (code, body) = status(caller.get(url)).await;
            assert_eq!(code, 401, "{what} at {url}: {body}");
        }
        let (code, body) = status(client_with_token(&still_valid).get(url)).await;
        assert_eq!(code, 200, "the gateway's key is accepted at {url}: {body}");
    }
    let _ = std::fs::remove_dir_all(&work);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("e2e-gateway-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
