//! What "the platform converged" means, checked as a user and an operator would: every run the
//! deployer reports is in the history once, with the statuses the event contract says a finished
//! run passes through and the deployer's exit status; no message went to a dead-letter topic; the
//! consumer's groups have read everything.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

/// The statuses of a run whose runner started, in the contract's order.
const RUN_STATUSES: [&str; 4] = ["SCHEDULED", "INIT", "EXECUTING", "FINISHED"];

/// What the deployer says of its runs.
#[derive(Debug, Default)]
pub struct Runs {
    /// Run name → the deployer's view of it.
    pub runs: BTreeMap<String, Value>,
}

impl Runs {
    /// How many runs ended with each exit status the history should show.
    pub fn by_exit_status(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for run in self.runs.values() {
            let status = expected_end(run).map_or_else(|why| why, |end| end.exit_status.to_owned());
            *counts.entry(status).or_default() += 1;
        }
        counts
    }
}

/// The deployer's runs of `deployments`, or why they cannot be read (yet).
pub async fn deployer_runs(client: &reqwest::Client, deployer: &str, deployments: &[String]) -> Result<Runs, String> {
    let mut found = Runs::default();
    for name in deployments {
        let response = client
            .get(format!("{deployer}/v1/deployments/{name}/runs"))
            .send()
            .await
            .map_err(|error| format!("the deployer does not answer: {error}"))?;
        if response.status() != 200 {
            return Err(format!("the deployer answers {} for the runs of {name}", response.status()));
        }
        let runs: Vec<Value> = response.json().await.map_err(|error| error.to_string())?;
        for run in runs {
            let run_name = run["name"].as_str().unwrap().to_owned();
            if found.runs.insert(run_name.clone(), run).is_some() {
                return Err(format!("the deployer lists {run_name} twice"));
            }
        }
    }
    Ok(found)
}

/// How a run ended, as the history must show it.
#[derive(Debug, PartialEq)]
struct End {
    exit_status: &'static str,
    exit_code: Option<i64>,
    /// Whether the runner started for sure (a run lost with its deployer may have stopped before).
    executed: bool,
}

/// The end the deployer reports, in the history's words.
fn expected_end(run: &Value) -> Result<End, String> {
    let reason = run["failureReason"].as_str().unwrap_or_default();
    match run["state"].as_str().unwrap_or_default() {
        "Succeeded" => Ok(End { exit_status: "SUCCESS", exit_code: Some(0), executed: true }),
        "Failed" if reason.starts_with("exited with code ") => {
            Ok(End { exit_status: "EXECUTION_ERROR", exit_code: run["exitCode"].as_i64(), executed: true })
        }
        // The deployer was killed while the run went on: its next start reports it lost.
        "Failed" if reason.starts_with("lost: ") => Ok(End { exit_status: "LOST", exit_code: None, executed: false }),
        "Failed" => Err(format!("failed for a reason the test does not expect: {reason}")),
        state => Err(format!("still {state}")),
    }
}

/// The history's jobs of deployment `name` (its `groupId`), by job id.
pub async fn history_jobs(client: &reqwest::Client, history: &str, name: &str) -> Result<Vec<Value>, String> {
    let response = client
        .get(format!("{history}/v1/jobs/history"))
        .query(&[("q", format!("groupId=={name}").as_str()), ("limit", "1000"), ("showParam", "false")])
        .send()
        .await
        .map_err(|error| format!("job-history does not answer: {error}"))?;
    if response.status() != 200 {
        return Err(format!(
            "job-history answers {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        ));
    }
    let page: Value = response.json().await.map_err(|error| error.to_string())?;
    let jobs = page["jobs"].as_array().unwrap().clone();
    assert_eq!(page["total"].as_u64(), Some(jobs.len() as u64), "one page holds every run of {name}");
    Ok(jobs)
}

/// Whether the history holds exactly the deployer's runs, each with its statuses and end; the
/// problems found otherwise (at most a few of each kind, with how many in all).
pub fn compare(runs: &Runs, jobs: &[Value]) -> Result<(), String> {
    let mut problems = Problems::default();
    let mut seen = BTreeSet::new();
    for job in jobs {
        let id = job["jobId"].as_str().unwrap();
        if !seen.insert(id) {
            problems.add("in the history twice", id.to_owned());
        }
        let Some(run) = runs.runs.get(id) else {
            problems.add("in the history, unknown to the deployer", format!("{id}: {job}"));
            continue;
        };
        let end = match expected_end(run) {
            Ok(end) => end,
            Err(why) => {
                problems.add("not finished in the deployer", format!("{id}: {why}"));
                continue;
            }
        };
        let statuses: Vec<&str> =
            job["statusHistory"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
        let complete = if end.executed {
            statuses == RUN_STATUSES
        } else {
            // SCHEDULED first, FINISHED last, in the contract's order, each once.
            let mut order = RUN_STATUSES.iter();
            statuses.first() == Some(&"SCHEDULED")
                && statuses.last() == Some(&"FINISHED")
                && statuses.iter().all(|status| order.any(|expected| expected == status))
        };
        if !complete {
            problems.add("with a status history other than the contract's", format!("{id}: {statuses:?}"));
        }
        let (status, code) = (job["exitStatus"].as_str(), job["exitCode"].as_i64());
        if (status, code) != (Some(end.exit_status), end.exit_code) {
            problems.add(
                "with another end than the deployer's",
                format!(
                    "{id}: {status:?} {code:?} in the history, {} {:?} in the deployer",
                    end.exit_status, end.exit_code
                ),
            );
        }
    }
    for name in runs.runs.keys() {
        if !seen.contains(name.as_str()) {
            problems.add("missing from the history", name.clone());
        }
    }
    problems.into_result()
}

/// Problems grouped by kind, a few examples of each.
#[derive(Debug, Default)]
pub struct Problems(BTreeMap<&'static str, Vec<String>>);

impl Problems {
    pub fn add(&mut self, kind: &'static str, example: String) {
        self.0.entry(kind).or_default().push(example);
    }

    pub fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .0
            .iter()
            .map(|(kind, examples)| {
                format!("{} run(s) {kind}, e.g. {:?}", examples.len(), &examples[..examples.len().min(3)])
            })
            .collect();
        Err(lines.join("\n"))
    }
}

/// Nothing in the dead-letter topics, and each group's committed offsets at the end of its topic's
/// partitions; asked by a client that is no member of the groups.
pub async fn kafka_settled(
    brokers: String,
    dead_letters: Vec<String>,
    groups: Vec<(String, String)>,
) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(10);
        let outsider = |group: &str| -> Result<BaseConsumer, String> {
            ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()
                .map_err(|error| error.to_string())
        };
        let client = outsider("fault-test-observer")?;
        let metadata = client.fetch_metadata(None, timeout).map_err(|error| format!("broker metadata: {error}"))?;
        let partitions = |topic: &str| -> Vec<i32> {
            metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect()
        };
        let mut problems = Vec::new();
        for topic in &dead_letters {
            for partition in partitions(topic) {
                let (_, high) =
                    client.fetch_watermarks(topic, partition, timeout).map_err(|error| format!("{topic}: {error}"))?;
                if high > 0 {
                    problems.push(format!("{high} message(s) in {topic} (partition {partition})"));
                }
            }
        }
        for (topic, group) in &groups {
            let ids = partitions(topic);
            if ids.is_empty() {
                problems.push(format!("no topic {topic}"));
                continue;
            }
            let mut list = TopicPartitionList::new();
            for partition in &ids {
                list.add_partition(topic, *partition);
            }
            let committed =
                outsider(group)?.committed_offsets(list, timeout).map_err(|error| format!("{group}: {error}"))?;
            let mut lag = 0;
            for element in committed.elements() {
                let (_, high) = client
                    .fetch_watermarks(topic, element.partition(), timeout)
                    .map_err(|error| format!("{topic}: {error}"))?;
                let at = match element.offset() {
                    Offset::Offset(offset) => offset,
                    _ => 0,
                };
                lag += high - at;
            }
            if lag != 0 {
                problems.push(format!("group {group} is {lag} message(s) behind on {topic}"));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
    })
    .await
    .unwrap()
}
