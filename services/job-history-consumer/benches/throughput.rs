//! Sustained throughput of the consumer against the physical limit: publishes 200,000 events (about
//! 44,000 jobs of 3 to 6 events, with algorithms and parameters) on 6 partitions, runs the consumer
//! binary on them three times (each into a fresh database, as a new consumer group) and prints its
//! events per second from its first commit to its last and its peak memory; then loads the same
//! final rows into the same (indexed) tables of a fresh database with a plain `COPY`, three times.
//! The figures compared are the medians.
//!
//! `KAFKA_BROKERS=... cargo bench -p job-history-consumer --bench throughput` (tests/run.sh's broker,
//! or deploy/local/dev.sh's); Postgres at `TEST_POSTGRES_URL` (default 127.0.0.1:5432). The
//! consumer's settings (`JOB_HISTORY_CONSUMER_BATCH_SIZE`, `..._DB_POOL_SIZE`...) come from the
//! environment, as in production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, reason = "a benchmark's main")]

#[allow(dead_code, reason = "shared with the tests, which use all of it")]
#[path = "../tests/integration/events.rs"]
mod events;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::event::JobEvent;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;

const EVENTS: usize = 200_000;
const PARTITIONS: i32 = 6;
/// Runs of the consumer, and of COPY, whose median is compared.
const RUNS: usize = 3;
const TABLES: [&str; 4] = ["jobs", "job_status_history", "job_algorithms", "job_parameters"];

/// Run `n`'s events: scheduled, executing and finished, plus init, a correction and a resource
/// report as `n` goes: 3 to 6 events.
fn job_events(n: usize) -> Vec<JobEvent> {
    let all = events::run(n); // scheduled, init, executing, finished, correction
    let mut chosen = vec![all[0].clone(), all[2].clone(), all[3].clone()];
    let extra = n % 4;
    chosen.extend(all.iter().filter(|e| matches!(e.status.map(|s| s.name()), Some("INIT")) && extra >= 1).cloned());
    if extra >= 2 {
        chosen.push(all[4].clone());
    }
    if extra >= 3 {
        let at = all[3].occurred_at.0.timestamp_millis() + 1000;
        chosen.push(events::event(
            &all[0].job_id,
            &format!("{}/resources", all[0].job_id),
            at,
            None,
            Some(json!({"cpuTime": 12.5, "ramMemory": 512.0})),
        ));
    }
    chosen
}

fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

fn psql(url: &str, command: &str) -> std::process::Output {
    let output = std::process::Command::new("psql")
        .args([url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", command])
        .output()
        .unwrap();
    assert!(output.status.success(), "psql {command}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

async fn committed(brokers: &str, group: &str, topic: &str) -> i64 {
    let (brokers, group, topic) = (brokers.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let outsider: StreamConsumer = config(&brokers).set("group.id", &group).create().unwrap();
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition_range(&topic, 0, PARTITIONS - 1);
        let committed = outsider.committed_offsets(partitions, Duration::from_secs(10)).unwrap();
        committed.elements().iter().map(|e| if let Offset::Offset(o) = e.offset() { o } else { 0 }).sum()
    })
    .await
    .unwrap()
}

/// CPU time a process has used (user and system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's name (which may hold blanks), from the state (field 3) on.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Peak resident memory of a process, in MiB.
fn peak_memory_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

async fn fresh_database(server: &str, name: &str) -> String {
    psql(&format!("{server}/postgres"), &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("{server}/postgres"), &format!("CREATE DATABASE {name}"));
    let url = format!("{server}/{name}");
    history_store::migrate(&url).await.unwrap();
    url
}

/// One run of the consumer binary over the whole topic, into a fresh database, as a new group.
struct Run {
    database: String,
    rate: f64,
    seconds: f64,
    peak_mib: f64,
    cpu_seconds: f64,
    batches: f64,
    messages_per_batch: f64,
    transaction_ms: f64,
}

async fn consume(brokers: &str, server: &str, topic: &str, group: &str) -> Run {
    let database = fresh_database(server, "job_history_consumer_bench").await;
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut consumer = tokio::process::Command::new(env!("CARGO_BIN_EXE_job-history-consumer"))
        .env("JOB_HISTORY_CONSUMER_LISTEN", listen.to_string())
        .env("DATABASE_URL", &database)
        .env("KAFKA_BROKERS", brokers)
        .env("JOB_EVENTS_TOPIC", topic)
        .env("JOB_HISTORY_CONSUMER_GROUP", group)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = consumer.id().unwrap();
    let (mut first, mut first_count) = (None, 0);
    let last = loop {
        let done = committed(brokers, group, topic).await;
        if done > 0 && first.is_none() {
            (first, first_count) = (Some(Instant::now()), done);
        }
        if done == EVENTS as i64 {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let peak_mib = peak_memory_mib(pid);
    let cpu_seconds = cpu_seconds(pid);
    let metrics = service_kit::testing::client()
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metric = |name: &str| -> f64 {
        metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(f64::NAN)
    };
    let batches = metric("job_history_consumer_batch_size_count");
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = consumer.wait().await;
    let seconds = (last - first.unwrap()).as_secs_f64();
    Run {
        database,
        rate: (EVENTS as i64 - first_count) as f64 / seconds,
        seconds,
        peak_mib,
        cpu_seconds,
        batches,
        messages_per_batch: metric("job_history_consumer_batch_size_sum") / batches,
        transaction_ms: 1000.0 * metric("job_history_consumer_apply_duration_seconds_sum") / batches,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let brokers = std::env::var("KAFKA_BROKERS").expect("KAFKA_BROKERS: the broker to use");
    let server = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());

    let mut events = Vec::with_capacity(EVENTS + 6);
    let mut jobs = 0;
    while events.len() < EVENTS {
        events.extend(job_events(jobs));
        jobs += 1;
    }
    events.truncate(EVENTS);
    let statuses = events.iter().filter(|e| e.status.is_some()).count();
    println!("{} events of {jobs} jobs ({statuses} statuses) on {PARTITIONS} partitions", events.len());
    let settings: Vec<String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("JOB_HISTORY_CONSUMER_"))
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    println!("consumer settings: {}", if settings.is_empty() { "the defaults".to_owned() } else { settings.join(" ") });

    let topic = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let admin: AdminClient<DefaultClientContext> = config(&brokers).create().unwrap();
    for name in [topic.clone(), format!("{topic}.dlq")] {
        let new = NewTopic::new(&name, PARTITIONS, TopicReplication::Fixed(1));
        for result in admin.create_topics([&new], &AdminOptions::new()).await.unwrap() {
            result.unwrap();
        }
    }
    let producer: FutureProducer =
        config(&brokers).set("linger.ms", "20").set("queue.buffering.max.messages", "1000000").create().unwrap();
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(events.len());
    for event in &events {
        let payload = event.to_json().unwrap();
        let record = FutureRecord::to(&topic).key(&event.job_id).payload(&payload);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    println!("published in {:.1} s", started.elapsed().as_secs_f64());

    let mut runs = Vec::new();
    for run in 1..=RUNS {
        let result = consume(&brokers, &server, &topic, &format!("{topic}-group-{run}")).await;
        println!(
            "consumer run {run}: {:.2} s from first to last commit: {:.0} events/s; peak memory {:.1} MiB, \
             {:.1} s of CPU; {} batches of {:.0} messages, {:.1} ms each in transactions",
            result.seconds,
            result.rate,
            result.peak_mib,
            result.cpu_seconds,
            result.batches,
            result.messages_per_batch,
            result.transaction_ms
        );
        runs.push(result);
    }

    // The same final rows, COPYed into the same tables of a fresh database, in one transaction.
    let directory = std::env::temp_dir().join(format!("consumer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let source = &runs[runs.len() - 1].database;
    for table in TABLES {
        let file = directory.join(format!("{table}.copy"));
        psql(source, &format!("\\copy {table} TO '{}'", file.display()));
    }
    let script: String = TABLES
        .iter()
        .map(|table| format!("\\copy {table} FROM '{}'\n", directory.join(format!("{table}.copy")).display()))
        .collect();
    let script_file = directory.join("load.sql");
    std::fs::write(&script_file, script).unwrap();
    let mut copy_rates = Vec::new();
    for run in 1..=RUNS {
        let target = fresh_database(&server, "job_history_copy_bench").await;
        let started = Instant::now();
        let output = std::process::Command::new("psql")
            .args([&target, "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", &script_file.display().to_string()])
            .output()
            .unwrap();
        assert!(output.status.success(), "COPY: {}", String::from_utf8_lossy(&output.stderr));
        let seconds = started.elapsed().as_secs_f64();
        copy_rates.push(EVENTS as f64 / seconds);
        println!(
            "COPY run {run} of the final rows ({}): {seconds:.2} s: {:.0} events/s",
            TABLES.join(", "),
            EVENTS as f64 / seconds
        );
    }
    std::fs::remove_dir_all(&directory).unwrap();

    let consumer_rate = median(runs.iter().map(|r| r.rate).collect());
    let copy_rate = median(copy_rates);
    let peak = runs.iter().map(|r| r.peak_mib).fold(0.0, f64::max);
    println!("consumer: {consumer_rate:.0} events/s (median of {RUNS}); peak memory {peak:.1} MiB (largest of {RUNS})");
    println!("COPY: {copy_rate:.0} events/s (median of {RUNS})");
    println!("consumer / COPY: {:.0} %", 100.0 * consumer_rate / copy_rate);
}
