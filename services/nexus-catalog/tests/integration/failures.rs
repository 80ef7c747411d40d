//! When Nexus is down, slow, failing or refuses the catalog: a JSON answer with a code the UI can
//! show, in bounded time, and retries only where they can help.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::nexus_stand_in::{Fault, NexusStandIn, StandInRepository, maven_component};
use crate::{catalog, get};

fn releases() -> StandInRepository {
    StandInRepository {
        name: "releases".into(),
        format: "maven2".into(),
        components: vec![maven_component("com.acme", "sales", "1.0", "2024-01-01T00:00:00Z")],
    }
}

#[actix_web::test]
async fn failing_and_slow_answers_are_retried_then_reported() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url()), ("NEXUS_CATALOG_NEXUS_TIMEOUT_SECS", "1")]).await;

    // Two failures pass unnoticed: the third try answers.
    nexus.fail_next(&[Fault::Status(503), Fault::Status(502)]);
    let (status, _) = get(&server, "/v1/repositories").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nexus.requests().len(), 3);

    // Three tries at most, then 502 with a code and no internals.
    nexus.forget_requests();
    nexus.fail_next(&[Fault::Status(500), Fault::Status(503), Fault::Status(504), Fault::Status(503)]);
    let (status, error) = get(&server, "/v1/repositories?refresh=true").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_unavailable")), "{error}");
    assert_eq!(error["message"], "Nexus is unavailable; try again later");
    assert_eq!(nexus.requests().len(), 3);
    // The fourth failure meets the next request, which is tried again; failures are not cached.
    let (status, _) = get(&server, "/v1/repositories").await;
    assert_eq!(status, StatusCode::OK);

    // A Nexus that does not answer in time: 504 after three tries of 1 s, not a hang.
    nexus.fail_next(&[Fault::Delay(Duration::from_secs(5)); 3]);
    let started = Instant::now();
    let (status, error) = get(&server, "/v1/repositories?refresh=true").await;
    let elapsed = started.elapsed();
    assert_eq!((status, error["code"].as_str()), (StatusCode::GATEWAY_TIMEOUT, Some("nexus_timeout")), "{error}");
    assert!(elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(5), "{elapsed:?}");

    // A refusal is not retried: the catalog's account lacks a privilege.
    get(&server, "/v1/repositories").await;
    nexus.forget_requests();
    nexus.fail_next(&[Fault::Status(403)]);
    let (status, error) = get(&server, "/v1/repositories/releases/artifacts/com.acme/sales/versions").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_forbidden")), "{error}");
    assert_eq!(nexus.requests().iter().map(|(path, _)| path.as_str()).collect::<Vec<_>>(), ["search"]);
    let (status, _) = get(&server, "/v1/repositories/releases/artifacts/com.acme/sales/versions").await;
    assert_eq!(status, StatusCode::OK);

    // Nexus' status feeds /readyz, which says what is wrong without failing the catalog.
    nexus.fail_next(&[Fault::Status(503)]);
    let (status, ready) = get(&server, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["checks"]["nexus"], "degraded: Nexus answered 503", "{ready}");
    server.stop().await;
}

#[actix_web::test]
async fn the_catalogs_credentials_and_an_unreachable_nexus() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    nexus.require_credentials("catalog", "s3cret");
    let url = nexus.url();

    let right = catalog(&[
        ("NEXUS_CATALOG_NEXUS_URL", url.as_str()),
        ("NEXUS_CATALOG_NEXUS_USERNAME", "catalog"),
        ("NEXUS_CATALOG_NEXUS_PASSWORD", "s3cret"),
    ])
    .await;
    let (status, page) = get(&right, "/v1/repositories/releases/artifacts").await;
    assert_eq!((status, page["total"].as_u64()), (StatusCode::OK, Some(1)), "{page}");
    right.stop().await;

    // Wrong credentials are the catalog's problem, not the user's: 502, not 401.
    let wrong = catalog(&[
        ("NEXUS_CATALOG_NEXUS_URL", url.as_str()),
        ("NEXUS_CATALOG_NEXUS_USERNAME", "catalog"),
        ("NEXUS_CATALOG_NEXUS_PASSWORD", "old-password"),
    ])
    .await;
    let (status, error) = get(&wrong, "/v1/repositories").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_credentials_rejected")));
    assert!(error["message"].as_str().unwrap().contains("catalog's own credentials"), "{error}");
    assert!(!error.to_string().contains("old-password"));
    wrong.stop().await;

    // Without credentials Nexus answers empty lists instead of 401: the 404 says what that may mean.
    let anonymous = catalog(&[("NEXUS_CATALOG_NEXUS_URL", url.as_str())]).await;
    let (status, error) = get(&anonymous, "/v1/repositories/releases/artifacts").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_repository")));
    assert!(error["message"].as_str().unwrap().contains("lack read privileges"), "{error}");
    anonymous.stop().await;

    // Nothing listens: 502 after the tries, quickly.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let down = catalog(&[("NEXUS_CATALOG_NEXUS_URL", closed_url.as_str())]).await;
    let started = Instant::now();
    let (status, error) = get(&down, "/v1/repositories").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_unavailable")), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let metrics = down.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"nexus_requests_total{endpoint="repositories",outcome="unreachable"} 3"#), "{metrics}");
    down.stop().await;
}

#[test]
fn settings_refuse_a_url_with_credentials_and_bad_numbers() {
    let error = |pairs: &[(&str, &str)]| {
        nexus_catalog::Settings::from_env(&service_kit::Env::from_pairs(pairs.iter().copied())).unwrap_err().to_string()
    };
    let message = error(&[("NEXUS_CATALOG_NEXUS_URL", "https://user:pw@nexus.example.com")]);
    assert!(message.starts_with("NEXUS_CATALOG_NEXUS_URL: put the credentials in"), "{message}");
    assert!(!message.contains("pw@"), "{message}");
    assert!(error(&[("NEXUS_CATALOG_NEXUS_URL", "ftp://nexus")]).starts_with("NEXUS_CATALOG_NEXUS_URL:"));
    let message = error(&[("NEXUS_CATALOG_NEXUS_URL", "http://nexus"), ("NEXUS_CATALOG_NEXUS_ATTEMPTS", "0")]);
    assert!(message.starts_with("NEXUS_CATALOG_NEXUS_ATTEMPTS:"), "{message}");
}
