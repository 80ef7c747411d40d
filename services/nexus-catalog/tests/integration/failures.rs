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

/// Nexus' answer to too many requests is waited out: tried again after 200 ms, then 400, 800...,
/// `NEXUS_CATALOG_NEXUS_ATTEMPTS` times in all.
#[actix_web::test]
async fn a_429_is_tried_again_after_a_doubling_pause_then_given_up() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url()), ("NEXUS_CATALOG_NEXUS_ATTEMPTS", "4")]).await;

    nexus.fail_next(&[Fault::Status(429); 3]);
    let (status, repositories) = get(&server, "/v1/repositories").await;
    assert_eq!(status, StatusCode::OK, "{repositories}");
    let arrivals = nexus.arrivals();
    assert_eq!(arrivals.len(), 4, "{:?}", nexus.requests());
    let pauses: Vec<Duration> = arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect();
    // A pause is never shorter than asked; the last one is shorter than the next doubling would
    // be, however loaded the machine (800 ms to spare).
    for (pause, asked) in pauses.iter().zip([200, 400, 800]) {
        assert!(*pause >= Duration::from_millis(asked), "{pauses:?}");
    }
    assert!(pauses[2] < Duration::from_millis(1600), "{pauses:?}");

    // One 429 more than the tries: given up, 502 with the code the UI shows.
    nexus.forget_requests();
    nexus.fail_next(&[Fault::Status(429); 5]);
    let (status, error) = get(&server, "/v1/repositories?refresh=true").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_unavailable")), "{error}");
    assert_eq!(nexus.requests().len(), 4);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"nexus_requests_total{endpoint="repositories",outcome="failing"} 7"#), "{metrics}");
    server.stop().await;
}

/// `NEXUS_CATALOG_DEADLINE_SECS` bounds one answer, however long Nexus takes; the fetch goes on
/// and fills the cache, so that a repository longer to list than an answer may take is listed.
#[actix_web::test]
async fn the_deadline_bounds_an_answer_and_the_fetch_fills_the_cache_after_it() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[
        ("NEXUS_CATALOG_NEXUS_URL", &nexus.url()),
        ("NEXUS_CATALOG_DEADLINE_SECS", "1"),
        ("NEXUS_CATALOG_NEXUS_ATTEMPTS", "1"),
    ])
    .await;
    get(&server, "/v1/repositories").await;
    nexus.forget_requests();

    // Listing takes 4 s: within the request's timeout (10 s), past the answer's deadline.
    nexus.fail_next(&[Fault::Delay(Duration::from_secs(4))]);
    let started = Instant::now();
    let (status, error) = get(&server, "/v1/repositories/releases/artifacts").await;
    let elapsed = started.elapsed();
    assert_eq!((status, error["code"].as_str()), (StatusCode::GATEWAY_TIMEOUT, Some("nexus_timeout")), "{error}");
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(nexus.requests().len(), 1, "the slow listing reached Nexus before the deadline");

    // Nexus fails every request from now on: only the listing under way can fill the cache.
    nexus.fail_next(&[Fault::Status(503); 200]);
    let given_up = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let (status, page) = get(&server, "/v1/repositories/releases/artifacts").await;
        if status == StatusCode::OK {
            break page;
        }
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{page}");
        assert!(Instant::now() < given_up, "the listing under way never filled the cache");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(page["total"], 1, "{page}");
    assert!(started.elapsed() >= Duration::from_secs(4), "the answer waited for the slow listing");
    server.stop().await;
}
