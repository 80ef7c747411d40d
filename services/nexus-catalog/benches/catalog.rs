//! What a user's clicks cost, against the Nexus stand-in (each of its answers takes 2 ms, far
//! less than a real Nexus' page, so the figures to compare are the request counts):
//! - the versions of a job with 300 versions, uncached (`refresh=true`) and cached: latency;
//! - the jobs of a repository of 2,000 components, pages of 100 (Nexus 3.74+) and of 10 (up to
//!   3.73): requests made to Nexus for the first page, for the next pages, and for a search.
//!
//! `cargo bench -p nexus-catalog --bench catalog`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, reason = "a benchmark's main")]

#[allow(dead_code, reason = "shared with the tests, which use all of it")]
#[path = "../tests/integration/nexus_stand_in.rs"]
mod nexus_stand_in;

use std::time::{Duration, Instant};

use nexus_stand_in::{NexusStandIn, StandInRepository, maven_component};
use service_kit::testing::TestServer;

async fn catalog(nexus: &NexusStandIn) -> TestServer {
    let variables = [("NEXUS_CATALOG_NEXUS_URL", nexus.url())];
    let settings = nexus_catalog::Settings::from_env(&service_kit::testing::test_env(variables)).unwrap();
    TestServer::start(|listener| nexus_catalog::run(settings, listener)).await
}

/// Median and 95th percentile of `runs` GETs of `path`.
async fn latency(server: &TestServer, path: &str, runs: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let response = server.get(path).await;
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs * 95 / 100])
}

fn requests(nexus: &NexusStandIn, endpoint: &str) -> usize {
    nexus.requests().iter().filter(|(path, _)| path == endpoint).count()
}

async fn versions() {
    let nexus = NexusStandIn::start(100);
    let components = (0..300)
        .map(|n| maven_component("com.acme.etl", "sales", &format!("1.{}.{}", n / 10, n % 10), "2024-01-01T00:00:00Z"))
        .collect();
    nexus.add_repository(StandInRepository { name: "releases".into(), format: "maven2".into(), components });
    let server = catalog(&nexus).await;
    let path = "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions";
    server.get("/v1/repositories").await;
    nexus.forget_requests();
    let (median, p95) = latency(&server, &format!("{path}?refresh=true"), 50).await;
    let per_listing = requests(&nexus, "search") / 50;
    println!(
        "versions of a job with 300 versions, uncached: median {median:.2?}, p95 {p95:.2?}, {per_listing} requests to Nexus each"
    );
    nexus.forget_requests();
    let (median, p95) = latency(&server, path, 2000).await;
    println!(
        "versions of a job with 300 versions, cached:   median {median:.2?}, p95 {p95:.2?}, {} requests to Nexus in 2000 calls",
        nexus.requests().len()
    );
    server.stop().await;
}

async fn artifacts(page_size: usize) {
    let nexus = NexusStandIn::start(page_size);
    let components = (0..2000)
        .map(|n| {
            maven_component(&format!("com.acme.team{}", n % 20), &format!("job-{n:04}"), "1.0", "2024-01-01T00:00:00Z")
        })
        .collect();
    nexus.add_repository(StandInRepository { name: "releases".into(), format: "maven2".into(), components });
    let server = catalog(&nexus).await;
    server.get("/v1/repositories").await;
    nexus.forget_requests();

    let started = Instant::now();
    let first = server.get("/v1/repositories/releases/artifacts").await;
    assert!(first.status().is_success());
    let first: serde_json::Value = first.json().await.unwrap();
    let uncached = started.elapsed();
    let first_requests = nexus.requests().len();
    nexus.forget_requests();
    let mut cursor = first["nextCursor"].as_str().map(str::to_owned);
    let mut pages = 1;
    let started = Instant::now();
    while let Some(next) = cursor {
        let page: serde_json::Value =
            server.get(&format!("/v1/repositories/releases/artifacts?cursor={next}")).await.json().await.unwrap();
        cursor = page["nextCursor"].as_str().map(str::to_owned);
        pages += 1;
    }
    let per_cached_page = started.elapsed() / (pages - 1);
    let later_requests = nexus.requests().len();
    nexus.forget_requests();
    server.get("/v1/repositories/releases/artifacts?group=com.acme.team7").await;
    let search_requests = nexus.requests().len();
    println!(
        "jobs of a repository of 2,000 components (pages of {page_size}): first page {first_requests} requests to Nexus in \
         {uncached:.2?}; the {} next pages {later_requests} requests, {per_cached_page:.2?} each; a search for one group \
         (100 jobs) {search_requests} requests",
        pages - 1
    );
    server.stop().await;
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        versions().await;
        artifacts(100).await;
        artifacts(10).await;
    });
}
