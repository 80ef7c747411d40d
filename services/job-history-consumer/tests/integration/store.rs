//! Batches applied to the real Postgres: the same convergence as the fold's, through SQL, and the
//! rules that involve the database (late-first jobs, idempotence, the API's deletion).

use common::event::JobEvent;
use common::job::Job;
use history_store::testing::TestDatabase;
use job_history_consumer::store::apply;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::events::{deletion, event, run};
use crate::fold::{deliveries, in_order, job_events};

const T: i64 = 1_767_225_600_000;

fn renamed(events: &[JobEvent], job: &str) -> Vec<JobEvent> {
    events.iter().cloned().map(|mut e| (e.job_id = job.to_owned(), e).1).collect()
}

async fn find(database: &TestDatabase, job: &str) -> Option<Job> {
    let mut connection = database.connect().await;
    let mut found = history_store::read::find(&mut connection, job, true).await.unwrap()?;
    found.job_id = "job".to_owned();
    for parameter in found.algorithms.iter_mut().flat_map(|a| a.parameters.iter_mut().flatten()) {
        parameter.id = None;
    }
    Some(found)
}

#[test]
fn any_order_with_duplicates_in_any_batches_ends_in_the_same_row_in_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(TestDatabase::create());
    let strategy = proptest::prelude::Strategy::prop_flat_map(job_events(), |events| {
        (proptest::strategy::Just(events.clone()), deliveries(events))
    });
    let case = std::cell::Cell::new(0);
    TestRunner::new(Config { cases: 48, ..Config::default() })
        .run(&strategy, |(events, batches)| {
            case.set(case.get() + 1);
            let case = case.get();
            let (expected_id, delivered_id) = (format!("in-order-{case}"), format!("delivered-{case}"));
            runtime.block_on(async {
                let mut connection = database.connect().await;
                for event in in_order(&renamed(&events, &expected_id)) {
                    apply(&mut connection, &[event]).await.unwrap();
                }
                for batch in &batches {
                    apply(&mut connection, &renamed(batch, &delivered_id)).await.unwrap();
                }
                let expected = find(&database, &expected_id).await;
                proptest::prop_assert!(expected.is_some());
                proptest::prop_assert_eq!(find(&database, &delivered_id).await, expected);
                Ok(())
            })
        })
        .unwrap();
}

#[tokio::test]
async fn a_whole_run_lands_with_its_statuses_algorithms_and_parameters() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let mut events = run(3);
    // The finish first: a job seen first through a late event (rule 6).
    let finished = events.remove(3);
    let applied = apply(&mut connection, std::slice::from_ref(&finished)).await.unwrap();
    assert_eq!((applied.jobs, applied.statuses), (1, 1));
    apply(&mut connection, &events).await.unwrap();
    events.push(finished);
    let job = find(&database, "run-00003").await.unwrap();
    let statuses: Vec<&str> = job.status_history.iter().map(|s| s.status.name()).collect();
    assert_eq!(statuses, ["SCHEDULED", "INIT", "EXECUTING", "FINISHED"]);
    assert_eq!(job.group_id.as_deref(), Some("group-3"));
    assert_eq!(job.execution_machine.as_deref(), Some("node-3"));
    assert_eq!(job.exit_code, Some(1));
    assert_eq!(job.priority, Some(2), "the later correction wins");
    assert_eq!(job.algorithms.len(), 1);
    let parameters = job.algorithms[0].parameters.as_ref().unwrap();
    assert_eq!(parameters.iter().map(|p| p.parameter_id.as_str()).collect::<Vec<_>>(), ["p0", "p1", "p2"]);
    assert_eq!(parameters[2].value, ["v3-2"]);
    assert_eq!(job.last_modified_time.map(|t| t.timestamp_millis()), Some(1_767_225_600_000 + 3 * 60_000 + 9000));

    let again = apply(&mut connection, &events).await.unwrap();
    assert_eq!((again.jobs, again.statuses), (0, 0), "a replay changes nothing");
    assert_eq!(find(&database, "run-00003").await.unwrap(), job);
}

#[tokio::test]
async fn a_deletion_through_the_api_is_not_undone_by_older_events() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let created = event("job", "a", T, Some("SCHEDULED"), Some(json!({"description": "d"})));
    apply(&mut connection, std::slice::from_ref(&created)).await.unwrap();
    assert!(history_store::deletion::soft_delete(&mut connection, "job").await.unwrap());

    let restored_long_ago = deletion("job", "b", T + 1, false);
    apply(&mut connection, &[created, restored_long_ago]).await.unwrap();
    assert!(find(&database, "job").await.unwrap().is_deleted, "still deleted");

    let restored_now = deletion("job", "c", chrono::Utc::now().timestamp_millis() + 60_000, false);
    apply(&mut connection, &[restored_now]).await.unwrap();
    let job = find(&database, "job").await.unwrap();
    assert!(!job.is_deleted, "a newer event restores it (rule 5)");
    assert_eq!(job.description.as_deref(), Some("d"), "nothing was removed");
}

#[tokio::test]
async fn a_batch_of_many_jobs_is_applied_whole() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let events: Vec<JobEvent> = (0..1500).flat_map(run).collect();
    let applied = apply(&mut connection, &events).await.unwrap();
    assert_eq!((applied.jobs, applied.statuses), (1500, 6000));
}

#[tokio::test]
async fn instants_finer_than_a_millisecond_are_kept_to_the_millisecond() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let init = |id: &str, at: &str| {
        let json = format!(
            r#"{{"schemaVersion":1,"eventId":"{id}","jobId":"job","occurredAt":"{at}","status":"INIT","job":{{"description":"{id}"}}}}"#
        );
        JobEvent::from_json(json.as_bytes()).unwrap()
    };
    let first = init("b", "2026-01-01T00:00:00.342100001Z");
    let second = init("a", "2026-01-01T00:00:00.342900Z");
    apply(&mut connection, &[first.clone(), second.clone()]).await.unwrap();
    apply(&mut connection, &[first, second]).await.expect("delivered again: nothing to add, no conflict");
    let job = find(&database, "job").await.unwrap();
    assert_eq!(job.status_history.len(), 1, "one INIT at .342: {:?}", job.status_history);
    assert_eq!(job.status_history[0].timestamp.timestamp_subsec_nanos(), 342_000_000);
    assert_eq!(job.description.as_deref(), Some("b"), "the same millisecond: the higher eventId wins");
}
