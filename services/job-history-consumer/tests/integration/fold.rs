//! The folding rules on their own: what each rule does, and any delivery ending as the contract says
//! (`model`).

use std::collections::BTreeSet;

use common::event::{AlgorithmReport, JobEvent};
use common::job::{Algorithm, JobStatus, Parameter};
use history_store::rows::JobRow;
use job_history_consumer::fold::{Change, JobState, fold};
use proptest::prelude::*;
use serde_json::json;

use crate::events::{deletion, event, with_fields};
use crate::model;

const T: i64 = 1_767_225_600_000;

fn folded(events: &[JobEvent]) -> Change {
    fold(JobState::new("job"), events)
}

#[test]
fn a_newer_event_overwrites_what_it_carries_and_a_carried_null_clears() {
    let first = event("job", "a", T, None, Some(json!({"description": "first", "priority": 1, "groupId": "g"})));
    let second = event("job", "b", T + 1, None, Some(json!({"description": "second", "priority": null})));
    let row = folded(&[first, second]).state.row;
    assert_eq!(row.description.as_deref(), Some("second"));
    assert_eq!(row.priority, None, "a carried null clears");
    assert_eq!(row.group_id.as_deref(), Some("g"), "what the newer event does not carry stays");
    assert_eq!(row.last_modified_time.map(|t| t.timestamp_millis()), Some(T + 1));
}

#[test]
fn an_older_event_only_fills_what_no_newer_event_set() {
    let newer = event("job", "b", T + 10, None, Some(json!({"description": "newer"})));
    let older = event("job", "a", T, None, Some(json!({"description": "older", "jobOwner": "alice"})));
    let row = folded(&[newer, older]).state.row;
    assert_eq!(row.description.as_deref(), Some("newer"));
    assert_eq!(row.job_owner.as_deref(), Some("alice"), "the older event fills a null");
    assert_eq!(row.last_modified_time.map(|t| t.timestamp_millis()), Some(T + 10), "the latest occurredAt");
}

#[test]
fn an_event_older_than_the_job_but_newer_than_the_attribute_wins_the_attribute() {
    // In time order: a sets 1, b sets 2, c touches something else. b arriving last must still win.
    let a = event("job", "a", T, None, Some(json!({"priority": 1})));
    let b = event("job", "b", T + 1, None, Some(json!({"priority": 2})));
    let c = event("job", "c", T + 2, None, Some(json!({"executionMachine": "node-1"})));
    assert_eq!(folded(&[a.clone(), c.clone(), b.clone()]).state.row.priority, Some(2));
    assert_eq!(folded(&[a, b, c]).state.row.priority, Some(2));
}

#[test]
fn events_of_the_same_millisecond_are_ordered_by_event_id() {
    let x = event("job", "x", T, None, Some(json!({"description": "x"})));
    let y = event("job", "y", T, None, Some(json!({"description": "y"})));
    assert_eq!(folded(&[x.clone(), y.clone()]).state.row.description.as_deref(), Some("y"));
    assert_eq!(folded(&[y, x]).state.row.description.as_deref(), Some("y"));
}

#[test]
fn algorithms_are_one_attribute_replaced_whole() {
    let two = event("job", "a", T, None, Some(json!({"algorithms": [{"algorithmId": "x"}, {"algorithmId": "y"}]})));
    let one = event("job", "b", T + 1, None, Some(json!({"algorithms": [{"algorithmId": "z"}]})));
    let ids = |change: Change| -> Vec<String> {
        change.algorithms.unwrap().into_iter().map(|a: AlgorithmReport| a.algorithm_id).collect()
    };
    assert_eq!(ids(folded(&[two.clone(), one.clone()])), ["z"]);
    assert_eq!(ids(folded(&[one.clone(), two])), ["z"], "the older list does not come back");
    let cleared = event("job", "c", T + 2, None, Some(json!({"algorithms": null})));
    assert_eq!(folded(&[one, cleared]).algorithms, Some(vec![]), "a null clears the list");
    let none = event("job", "d", T + 3, Some("INIT"), None);
    assert_eq!(folded(&[none]).algorithms, None, "an event without algorithms leaves them");
}

#[test]
fn deletion_is_soft_and_the_newest_deleted_flag_wins() {
    let deleted = deletion("job", "a", T + 5, true);
    let restored = deletion("job", "b", T + 1, false);
    assert!(folded(&[deleted.clone(), restored.clone()]).state.row.is_deleted, "the older restore loses");
    assert!(folded(&[restored, deleted]).state.row.is_deleted);
}

#[test]
fn statuses_are_a_set_of_status_and_time() {
    let scheduled = event("job", "a", T, Some("SCHEDULED"), None);
    let again = event("job", "b", T, Some("SCHEDULED"), None);
    let later = event("job", "c", T + 1, Some("SCHEDULED"), None);
    let statuses = folded(&[scheduled.clone(), again, later, scheduled]).statuses;
    assert_eq!(statuses.len(), 2, "the same pair once, the same status at another time kept: {statuses:?}");
}

#[test]
fn applying_an_event_again_changes_nothing() {
    let event = event("job", "a", T, Some("INIT"), Some(json!({"description": "d", "algorithms": []})));
    let once = folded(std::slice::from_ref(&event));
    let twice = fold(once.state.clone(), [&event]);
    assert_eq!(twice.state, once.state);
    assert_eq!(twice.algorithms, None, "the list is not replaced again");
}

/// Up to 7 events of one job: a few instants (ties included), each event carrying any mix of
/// statuses, deletion, values, nulls and algorithm lists.
pub fn job_events() -> impl Strategy<Value = Vec<JobEvent>> {
    let text = || prop_oneof![Just(json!(null)), Just(json!("a")), Just(json!("b")), Just(json!("c"))];
    let number = || prop_oneof![Just(json!(null)), Just(json!(1)), Just(json!(2))];
    let algorithms = prop_oneof![
        Just(json!(null)),
        Just(json!([])),
        Just(json!([{"algorithmId": "x", "parameters": [{"parameterId": "p", "value": ["1"]}]}])),
        Just(json!([{"algorithmId": "y"}, {"algorithmId": "z", "algorithmVersion": "2"}])),
    ];
    let statuses = prop_oneof![Just(None), Just(Some("SCHEDULED")), Just(Some("EXECUTING")), Just(Some("FINISHED"))];
    let one = (
        0..3i64,
        statuses,
        proptest::option::of(any::<bool>()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(number()),
        proptest::option::of(algorithms),
    );
    proptest::collection::vec(one, 1..8).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (at, status, deleted, description, owner, priority, algorithms))| {
                let mut attributes = serde_json::Map::new();
                for (name, value) in [
                    ("description", description),
                    ("jobOwner", owner),
                    ("priority", priority),
                    ("algorithms", algorithms),
                ] {
                    if let Some(value) = value {
                        attributes.insert(name.to_owned(), value);
                    }
                }
                let mut fields = serde_json::Map::new();
                if !attributes.is_empty() {
                    fields.insert("job".to_owned(), serde_json::Value::Object(attributes));
                }
                if let Some(deleted) = deleted {
                    fields.insert("deleted".to_owned(), json!(deleted));
                }
                // An event carries at least one of them: a status if nothing else.
                if let Some(status) = status.or(fields.is_empty().then_some("INIT")) {
                    fields.insert("status".to_owned(), json!(status));
                }
                with_fields("job", &format!("e{i}"), T + at * 1000, fields)
            })
            .collect()
    })
}

/// The events shuffled, some delivered twice, cut into batches.
pub fn deliveries(events: Vec<JobEvent>) -> impl Strategy<Value = Vec<Vec<JobEvent>>> {
    let count = events.len();
    (proptest::collection::vec(0..count, 0..4), proptest::collection::vec(1..4usize, 1..10))
        .prop_flat_map(move |(repeated, cuts)| {
            let mut delivered = events.clone();
            delivered.extend(repeated.iter().map(|&i| events[i].clone()));
            (Just(delivered).prop_shuffle(), Just(cuts))
        })
        .prop_map(|(delivered, cuts)| {
            let mut batches = Vec::new();
            let mut rest = delivered.as_slice();
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (batch, after) = rest.split_at((*cut).min(rest.len()));
                batches.push(batch.to_vec());
                rest = after;
            }
            batches
        })
}

/// The job after folding each batch into the state the previous ones left, as the store does.
fn fold_batches(batches: &[Vec<JobEvent>]) -> (JobState, Option<Vec<AlgorithmReport>>, BTreeSet<(JobStatus, i64)>) {
    let mut state = JobState::new("job");
    let mut algorithms = None;
    let mut statuses = BTreeSet::new();
    for batch in batches {
        let change = fold(state, batch);
        state = change.state;
        algorithms = change.algorithms.or(algorithms);
        statuses.extend(change.statuses.iter().map(|(s, t)| (*s, t.timestamp_millis())));
    }
    (state, algorithms, statuses)
}

/// An algorithm as the fold reports it, as the history serves it.
fn served(algorithm: AlgorithmReport) -> Algorithm {
    let parameters = algorithm.parameters.into_iter().map(|p| Parameter {
        id: None,
        parameter_id: p.parameter_id,
        label: p.label,
        kind: p.kind,
        value: p.value,
    });
    Algorithm {
        algorithm_id: algorithm.algorithm_id,
        algorithm_version: algorithm.algorithm_version,
        algorithm_name: algorithm.algorithm_name,
        parameters: Some(parameters.collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_order_with_duplicates_in_any_batches_ends_as_the_contract_says(
        (events, batches) in job_events().prop_flat_map(|events| (Just(events.clone()), deliveries(events)))
    ) {
        let expected = model::job("job", &events);
        let (state, algorithms, statuses) = fold_batches(&batches);
        prop_assert_eq!(state.row, JobRow::from_job(&expected));
        prop_assert_eq!(algorithms.unwrap_or_default().into_iter().map(served).collect::<Vec<_>>(), expected.algorithms);
        let expected_statuses: BTreeSet<(JobStatus, i64)> =
            expected.status_history.iter().map(|s| (s.status, s.timestamp.timestamp_millis())).collect();
        prop_assert_eq!(statuses, expected_statuses);
    }
}
