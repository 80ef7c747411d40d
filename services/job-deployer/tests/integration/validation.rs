//! A bad spec is answered 400 with every problem and its field, before anything reaches Kubernetes.

use job_deployer::spec::{image, names, quantity, schedule};
use serde_json::{Value, json};

use crate::api_server;
use crate::fixtures::{full_spec, server};

fn problems(body: &Value) -> Vec<(String, String)> {
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap().to_owned(), p["message"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn every_problem_of_a_spec_is_answered_with_its_field_and_nothing_reaches_kubernetes() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let mut spec = full_spec();
    spec["name"] = json!("Sales_ETL");
    spec["resource"]["checksum"]["value"] = json!("abc");
    spec["resource"]["downloadUrl"] = json!("ftp://nexus/x.zip");
    spec["runner"]["image"] = json!("Registry/Talend Runner");
    spec["runner"]["workingDir"] = json!("/job/../../etc");
    spec["runner"]["resources"]["limits"]["memory"] = json!("2 GB");
    spec["runner"]["resources"]["requests"]["cpu"] = json!("3");
    spec["runner"]["env"][0]["name"] = json!("JOB_RESOURCE");
    spec["schedule"]["cron"] = json!("61 * * * *");
    spec["schedule"]["timeZone"] = json!("Mars/Olympus");
    spec["mounts"][0]["credentials"] = Value::Null;
    spec["mounts"][1]["mountPath"] = json!("mnt/archive");
    spec["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"source": "//files/x", "mountPath": "/mnt/exports/", "secretName": "x"}));
    spec["backoffLimit"] = json!(-1);

    let response = server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_deployment");
    let found = problems(&body);
    let fields: Vec<&str> = found.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "resource.downloadUrl",
            "resource.checksum.value",
            "runner.image",
            "runner.workingDir",
            "runner.env[0].name",
            "runner.resources.limits.memory",
            "runner.resources.requests.cpu",
            "schedule.cron",
            "schedule.timeZone",
            "mounts[0].credentials",
            "mounts[1].mountPath",
            "mounts[2].mountPath",
            "backoffLimit",
        ],
        "{found:#?}"
    );
    let message = |field: &str| &found.iter().find(|(f, _)| f == field).unwrap().1;
    assert!(message("schedule.timeZone").contains("'Mars/Olympus' is not an IANA time zone"));
    assert!(message("mounts[0].credentials").contains("missing"));
    assert!(message("mounts[2].mountPath").contains("mounted twice"));
    assert!(message("mounts[1].mountPath").contains("not an absolute path"));
    assert!(message("resource.checksum.value").contains("64 hexadecimal digits"));
    assert!(message("name").contains("lower-case"));
    assert!(message("runner.workingDir").contains("goes up with '..'"));
    api.expect_nothing().await;

    // A request above its limit is told once the amounts can be read.
    let mut spec = full_spec();
    spec["runner"]["resources"]["requests"]["memory"] = json!("3Gi");
    let response = server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        problems(&body),
        [("runner.resources.requests.memory".to_owned(), "3Gi is more than the limit 2Gi".to_owned())]
    );

    // A CronJob's name leaves room for the controller's suffix; a Job's may be longer.
    // Downloads come from the deployer's Nexus, without credentials in the URL.
    for (url, why) in [
        ("https://attacker.example.com/x.zip", "not on the Nexus"),
        ("https://u:p@nexus.example.com/x.zip", "must not hold credentials"),
    ] {
        let mut spec = full_spec();
        spec["resource"]["downloadUrl"] = json!(url);
        let body: Value =
            server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap().json().await.unwrap();
        let found = problems(&body);
        assert!(
            found.iter().any(|(field, message)| field == "resource.downloadUrl" && message.contains(why)),
            "{url}: {found:?}"
        );
    }

    let mut spec = full_spec();
    spec["name"] = json!("a".repeat(53));
    let body: Value =
        server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap().json().await.unwrap();
    assert!(problems(&body)[0].1.contains("at most 52"), "{body}");

    // An unknown field is refused, not ignored.
    let mut spec = full_spec();
    spec["runner"]["imagePullPolicy"] = json!("Always");
    let response = server.client.post(server.url("/v1/deployments")).json(&spec).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_body");
    assert!(body["message"].as_str().unwrap().contains("imagePullPolicy"), "{body}");
    api.expect_nothing().await;
    server.stop().await;
}

#[test]
fn names_are_made_from_artifact_names_within_the_rules() {
    assert_eq!(names::generate("Report_Builder", 52), "report-builder");
    assert_eq!(names::generate("--sales..ETL v2--", 52), "sales-etl-v2");
    assert_eq!(names::generate("été", 52), "t");
    assert_eq!(names::generate("___", 52), "job");
    let long = names::generate(&"ab-".repeat(40), 52);
    assert!(long.len() <= 52 && !long.ends_with('-'), "{long}");
    assert_eq!(names::label_value("Jane Doe <jane@example.com>"), "Jane-Doe--jane-example.com");
    assert_eq!(names::label_value(&"x".repeat(80)).len(), 63);
    assert_eq!(names::label_problem("ok-name", 63), None);
    assert!(names::label_problem("-bad", 63).is_some());
}

#[test]
fn schedules_are_read_as_the_cronjob_controller_reads_them() {
    for good in ["*/5 * * * *", "30 2 * * 1-5", "0 0 1 JAN,jul *", "0 9 * * MON-FRI", "@daily", "@hourly", "0 0 ? * *"]
    {
        assert!(schedule::parse(good).is_ok(), "{good} is a schedule");
    }
    for (bad, why) in [
        ("* * * *", "has 4 fields"),
        ("0 * * * * *", "has 6 fields"),
        ("61 * * * *", "61 is above the minute's maximum 59"),
        ("0 0 L * *", "neither a number"),
        ("0 0 * * 5#3", "'5#3' is not a number"),
        ("TZ=UTC 0 * * * *", "6 fields"),
        ("@every 5m", "known shortcuts"),
        // What the API server refuses (robfig/cron's reading), though croner alone takes it.
        ("0 0 * * 7", "Sunday is 0"),
        ("0 0 * * FRI-MON", "starts after it ends"),
        ("*/0 * * * *", "step must be a positive number"),
        ("1,,2 * * * *", "empty item"),
    ] {
        let message = schedule::parse(bad).unwrap_err();
        assert!(message.contains(why), "{bad}: {message}");
    }
    // The next run is computed in the CronJob's time zone: 02:30 in Paris is 01:30 UTC in winter.
    let cron = schedule::parse("30 2 * * *").unwrap();
    let after = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().to_utc();
    let next = cron.next_after(after, schedule::time_zone("Europe/Paris").unwrap()).unwrap();
    assert_eq!(next.to_rfc3339(), "2026-11-22T01:30:00+00:00");
    assert!(schedule::time_zone("Mars/Olympus").is_err());
}

#[test]
fn image_references_follow_the_distribution_grammar() {
    for good in [
        "busybox",
        "eclipse-temurin:21-jre",
        "registry.example.com:5000/talend/runner:8.0.1",
        "localhost/a_b__c",
        "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "[::1]:5000/app:v1",
    ] {
        assert_eq!(image::problem(good), None, "{good}");
    }
    for bad in ["", "Registry/App", "app:", "app:-tag", "a b", "app@sha256:short", "-app"] {
        assert!(image::problem(bad).is_some(), "{bad:?} is refused");
    }
}

#[test]
fn quantities_are_read_as_kubernetes_reads_them() {
    assert_eq!(quantity::parse("500m").unwrap(), 0.5);
    assert_eq!(quantity::parse("2").unwrap(), 2.0);
    assert_eq!(quantity::parse("512Mi").unwrap(), 512.0 * 1024.0 * 1024.0);
    assert_eq!(quantity::parse("1.5G").unwrap(), 1.5e9);
    assert_eq!(quantity::parse("1e3").unwrap(), 1000.0);
    for bad in ["", "Mi", "2 GB", "1.2.3", "5x", "-1"] {
        assert!(quantity::parse(bad).is_err(), "{bad:?} is refused");
    }
}
