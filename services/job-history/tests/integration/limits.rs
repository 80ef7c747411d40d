//! What one search may ask of the database: the bounds of a query, the deadline of a search, and a
//! search stopped on the server when its caller goes away.

use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;
use service_kit::testing::TestServer;

use crate::fixtures::{MS2, server, server_with};

fn search_url(q: &str) -> String {
    format!("/v1/jobs/history?q={}", form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>())
}

async fn search(server: &TestServer, q: &str) -> (u16, Value) {
    let response = server.client.get(server.url(&search_url(q))).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<&str> {
    body["jobs"].as_array().unwrap().iter().map(|job| job["jobId"].as_str().unwrap()).collect()
}

/// `count` AND-ed copies of `group`.
fn and_of(group: &str, count: usize) -> String {
    vec![format!("({group})"); count].join(";")
}

fn assert_too_large(body: &Value, setting: &str, position: usize) {
    assert_eq!(body["code"], "query_too_large", "{body}");
    assert_eq!(body["field"], "q", "{body}");
    assert_eq!(body["position"], position, "{body}");
    assert!(body["message"].as_str().unwrap().contains(setting), "the message names the setting: {body}");
}

#[tokio::test]
async fn the_largest_queries_the_bounds_allow_are_answered() {
    let server = server().await;
    // Eight parameters (the most subqueries one AND group may have), each described by four
    // comparisons, and a list of 100 values: 64 comparisons in all, every bound at its maximum.
    let parameter = "paramLabel=='Sleeps';paramValue=='3';paramType==INTEGER;paramId==sleeps";
    let values: Vec<String> = (0..100).map(|i| format!("'owner{i}'")).collect();
    let widest = format!("{};jobOwner=out=({})", and_of(parameter, 8), values.join(","));
    let (status, body) = search(&server, &widest).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [MS2]);

    // The same number of statuses: each is a subquery too.
    let (status, body) = search(&server, &and_of("status==FINISHED", 8)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_query_over_a_bound_is_refused_saying_which_and_where() {
    let server = server().await;

    // Nine parameters in one AND group: refused at the comparison that starts the ninth.
    let nine = and_of("paramLabel=='Sleeps'", 9);
    let ninth = nine.match_indices("paramLabel").nth(8).unwrap().0 + 1;
    let (status, body) = search(&server, &nine).await;
    assert_eq!(status, 400, "{body}");
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_SUBQUERIES", ninth);
    // Nine statuses too.
    let (status, body) = search(&server, &and_of("status==FINISHED", 9)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "query_too_large");
    // But nine in an OR are not one AND group.
    let (status, body) = search(&server, &["paramLabel=='Sleeps'"; 9].join(",")).await;
    assert_eq!(status, 200, "{body}");

    // 65 comparisons: refused at the 65th.
    let many = vec!["priority==1"; 65].join(",");
    let (status, body) = search(&server, &many).await;
    assert_eq!(status, 400, "{body}");
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_COMPARISONS", 64 * "priority==1,".len() + 1);

    // 101 values in a list: refused at the 101st.
    let values: Vec<String> = (0..101).map(|i| format!("o{i:03}")).collect();
    let list = format!("jobOwner=in=({})", values.join(","));
    let (status, body) = search(&server, &list).await;
    assert_eq!(status, 400, "{body}");
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_LIST_VALUES", list.find("o100").unwrap() + 1);

    // 4,097 characters: refused before it is read.
    let long = format!("description=='{}'", "x".repeat(4097 - "description==''".len()));
    assert_eq!(long.len(), 4097);
    let (status, body) = search(&server, &long).await;
    assert_eq!(status, 400, "{body}");
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_LENGTH", 4097);

    // In the caller's language.
    let response = server.client.get(server.url(&format!("{}&locale=fr", search_url(&nine)))).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("au plus"), "{body}");
}

#[tokio::test]
async fn null_checks_keywords_and_status_patterns_count_as_the_comparisons_they_are() {
    let server = server().await;
    // 65 comparisons joined by keywords, null checks among them: refused at the 65th.
    let mut parts: Vec<&str> = vec!["endTime=isnull="; 32];
    parts.extend(["priority==1"; 33]);
    let many = parts.join(" or ");
    let (status, body) = search(&server, &many).await;
    assert_eq!(status, 400, "{body}");
    let sixty_fifth = 32 * "endTime=isnull= or ".len() + 32 * "priority==1 or ".len() + 1;
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_COMPARISONS", sixty_fifth);
    let (status, body) = search(&server, &parts[1..].join(" or ")).await;
    assert_eq!(status, 200, "64 are allowed: {body}");

    // A null check or a pattern on the statuses is a subquery like any comparison on them.
    let statuses = ["status=isnull=", "status=notnull=", "status==*ING", "status!=FIN*"];
    let nine: Vec<&str> = statuses.iter().cycle().take(9).copied().collect();
    let (status, body) = search(&server, &nine.join(" and ")).await;
    assert_eq!(status, 400, "{body}");
    let ninth = nine[..8].iter().map(|c| c.len() + " and ".len()).sum::<usize>() + 1;
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_SUBQUERIES", ninth);
    let (status, body) = search(&server, &nine[..8].join(" and ")).await;
    assert_eq!(status, 200, "{body}");
    // A parameter described by a null check is one more parameter too.
    let parameters = and_of("paramLabel=='Sleeps';paramValue=notnull=", 9);
    let (status, body) = search(&server, &parameters).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "query_too_large");
}

#[tokio::test]
async fn the_bounds_are_settings() {
    let (server, _database) =
        server_with(&[("JOB_HISTORY_QUERY_MAX_SUBQUERIES", "2"), ("JOB_HISTORY_QUERY_MAX_COMPARISONS", "3")]).await;
    let (status, body) = search(&server, &and_of("paramLabel=='Sleeps'", 3)).await;
    assert_eq!(status, 400, "{body}");
    assert_too_large(&body, "JOB_HISTORY_QUERY_MAX_SUBQUERIES", 2 * "(paramLabel=='Sleeps');".len() + 2);
    let (status, body) = search(&server, "priority==1,priority==2,priority==3,priority==4").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "query_too_large");
    let (status, body) = search(&server, &and_of("paramLabel=='Sleeps'", 2)).await;
    assert_eq!(status, 200, "{body}");
}

/// The searches of the service's database that Postgres is running or waiting to run.
async fn searches_running(admin: &mut AsyncPgConnection, database: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
         AND query LIKE 'SELECT j.* FROM jobs j%'",
    )
    .bind::<diesel::sql_types::Text, _>(database)
    .get_result(admin)
    .await
    .unwrap();
    count.n
}

/// Holds every search of the database in wait: a transaction that locks `jobs`, until dropped.
async fn lock_jobs(url: &str) -> AsyncPgConnection {
    let mut locker = AsyncPgConnection::establish(url).await.unwrap();
    locker.batch_execute("BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE").await.unwrap();
    locker
}

async fn wait_until_no_search(admin: &mut AsyncPgConnection, database: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if searches_running(admin, database).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_search_that_runs_out_of_time_is_a_503_and_stops_on_the_server() {
    let (server, database) = server_with(&[("JOB_HISTORY_STATEMENT_TIMEOUT_SECS", "1")]).await;
    let (url, database) = (database.url, database.name);
    let mut admin = AsyncPgConnection::establish(&url).await.unwrap();
    let locker = lock_jobs(&url).await;

    let (status, body) = search(&server, "priority==1").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "query_timeout", "{body}");
    assert!(body["message"].as_str().unwrap().contains("1 s"), "{body}");
    // Cancelled at once, not left waiting for the lock (Postgres' own limit comes 2 s later).
    assert!(wait_until_no_search(&mut admin, &database, Duration::from_millis(1500)).await, "the search still runs");
    drop(locker);
    let (status, body) = search(&server, "priority==1").await;
    assert_eq!(status, 200, "the service answers again: {body}");
}

#[tokio::test]
async fn a_search_whose_caller_went_away_is_cancelled_on_the_server() {
    let (server, database) = server_with(&[("JOB_HISTORY_STATEMENT_TIMEOUT_SECS", "120")]).await;
    let (url, database) = (database.url, database.name);
    let mut admin = AsyncPgConnection::establish(&url).await.unwrap();
    let locker = lock_jobs(&url).await;

    // A client that gives up after half a second, while the search waits for the lock.
    let impatient = server.client.get(server.url("/v1/jobs/history?q=priority==1")).timeout(Duration::from_millis(500));
    assert!(impatient.send().await.is_err(), "the client gave up");
    assert!(
        wait_until_no_search(&mut admin, &database, Duration::from_secs(10)).await,
        "the search still waits on the server, 10 s after its caller left"
    );
    drop(locker);
}
