//! Events to feed the consumer: whole runs as a scheduler reports them.

use common::event::JobEvent;
use serde_json::{Value, json};

/// One event, written as a producer would.
pub fn event(
    job: &str,
    event_id: &str,
    occurred_at_ms: i64,
    status: Option<&str>,
    attributes: Option<Value>,
) -> JobEvent {
    let mut fields = serde_json::Map::new();
    if let Some(status) = status {
        fields.insert("status".to_owned(), json!(status));
    }
    if let Some(attributes) = attributes {
        fields.insert("job".to_owned(), attributes);
    }
    with_fields(job, event_id, occurred_at_ms, fields)
}

/// An event that only deletes or restores the job.
pub fn deletion(job: &str, event_id: &str, occurred_at_ms: i64, deleted: bool) -> JobEvent {
    with_fields(job, event_id, occurred_at_ms, json!({"deleted": deleted}).as_object().unwrap().clone())
}

/// An event with `fields` beside the identifying ones.
pub fn with_fields(job: &str, event_id: &str, occurred_at_ms: i64, fields: serde_json::Map<String, Value>) -> JobEvent {
    let mut value = json!({
        "schemaVersion": 1,
        "eventId": event_id,
        "jobId": job,
        "occurredAt": chrono::DateTime::from_timestamp_millis(occurred_at_ms).unwrap().to_rfc3339(),
    });
    value.as_object_mut().unwrap().extend(fields);
    JobEvent::from_value(&value).unwrap()
}

/// The five events of run number `n`: scheduled (with its algorithm and parameters), init,
/// executing (with the machine), finished (with the outcome), and a late correction of the
/// priority. Times are 2026-01-01 plus `n` minutes.
pub fn run(n: usize) -> Vec<JobEvent> {
    let job = format!("run-{n:05}");
    let start = 1_767_225_600_000 + n as i64 * 60_000;
    let id = |status: &str, at: i64| format!("{job}/{status}/{at}");
    let parameters: Vec<Value> = (0..n % 4)
        .map(|p| {
            json!({"parameterId": format!("p{p}"), "label": format!("Parameter {p}"), "type": "STRING",
                        "value": [format!("v{n}-{p}")]})
        })
        .collect();
    vec![
        event(
            &job,
            &id("SCHEDULED", start),
            start,
            Some("SCHEDULED"),
            Some(json!({
                "groupId": format!("group-{}", n % 10), "jobOwner": format!("owner-{}", n % 3),
                "submissionTime": chrono::DateTime::from_timestamp_millis(start).unwrap().to_rfc3339(),
                "description": format!("run {n}"), "priority": 1, "jobType": "Job",
                "algorithms": [{"algorithmId": format!("etl-{}", n % 5), "algorithmVersion": "1.0.0",
                                "parameters": parameters}],
            })),
        ),
        event(&job, &id("INIT", start + 1000), start + 1000, Some("INIT"), None),
        event(
            &job,
            &id("EXECUTING", start + 2000),
            start + 2000,
            Some("EXECUTING"),
            Some(json!({"executionMachine": format!("node-{}", n % 4)})),
        ),
        event(
            &job,
            &id("FINISHED", start + 9000),
            start + 9000,
            Some("FINISHED"),
            Some(json!({
                "endTime": chrono::DateTime::from_timestamp_millis(start + 9000).unwrap().to_rfc3339(),
                "exitCode": (n % 2) as i64, "exitStatus": if n.is_multiple_of(2) { "SUCCESS" } else { "EXECUTION_ERROR" },
                "wallclockTime": 9,
            })),
        ),
        event(&job, &id("priority", start + 5000), start + 5000, None, Some(json!({"priority": 2}))),
    ]
}
