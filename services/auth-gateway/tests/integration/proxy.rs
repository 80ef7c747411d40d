//! The proxy, against a stand-in service that echoes what it receives, answers slowly or streams.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use service_kit::testing::{TestServer, client};

use crate::{gateway, raw_get};

/// What the stand-in received.
async fn echo(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    HttpResponse::Ok().insert_header(("x-upstream", "stand-in")).json(json!({
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query(),
        "authorization": header("authorization"),
        "requestId": header("x-request-id"),
        "forwardedFor": header("x-forwarded-for"),
        "forwardedHost": header("x-forwarded-host"),
        "forwarded": header("forwarded"),
        "private": header("x-private"),
        "bodyLength": body.len(),
    }))
}

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(3)).await;
    HttpResponse::Ok().finish()
}

/// A log followed: a line now, the next 1.5 s later.
async fn follow() -> HttpResponse {
    let lines = futures_util::stream::unfold(0, |sent| async move {
        match sent {
            0 => Some((Ok::<_, actix_web::Error>(web::Bytes::from("first\n")), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Some((Ok(web::Bytes::from("second\n")), 2))
            }
            _ => None,
        }
    });
    HttpResponse::Ok().content_type("text/plain").streaming(lines)
}

fn stand_in() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/deployments/slow", web::get().to(slow))
            .route("/v1/deployments/follow/logs", web::get().to(follow))
            .route("/v1/deployments/fixed", web::route().to(|| async { HttpResponse::Ok().body("0123456789") }))
            .default_service(web::to(echo))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    url
}

async fn gateway_to(url: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("AUTH_GATEWAY_CATALOG_URL".to_owned(), url.to_owned()),
        ("AUTH_GATEWAY_DEPLOYER_URL".to_owned(), url.to_owned()),
        ("AUTH_GATEWAY_HISTORY_URL".to_owned(), url.to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    gateway(env).await
}

#[tokio::test]
async fn each_prefix_goes_to_its_service_with_the_token_the_query_and_the_request_id() {
    let server = gateway_to(&stand_in(), &[]).await;
    let cases = [
        (
            "/api/history?search=status%3D%3DFINISHED&limit=5",
            "/v1/jobs/history",
            Some("search=status%3D%3DFINISHED&limit=5"),
        ),
        ("/api/history/admi@test.X", "/v1/jobs/history/admi@test.X", None),
        ("/api/deployments", "/v1/deployments", None),
        ("/api/deployments/sales-etl/runs", "/v1/deployments/sales-etl/runs", None),
        ("/api/runners", "/v1/runners", None),
        ("/api/schedules/preview?cron=0+2+*+*+*", "/v1/schedules/preview", Some("cron=0+2+*+*+*")),
        (
            "/api/catalog/repositories/releases/artifacts/com.example/a%2Fb/versions",
            "/v1/repositories/releases/artifacts/com.example/a%2Fb/versions",
            None,
        ),
    ];
    for (path, upstream_path, query) in cases {
        let response = client()
            .get(server.url(path))
            .bearer_auth("the-token")
            .header("x-request-id", "req-77")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["x-request-id"], "req-77", "{path}: the id comes back");
        assert_eq!(response.headers()["x-upstream"], "stand-in", "{path}: the service's headers come back");
        assert!(response.content_length().is_some(), "{path}: a sized answer keeps its length");
        let seen: Value = response.json().await.unwrap();
        assert_eq!(seen["path"], upstream_path, "{path}");
        assert_eq!(seen["query"], json!(query), "{path}");
        assert_eq!(seen["authorization"], "Bearer the-token", "{path}: the service checks the token itself");
        assert_eq!(seen["requestId"], "req-77", "{path}: the id goes to the service");
        assert_eq!(seen["forwardedFor"], "127.0.0.1", "{path}");
    }
    // Without an id, the gateway makes one and the service sees the same.
    let response = client().delete(server.url("/api/history/x")).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let seen: Value = response.json().await.unwrap();
    assert_eq!((seen["method"].as_str(), seen["requestId"].as_str()), (Some("DELETE"), Some(id.as_str())));
}

#[tokio::test]
async fn a_large_request_body_goes_through_whole() {
    let server = gateway_to(&stand_in(), &[]).await;
    let body = vec![b'x'; 3 * 1024 * 1024];
    let response = client().put(server.url("/api/deployments/big")).body(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.unwrap();
    assert_eq!((seen["method"].as_str(), seen["bodyLength"].as_u64()), (Some("PUT"), Some(3 * 1024 * 1024)));
}

#[tokio::test]
async fn a_followed_log_streams_through_line_by_line() {
    let server = gateway_to(&stand_in(), &[("AUTH_GATEWAY_UPSTREAM_TIMEOUT_SECS", "1")]).await;
    let started = Instant::now();
    let mut response = client().get(server.url("/api/deployments/follow/logs?follow=true")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None, "a stream is sent on as a stream");
    let first = response.chunk().await.unwrap().unwrap();
    let first_after = started.elapsed();
    assert_eq!(first, "first\n");
    assert!(
        first_after < Duration::from_millis(1000),
        "the first line arrives before the second is written: {first_after:?}"
    );
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"second\n", "the body outlives the 1 s limit on the answer's headers");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn a_slow_service_is_a_504_and_a_service_that_is_down_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = gateway_to(
        &stand_in(),
        &[("AUTH_GATEWAY_UPSTREAM_TIMEOUT_SECS", "1"), ("AUTH_GATEWAY_HISTORY_URL", &format!("http://{closed}"))],
    )
    .await;
    let started = Instant::now();
    let slow = client().get(server.url("/api/deployments/slow")).send().await.unwrap();
    assert_eq!(slow.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let body: Value = slow.json().await.unwrap();
    assert_eq!(body["code"], "upstream_timeout");
    assert!(body["message"].as_str().unwrap().contains("job-deployer"), "{body}");

    let down = client().get(server.url("/api/history")).send().await.unwrap();
    assert_eq!(down.status(), 502);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["code"], "upstream_unavailable");
    assert!(body["message"].as_str().unwrap().contains("job-history"), "{body}");
}

#[tokio::test]
async fn paths_that_would_climb_out_of_a_service_api_are_refused() {
    let server = gateway_to(&stand_in(), &[]).await;
    let paths = [
        "/api/history/../../v1/deployments",
        "/api/history/%2e%2E/x",
        "/api/catalog/.%2e/x",
        "/api/catalog/./repositories",
        r"/api/deployments/..\..\metrics",
    ];
    for path in paths {
        let answer = raw_get(&server, path, "").await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
        assert!(!answer.contains("stand-in"), "{path}: never reached the service");
    }
}

#[tokio::test]
async fn connection_and_forwarding_headers_of_the_client_are_not_passed_on() {
    let server = gateway_to(&stand_in(), &[]).await;
    let spoofed = "X-Forwarded-For: 10.6.6.6\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=10.6.6.6\r\n\
                   X-Private: secret\r\nConnection: X-Private\r\n";
    let answer = raw_get(&server, "/api/history", spoofed).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body: Value = serde_json::from_str(&body_of(&answer)).unwrap();
    assert_eq!(body["forwardedFor"], "127.0.0.1", "the address the gateway saw, not what the client claims: {answer}");
    assert_eq!(body["forwardedHost"], "gateway", "the Host the client sent, not its X-Forwarded-Host: {answer}");
    assert_eq!(body["forwarded"], Value::Null, "{answer}");
    assert_eq!(body["private"], Value::Null, "a header named by Connection stays on that connection: {answer}");
}

/// The body of a raw answer, sized or chunked (`size\r\ndata\r\n...0\r\n\r\n`).
fn body_of(answer: &str) -> String {
    let (head, mut rest) = answer.split_once("\r\n\r\n").unwrap();
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return rest.to_owned();
    }
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

#[tokio::test]
async fn a_head_announces_the_services_length_and_sends_nothing() {
    let upstream = stand_in();
    let server = gateway_to(&upstream, &[]).await;
    let direct = client().head(format!("{upstream}/v1/deployments/fixed")).send().await.unwrap();
    let through = client().head(server.url("/api/deployments/fixed")).send().await.unwrap();
    assert_eq!(through.status(), 200);
    let length = |response: &reqwest::Response| response.headers()["content-length"].to_str().unwrap().to_owned();
    assert_eq!((length(&direct), length(&through)), ("10".to_owned(), "10".to_owned()));
    assert!(through.bytes().await.unwrap().is_empty());
}
