//! The history the contract asks for, worked out from its folding rules alone
//! (docs/contracts/job-events.md): the oracle that the fold, the store and the consumer's stream are
//! compared with. It reads the events as producers write them (their JSON) and shares no code with
//! the consumer:
//! - an attribute holds what the newest event that carried it carried, a null included: rule 3
//!   applied in time order, which rule 6 makes the outcome of any order. Newest is the latest
//!   `occurredAt` to the millisecond (the precision the history keeps), then the greatest `eventId`
//!   among events of the same millisecond;
//! - `algorithms` is one such attribute: the newest list carried, a null leaving none;
//! - the status history is the set of (status, occurredAt) pairs (rule 2), served by time, then in
//!   the order of the schema's status list;
//! - `lastModifiedTime` is the latest `occurredAt` (rule 4);
//! - `isDeleted` is the newest `deleted` carried, false when none was (rule 5).

use std::collections::{BTreeMap, BTreeSet};

use common::event::JobEvent;
use common::job::{Job, JobStatus};
use serde_json::{Value, json};

/// Which of two events is newer: (occurredAt in milliseconds, eventId).
type Newness = (i64, String);

/// The history `events` must end in, whatever their order and duplicates: every job, by job id.
pub fn history(events: &[JobEvent]) -> Vec<Job> {
    let mut by_job: BTreeMap<&str, Vec<&JobEvent>> = BTreeMap::new();
    for event in events {
        by_job.entry(&event.job_id).or_default().push(event);
    }
    by_job.into_iter().map(|(id, events)| job(id, events)).collect()
}

/// The job `events` (all of job `id`) must end in.
pub fn job<'a>(id: &str, events: impl IntoIterator<Item = &'a JobEvent>) -> Job {
    let mut carried: BTreeMap<String, (Newness, Value)> = BTreeMap::new();
    let mut statuses: BTreeSet<(i64, JobStatus)> = BTreeSet::new();
    let mut last_modified = None;
    for event in events {
        let message: Value = serde_json::from_slice(&event.to_json().unwrap()).unwrap();
        let at =
            chrono::DateTime::parse_from_rfc3339(message["occurredAt"].as_str().unwrap()).unwrap().timestamp_millis();
        let newness = (at, message["eventId"].as_str().unwrap().to_owned());
        last_modified = last_modified.max(Some(at));
        if let Some(status) = message.get("status") {
            statuses.insert((at, serde_json::from_value(status.clone()).unwrap()));
        }
        let mut keep_newest = |name: &str, value: &Value| {
            let newer = carried.get(name).is_none_or(|(seen, _)| *seen < newness);
            if newer {
                carried.insert(name.to_owned(), (newness.clone(), value.clone()));
            }
        };
        if let Some(deleted) = message.get("deleted") {
            keep_newest("isDeleted", deleted);
        }
        for (name, value) in message.get("job").and_then(Value::as_object).into_iter().flatten() {
            keep_newest(name, value);
        }
    }

    let mut job = serde_json::to_value(Job { job_id: id.to_owned(), ..Job::default() }).unwrap();
    for (name, (_, value)) in carried {
        job[name] = value;
    }
    // The history serves no algorithms as an empty list, and every algorithm with its parameters.
    let algorithms = job["algorithms"].as_array().cloned().unwrap_or_default();
    job["algorithms"] = algorithms
        .into_iter()
        .map(|mut algorithm| {
            if algorithm.get("parameters").is_none() {
                algorithm["parameters"] = json!([]);
            }
            algorithm
        })
        .collect();
    job["statusHistory"] =
        statuses.into_iter().map(|(at, status)| json!({"status": status, "timestamp": millis(at)})).collect();
    job["lastModifiedTime"] = last_modified.map_or(Value::Null, |at| json!(millis(at)));
    serde_json::from_value(job).unwrap()
}

fn millis(at: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
