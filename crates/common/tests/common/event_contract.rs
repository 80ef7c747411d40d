//! `JobEvent` against `contracts/job-event.v1.schema.json` itself: every property of the schema is a
//! field of the type and back, the enums are the same, and for every single mutation of a complete
//! event the type and the schema give the same verdict. If either changes alone, this fails.

use std::collections::BTreeSet;

use common::event::JobEvent;
use common::job::{ExitStatus, JobStatus};
use serde_json::{Value, json};
use strum::IntoEnumIterator;

const VENDORED: &str = include_str!("../../contracts/job-event.v1.schema.json");

fn schema() -> Value {
    serde_json::from_str(VENDORED).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::options().should_validate_formats(true).build(&schema()).unwrap()
}

/// An event with every property the schema knows, in the form `JobEvent` writes (UTC, milliseconds).
fn complete_event() -> Value {
    json!({
        "schemaVersion": 1,
        "eventId": "admi@test.CBNNGZHYE2/SCHEDULED/1560385465342",
        "jobId": "admi@test.CBNNGZHYE2",
        "occurredAt": "2019-06-13T00:24:25.342Z",
        "status": "SCHEDULED",
        "deleted": false,
        "job": {
            "groupId": "admi@test.CBNNGZHYE2",
            "projectId": "admin/testeYade",
            "jobOwner": "admin",
            "automaticallyMachineSelection": false,
            "submissionMachines": ["40100", "40101"],
            "numberOfProcesses": 1,
            "numberOfProcessesByMachine": 1,
            "submissionTime": "2019-06-13T00:24:25.342Z",
            "description": "test yade pela web",
            "priority": 1,
            "multipleExecution": false,
            "jobType": "ALGORITHM",
            "numberOfAttempts": 2,
            "executionMachine": "40100",
            "endTime": "2019-06-13T00:31:20.926Z",
            "exitCode": 0,
            "guiltyNodeId": "node-7",
            "exitStatus": "SUCCESS",
            "cpuTime": 12.5,
            "wallclockTime": 412,
            "ramMemory": 512.25,
            "flowId": "flow-1",
            "flowVersion": "1.0.0",
            "flowName": "nightly",
            "algorithms": [{
                "algorithmId": "Yade",
                "algorithmVersion": "5.0.0",
                "algorithmName": "Yade",
                "parameters": [{
                    "parameterId": "number_of_cores",
                    "label": "The number of cores for a job",
                    "type": "INTEGER",
                    "value": ["4"]
                }]
            }]
        }
    })
}

/// The contract's page in the repository: the schema it names is the one built into the crate.
const CONTRACT: &str = include_str!("../../../../docs/contracts/job-events.md");

#[test]
fn the_contract_names_the_schema_the_crate_builds_in() {
    let named = "crates/common/contracts/job-event.v1.schema.json";
    assert!(CONTRACT.contains(&format!("(../../{named})")), "docs/contracts/job-events.md links {named}");
    // The status order that rule 2 names is the schema's.
    assert!(CONTRACT.contains("SCHEDULED before INIT ... before FINISHED"), "rule 2 names the order");
    let schema = schema();
    let statuses: Vec<&str> =
        schema["properties"]["status"]["enum"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let at = |status: &str| statuses.iter().position(|s| *s == status).unwrap();
    assert!(at("SCHEDULED") < at("INIT") && at("INIT") < at("FINISHED"), "{statuses:?}");
}

/// The JSON lines of the contract's example (its one ```json block).
fn contract_example() -> Vec<String> {
    let block = CONTRACT.split("```json").nth(1).and_then(|rest| rest.split("```").next()).expect("an example block");
    // An event may span lines: a line that starts with `{"schemaVersion"` starts one.
    let mut events: Vec<String> = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("{\"schemaVersion\"") {
            events.push(String::new());
        }
        events.last_mut().expect("an event starts the block").push_str(line.trim());
    }
    events
}

#[test]
fn a_complete_event_round_trips_and_covers_every_property() {
    let event = complete_event();
    assert!(validator().is_valid(&event), "the complete example is valid for the schema");
    let parsed = JobEvent::from_json(event.to_string().as_bytes()).unwrap();
    let written: Value = serde_json::from_slice(&parsed.to_json().unwrap()).unwrap();
    assert_eq!(written, event, "JobEvent writes back every property it read");

    let schema = schema();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    let job_schema = &schema["properties"]["job"];
    let algorithm_schema = &job_schema["properties"]["algorithms"]["items"];
    let parameter_schema = &algorithm_schema["properties"]["parameters"]["items"];
    assert_eq!(keys(&schema["properties"]), keys(&event));
    assert_eq!(keys(&job_schema["properties"]), keys(&event["job"]));
    assert_eq!(keys(&algorithm_schema["properties"]), keys(&event["job"]["algorithms"][0]));
    assert_eq!(keys(&parameter_schema["properties"]), keys(&event["job"]["algorithms"][0]["parameters"][0]));
}

#[test]
fn the_enums_are_the_schemas() {
    let schema = schema();
    let names =
        |v: &Value| v.as_array().unwrap().iter().filter_map(|n| n.as_str().map(str::to_owned)).collect::<Vec<_>>();
    let statuses: Vec<String> = JobStatus::iter().map(|s| s.to_string()).collect();
    assert_eq!(names(&schema["properties"]["status"]["enum"]), statuses);
    let exits: Vec<String> = ExitStatus::iter().map(|s| s.to_string()).collect();
    let schema_exits = &schema["properties"]["job"]["properties"]["exitStatus"]["enum"];
    assert_eq!(names(schema_exits), exits);
    assert!(schema_exits.as_array().unwrap().contains(&Value::Null), "exitStatus may be null");
}

/// The path to every object member of `value`, e.g. `["job", "algorithms", 0, "parameters"]`.
fn member_paths(value: &Value, prefix: &[Value], out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let mut path = prefix.to_vec();
                path.push(json!(key));
                out.push(path.clone());
                member_paths(member, &path, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let mut path = prefix.to_vec();
                path.push(json!(index));
                member_paths(item, &path, out);
            }
        }
        _ => {}
    }
}

fn at<'v>(value: &'v mut Value, path: &[Value]) -> &'v mut Value {
    path.iter().fold(value, |v, step| match step {
        Value::String(key) => &mut v[key.as_str()],
        Value::Number(index) => &mut v[index.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// Every single change of the complete event: remove a member, make it null, give it the wrong
/// type, add an unknown member to an object, and the values the schema singles out.
fn mutations() -> Vec<(String, Value)> {
    let base = complete_event();
    let mut paths = Vec::new();
    member_paths(&base, &[], &mut paths);
    let mut out = Vec::new();
    for path in &paths {
        let (parent, last) = path.split_at(path.len() - 1);
        let name = path.iter().map(|s| s.to_string().trim_matches('"').to_owned()).collect::<Vec<_>>().join(".");
        let mut removed = base.clone();
        at(&mut removed, parent).as_object_mut().unwrap().remove(last[0].as_str().unwrap());
        out.push((format!("without {name}"), removed));
        let mut nulled = base.clone();
        *at(&mut nulled, path) = Value::Null;
        out.push((format!("{name} null"), nulled));
        let mut retyped = base.clone();
        let slot = at(&mut retyped, path);
        *slot = match slot {
            Value::String(_) => json!(42),
            Value::Number(_) => json!("42"),
            Value::Bool(_) => json!("true"),
            Value::Array(_) => json!({}),
            Value::Object(_) => json!([]),
            Value::Null => json!(1),
        };
        out.push((format!("{name} of the wrong type"), retyped));
        let mut extended = base.clone();
        if let Value::Object(map) = at(&mut extended, path) {
            map.insert("unexpected".into(), json!(1));
            out.push((format!("{name} with an unknown member"), extended));
        }
    }
    let mut extended = base.clone();
    extended["unexpected"] = json!(true);
    out.push(("an unknown top-level member".into(), extended));

    let mut edit = |label: &str, path: &[&str], value: Value| {
        let mut changed = base.clone();
        let slot = path.iter().fold(&mut changed, |v, key| &mut v[*key]);
        *slot = value;
        out.push((label.to_owned(), changed));
    };
    edit("schemaVersion 2", &["schemaVersion"], json!(2));
    edit("schemaVersion as text", &["schemaVersion"], json!("1"));
    edit("unknown status", &["status"], json!("DONE"));
    edit("lower-case status", &["status"], json!("finished"));
    edit("lower-case exit status", &["job", "exitStatus"], json!("success"));
    edit("every exit status", &["job", "exitStatus"], json!("FAILED_SETUP_EXECUTION_ENVIRONMENT"));
    edit("time without offset", &["occurredAt"], json!("2019-06-12T21:24:25.342"));
    edit("time with an offset", &["occurredAt"], json!("2019-06-12T21:24:25.342-03:00"));
    edit("time without fraction", &["occurredAt"], json!("2019-06-12T21:24:25Z"));
    edit("time that is not one", &["occurredAt"], json!("yesterday"));
    edit("submission time without offset", &["job", "submissionTime"], json!("2019-06-12T21:24:25"));
    edit("empty eventId", &["eventId"], json!(""));
    edit("eventId of 200 characters", &["eventId"], json!("é".repeat(200)));
    edit("eventId of 201 characters", &["eventId"], json!("é".repeat(201)));
    edit("jobId of 255 characters", &["jobId"], json!("j".repeat(255)));
    edit("jobId of 256 characters", &["jobId"], json!("j".repeat(256)));
    edit("empty algorithm list", &["job", "algorithms"], json!([]));
    edit("algorithm without parameters", &["job", "algorithms"], json!([{"algorithmId": "x"}]));
    edit(
        "parameter value not text",
        &["job", "algorithms"],
        json!([{"algorithmId": "x", "parameters": [{"parameterId": "p", "value": [1]}]}]),
    );
    edit("negative exit code", &["job", "exitCode"], json!(-9));
    for (label, keep) in [
        ("only a status", "status"),
        ("only job attributes", "job"),
        ("only deleted", "deleted"),
        ("no fact at all", ""),
    ] {
        let mut changed = base.clone();
        let map = changed.as_object_mut().unwrap();
        for fact in ["status", "job", "deleted"] {
            if fact != keep {
                map.remove(fact);
            }
        }
        out.push((label.to_owned(), changed));
    }
    out
}

#[test]
fn the_type_and_the_schema_agree_on_every_mutation() {
    let validator = validator();
    let mutations = mutations();
    assert!(mutations.len() > 140, "{} mutations", mutations.len());
    let (mut valid, mut invalid) = (0, 0);
    for (label, event) in mutations {
        let by_schema = validator.is_valid(&event);
        let by_type = JobEvent::from_json(event.to_string().as_bytes());
        assert_eq!(by_type.is_ok(), by_schema, "{label}: schema says {by_schema}, type says {by_type:?}");
        if by_schema { valid += 1 } else { invalid += 1 }
    }
    assert!(valid > 50 && invalid > 50, "{valid} valid, {invalid} invalid");
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "status": "DONE"}),
            "status",
            "unknown variant `DONE`",
        ),
        (
            json!({"schemaVersion": 2, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "deleted": true}),
            "schemaVersion",
            "unsupported schemaVersion 2",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25", "deleted": true}),
            "occurredAt",
            "no time-zone offset",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "deleted": true, "color": 1}),
            "color",
            "unknown field `color`",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "job": {"exitStatus": "killed"}}),
            "job.exitStatus",
            "unknown variant `killed`",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "job": {"algorithms": [{"algorithmName": "x"}]}}),
            "job.algorithms[0]",
            "missing field `algorithmId`",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "deleted": true}),
            "eventId",
            "must not be empty",
        ),
        (
            json!({"schemaVersion": 1, "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z", "deleted": true}),
            ".",
            "missing field `eventId`",
        ),
        (
            json!({"schemaVersion": 1, "eventId": "e", "jobId": "j", "occurredAt": "2019-06-12T21:24:25Z"}),
            ".",
            "at least one of `status`, `job` or `deleted`",
        ),
    ];
    for (event, field, message) in cases {
        let error = JobEvent::from_json(event.to_string().as_bytes()).unwrap_err();
        assert!(error.field.starts_with(field), "field of {error} should be {field}");
        assert!(error.message.contains(message), "message of {error} should contain {message:?}");
    }
    let error = JobEvent::from_json(b"not json").unwrap_err();
    assert!(error.message.contains("line 1 column"), "{error}");
    let error = JobEvent::from_json(&[0xff, 0xfe]).unwrap_err();
    assert!(!error.message.is_empty());
}

#[test]
fn the_contracts_example_run_reads() {
    let events = contract_example();
    assert_eq!(events.len(), 3, "the example is one run in three events");
    for event in &events {
        let value: Value = serde_json::from_str(event).unwrap();
        assert!(validator().is_valid(&value), "the example's events are valid for the schema: {event}");
    }
    let parsed: Vec<JobEvent> = events.iter().map(|e| JobEvent::from_json(e.as_bytes()).unwrap()).collect();
    assert_eq!(parsed[0].status, Some(JobStatus::Scheduled));
    assert_eq!(common::time::format_utc_millis(&parsed[0].occurred_at.0), "2019-06-13T00:24:25.342Z");
    let finished = parsed[2].job.as_ref().unwrap();
    assert_eq!(finished.exit_status, common::event::Patch::Value(ExitStatus::Success));
    assert_eq!(finished.wallclock_time, common::event::Patch::Value(412));
    assert!(finished.group_id.is_absent(), "absent attributes stay absent");
}
