//! Runs' logs in the history (issue 20), measured on the real broker and Postgres:
//! 1. the archive's throughput: a 10 MiB job output (generated, seeded: timestamped lines, levels,
//!    repeated keys, Java stack traces) read from a log file by the deployer's `LogArchiver` (its
//!    collection, the contract's cut, its producer), through a topic of the real broker, folded by
//!    the job-history-consumer (`job_history_consumer::run`, as its binary runs it, in this process)
//!    into Postgres: from the start of the collection until the consumer has committed the last
//!    chunk's rows, median of three runs, each on a fresh database, topics and consumer group;
//! 2. what that log takes in Postgres (tables and TOAST, and with the indexes), per MiB of output;
//! 3. job-history's time to serve the last 1000 lines and a search (`grep`) of it through its HTTP
//!    API, with a token, median and p95 of 50 requests each (goals: under 100 ms and 300 ms).
//!
//! `KAFKA_BROKERS=... cargo bench -p e2e --bench logs`; Postgres at `TEST_POSTGRES_URL` (default
//! 127.0.0.1:5432). It makes the database `job_logs_bench` and topics and groups `bench-logs-*`, and
//! removes them when it ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, reason = "a benchmark's main")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use common::job::{ExitStatus, Job, JobStatus, StatusChange};
use common::job_log::Container;
use e2e::kafka_brokers;
use history_store::testing::{TestDatabase, insert_job};
use job_deployer::LogArchiver;
use job_deployer::events::logs::LogOf;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use serde_json::Value;
use service_kit::testing::{TestServer, test_env};

/// The job output archived: at most this much (the deployer's default bound: nothing is dropped).
const OUTPUT_BYTES: usize = 10 * 1024 * 1024;
const SEED: u64 = 20;
const RUNS: usize = 3;
const REQUESTS: usize = 50;
const WARM_UP_REQUESTS: usize = 5;
/// A text on a few hundred lines of the output (see [`output`]).
const PATTERN: &str = "slow query";
const DATABASE: &str = "job_logs_bench";
const JOB_ID: &str = "nightly-sales-29410350";

const LOGGERS: [&str; 8] = [
    "com.acme.etl.load.CustomerLoader",
    "com.acme.etl.load.OrderLoader",
    "com.acme.etl.transform.CurrencyConverter",
    "com.acme.etl.extract.SalesReader",
    "org.springframework.batch.core.step.AbstractStep",
    "org.hibernate.SQL",
    "com.zaxxer.hikari.pool.HikariPool",
    "org.apache.kafka.clients.producer.KafkaProducer",
];
const THREADS: [&str; 5] = ["main", "worker-1", "worker-2", "worker-3", "HikariPool-1 housekeeper"];
const REGIONS: [&str; 4] = ["EMEA", "AMER", "APAC", "LATAM"];
const FRAMES: [&str; 10] = [
    "com.acme.etl.load.CustomerLoader.write(CustomerLoader.java:142)",
    "com.acme.etl.load.AbstractLoader.flush(AbstractLoader.java:88)",
    "org.springframework.batch.core.step.item.SimpleChunkProcessor.writeItems(SimpleChunkProcessor.java:193)",
    "org.springframework.batch.core.step.item.SimpleChunkProcessor.doWrite(SimpleChunkProcessor.java:159)",
    "org.springframework.batch.core.step.tasklet.TaskletStep$ChunkTransactionCallback.doInTransaction(TaskletStep.java:407)",
    "org.springframework.transaction.support.TransactionTemplate.execute(TransactionTemplate.java:140)",
    "org.hibernate.engine.jdbc.batch.internal.BatchingBatch.performExecution(BatchingBatch.java:121)",
    "com.zaxxer.hikari.pool.ProxyPreparedStatement.executeBatch(ProxyPreparedStatement.java:52)",
    "org.postgresql.jdbc.PgStatement.executeBatch(PgStatement.java:886)",
    "java.base/java.lang.Thread.run(Thread.java:840)",
];

/// A typical batch job's output, `OUTPUT_BYTES` at most, the same for a seed: Spring Batch-style
/// lines (timestamp, level, thread, logger) with repeated keys, SQL, progress lines, retries, and
/// stack traces after errors. About 0.35 % of the lines hold [`PATTERN`].
fn output(seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut text = String::with_capacity(OUTPUT_BYTES + 4096);
    let mut at = chrono::NaiveDate::from_ymd_opt(2026, 1, 12).unwrap().and_hms_opt(3, 0, 0).unwrap();
    let (mut batch, mut rows) = (0_u64, 0_u64);
    let total_rows = 4_000_000_u64;
    loop {
        let mut entry = String::new();
        at += TimeDelta::milliseconds(rng.random_range(0..40));
        let stamp = at.format("%Y-%m-%d %H:%M:%S%.3f");
        let thread = THREADS[rng.random_range(0..THREADS.len())];
        let customer = rng.random_range(0..200_000);
        let roll: u32 = rng.random_range(0..1000);
        let (level, logger, message) = match roll {
            0..=3 => (
                "WARN",
                LOGGERS[5],
                format!(
                    "{PATTERN}: {} ms for select o.id, o.amount from orders o where o.customer_id = ? (customer=C{customer:07})",
                    rng.random_range(1000..9000)
                ),
            ),
            4..=19 => {
                let service = ["rates", "customers", "fx"][rng.random_range(0..3)];
                let message = format!(
                    "Retrying request to https://api.acme.internal/v2/{service} (attempt {}/5): connect timed out",
                    rng.random_range(2..6)
                );
                ("WARN", LOGGERS[2], message)
            }
            20..=25 => ("ERROR", LOGGERS[0], format!("Failed to write customer=C{customer:07}; skipping the record")),
            26..=140 => (
                "DEBUG",
                LOGGERS[5],
                format!(
                    "select c.id, c.name, c.email, c.region from customers c where c.updated_at > ? and c.region = '{}'",
                    REGIONS[rng.random_range(0..4)]
                ),
            ),
            141..=200 => {
                batch += 1;
                let written = rng.random_range(900..1000);
                rows += written;
                let message = format!(
                    "Processed batch {batch}: rows={written} inserted={} updated={} rejected={} duration_ms={}",
                    written - 40,
                    35,
                    5,
                    rng.random_range(80..900)
                );
                ("INFO", LOGGERS[4], message)
            }
            201..=215 => (
                "INFO",
                LOGGERS[3],
                format!("Progress: {rows}/{total_rows} rows ({:.1}%)", 100.0 * rows as f64 / total_rows as f64),
            ),
            216..=225 => {
                let active = rng.random_range(0..10);
                (
                    "DEBUG",
                    LOGGERS[6],
                    format!("HikariPool-1 - Pool stats (total=10, active={active}, idle={}, waiting=0)", 10 - active),
                )
            }
            226..=235 => (
                "INFO",
                LOGGERS[7],
                format!("[Producer clientId=producer-1] sent {} records to sales-events", rng.random_range(100..2000)),
            ),
            _ => {
                let logger = LOGGERS[rng.random_range(0..2)];
                let message = format!(
                    "customer=C{customer:07} order=O{:09} region={} amount={}.{:02} currency=EUR status=OK",
                    rng.random_range(0..1_000_000_000),
                    REGIONS[rng.random_range(0..4)],
                    rng.random_range(1..5000),
                    rng.random_range(0..100)
                );
                ("INFO", logger, message)
            }
        };
        writeln!(entry, "{stamp} {level:<5} [{thread}] {logger} - {message}").unwrap();
        if level == "ERROR" {
            writeln!(entry, "java.sql.BatchUpdateException: Batch entry 12 insert into customers (id, name, email, region) values ('C{customer:07}', ...) was aborted: ERROR: duplicate key value violates unique constraint \"customers_pkey\"").unwrap();
            let depth = rng.random_range(5..FRAMES.len());
            for frame in &FRAMES[..depth] {
                writeln!(entry, "\tat {frame}").unwrap();
            }
            if rng.random_bool(0.5) {
                writeln!(entry, "Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint \"customers_pkey\"\n  Detail: Key (id)=(C{customer:07}) already exists.").unwrap();
                writeln!(entry, "\tat {}\n\t... {} more", FRAMES[8], depth - 1).unwrap();
            }
        }
        if text.len() + entry.len() > OUTPUT_BYTES {
            return text;
        }
        text.push_str(&entry);
    }
}

fn psql(url: &str, command: &str) -> String {
    let output = std::process::Command::new("psql")
        .args([url, "-qAt", "-F", " ", "-v", "ON_ERROR_STOP=1", "-c", command])
        .output()
        .unwrap();
    assert!(output.status.success(), "psql {command}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn numbers(text: &str) -> Vec<i64> {
    text.split_whitespace().map(|n| n.parse().unwrap()).collect()
}

async fn fresh_database(server: &str) -> String {
    psql(&format!("{server}/postgres"), &format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"));
    psql(&format!("{server}/postgres"), &format!("CREATE DATABASE {DATABASE}"));
    let url = format!("{server}/{DATABASE}");
    history_store::migrate(&url).await.unwrap();
    url
}

/// Bytes the logs' tables take: heap and TOAST; heap, TOAST and every index.
fn storage(url: &str) -> (i64, i64) {
    let sizes = numbers(&psql(
        url,
        "SELECT sum(pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0)), \
         sum(pg_total_relation_size(c.oid)) FROM pg_class c \
         WHERE c.relname IN ('job_logs', 'job_log_chunks') AND c.relkind = 'r'",
    ));
    (sizes[0], sizes[1])
}

/// The chunks the consumer has stored since it started, from its metrics.
async fn chunks_stored(consumer: &TestServer) -> u64 {
    let metrics = consumer.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .filter(|line| line.starts_with("job_history_consumer_logs_chunks_archived"))
        .find_map(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

async fn wait_for_chunks(consumer: &TestServer, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while chunks_stored(consumer).await < count {
        assert!(Instant::now() < deadline, "the consumer did not store {count} chunks within 2 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Run {
    seconds: f64,
    published_seconds: f64,
    chunks: usize,
    table_bytes: i64,
    total_bytes: i64,
    stored: i64,
}

/// The names a run makes on the broker: topics, then consumer groups.
fn broker_names(unique: &str) -> (Vec<String>, Vec<String>) {
    let (events, logs) = (format!("bench-logs-{unique}-events"), format!("bench-logs-{unique}"));
    let topics = vec![events.clone(), format!("{events}.dlq"), logs.clone(), format!("{logs}.dlq")];
    (topics, vec![format!("bench-logs-{unique}"), format!("bench-logs-{unique}-logs")])
}

/// One run: a fresh database, topics and group; a warm-up log (so that the consumer has joined its
/// group and has its partitions), then the timed one.
async fn archive_once(
    server: &str,
    admin: &AdminClient<DefaultClientContext>,
    unique: &str,
    file: &std::path::Path,
    size: usize,
) -> Run {
    let url = fresh_database(server).await;
    let (topics, groups) = broker_names(unique);
    let new: Vec<NewTopic> = topics.iter().map(|t| NewTopic::new(t, 6, TopicReplication::Fixed(1))).collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await.unwrap() {
        result.unwrap();
    }
    let env = test_env([
        ("DATABASE_URL", url.as_str()),
        ("KAFKA_BROKERS", &kafka_brokers()),
        ("JOB_EVENTS_TOPIC", &topics[0]),
        ("JOB_LOGS_TOPIC", &topics[2]),
        ("JOB_HISTORY_CONSUMER_GROUP", &groups[0]),
    ]);
    let consumer_settings = job_history_consumer::Settings::from_env(&env).unwrap();
    let consumer = TestServer::start(|listener| job_history_consumer::run(consumer_settings, listener)).await;
    let deployer = job_deployer::Settings::from_env(&env).unwrap();
    let archiver = LogArchiver::new(&deployer.events.kafka, deployer.logs, &mut Default::default()).unwrap();
    let log_of = |job_id: &str| LogOf {
        job_id: job_id.to_owned(),
        container: Container::Runner,
        attempt: 1,
        ended_at: Utc::now(),
    };

    archiver.archive(&log_of("warm-up"), b"warming up\n".as_slice()).await.unwrap();
    wait_for_chunks(&consumer, 1).await;
    let before = storage(&url);

    let started = Instant::now();
    let reader = tokio::fs::File::open(file).await.unwrap();
    let archived = archiver.archive(&log_of(JOB_ID), reader).await.unwrap();
    let published_seconds = started.elapsed().as_secs_f64();
    wait_for_chunks(&consumer, 1 + archived.chunks as u64).await;
    let seconds = started.elapsed().as_secs_f64();
    consumer.stop().await;

    let after = storage(&url);
    let stored = numbers(&psql(
        &url,
        &format!("SELECT count(*), sum(bytes), sum(stored) FROM job_log_chunks WHERE job_id = '{JOB_ID}'"),
    ));
    assert_eq!((stored[0], stored[1]), (archived.chunks as i64, size as i64), "every chunk stored, whole");
    assert_eq!(archived.dropped.bytes, 0, "the output fits the bound");
    Run {
        seconds,
        published_seconds,
        chunks: archived.chunks,
        table_bytes: after.0 - before.0,
        total_bytes: after.1 - before.1,
        stored: stored[2],
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(samples: &mut [f64], p: usize) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[(samples.len() * p).div_ceil(100).saturating_sub(1)]
}

/// Times `REQUESTS` calls of `path` (each until its whole body is read), after a few to warm up;
/// answers the times in ms and the last answer.
async fn time_requests(history: &TestServer, path: &str) -> (Vec<f64>, Value) {
    let mut times = Vec::new();
    let mut body = Vec::new();
    for round in 0..WARM_UP_REQUESTS + REQUESTS {
        let started = Instant::now();
        let response = history.client.get(history.url(path)).send().await.unwrap();
        let status = response.status();
        body = response.bytes().await.unwrap().to_vec();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        if round >= WARM_UP_REQUESTS {
            times.push(elapsed);
        }
    }
    (times, serde_json::from_slice(&body).unwrap())
}

fn texts(answer: &Value) -> Vec<(u64, &str)> {
    let lines = answer["lines"].as_array().unwrap();
    lines.iter().map(|l| (l["line"].as_u64().unwrap(), l["text"].as_str().unwrap())).collect()
}

#[tokio::main]
async fn main() {
    let server = history_store::testing::server_url();
    let started = Instant::now();
    let text = output(SEED);
    let lines: Vec<&str> = text.lines().collect();
    let matching: Vec<(u64, &str)> =
        (1..).zip(lines.iter().copied()).filter(|(_, line)| line.contains(PATTERN)).collect();
    let mib = text.len() as f64 / (1024.0 * 1024.0);
    println!(
        "job output: {} bytes ({mib:.2} MiB), {} lines, {} holding \"{PATTERN}\"; seed {SEED}, made in {:.1} s",
        text.len(),
        lines.len(),
        matching.len(),
        started.elapsed().as_secs_f64()
    );
    let file = std::env::temp_dir().join(format!("bench-logs-{}.log", std::process::id()));
    std::fs::write(&file, &text).unwrap();

    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka_brokers()).create().unwrap();
    let mut runs = Vec::new();
    let mut names = Vec::new();
    for run in 1..=RUNS {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        names.push(broker_names(&unique));
        let result = archive_once(&server, &admin, &unique, &file, text.len()).await;
        println!(
            "run {run}: {:.2} s from the collection's start to the last chunk's rows: {:.1} MiB/s \
             (read, cut and acknowledged by the broker in {:.2} s; {} chunks)",
            result.seconds,
            mib / result.seconds,
            result.published_seconds,
            result.chunks
        );
        runs.push(result);
    }
    let rate = median(runs.iter().map(|r| mib / r.seconds).collect());
    println!("archive throughput: {rate:.1} MiB/s (median of {RUNS})");
    let last = runs.last().unwrap();
    println!(
        "storage per MiB of output: {:.0} KiB in tables and TOAST ({:.3} byte per byte), {:.0} KiB with the indexes; \
         zstd frames alone {:.0} KiB ({:.3})",
        last.table_bytes as f64 / mib / 1024.0,
        last.table_bytes as f64 / text.len() as f64,
        last.total_bytes as f64 / mib / 1024.0,
        last.stored as f64 / mib / 1024.0,
        last.stored as f64 / text.len() as f64,
    );

    // Serving, from the last run's database, the run finished in the history as its events say.
    let url = format!("{server}/{DATABASE}");
    let mut connection = TestDatabase { name: DATABASE.to_owned(), url: url.clone() }.connect().await;
    let start = Utc::now() - TimeDelta::minutes(30);
    let status_history = [JobStatus::Scheduled, JobStatus::Init, JobStatus::Executing, JobStatus::Finished]
        .iter()
        .enumerate()
        .map(|(i, status)| StatusChange { status: *status, timestamp: start + TimeDelta::seconds(i as i64) })
        .collect();
    let job = Job {
        job_id: JOB_ID.to_owned(),
        status_history,
        exit_status: Some(ExitStatus::Success),
        number_of_attempts: Some(1),
        ..Job::default()
    };
    insert_job(&mut connection, &job).await;
    drop(connection);
    let settings = job_history::Settings::from_env(&test_env([("DATABASE_URL", url.as_str())])).unwrap();
    let history = TestServer::start(|listener| job_history::run(settings, listener)).await;

    println!("job-history over HTTP, with a token; {REQUESTS} requests each after {WARM_UP_REQUESTS}; times in ms");
    let cases = [
        ("the last 1000 lines", format!("/v1/jobs/history/{JOB_ID}/logs?tailLines=1000"), 100.0),
        (
            "grep (matches on few hundred lines)",
            format!("/v1/jobs/history/{JOB_ID}/logs?grep={}", PATTERN.replace(' ', "%20")),
            300.0,
        ),
    ];
    for (name, path, goal) in cases {
        let (mut times, answer) = time_requests(&history, &path).await;
        let expected: Vec<(u64, &str)> = if path.contains("grep") {
            assert_eq!(answer["total"], matching.len(), "{name}: every matching line counted");
            matching.clone()
        } else {
            let first = lines.len() - 1000;
            ((first as u64 + 1)..).zip(lines[first..].iter().copied()).collect()
        };
        assert_eq!(texts(&answer), expected, "{name}: the lines of the output, numbered");
        let (p50, p95) = (percentile(&mut times, 50), percentile(&mut times, 95));
        let verdict = if p95 < goal { "met" } else { "MISSED" };
        println!(
            "{name:<36} {:>5} lines  median {p50:>7.1}  p95 {p95:>7.1}  goal < {goal:.0} ms (p95): {verdict}",
            texts(&answer).len()
        );
    }
    history.stop().await;

    psql(&format!("{server}/postgres"), &format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"));
    let topics: Vec<String> = names.iter().flat_map(|(topics, _)| topics.clone()).collect();
    let groups: Vec<String> = names.iter().flat_map(|(_, groups)| groups.clone()).collect();
    let options = AdminOptions::new();
    admin.delete_topics(&topics.iter().map(String::as_str).collect::<Vec<_>>(), &options).await.unwrap();
    admin.delete_groups(&groups.iter().map(String::as_str).collect::<Vec<_>>(), &options).await.unwrap();
    std::fs::remove_file(&file).unwrap();
}
