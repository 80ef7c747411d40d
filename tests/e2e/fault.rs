//! The whole platform under faults: the deployer's local runtime runs hundreds of short runs
//! (CronJobs firing every minute, many "run now" calls, Jobs) while, in turn and at random
//! moments, the consumer, the deployer and job-history are SIGKILLed and started again, the broker
//! is stopped and started again, and Postgres is cut off (a proxy breaks every connection and
//! refuses new ones for a while). Then, with everything back, every run the deployer reports is in
//! the history once, whole, and ends as the deployer says; nothing went to a dead-letter topic, and
//! the consumer has read everything.
//!
//! Each service is its built binary (a process of its own, killed for real), on a database of its
//! own and a broker of its own (the test restarts it). The schedule of faults comes from a seeded
//! generator: `FAULT_SEED=<n>` replays one (the seed is printed).

#[path = "../../services/job-history-consumer/tests/integration/proxy.rs"]
mod proxy;

mod converged;
mod processes;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use history_store::testing::TestDatabase;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use service_kit::Role;
use service_kit::testing::{TestKeys, client_with_token};
use tokio::time::Instant;

use self::converged::{Problems, Runs};
use self::processes::{Broker, Service};
use self::proxy::Proxy;
use crate::deployed_runs::{artifact, spec};

const EVENTS_TOPIC: &str = "job-events";
const LOGS_TOPIC: &str = "job-logs";
const GROUP: &str = "job-history-consumer";
/// Runs the test asks for, at the least.
const RUNS: usize = 300;
/// How long faults go on, at the least: rounds of every kind go on until then, and until the
/// deployer has accepted [`RUNS`] "run now" calls (two rounds at the least, four minutes at most).
const FAULT_PHASE: Duration = Duration::from_secs(150);
const LONGEST_FAULT_PHASE: Duration = Duration::from_secs(240);
/// How long the platform may take to converge once the last fault is over.
const CONVERGENCE: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    KillConsumer,
    KillDeployer,
    KillHistory,
    StopBroker,
    CutPostgres,
}

const FAULTS: [Fault; 5] =
    [Fault::KillConsumer, Fault::KillDeployer, Fault::KillHistory, Fault::StopBroker, Fault::CutPostgres];

/// The deployments: CronJobs every minute (run now too, with a random exit code) and Jobs that run
/// once; their script exits at once with `EXIT_CODE`.
const CRON_JOBS: [(&str, &str); 4] =
    [("fault-cron-a", "0"), ("fault-cron-b", "0"), ("fault-cron-c", "3"), ("fault-cron-d", "0")];
const JOBS: [(&str, &str); 2] = [("fault-job-ok", "0"), ("fault-job-failing", "5")];

/// The platform's processes, the broker and the proxy in front of Postgres.
struct Platform {
    broker: Broker,
    proxy: Proxy,
    consumer: Service,
    deployer: Service,
    history: Service,
    _database: TestDatabase,
}

impl Platform {
    async fn start(work: &std::path::Path) -> Platform {
        let mut broker = Broker::new(work);
        broker.start().await;
        let database = TestDatabase::create().await;
        let mut url = reqwest::Url::parse(&database.url).unwrap();
        let target: SocketAddr = tokio::net::lookup_host((url.host_str().unwrap(), url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
        let proxy = Proxy::start(target).await;
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.address.port())).unwrap();
        let (jwks_variable, jwks) = TestKeys::env();
        let env: Vec<(String, String)> = [
            (jwks_variable, jwks.as_str()),
            ("DATABASE_URL", url.as_str()),
            ("KAFKA_BROKERS", &broker.address()),
            ("JOB_EVENTS_TOPIC", EVENTS_TOPIC),
            ("JOB_LOGS_TOPIC", LOGS_TOPIC),
            ("JOB_HISTORY_CONSUMER_GROUP", GROUP),
            // A killed member's partitions wait for its session to end before the next member has
            // them: 10 s rather than 45 keeps the test short.
            ("JOB_HISTORY_CONSUMER_SESSION_TIMEOUT_MS", "10000"),
            ("JOB_DEPLOYER_RUNTIME", "local"),
            ("JOB_DEPLOYER_LOCAL_DIR", work.join("state").to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut consumer = Service::new("job-history-consumer", "JOB_HISTORY_CONSUMER_LISTEN", &env, work);
        let mut history = Service::new("job-history", "JOB_HISTORY_LISTEN", &env, work);
        let mut deployer = Service::new("job-deployer", "JOB_DEPLOYER_LISTEN", &env, work);
        consumer.start().await;
        history.start().await;
        deployer.start().await;
        Platform { broker, proxy, consumer, deployer, history, _database: database }
    }

    /// Injects `fault` and repairs it after a random while; returns once everything is back.
    async fn inject(&mut self, fault: Fault, rng: &mut StdRng) {
        let outage = Duration::from_millis(rng.random_range(500..5_000));
        match fault {
            Fault::KillConsumer | Fault::KillDeployer | Fault::KillHistory => {
                let service = match fault {
                    Fault::KillConsumer => &mut self.consumer,
                    Fault::KillDeployer => &mut self.deployer,
                    _ => &mut self.history,
                };
                service.kill().await;
                tokio::time::sleep(outage).await;
                service.start().await;
            }
            Fault::StopBroker => {
                self.broker.stop().await;
                tokio::time::sleep(outage).await;
                self.broker.start().await;
            }
            Fault::CutPostgres => {
                self.proxy.cut().await;
                tokio::time::sleep(outage + Duration::from_secs(2)).await;
                self.proxy.restore();
            }
        }
    }
}

fn work_dir() -> std::path::PathBuf {
    let work = std::env::temp_dir().join(format!("e2e-fault-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    work
}

/// `request` until it answers `expected`, for at most a minute (a service may be restarting).
async fn until_answered(request: impl Fn() -> reqwest::RequestBuilder, expected: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = request().send().await;
        match answer {
            Ok(response) if response.status() == expected => return,
            Ok(response) if Instant::now() >= deadline => {
                panic!("{what}: {} {}", response.status(), response.text().await.unwrap_or_default())
            }
            Err(error) if Instant::now() >= deadline => panic!("{what}: {error}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Calls "run now" on the CronJobs, a random one with a random exit code at random moments, until
/// `stop`; returns the runs the deployer accepted (counted in `count` meanwhile).
async fn run_now_calls(
    deployer: String,
    seed: u64,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
) -> BTreeSet<String> {
    let client = client_with_token(&TestKeys::token("fault-test", &[Role::Operator]));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut accepted = BTreeSet::new();
    while !stop.load(Ordering::SeqCst) {
        let (name, _) = CRON_JOBS[rng.random_range(0..CRON_JOBS.len())];
        let code = ["0", "0", "0", "1", "2", "42"][rng.random_range(0..6)];
        let body = json!({"env": [{"name": "EXIT_CODE", "value": code}]});
        let answer = client
            .post(format!("{deployer}/v1/deployments/{name}/run"))
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = answer
            && response.status() == 201
        {
            let run: Value = response.json().await.unwrap();
            accepted.insert(run["name"].as_str().unwrap().to_owned());
            count.store(accepted.len(), Ordering::SeqCst);
        }
        // The deployer may be down: calls then fail, and the test goes on calling.
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..500))).await;
    }
    accepted
}

/// Checks once whether the platform converged; the problems otherwise.
async fn converged(
    client: &reqwest::Client,
    platform: &Platform,
    deployments: &[String],
    accepted: &BTreeSet<String>,
) -> Result<Runs, String> {
    let runs = converged::deployer_runs(client, &platform.deployer.url(""), deployments).await?;
    let mut problems = Problems::default();
    for name in accepted.iter().filter(|name| !runs.runs.contains_key(*name)) {
        problems.add("accepted by a \"run now\" call, unknown to the deployer", name.clone());
    }
    problems.into_result()?;
    let mut jobs = Vec::new();
    for name in deployments {
        jobs.extend(converged::history_jobs(client, &platform.history.url(""), name).await?);
    }
    converged::compare(&runs, &jobs)?;
    let dead_letters = vec![format!("{EVENTS_TOPIC}.dlq"), format!("{LOGS_TOPIC}.dlq")];
    let groups = vec![(EVENTS_TOPIC.to_owned(), GROUP.to_owned()), (LOGS_TOPIC.to_owned(), format!("{GROUP}-logs"))];
    converged::kafka_settled(platform.broker.address(), dead_letters, groups).await?;
    Ok(runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_reaches_the_history_once_through_faults_of_every_component() {
    let started = Instant::now();
    let seed = std::env::var("FAULT_SEED").map_or_else(|_| rand::random(), |seed| seed.parse().unwrap());
    eprintln!("fault test: seed {seed} (FAULT_SEED={seed} replays this schedule)");
    let mut rng = StdRng::seed_from_u64(seed);
    let work = work_dir();
    let (zip, checksum) = artifact(&work);
    let mut platform = Platform::start(&work).await;
    eprintln!("fault test: platform up in {:.1} s, files in {}", started.elapsed().as_secs_f64(), work.display());

    let client = client_with_token(&TestKeys::token("fault-test", &[Role::Operator]));
    let deployer = platform.deployer.url("");
    for (name, exit_code) in CRON_JOBS {
        let mut cron = spec(name, &zip, &checksum, exit_code);
        // Every run stays listed, so that the end compares them all.
        cron["schedule"] =
            json!({"cron": "* * * * *", "successfulJobsHistoryLimit": 100_000, "failedJobsHistoryLimit": 100_000});
        until_answered(|| client.post(format!("{deployer}/v1/deployments")).json(&cron), 201, name).await;
    }
    for (name, exit_code) in JOBS {
        let job = spec(name, &zip, &checksum, exit_code);
        until_answered(|| client.post(format!("{deployer}/v1/deployments")).json(&job), 201, name).await;
    }
    let deployments: Vec<String> = CRON_JOBS.iter().chain(&JOBS).map(|(name, _)| (*name).to_owned()).collect();

    let (stop, count) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let calls = tokio::spawn(run_now_calls(deployer.clone(), seed.wrapping_add(1), stop.clone(), count.clone()));

    // Rounds of every fault in a random order, each at a random moment.
    let faults_started = Instant::now();
    let mut injected: BTreeMap<Fault, u32> = BTreeMap::new();
    let (mut rounds, mut last) = (0, None);
    let enough = || count.load(Ordering::SeqCst) >= RUNS && faults_started.elapsed() >= FAULT_PHASE;
    while rounds < 2 || (!enough() && faults_started.elapsed() < LONGEST_FAULT_PHASE) {
        let mut order = FAULTS;
        order.shuffle(&mut rng);
        for fault in order {
            tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..6_000))).await;
            let at = faults_started.elapsed().as_secs_f64();
            platform.inject(fault, &mut rng).await;
            *injected.entry(fault).or_default() += 1;
            last = Some(fault);
            eprintln!(
                "fault test: {fault:?} at {at:.1} s, everything back at {:.1} s",
                faults_started.elapsed().as_secs_f64()
            );
        }
        rounds += 1;
    }
    let last_fault_over = Instant::now();

    // No more runs: the end is still.
    stop.store(true, Ordering::SeqCst);
    let accepted = calls.await.unwrap();
    for (name, _) in CRON_JOBS {
        until_answered(|| client.post(format!("{deployer}/v1/deployments/{name}/suspend")), 200, name).await;
    }
    let deadline = last_fault_over + CONVERGENCE;
    let runs = loop {
        match converged(&client, &platform, &deployments, &accepted).await {
            Ok(runs) => break runs,
            Err(problems) if Instant::now() >= deadline => {
                panic!(
                    "the platform did not converge within {CONVERGENCE:?} of the last fault (seed {seed}; logs in {}):\n{problems}",
                    work.display()
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let convergence = last_fault_over.elapsed();
    assert!(runs.runs.len() >= RUNS, "only {} runs in {:?}", runs.runs.len(), started.elapsed());
    let manual = runs.runs.values().filter(|run| run["manual"] == true).count();
    eprintln!(
        "fault test: seed {seed}; {} runs ({manual} run now, {} accepted while faults went on), ends {:?}",
        runs.runs.len(),
        accepted.len(),
        runs.by_exit_status()
    );
    eprintln!("fault test: faults injected {injected:?} in {rounds} rounds");
    eprintln!(
        "fault test: converged {:.1} s after the last fault ({last:?} over); {:.1} s in all",
        convergence.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(platform);
    std::fs::remove_dir_all(&work).unwrap();
}
