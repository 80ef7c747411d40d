//! Search latency on 1,000,000 realistic jobs: for a fixed set of queries, the API's p50/p99 at
//! limit 20 and, in the same run, the same SQL run directly on a connection (the floor the API
//! stands on). Run with `cargo bench -p job-history --bench search`; the data is loaded once into
//! the database `job_history_bench` (set `BENCH_RELOAD=1` to load it again).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark prints and stops on failure"
)]

use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use job_history::query;
use job_history::search::{self, Search};
use service_kit::testing::TestServer;

const JOBS: i64 = 1_000_000;
const ROUNDS: usize = 100;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

struct Case {
    name: &'static str,
    q: Option<&'static str>,
    sort: Option<(&'static str, bool)>,
    offset: i64,
    selective: bool,
}

fn cases() -> Vec<Case> {
    let case = |name, q, sort, offset, selective| Case { name, q, sort, offset, selective };
    vec![
        case("owner and exit status", Some("jobOwner==owner42;exitStatus==KILLED"), None, 0, true),
        case("parameter pair", Some("(paramLabel=='Sleeps');(paramValue=='3')"), None, 0, true),
        case(
            "algorithm and version",
            Some("algorithmName==alg-7;algorithmVersion==1.3;isDeleted==false"),
            None,
            0,
            false,
        ),
        case("one day", Some("submissionTime=ge='2025/03/01-00';submissionTime=lt='2025/03/02-00'"), None, 0, true),
        case("prefix wildcard", Some("jobOwner==owner29*;exitStatus==LOST"), None, 0, true),
        case("status and owner", Some("status==EXECUTING;jobOwner==owner5"), None, 0, true),
        case("suffix wildcard (broad)", Some("description==*MS2"), None, 0, false),
        case(
            "sorted by wallclock",
            Some("exitStatus==FAILED_SETUP_EXECUTION_ENVIRONMENT"),
            Some(("wallclockTime", false)),
            0,
            false,
        ),
        case("everything, first page", None, None, 0, false),
        case("deep page (offset 100,000)", None, None, 100_000, false),
    ]
}

#[tokio::main]
async fn main() {
    let server_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let url = format!("{server_url}/job_history_bench");
    let mut admin = AsyncPgConnection::establish(&format!("{server_url}/postgres")).await.unwrap();
    let exists: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = 'job_history_bench'")
        .get_result(&mut admin)
        .await
        .unwrap();
    if exists.n == 0 {
        admin.batch_execute("CREATE DATABASE job_history_bench").await.unwrap();
    }
    history_store::migrate(&url).await.unwrap();
    let mut direct = AsyncPgConnection::establish(&url).await.unwrap();
    let loaded: Count = diesel::sql_query("SELECT count(*) AS n FROM jobs").get_result(&mut direct).await.unwrap();
    if loaded.n != JOBS || std::env::var_os("BENCH_RELOAD").is_some() {
        load(&mut direct).await;
    }

    let env = service_kit::testing::test_env([("DATABASE_URL", url.as_str())]);
    let server =
        TestServer::start(|listener| job_history::run(job_history::Settings::from_env(&env).unwrap(), listener)).await;

    println!("{JOBS} jobs; {ROUNDS} rounds per query after 5 warm-up rounds; limit 20; times in ms");
    println!(
        "{:<30} {:>8} {:>9} {:>9} {:>9} {:>9}  goal",
        "query", "total", "API p50", "API p99", "SQL p50", "SQL p99"
    );
    for case in cases() {
        let search = to_search(&case);
        let mut url = format!("/v1/jobs/history?limit=20&offset={}", case.offset);
        if let Some(q) = case.q {
            url.push_str(&format!("&q={}", encode(q)));
        }
        if let Some((attr, asc)) = case.sort {
            url.push_str(&format!("&attr={attr}&asc={asc}"));
        }
        let mut api = Vec::new();
        let mut sql = Vec::new();
        let mut total = 0;
        for round in 0..ROUNDS + 5 {
            let started = Instant::now();
            let response = server.client.get(server.url(&url)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{}", case.name);
            let body: serde_json::Value = response.json().await.unwrap();
            let api_time = started.elapsed();
            total = body["total"].as_i64().unwrap();

            let started = Instant::now();
            let page = search::search(&mut direct, &search).await.unwrap();
            let sql_time = started.elapsed();
            assert_eq!(page.total, total);
            if round >= 5 {
                api.push(api_time);
                sql.push(sql_time);
            }
        }
        let (api50, api99, sql50, sql99) =
            (percentile(&mut api, 50), percentile(&mut api, 99), percentile(&mut sql, 50), percentile(&mut sql, 99));
        let within = api50 <= sql50 * 1.5 + 1.0;
        let goal = match (case.selective, within) {
            (true, true) if api99 < 50.0 => "met (p50 within 1.5x+1 ms, p99 < 50 ms)",
            (true, _) => "MISSED",
            (false, true) => "met (p50 within 1.5x+1 ms)",
            (false, false) => "MISSED",
        };
        println!("{:<30} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {goal}", case.name, total, api50, api99, sql50, sql99);
    }
    planning(&mut direct).await;
}

/// The planning time Postgres spends on the largest queries the default bounds allow (goal: under
/// 50 ms each), median of 5.
async fn planning(connection: &mut AsyncPgConnection) {
    let limits = query::limits::QueryLimits::default();
    let and_of = |group: &str, count: usize| vec![format!("({group})"); count].join(";");
    let parameter = "paramLabel=='Sleeps';paramValue=='3';paramType==INTEGER;paramId==sleeps;algorithmName==alg-7;algorithmVersion==1.3;algorithmId==alg-7";
    let values: Vec<String> = (0..limits.list_values).map(|i| format!("'owner{i}'")).collect();
    let shapes = [
        (
            "8 parameters x 7 comparisons, 8 more",
            format!("{};{}", and_of(parameter, limits.subqueries), and_of("jobOwner!=x", 8)),
        ),
        ("8 statuses", and_of("status==FINISHED", limits.subqueries)),
        ("8 ORs of 8 parameters", vec![format!("({})", and_of("paramLabel=='Sleeps'", 8)); 8].join(",")),
        ("4 parameters, 4 statuses", format!("{};{}", and_of("paramValue==3", 4), and_of("status==QUEUED", 4))),
        ("a list of 100 values", format!("jobOwner=in=({})", values.join(","))),
    ];
    println!("\nplanning time of the largest queries the default bounds allow ({limits:?}), median of 5, ms");
    for (name, q) in shapes {
        let tree = common::rsql::parse(&q).unwrap();
        let condition = query::condition(&tree, &limits).unwrap_or_else(|e| panic!("{name} is allowed: {e:?}"));
        let search = Search { condition: Some(condition), sort: None, offset: 0, limit: 20, with_parameters: true };
        let mut times = Vec::new();
        for _ in 0..5 {
            let mut sql = search.page_sql();
            sql.text = format!("EXPLAIN (SUMMARY ON) {}", sql.text);
            let lines: Vec<Plan> = search::bound(&sql).load(connection).await.unwrap();
            let time = lines
                .iter()
                .find_map(|line| line.plan.strip_prefix("Planning Time: "))
                .and_then(|t| t.trim_end_matches(" ms").parse::<f64>().ok())
                .unwrap();
            times.push(time);
        }
        times.sort_by(f64::total_cmp);
        let goal = if times[2] < 50.0 { "met (< 50 ms)" } else { "MISSED" };
        println!("{name:<40} {:>9.2}  {goal}", times[2]);
    }
}

#[derive(diesel::QueryableByName)]
struct Plan {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// The same search the API makes for the case, built by the same code.
fn to_search(case: &Case) -> Search {
    Search {
        condition: case.q.map(|q| query::condition(&common::rsql::parse(q).unwrap(), &Default::default()).unwrap()),
        sort: case.sort.map(|(attr, asc)| (query::selectors::sortable(attr).unwrap(), asc)),
        offset: case.offset,
        limit: 20,
        with_parameters: true,
    }
}

fn percentile(samples: &mut [Duration], p: usize) -> f64 {
    samples.sort();
    let index = ((samples.len() * p).div_ceil(100)).saturating_sub(1);
    samples[index].as_secs_f64() * 1000.0
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Loads the runs with the indexes dropped, then builds the indexes and the statistics.
async fn load(connection: &mut AsyncPgConnection) {
    let started = Instant::now();
    println!("loading {JOBS} jobs...");
    // CASCADE empties every table that refers to jobs, those added later included.
    connection.batch_execute("TRUNCATE jobs CASCADE").await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        definition: String,
    }
    let indexes: Vec<Index> = diesel::sql_query(
        "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = 'public' \
         AND tablename IN ('jobs', 'job_status_history', 'job_algorithms', 'job_parameters') \
         AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .load(connection)
    .await
    .unwrap();
    for index in &indexes {
        connection.batch_execute(&format!("DROP INDEX {}", index.name)).await.unwrap();
    }
    connection.batch_execute(include_str!("load.sql")).await.unwrap();
    println!("rows loaded in {:.0} s; building {} indexes", started.elapsed().as_secs_f64(), indexes.len());
    connection.batch_execute("SET maintenance_work_mem = '512MB'").await.unwrap();
    for index in &indexes {
        connection.batch_execute(&index.definition).await.unwrap();
    }
    connection.batch_execute("VACUUM ANALYZE").await.unwrap();
    println!("loaded, indexed and analysed in {:.0} s", started.elapsed().as_secs_f64());
}
