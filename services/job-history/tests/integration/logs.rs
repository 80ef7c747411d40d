//! `GET /v1/jobs/history/{jobId}/logs` over logs archived in the real Postgres: the last lines, a
//! range, a search, a cut log, an incomplete one, and every 404 saying why.

use chrono::{DateTime, TimeDelta, Utc};
use common::job::{ExitStatus, Job, JobStatus, StatusChange};
use common::job_log::{Collected, Container, Extent, cut};
use common::time::Instant;
use history_store::logs::LogKey;
use history_store::logs::retention::{Retention, clean_up};
use history_store::testing::{TestDatabase, archive_messages, insert_job, insert_log};
use serde_json::{Value, json};
use service_kit::testing::TestServer;

use crate::fixtures::server_with;

fn at(text: &str) -> DateTime<Utc> {
    common::time::parse_rfc3339(text).unwrap()
}

fn key(job_id: &str, container: Container, attempt: i32) -> LogKey {
    LogKey { job_id: job_id.to_owned(), container, attempt }
}

/// Line `n` of the test logs.
fn line(n: u64) -> String {
    let level = if n.is_multiple_of(1000) { "ERROR" } else { "INFO" };
    format!("2026-01-12 03:00:00 {level} [main] com.acme.etl.Load - row {n}: customer=C{n:07} status=OK")
}

fn lines(range: std::ops::RangeInclusive<u64>) -> String {
    range.map(|n| line(n) + "\n").collect()
}

fn run(job_id: &str, statuses: &[JobStatus], exit: Option<ExitStatus>, attempts: Option<i64>) -> Job {
    let status_history = statuses
        .iter()
        .enumerate()
        .map(|(i, status)| StatusChange {
            status: *status,
            timestamp: at("2026-01-12T03:00:00Z") + TimeDelta::seconds(i as i64),
        })
        .collect();
    Job { job_id: job_id.into(), status_history, exit_status: exit, number_of_attempts: attempts, ..Job::default() }
}

async fn logs(server: &TestServer, job_id: &str, query: &str) -> (u16, Value) {
    let response = server.get(&format!("/v1/jobs/history/{job_id}/logs{query}")).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

fn numbers(answer: &Value) -> Vec<u64> {
    answer["lines"].as_array().unwrap().iter().map(|l| l["line"].as_u64().unwrap()).collect()
}

/// A server over a database holding a finished run's logs: the runner's of two attempts (the
/// second 30,000 lines, cut: lines 1-5000 dropped) and the fetch step's.
async fn server() -> (TestServer, TestDatabase) {
    let (server, database) = server_with(&[]).await;
    let mut connection = database.connect().await;
    use JobStatus::*;
    insert_job(
        &mut connection,
        &run("run-1", &[Scheduled, Init, Executing, Finished], Some(ExitStatus::Success), Some(2)),
    )
    .await;
    let ended = at("2026-01-12T03:20:00Z");
    insert_log(
        &mut connection,
        &key("run-1", Container::Fetch, 1),
        ended,
        "fetched hello-2.1.zip\n",
        Extent::default(),
    )
    .await;
    insert_log(&mut connection, &key("run-1", Container::Runner, 1), ended, &lines(1..=10), Extent::default()).await;
    let dropped = Extent { lines: 5000, bytes: lines(1..=5000).len() as u64 };
    insert_log(&mut connection, &key("run-1", Container::Runner, 2), ended, &lines(5001..=35_000), dropped).await;
    (server, database)
}

#[tokio::test]
async fn the_last_lines_of_the_latest_attempt_by_default_numbered_as_in_the_whole_log() {
    let (server, _database) = server().await;
    let (status, answer) = logs(&server, "run-1", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["container"].clone(), answer["attempt"].clone()), (json!("runner"), json!(2)));
    assert_eq!(numbers(&answer), (34_001..=35_000).collect::<Vec<_>>(), "the last 1000 lines");
    assert_eq!(answer["lines"][999]["text"], line(35_000));
    assert_eq!((answer["firstLine"].clone(), answer["lastLine"].clone()), (json!(5001), json!(35_000)));
    assert_eq!((answer["droppedLines"].clone(), answer["complete"].clone()), (json!(5000), json!(true)));
    assert_eq!(answer["droppedBytes"], lines(1..=5000).len());
    assert_eq!(answer["keptBytes"], lines(5001..=35_000).len());
    assert_eq!((answer["total"].clone(), answer["missing"].clone()), (json!(30_000), json!([])));
    assert_eq!(answer["endedAt"], "2026-01-12T03:20:00.000Z");
    let archived: Vec<(String, u64)> = answer["archived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["container"].as_str().unwrap().to_owned(), a["attempt"].as_u64().unwrap()))
        .collect();
    assert_eq!(archived, [("fetch".into(), 1), ("runner".into(), 1), ("runner".into(), 2)]);

    let (_, answer) = logs(&server, "run-1", "?attempt=1&tailLines=3").await;
    assert_eq!(numbers(&answer), [8, 9, 10]);
    let (_, answer) = logs(&server, "run-1", "?container=fetch").await;
    assert_eq!(answer["lines"], json!([{"line": 1, "text": "fetched hello-2.1.zip"}]));
}

#[tokio::test]
async fn offset_reads_earlier_lines_across_chunks() {
    let (server, _database) = server().await;
    let (_, answer) = logs(&server, "run-1", "?offset=12344&tailLines=5000").await;
    assert_eq!(numbers(&answer), (12_345..=17_344).collect::<Vec<_>>());
    assert!(answer["lines"].as_array().unwrap().iter().all(|l| l["text"] == line(l["line"].as_u64().unwrap())));
    // Before the first kept line: the kept lines from the start; past the end: nothing.
    let (_, answer) = logs(&server, "run-1", "?offset=4990&tailLines=20").await;
    assert_eq!(numbers(&answer), (5001..=5010).collect::<Vec<_>>());
    let (_, answer) = logs(&server, "run-1", "?offset=35000").await;
    assert_eq!(numbers(&answer), Vec::<u64>::new());
    let (_, answer) = logs(&server, "run-1", "?tailLines=0").await;
    assert_eq!(numbers(&answer), Vec::<u64>::new());
}

#[tokio::test]
async fn grep_finds_the_matching_lines_with_their_numbers() {
    let (server, _database) = server().await;
    let (status, answer) = logs(&server, "run-1", "?grep=ERROR").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(numbers(&answer), (6..=35).map(|n| n * 1000).collect::<Vec<_>>());
    assert_eq!(answer["total"], 30);
    assert_eq!(answer["lines"][0]["text"], line(6000));
    // The last matches, or those after an offset; a regular expression; any case.
    let (_, answer) = logs(&server, "run-1", "?grep=ERROR&tailLines=2").await;
    assert_eq!((numbers(&answer), answer["total"].clone()), (vec![34_000, 35_000], json!(30)));
    let (_, answer) = logs(&server, "run-1", "?grep=ERROR&offset=20000&tailLines=2").await;
    assert_eq!(numbers(&answer), [21_000, 22_000]);
    let (_, answer) = logs(&server, "run-1", "?grep=row%20(1234%7C9999)5:&regex=true").await;
    assert_eq!(numbers(&answer), [12_345, 99_995].into_iter().filter(|n| *n <= 35_000).collect::<Vec<_>>());
    let (_, answer) = logs(&server, "run-1", "?grep=error&ignoreCase=true&tailLines=1").await;
    assert_eq!(numbers(&answer), [35_000]);
    // Text is text unless regex=true: a dot is a dot.
    let (_, answer) = logs(&server, "run-1", "?grep=row.1").await;
    assert_eq!(answer["total"], 0);
    let (status, answer) = logs(&server, "run-1", "?grep=(unclosed&regex=true").await;
    assert_eq!(
        (status, answer["code"].clone(), answer["field"].clone()),
        (400, json!("invalid_parameter"), json!("grep"))
    );
}

#[tokio::test]
async fn an_incomplete_log_is_served_with_its_missing_lines_named() {
    let (server, database) = server_with(&[]).await;
    let mut connection = database.connect().await;
    let text = lines(1..=9000);
    let log = Collected { text: text.clone(), dropped: Extent::default() };
    let messages = cut("run-2", Container::Runner, 1, Instant(at("2026-01-12T03:20:00Z")), &log);
    assert!(messages.len() >= 5);
    // The third chunk never came.
    let mut kept = messages.clone();
    kept.remove(2);
    archive_messages(&mut connection, &kept).await;
    let (status, answer) = logs(&server, "run-2", "?offset=0&tailLines=10000").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["complete"], false);
    let missing = &answer["missing"][0];
    let (from, to) = (missing["from"].as_u64().unwrap(), missing["to"].as_u64().unwrap());
    assert_eq!(answer["missing"].as_array().unwrap().len(), 1);
    let served = numbers(&answer);
    assert_eq!(served.len() as u64, 9000 - (to - from + 1));
    assert_eq!(answer["total"], served.len());
    assert!(served.iter().all(|n| *n < from || *n > to));
    assert!(
        answer["lines"].as_array().unwrap().iter().all(|l| l["text"] == line(l["line"].as_u64().unwrap())),
        "no line is a piece of one"
    );
}

#[tokio::test]
async fn no_log_is_a_404_that_says_why() {
    let (server, database) = server_with(&[]).await;
    let mut connection = database.connect().await;
    use JobStatus::*;
    insert_job(&mut connection, &run("running", &[Scheduled, Init, Executing], None, None)).await;
    insert_job(
        &mut connection,
        &run("never", &[Scheduled, Init, Finished], Some(ExitStatus::FailedSetupExecutionEnvironment), Some(1)),
    )
    .await;
    insert_job(
        &mut connection,
        &run("ended", &[Scheduled, Init, Executing, Finished], Some(ExitStatus::Success), Some(1)),
    )
    .await;
    insert_job(&mut connection, &run("gone", &[Scheduled, Init, Executing, Finished], Some(ExitStatus::Lost), Some(1)))
        .await;
    insert_job(
        &mut connection,
        &run("old", &[Scheduled, Init, Executing, Finished], Some(ExitStatus::Success), Some(1)),
    )
    .await;
    let ended = at("2026-01-12T03:20:00Z");
    let notice = common::job_log::LogMessage {
        job_id: "gone".into(),
        container: Container::Runner,
        attempt: 1,
        ended_at: Instant(ended + TimeDelta::days(20)),
        content: common::job_log::LogContent::Unavailable("the pod gone-x7k2p was gone before its log was read".into()),
    };
    archive_messages(&mut connection, &[notice]).await;
    insert_log(&mut connection, &key("old", Container::Runner, 1), ended, "a\n", Extent::default()).await;
    let retention = Retention { max_age: TimeDelta::days(30), max_stored_bytes: i64::MAX };
    clean_up(&mut connection, retention, ended + TimeDelta::days(31)).await.unwrap();

    for (job, query, code, words) in [
        ("nobody", "", "job_not_found", "no job `nobody`"),
        ("running", "", "run_still_running", "archived when that container ends"),
        ("never", "", "run_never_started", "(FAILED_SETUP_EXECUTION_ENVIRONMENT) before its runner container started"),
        ("ended", "?attempt=2", "run_never_started", "attempt 2 never started"),
        ("ended", "", "log_dropped", "no log of its runner container (attempt 1) was archived"),
        ("gone", "", "log_dropped", "could not read it (the pod gone-x7k2p was gone before its log was read)"),
        ("old", "", "log_dropped", "removed by the retention at 2026-02-12T03:20:00.000Z"),
    ] {
        let (status, answer) = logs(&server, job, query).await;
        assert_eq!((status, answer["code"].as_str().unwrap()), (404, code), "{job}{query}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(words), "{job}{query}: {answer}");
    }
    let (_, answer) = logs(&server, "running", "?locale=pt_BR").await;
    assert!(answer["message"].as_str().unwrap().starts_with("a execução não terminou"), "{answer}");
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_the_field() {
    let (server, _database) = server().await;
    for (query, field) in [
        ("?container=sidecar", "container"),
        // No container is named "": schemathesis found it taken as the default.
        ("?container=", "container"),
        ("?attempt=0", "attempt"),
        ("?attempt=x", "attempt"),
        ("?tailLines=10001", "tailLines"),
        ("?tailLines=-1", "tailLines"),
        ("?offset=x", "offset"),
        ("?grep=", "grep"),
        ("?grep=a&regex=maybe", "regex"),
        // Without grep too: schemathesis found `regex` unchecked then.
        ("?regex=maybe", "regex"),
        ("?ignoreCase=yes", "ignoreCase"),
        // A typed value left empty is not "absent" (schemathesis found `regex=` answered 200).
        ("?regex=", "regex"),
        ("?ignoreCase=", "ignoreCase"),
        ("?attempt=", "attempt"),
        ("?tailLines=", "tailLines"),
        ("?offset=", "offset"),
    ] {
        let (status, answer) = logs(&server, "run-1", query).await;
        assert_eq!((status, answer["field"].as_str()), (400, Some(field)), "{query}: {answer}");
    }
    let long = "x".repeat(1001);
    let (status, _) = logs(&server, "run-1", &format!("?grep={long}")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_log_needs_a_token() {
    let (server, _database) = server().await;
    let response = service_kit::testing::client().get(server.url("/v1/jobs/history/run-1/logs")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}
