//! `LogMessage` against `docs/contracts/job-log.v1.schema.json`: every property of the schema is a
//! field of the type, the two give the same verdict on every single mutation of a chunk and of a
//! notice, the contract's examples read, and [`cut`] makes chunks that put the log back together.

use std::collections::BTreeSet;

use common::job_log::{
    Collected, Container, Extent, LogContent, LogMessage, MAX_CHUNK_BYTES, collection_id, count_lines, cut,
};
use common::time::{Instant, parse_rfc3339};
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../../../../docs/contracts/job-log.v1.schema.json");
const CONTRACT: &str = include_str!("../../../../docs/contracts/job-logs.md");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

fn ended() -> Instant {
    Instant(parse_rfc3339("2026-01-12T03:20:00Z").unwrap())
}

fn chunk_message() -> Value {
    json!({
        "schemaVersion": 1, "jobId": "nightly-sales-29410350", "container": "runner", "attempt": 2,
        "endedAt": "2026-01-12T03:20:00.000Z", "collection": "00ff", "chunk": 1, "chunks": 3,
        "firstLine": 12, "continuesLine": true, "keptLines": 30, "keptBytes": 4000,
        "droppedLines": 5, "droppedBytes": 700, "text": "rest of line 12\nline 13\n"
    })
}

fn notice() -> Value {
    json!({
        "schemaVersion": 1, "jobId": "nightly-sales-29410350", "container": "fetch", "attempt": 1,
        "endedAt": "2026-01-12T03:20:00.000Z", "unavailable": "the pod was gone"
    })
}

#[test]
fn both_forms_round_trip_and_cover_every_property() {
    let validator = validator();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let mut covered = BTreeSet::new();
    for message in [chunk_message(), notice()] {
        assert!(validator.is_valid(&message), "{message}");
        let read = LogMessage::from_json(message.to_string().as_bytes()).unwrap();
        let written: Value = serde_json::from_slice(&read.to_json().unwrap()).unwrap();
        assert_eq!(written, message, "LogMessage writes back what it read");
        covered.extend(message.as_object().unwrap().keys().cloned());
    }
    let properties: BTreeSet<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(covered, properties);
}

/// Every single change of `base`: each member removed, null, of the wrong type; an unknown member.
fn mutations(base: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, value) in base.as_object().unwrap() {
        let mut removed = base.clone();
        removed.as_object_mut().unwrap().remove(name);
        out.push((format!("without {name}"), removed));
        let mut nulled = base.clone();
        nulled[name] = Value::Null;
        out.push((format!("{name} null"), nulled));
        let mut retyped = base.clone();
        retyped[name] = match value {
            Value::String(_) => json!(42),
            Value::Number(_) => json!("42"),
            Value::Bool(_) => json!("true"),
            _ => json!([]),
        };
        out.push((format!("{name} of the wrong type"), retyped));
    }
    let mut extended = base.clone();
    extended["unexpected"] = json!(1);
    out.push(("an unknown member".into(), extended));
    out
}

#[test]
fn the_type_and_the_schema_agree_on_every_mutation() {
    let validator = validator();
    let mut cases = mutations(&chunk_message());
    cases.extend(mutations(&notice()));
    let mut edit = |label: &str, base: Value, name: &str, value: Value| {
        let mut changed = base;
        changed[name] = value;
        cases.push((label.to_owned(), changed));
    };
    edit("a chunk that is also a notice", chunk_message(), "unavailable", json!("gone"));
    edit("a notice with text", notice(), "text", json!("line\n"));
    edit("schemaVersion 2", notice(), "schemaVersion", json!(2));
    edit("container unknown", notice(), "container", json!("sidecar"));
    edit("attempt 0", notice(), "attempt", json!(0));
    edit("negative chunk", chunk_message(), "chunk", json!(-1));
    edit("collection not hexadecimal", chunk_message(), "collection", json!("ABC"));
    edit("collection of 65 digits", chunk_message(), "collection", json!("a".repeat(65)));
    edit("end without offset", notice(), "endedAt", json!("2026-01-12T03:20:00"));
    edit("end with an offset", notice(), "endedAt", json!("2026-01-12T00:20:00-03:00"));
    edit("empty jobId", notice(), "jobId", json!(""));
    edit("empty reason", notice(), "unavailable", json!(""));
    edit("an empty chunk", chunk_message(), "text", json!(""));
    edit("a chunk of 131072 ASCII bytes", chunk_message(), "text", json!("a".repeat(MAX_CHUNK_BYTES)));
    edit("a chunk of 131073 ASCII bytes", chunk_message(), "text", json!("a".repeat(MAX_CHUNK_BYTES + 1)));
    let (mut valid, mut invalid) = (0, 0);
    for (label, message) in cases {
        let by_schema = validator.is_valid(&message);
        let by_type = LogMessage::from_json(message.to_string().as_bytes());
        assert_eq!(by_type.is_ok(), by_schema, "{label}: schema says {by_schema}, type says {by_type:?}");
        if by_schema { valid += 1 } else { invalid += 1 }
    }
    assert!(valid >= 3 && invalid > 40, "{valid} valid, {invalid} invalid");
}

#[test]
fn the_rules_the_schema_cannot_say_are_refused_with_the_field() {
    let cases = [
        (json!({"chunk": 3}), "chunk", "numbered from 0"),
        (json!({"firstLine": 40}), "firstLine", "outside the kept lines 6 to 35"),
        (json!({"firstLine": 5}), "firstLine", "outside the kept lines"),
        (json!({"chunk": 0}), "firstLine", "the first chunk starts the first kept line, 6"),
        (json!({"text": "é".repeat(MAX_CHUNK_BYTES / 2 + 1)}), "text", "bytes long"),
        (json!({"jobId": "a\u{0}b"}), "jobId", "NUL"),
        (json!({"jobId": "é".repeat(751)}), "jobId", "1502 bytes long"),
    ];
    for (change, field, message) in cases {
        let mut changed = chunk_message();
        for (name, value) in change.as_object().unwrap() {
            changed[name] = value.clone();
        }
        let error = LogMessage::from_json(changed.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.field, field, "{error}");
        assert!(error.message.contains(message), "{error} should say {message:?}");
    }
    let error = LogMessage::from_json(b"[1, 2]").unwrap_err();
    assert_eq!((error.field.as_str(), error.message.as_str()), (".", "must be a JSON object"));
    let mut partial = chunk_message();
    partial.as_object_mut().unwrap().remove("keptBytes");
    let error = LogMessage::from_json(partial.to_string().as_bytes()).unwrap_err();
    assert_eq!(error.field, "keptBytes");
}

#[test]
fn the_contracts_examples_read() {
    let block = CONTRACT.split("```json\n").nth(1).unwrap().split("```").next().unwrap();
    let validator = validator();
    let messages: Vec<Value> =
        serde_json::Deserializer::from_str(block).into_iter::<Value>().map(Result::unwrap).collect();
    assert_eq!(messages.len(), 2);
    for message in &messages {
        assert!(validator.is_valid(message), "{message}");
        LogMessage::from_json(message.to_string().as_bytes()).unwrap();
    }
    let text = messages[0]["text"].as_str().unwrap();
    assert_eq!(messages[0]["keptBytes"], text.len(), "the example's sizes are its text's");
}

fn chunks_of(messages: &[LogMessage]) -> Vec<&common::job_log::LogChunk> {
    messages
        .iter()
        .map(|m| match &m.content {
            LogContent::Chunk(chunk) => chunk,
            LogContent::Unavailable(_) => panic!("a chunk"),
        })
        .collect()
}

/// What every cut must give: the text back, whole, in chunks within the bound that end at lines'
/// ends when they can, each numbered with its first line, each a valid message.
fn check_cut(log: &Collected) {
    let messages = cut("run-1", Container::Runner, 1, ended(), log);
    let chunks = chunks_of(&messages);
    let whole: String = chunks.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(whole, log.text);
    let mut offset = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        assert_eq!((chunk.index as usize, chunk.chunks as usize), (index, chunks.len()));
        assert!(chunk.text.len() <= MAX_CHUNK_BYTES);
        let before = &log.text[..offset];
        assert_eq!(chunk.first_line, log.dropped.lines + 1 + before.matches('\n').count() as u64);
        assert_eq!(chunk.continues_line, offset > 0 && !before.ends_with('\n'));
        let next_line_fits = log.text[offset + chunk.text.len()..]
            .split_inclusive('\n')
            .next()
            .is_some_and(|line| chunk.text.len() + line.len() <= MAX_CHUNK_BYTES);
        assert!(!next_line_fits || index + 1 == chunks.len(), "chunk {index} could have taken the next line");
        assert_eq!(chunk.kept, Extent { lines: count_lines(&log.text), bytes: log.text.len() as u64 });
        assert_eq!(chunk.collection, collection_id(log));
        offset += chunk.text.len();
    }
    for message in &messages {
        let json = message.to_json().unwrap();
        assert!(json.len() < 800 * 1024, "{} bytes", json.len());
        assert_eq!(&LogMessage::from_json(&json).unwrap(), message);
    }
}

#[test]
fn a_cut_puts_the_log_back_together() {
    let lines: String = (1..=9000).map(|n| format!("2026-01-12 03:00:{n:05} INFO line {n}\n")).collect();
    check_cut(&Collected { text: lines.clone(), dropped: Extent::default() });
    check_cut(&Collected { text: format!("{lines}no newline at the end"), dropped: Extent { lines: 7, bytes: 300 } });
    // Lines longer than a chunk, multi-byte characters across the cuts.
    let long = "é".repeat(MAX_CHUNK_BYTES) + "\nshort\n" + &"x".repeat(MAX_CHUNK_BYTES + 17);
    check_cut(&Collected { text: long, dropped: Extent::default() });
    check_cut(&Collected { text: "\n\n\n".into(), dropped: Extent::default() });
    // The worst case for JSON: every byte escaped in six.
    check_cut(&Collected { text: "\u{1}".repeat(3 * MAX_CHUNK_BYTES), dropped: Extent::default() });
    let empty = cut("run-1", Container::Fetch, 1, ended(), &Collected::default());
    assert_eq!(chunks_of(&empty).iter().map(|c| (c.chunks, c.text.as_str())).collect::<Vec<_>>(), [(1, "")]);
}

#[test]
fn two_readings_of_a_log_have_one_id_and_two_different_readings_two() {
    let log = Collected { text: "a\nb\n".into(), dropped: Extent { lines: 2, bytes: 4 } };
    assert_eq!(collection_id(&log), collection_id(&log.clone()));
    let other = Collected { dropped: Extent { lines: 1, bytes: 4 }, ..log.clone() };
    assert_ne!(collection_id(&log), collection_id(&other));
    assert_eq!(collection_id(&log).len(), 32);
    assert_eq!("runner".parse::<Container>(), Ok(Container::Runner));
}
