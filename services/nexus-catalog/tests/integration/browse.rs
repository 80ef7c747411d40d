//! Browsing Nexus as a user picks a job: repositories, the jobs of one page by page, a search, the
//! versions in Maven's order, one version's files; and what the catalog asks Nexus for it.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::nexus_stand_in::{
    Fault, NexusStandIn, StandInAsset, StandInComponent, StandInRepository, digest, maven_component,
};
use crate::{catalog, get, jobs};

/// `releases`: com.acme.etl:sales in five versions (one a snapshot of two builds, uploaded out of
/// order), com.acme.etl:stock, and 230 filler jobs: 237 components, three pages of 100.
fn releases() -> StandInRepository {
    let mut components = vec![
        maven_component("com.acme.etl", "sales", "1.9", "2024-01-09T10:00:00.000+00:00"),
        maven_component("com.acme.etl", "sales", "2.0-20240302.080000-2", "2024-03-02T08:00:00.000+00:00"),
        maven_component("com.acme.etl", "sales", "1.10", "2024-02-10T10:00:00.000+00:00"),
        maven_component("com.acme.etl", "stock", "1.0", "2024-01-01T10:00:00.000+00:00"),
        maven_component("com.acme.etl", "sales", "1.10-rc1", "2024-02-01T10:00:00.000+00:00"),
        maven_component("com.acme.etl", "sales", "2.0-20240301.101500-1", "2024-03-01T10:15:00.000+00:00"),
        maven_component("com.acme.etl", "sales", "1.2", "2023-12-01T10:00:00.000+00:00"),
    ];
    for n in 0..230 {
        components.push(maven_component("com.acme.filler", &format!("job-{n:03}"), "1.0", "2024-01-01T00:00:00Z"));
    }
    StandInRepository { name: "releases".into(), format: "maven2".into(), components }
}

fn count(nexus: &NexusStandIn, endpoint: &str) -> usize {
    nexus.requests().iter().filter(|(path, _)| path == endpoint).count()
}

#[actix_web::test]
async fn a_user_browses_a_repository_and_picks_a_version() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url())]).await;

    let (status, repositories) = get(&server, "/v1/repositories").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        repositories,
        json!([{"name": "releases", "format": "maven2", "type": "hosted", "url": format!("{}/repository/releases", nexus.url())}])
    );

    // The first page: by group then name, the latest version in Maven's order.
    let (status, page) = get(&server, "/v1/repositories/releases/artifacts?limit=3").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 232);
    assert_eq!(
        jobs(&page),
        ["com.acme.etl:sales@2.0-SNAPSHOT (5)", "com.acme.etl:stock@1.0 (1)", "com.acme.filler:job-000@1.0 (1)"]
    );
    assert_eq!(page["artifacts"][0]["lastModified"], "2024-03-02T08:00:00Z");
    // The whole repository was read once, in three pages of 100; later pages are cut from it.
    assert_eq!((count(&nexus, "components"), count(&nexus, "search"), count(&nexus, "repositories")), (3, 0, 1));
    let mut seen: Vec<String> = jobs(&page);
    let mut cursor = page["nextCursor"].as_str().unwrap().to_owned();
    loop {
        let (status, page) =
            get(&server, &format!("/v1/repositories/releases/artifacts?limit=100&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(jobs(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 232);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 232, "no job twice");
    assert_eq!(seen.last().unwrap(), "com.acme.filler:job-229@1.0 (1)");
    assert_eq!(count(&nexus, "components"), 3, "pages come from the cache");

    // Versions: newest first in Maven's order, the snapshot's builds under it.
    nexus.forget_requests();
    let (status, versions) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions").await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let names: Vec<&str> =
        versions["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(names, ["2.0-SNAPSHOT", "1.10", "1.10-rc1", "1.9", "1.2"]);
    assert_eq!(
        versions["versions"][0],
        json!({"version": "2.0-SNAPSHOT", "uploaded": "2024-03-02T08:00:00Z", "snapshot": true, "builds": [
            {"version": "2.0-20240302.080000-2", "uploaded": "2024-03-02T08:00:00Z"},
            {"version": "2.0-20240301.101500-1", "uploaded": "2024-03-01T10:15:00Z"}]})
    );
    assert_eq!(
        versions["versions"][1],
        json!({"version": "1.10", "uploaded": "2024-02-10T10:00:00Z", "snapshot": false})
    );
    // One search for exactly this job, not the repository.
    let searches = nexus.requests();
    assert_eq!(searches.len(), 1, "{searches:?}");
    assert_eq!(searches[0].0, "search");
    assert!(searches[0].1.contains("group=com.acme.etl") && searches[0].1.contains("name=sales"), "{searches:?}");

    // A release: the zip is the file to run, ready for the deployer.
    let (status, detail) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions/1.10").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let paths: Vec<&str> = detail["assets"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "com/acme/etl/sales/1.10/sales-1.10.zip",
            "com/acme/etl/sales/1.10/sales-1.10.pom",
            "com/acme/etl/sales/1.10/sales-1.10.pom.sha1",
            "com/acme/etl/sales/1.10/sales-1.10.zip.sha1"
        ]
    );
    let zip = &detail["assets"][0];
    assert_eq!(zip["kind"], "package");
    assert_eq!(zip["size"], 52_000);
    assert_eq!(zip["contentType"], "application/zip");
    assert_eq!(zip["uploader"], "ci-bot");
    assert_eq!(zip["checksums"]["sha1"], digest("sha1 com/acme/etl/sales/1.10.zip", 40));
    assert_eq!(detail["assets"][1]["kind"], "metadata");
    assert_eq!(detail["assets"][3]["kind"], "checksum");
    assert_eq!(
        detail["toRun"],
        json!({
            "repository": "releases", "group": "com.acme.etl", "name": "sales", "version": "1.10",
            "path": "com/acme/etl/sales/1.10/sales-1.10.zip",
            "downloadUrl": format!("{}/repository/releases/com/acme/etl/sales/1.10/sales-1.10.zip", nexus.url()),
            "checksum": {"algorithm": "sha512", "value": digest("sha512 com/acme/etl/sales/1.10.zip", 128)}
        })
    );
    assert_eq!(detail.get("build"), None);

    // A snapshot means its newest build; a build can be asked by name. The run gets the build.
    let (_, snapshot) =
        get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions/2.0-SNAPSHOT").await;
    assert_eq!(snapshot["build"], "2.0-20240302.080000-2");
    assert_eq!(snapshot["toRun"]["version"], "2.0-20240302.080000-2");
    let (_, build) =
        get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions/2.0-20240301.101500-1").await;
    assert_eq!(build["toRun"]["path"], "com/acme/etl/sales/2.0-20240301.101500-1/sales-2.0-20240301.101500-1.zip");
    assert_eq!(nexus.requests().len(), 1, "the versions' search answered the details too");

    // What is not there.
    let (status, error) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions/3.0").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_version")));
    assert_eq!(error["message"], "com.acme.etl:sales has no version 3.0 in releases");
    let (status, error) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sale*/versions").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_artifact")),
        "a wildcard is no name"
    );
    let (status, error) = get(&server, "/v1/repositories/snapshots/artifacts").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_repository")));
    assert!(
        error["message"].as_str().unwrap().starts_with("Nexus shows the catalog no repository snapshots"),
        "{error}"
    );

    // Bad parameters say which and why.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("refresh=yes", "refresh"),
        // Typed values left empty are refused, not taken as absent.
        ("limit=", "limit"),
        ("refresh=", "refresh"),
    ] {
        let (status, error) = get(&server, &format!("/v1/repositories/releases/artifacts?{query}")).await;
        assert_eq!((status, error["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{query}: {error}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_search_asks_nexus_search_and_new_uploads_show_after_a_refresh() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url())]).await;

    let (status, page) = get(&server, "/v1/repositories/releases/artifacts?group=com.acme.*&name=s*").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(jobs(&page), ["com.acme.etl:sales@2.0-SNAPSHOT (5)", "com.acme.etl:stock@1.0 (1)"]);
    let (_, page) = get(&server, "/v1/repositories/releases/artifacts?name=job-01*&limit=4").await;
    assert_eq!(page["total"], 10);
    assert_eq!(jobs(&page).len(), 4);
    let (_, page) = get(&server, "/v1/repositories/releases/artifacts?q=stock").await;
    assert_eq!(jobs(&page), ["com.acme.etl:stock@1.0 (1)"]);
    // Searches went to Nexus' search; the repository was never listed.
    assert_eq!((count(&nexus, "search"), count(&nexus, "components")), (3, 0));

    // The listing reads components, which the search index lags behind.
    let (_, before) = get(&server, "/v1/repositories/releases/artifacts?limit=1").await;
    assert_eq!(jobs(&before), ["com.acme.etl:sales@2.0-SNAPSHOT (5)"]);
    let mut upload = maven_component("com.acme.etl", "sales", "2.0", "2024-04-01T09:00:00.000+00:00");
    upload.indexed = false;
    nexus.upload("releases", upload);
    let (_, cached) = get(&server, "/v1/repositories/releases/artifacts?limit=1").await;
    assert_eq!(jobs(&cached), ["com.acme.etl:sales@2.0-SNAPSHOT (5)"], "cached for the TTL");
    let (_, refreshed) = get(&server, "/v1/repositories/releases/artifacts?limit=1&refresh=true").await;
    assert_eq!(jobs(&refreshed), ["com.acme.etl:sales@2.0 (6)"]);
    // Not in the search index yet, but shown as the latest: the versions list has it, and it opens.
    let (_, versions) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions").await;
    assert_eq!(versions["versions"][0]["version"], "2.0", "{versions}");
    let (status, detail) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions/2.0").await;
    assert_eq!((status, detail["toRun"]["version"].as_str()), (StatusCode::OK, Some("2.0")), "{detail}");
    // A job that only the listing knows yet is still found from it.
    let mut new_job = maven_component("com.acme.etl", "returns", "0.1", "2024-04-01T09:00:00.000+00:00");
    new_job.indexed = false;
    nexus.upload("releases", new_job);
    get(&server, "/v1/repositories/releases/artifacts?refresh=true").await;
    let (status, detail) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/returns/versions/0.1").await;
    assert_eq!((status, detail["toRun"]["version"].as_str()), (StatusCode::OK, Some("0.1")), "{detail}");
    nexus.index_everything();
    let (_, versions) =
        get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/sales/versions?refresh=true").await;
    assert_eq!(versions["versions"][0]["version"], "2.0");
    server.stop().await;
}

/// A 3.73 server: pages of 10, a full last page followed by an empty one; assets with repeated
/// keys, paths with a leading `/` and spaces; null and empty groups; and a raw repository.
#[actix_web::test]
async fn an_older_nexus_with_its_quirks() {
    let nexus = NexusStandIn::start(10);
    nexus.duplicate_keys();
    let mut components: Vec<StandInComponent> =
        (0..18).map(|n| maven_component("org.acme", &format!("load-{n:02}"), "1.0", "2024-01-01T00:00:00Z")).collect();
    let mut no_group = maven_component("x", "cleanup", "0.9", "2024-01-01T00:00:00Z");
    no_group.group = None;
    let mut empty_group = maven_component("x", "cleanup", "1.1", "2024-01-02T00:00:00Z");
    empty_group.group = Some(String::new());
    for asset in &mut empty_group.assets {
        asset.path =
            format!("/cleanup/1.1/{}", asset.path.rsplit('/').next().unwrap().replace("cleanup-", "clean up-"));
        // Stored before 3.29: sha1 and md5 only.
        asset.sha256 = None;
        asset.sha512 = None;
    }
    components.extend([no_group, empty_group]);
    nexus.add_repository(StandInRepository { name: "old".into(), format: "maven2".into(), components });
    let raw_file = |path: &str| StandInComponent {
        group: Some(format!("/{}", path.rsplit_once('/').map_or("", |(dir, _)| dir))),
        name: path.to_owned(),
        version: None,
        assets: vec![StandInAsset {
            path: path.to_owned(),
            size: 120,
            sha1: digest(path, 40),
            sha256: Some(digest(path, 64)),
            sha512: Some(digest(path, 128)),
            md5: digest(path, 32),
            uploaded: "2024-05-05T05:05:05.000+00:00".into(),
        }],
        indexed: true,
    };
    nexus.add_repository(StandInRepository {
        name: "scripts".into(),
        format: "raw".into(),
        components: vec![
            raw_file("team/loads/daily/1.0/daily load.sh"),
            raw_file("team/loads/daily/1.2/daily load.sh"),
            raw_file("team/loads/daily/1.2/daily load.sh.sha1"),
            raw_file("team/loads/daily/1.10/daily load.sh"),
            raw_file("README.txt"),
        ],
    });
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url())]).await;

    let (status, page) = get(&server, "/v1/repositories/old/artifacts?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 19);
    assert_eq!(jobs(&page)[0], ":cleanup@1.1 (2)", "null and empty groups are one group");
    // 20 components in pages of 10: the second is full and carries a token, so a third is read.
    assert_eq!(count(&nexus, "components"), 3);
    let tokens: Vec<bool> = nexus
        .requests()
        .iter()
        .filter(|(p, _)| p == "components")
        .map(|(_, q)| q.contains("continuationToken"))
        .collect();
    assert_eq!(tokens, [false, true, true]);

    let (status, detail) = get(&server, "/v1/repositories/old/artifacts/-/cleanup/versions/1.1").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(
        detail["toRun"],
        json!({"repository": "old", "group": "", "name": "cleanup", "version": "1.1",
               "path": "cleanup/1.1/clean up-1.1.zip",
               "downloadUrl": format!("{}/repository/old/cleanup/1.1/clean%20up-1.1.zip", nexus.url()),
               "checksum": {"algorithm": "sha1", "value": digest("sha1 x/cleanup/1.1.zip", 40)}})
    );

    // Raw: group, name and version from the path; the file outside the layout is no job's.
    nexus.forget_requests();
    let (_, page) = get(&server, "/v1/repositories/scripts/artifacts").await;
    assert_eq!(jobs(&page), ["team.loads:daily@1.10 (3)"]);
    let (_, page) = get(&server, "/v1/repositories/scripts/artifacts?q=DAILY&group=team.*").await;
    assert_eq!(jobs(&page), ["team.loads:daily@1.10 (3)"]);
    let (_, page) = get(&server, "/v1/repositories/scripts/artifacts?q=weekly").await;
    assert_eq!(page["total"], 0);
    let (_, versions) = get(&server, "/v1/repositories/scripts/artifacts/team.loads/daily/versions").await;
    let names: Vec<&str> =
        versions["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(names, ["1.10", "1.2", "1.0"]);
    let (_, detail) = get(&server, "/v1/repositories/scripts/artifacts/team.loads/daily/versions/1.2").await;
    assert_eq!(
        detail["toRun"]["downloadUrl"],
        format!("{}/repository/scripts/team/loads/daily/1.2/daily%20load.sh", nexus.url())
    );
    let kinds: Vec<&str> = detail["assets"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["package", "checksum"], "one version, two files: one component each in Nexus");
    assert_eq!(count(&nexus, "search"), 0, "raw repositories are listed, not searched");
    server.stop().await;
}

/// Callers asking the same thing at once share one fetch; requests toward Nexus stay bounded.
#[actix_web::test]
async fn concurrent_callers_share_fetches_and_nexus_sees_few_at_once() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url()), ("NEXUS_CATALOG_NEXUS_CONCURRENCY", "2")]).await;
    get(&server, "/v1/repositories").await;
    nexus.forget_requests();

    nexus.fail_next(&[Fault::Delay(Duration::from_millis(300)); 3]);
    let pages = (0..20).map(|_| get(&server, "/v1/repositories/releases/artifacts?limit=1"));
    let answers = futures_util::future::join_all(pages).await;
    assert!(answers.iter().all(|(status, page)| *status == StatusCode::OK && page["total"] == 232));
    assert_eq!(count(&nexus, "components"), 3, "20 callers, one listing");

    nexus.forget_requests();
    nexus.fail_next(&[Fault::Delay(Duration::from_millis(200)); 8]);
    let paths: Vec<String> =
        (0..8).map(|n| format!("/v1/repositories/releases/artifacts/com.acme.filler/job-{n:03}/versions")).collect();
    let answers: Vec<(StatusCode, Value)> =
        futures_util::future::join_all(paths.iter().map(|path| get(&server, path))).await;
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::OK));
    assert_eq!(count(&nexus, "search"), 8);
    assert_eq!(nexus.max_in_flight(), 2, "NEXUS_CATALOG_NEXUS_CONCURRENCY bounds what Nexus sees");
    server.stop().await;
}

/// What the catalog page meets: a name pattern starting with a wildcard (which Nexus 3.74+ refuses
/// with a 400), a version page opened from a listing the cache has forgotten while the search index
/// still lags, and a repository hidden from the catalog's account.
#[actix_web::test]
async fn leading_wildcards_lagging_versions_and_hidden_repositories_have_answers() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url()), ("NEXUS_CATALOG_CACHE_TTL_SECS", "1")]).await;

    let (status, page) = get(&server, "/v1/repositories/releases/artifacts?name=*les").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(jobs(&page), ["com.acme.etl:sales@2.0-SNAPSHOT (5)"]);
    let (status, page) = get(&server, "/v1/repositories/releases/artifacts?q=*tock").await;
    assert_eq!((status, jobs(&page)), (StatusCode::OK, vec!["com.acme.etl:stock@1.0 (1)".to_owned()]), "{page}");
    assert_eq!(count(&nexus, "search"), 0, "Nexus' search was not asked what it refuses");

    let mut upload = maven_component("com.acme.etl", "stock", "1.1", "2024-04-01T09:00:00.000+00:00");
    upload.indexed = false;
    nexus.upload("releases", upload);
    let (_, page) = get(&server, "/v1/repositories/releases/artifacts?refresh=true&name=stock").await;
    assert_eq!(jobs(&page), ["com.acme.etl:stock@1.0 (1)"], "a search asks the index, which lags");
    let (_, listed) = get(&server, "/v1/repositories/releases/artifacts?refresh=true&limit=2").await;
    assert_eq!(jobs(&listed)[1], "com.acme.etl:stock@1.1 (2)", "the listing reads the database");
    // The listing is forgotten before the user presses the version.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, detail) = get(&server, "/v1/repositories/releases/artifacts/com.acme.etl/stock/versions/1.1").await;
    assert_eq!((status, detail["toRun"]["version"].as_str()), (StatusCode::OK, Some("1.1")), "{detail}");

    let (status, error) = get(&server, "/v1/repositories/secret-releases/artifacts").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["code"], "unknown_repository");
    assert!(error["message"].as_str().unwrap().contains("privilege"), "{error}");
    server.stop().await;
}

/// `q` is Nexus' keyword search, which matches versions too: a job's latest version and count are
/// those of its matching versions, whether Nexus' search answers or the catalog matches on the
/// listing (a word starting with a wildcard, a raw repository).
#[actix_web::test]
async fn with_q_the_latest_version_and_the_count_are_those_of_the_matching_versions() {
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(releases());
    let raw_file = |version: &str| StandInComponent {
        group: Some(format!("/team/loads/daily/{version}")),
        name: format!("team/loads/daily/{version}/daily.sh"),
        version: None,
        assets: vec![StandInAsset {
            path: format!("team/loads/daily/{version}/daily.sh"),
            size: 120,
            sha1: digest(version, 40),
            sha256: Some(digest(version, 64)),
            sha512: Some(digest(version, 128)),
            md5: digest(version, 32),
            uploaded: "2024-05-05T05:05:05.000+00:00".into(),
        }],
        indexed: true,
    };
    nexus.add_repository(StandInRepository {
        name: "scripts".into(),
        format: "raw".into(),
        components: vec![raw_file("1.0"), raw_file("1.2"), raw_file("1.10")],
    });
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url())]).await;
    let search = |query: &'static str| {
        let server = &server;
        async move {
            let (status, page) = get(server, &format!("/v1/repositories/{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            jobs(&page)
        }
    };

    // Nexus' search: sales has 2.0-SNAPSHOT (builds -1 and -2), 1.10, 1.10-rc1, 1.9 and 1.2.
    assert_eq!(search("releases/artifacts?q=1.9").await, ["com.acme.etl:sales@1.9 (1)"]);
    assert_eq!(search("releases/artifacts?q=rc1").await, ["com.acme.etl:sales@1.10-rc1 (1)"]);
    // 1.10, 1.10-rc1 and the build 2.0-20240301.101500-1; the snapshot counts once.
    assert_eq!(search("releases/artifacts?q=1.1").await, ["com.acme.etl:sales@2.0-SNAPSHOT (3)"]);
    // A word found in the name matches every version.
    assert_eq!(search("releases/artifacts?q=sales").await, ["com.acme.etl:sales@2.0-SNAPSHOT (5)"]);
    assert_eq!(count(&nexus, "components"), 0, "Nexus' search answered these");

    // The catalog's own matching, on the listing, says the same.
    assert_eq!(search("releases/artifacts?q=*.9").await, ["com.acme.etl:sales@1.9 (1)"]);
    assert_eq!(search("releases/artifacts?q=*rc1").await, ["com.acme.etl:sales@1.10-rc1 (1)"]);
    assert_eq!(search("releases/artifacts?q=*les").await, ["com.acme.etl:sales@2.0-SNAPSHOT (5)"]);
    assert_eq!(search("scripts/artifacts?q=1.2").await, ["team.loads:daily@1.2 (1)"]);
    assert_eq!(search("scripts/artifacts?q=1.1").await, ["team.loads:daily@1.10 (1)"]);
    assert_eq!(search("scripts/artifacts?q=daily").await, ["team.loads:daily@1.10 (3)"]);
    assert_eq!(search("scripts/artifacts?q=daily 1.0").await, ["team.loads:daily@1.0 (1)"], "every word");
    assert_eq!(count(&nexus, "search"), 4, "the catalog matched these");
    server.stop().await;
}

/// `toRun` carries the strongest digest Nexus stored for the file: sha512 over sha256 over sha1
/// over md5. Which ones it stored depends on the format and on the version that stored the file.
#[actix_web::test]
async fn to_run_carries_the_strongest_checksum_nexus_stored() {
    let nexus = NexusStandIn::start(100);
    let mut before_3_29 = maven_component("com.acme", "report", "1.0", "2020-06-01T00:00:00Z");
    for asset in &mut before_3_29.assets {
        (asset.sha256, asset.sha512) = (None, None);
    }
    nexus.add_repository(StandInRepository {
        name: "releases".into(),
        format: "maven2".into(),
        components: vec![maven_component("com.acme", "report", "2.0", "2024-01-01T00:00:00Z"), before_3_29],
    });
    // PyPI stores sha1, sha256 and md5.
    let sdist = "packages/report/3.0/report-3.0.tar.gz";
    nexus.add_repository(StandInRepository {
        name: "python".into(),
        format: "pypi".into(),
        components: vec![StandInComponent {
            group: None,
            name: "report".into(),
            version: Some("3.0".into()),
            assets: vec![StandInAsset {
                path: sdist.into(),
                size: 3_000,
                sha1: digest(sdist, 40),
                sha256: Some(digest(sdist, 64)),
                sha512: None,
                md5: digest(sdist, 32),
                uploaded: "2024-01-01T00:00:00Z".into(),
            }],
            indexed: true,
        }],
    });
    let server = catalog(&[("NEXUS_CATALOG_NEXUS_URL", &nexus.url())]).await;
    let checksum = |path: &'static str| {
        let server = &server;
        async move {
            let (status, detail) = get(server, &format!("/v1/repositories/{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}: {detail}");
            detail["toRun"]["checksum"].clone()
        }
    };

    assert_eq!(
        checksum("releases/artifacts/com.acme/report/versions/2.0").await,
        json!({"algorithm": "sha512", "value": digest("sha512 com/acme/report/2.0.zip", 128)})
    );
    assert_eq!(
        checksum("python/artifacts/-/report/versions/3.0").await,
        json!({"algorithm": "sha256", "value": digest(sdist, 64)})
    );
    assert_eq!(
        checksum("releases/artifacts/com.acme/report/versions/1.0").await,
        json!({"algorithm": "sha1", "value": digest("sha1 com/acme/report/1.0.zip", 40)})
    );
    server.stop().await;
}
