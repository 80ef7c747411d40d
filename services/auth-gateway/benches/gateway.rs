//! What the gateway and the token check cost a request:
//! - checking a token (signature, claims) in a service;
//! - a request to a service, without and with the token check (`Access::Open` stands for "before");
//! - a request through the gateway's proxy, against the same service called directly;
//! - a login from the users file (argon2 takes its time on purpose).
//!
//! `cargo bench -p auth-gateway --bench gateway`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, reason = "a benchmark's main")]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde_json::json;
use service_kit::auth::{Access, Verifier};
use service_kit::testing::{TestKeys, TestServer, client, client_with_token, test_env};
use service_kit::{Role, Service};

/// Median and 95th percentile of `runs` calls of `call`.
async fn latency<F, Fut>(runs: usize, mut call: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await;
        times.push(started.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs * 95 / 100])
}

/// A service with one small JSON route, checking tokens or not.
async fn service(checks_tokens: bool) -> TestServer {
    let settings =
        service_kit::ServerSettings::from_env(&test_env(Vec::<(String, String)>::new()), "BENCH", 0).unwrap();
    let open: service_kit::auth::Policy = |_, _| Access::Open;
    TestServer::start(move |listener| async move {
        let mut service = Service::new("bench", utoipa::openapi::OpenApi::default());
        if !checks_tokens {
            service = service.policy(open);
        }
        service.serve(listener, &settings, |config| {
            config.route(
                "/v1/jobs/history",
                web::get().to(|| async { HttpResponse::Ok().json(json!({"jobs": [], "total": 0})) }),
            );
        })
    })
    .await
}

async fn get(client: &reqwest::Client, url: &str) {
    let response = client.get(url).send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    response.bytes().await.unwrap();
}

#[tokio::main]
async fn main() {
    let keys =
        || service_kit::ServerSettings::from_env(&test_env(Vec::<(String, String)>::new()), "BENCH", 1).unwrap().auth;
    let runs = 5_000;
    let tokens: Vec<String> = (0..runs).map(|n| TestKeys::token(&format!("user-{n}"), &[Role::Viewer])).collect();
    let verifier = Verifier::new(keys());
    let started = Instant::now();
    for token in &tokens {
        verifier.verify(token).await.unwrap();
    }
    println!("token check, first time: {:.1?} per token ({runs} tokens)", started.elapsed() / runs);
    let started = Instant::now();
    for token in &tokens {
        verifier.verify(token).await.unwrap();
    }
    println!("token check, checked before: {:.1?} per token", started.elapsed() / runs);
    let token = TestKeys::token("bench", &[Role::Viewer]);

    let caller = client_with_token(&token);
    let before = service(false).await;
    let after = service(true).await;
    let url = before.url("/v1/jobs/history");
    let anonymous = client();
    let (median, p95) = latency(3000, || get(&anonymous, &url)).await;
    println!("a service without the token check: median {median:.1?}, p95 {p95:.1?}");
    let url = after.url("/v1/jobs/history");
    let (median, p95) = latency(3000, || get(&caller, &url)).await;
    println!(
        "the same service checking the token (checked before, as a page's calls are): median {median:.1?}, p95 {p95:.1?}"
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let env = test_env([
        ("AUTH_GATEWAY_HISTORY_URL".to_owned(), after.url("")),
        (
            "AUTH_GATEWAY_USERS_FILE".to_owned(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/users.json").to_owned(),
        ),
        ("AUTH_GATEWAY_TOKEN_KEY".to_owned(), TestKeys::private_pem()),
        ("AUTH_GATEWAY_LOGIN_USER_FAILURES".to_owned(), "1000".to_owned()),
    ]);
    let settings = auth_gateway::Settings::from_env(&env).unwrap();
    let gateway = TestServer::start_on(listener, |listener| auth_gateway::run(settings, listener)).await;
    let url = gateway.url("/api/history");
    let (median, p95) = latency(3000, || get(&caller, &url)).await;
    println!("the same request through the gateway: median {median:.1?}, p95 {p95:.1?}");

    let (median, p95) = latency(30, || async {
        let response = anonymous
            .post(gateway.url("/api/auth/login"))
            .json(&json!({"username": "vic", "password": "vic-pw"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    })
    .await;
    println!("a login from the users file (argon2id, 19 MiB, 2 passes): median {median:.1?}, p95 {p95:.1?}");
}
