//! Batches applied to the real Postgres, the history read back and compared with what the contract
//! asks for (`model`): any delivery, every attribute in its column, late-first jobs, replays that
//! write nothing, the API's deletion, the longest text stored, and the columns of `jobs` written.

use std::collections::BTreeSet;

use common::event::JobEvent;
use common::job::Job;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use history_store::testing::TestDatabase;
use job_history_consumer::columns::JOB_COLUMNS;
use job_history_consumer::decode::{MAX_TEXT_BYTES, decode};
use job_history_consumer::store::apply;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::events::{deletion, event, run};
use crate::fold::{deliveries, job_events};
use crate::model;
use crate::stack::history_of;

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
fn any_order_with_duplicates_in_any_batches_ends_in_postgres_as_the_contract_says() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(TestDatabase::create());
    let strategy = proptest::prelude::Strategy::prop_flat_map(job_events(), |events| {
        (proptest::strategy::Just(events.clone()), deliveries(events))
    });
    let case = std::cell::Cell::new(0);
    TestRunner::new(Config { cases: 48, ..Config::default() })
        .run(&strategy, |(events, batches)| {
            case.set(case.get() + 1);
            let job = format!("delivered-{}", case.get());
            runtime.block_on(async {
                let mut connection = database.connect().await;
                for batch in &batches {
                    apply(&mut connection, &renamed(batch, &job)).await.unwrap();
                }
                proptest::prop_assert_eq!(find(&database, &job).await, Some(model::job("job", &events)));
                Ok(())
            })
        })
        .unwrap();
}

#[tokio::test]
async fn every_attribute_an_event_carries_lands_in_its_own_column_when_inserted_and_when_updated() {
    // Every attribute with a value no other attribute has: one written into another's column shows.
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(T + ms).unwrap().to_rfc3339();
    let attributes = |n: i64| {
        json!({
            "groupId": format!("group {n}"), "projectId": format!("project {n}"), "jobOwner": format!("owner {n}"),
            "automaticallyMachineSelection": n == 1, "submissionMachines": [format!("m{n}"), format!("n{n}")],
            "numberOfProcesses": 10 + n, "numberOfProcessesByMachine": 20 + n, "submissionTime": at(n * 100 + 1),
            "description": format!("description {n}"), "priority": 30 + n, "multipleExecution": n != 1,
            "jobType": format!("type {n}"), "numberOfAttempts": 40 + n, "executionMachine": format!("machine {n}"),
            "endTime": at(n * 100 + 2), "exitCode": 50 + n, "guiltyNodeId": format!("node {n}"),
            "exitStatus": if n == 1 { "KILLED" } else { "LOST" }, "cpuTime": 60.5 + n as f64, "wallclockTime": 70 + n,
            "ramMemory": 80.25 + n as f64, "flowId": format!("flow {n}"), "flowVersion": format!("version {n}"),
            "flowName": format!("flow name {n}"),
            "algorithms": [{"algorithmId": format!("a{n}"), "algorithmVersion": format!("v{n}"),
                            "algorithmName": format!("name {n}"),
                            "parameters": [{"parameterId": format!("p{n}"), "label": format!("label {n}"),
                                            "type": format!("kind {n}"), "value": [format!("x{n}"), format!("y{n}")]}]}],
        })
    };
    let first = event("job", "a", T, Some("SCHEDULED"), Some(attributes(1)));
    apply(&mut connection, std::slice::from_ref(&first)).await.unwrap();
    assert_eq!(find(&database, "job").await.unwrap(), model::job("job", [&first]), "inserted");
    let second = event("job", "b", T + 1, Some("FINISHED"), Some(attributes(2)));
    apply(&mut connection, std::slice::from_ref(&second)).await.unwrap();
    assert_eq!(find(&database, "job").await.unwrap(), model::job("job", [&first, &second]), "updated");
}

#[tokio::test]
async fn a_whole_run_lands_with_its_statuses_algorithms_and_parameters() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let mut events = run(3);
    // The finish first: a job seen first through a late event (rule 6).
    let finished = events.remove(3);
    apply(&mut connection, std::slice::from_ref(&finished)).await.unwrap();
    assert_eq!(find(&database, "run-00003").await.unwrap(), model::job("job", [&finished]), "created by a late event");
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
    assert_eq!(job, model::job("job", &events));

    // A replay writes nothing: no row gets a new version (xmin, the transaction that wrote it).
    let versions = async |connection: &mut diesel_async::AsyncPgConnection| -> Vec<String> {
        let sql = "SELECT xmin::text AS version FROM jobs UNION ALL SELECT xmin::text FROM job_status_history \
                   UNION ALL SELECT xmin::text FROM job_algorithms UNION ALL SELECT xmin::text FROM job_parameters \
                   UNION ALL SELECT xmin::text FROM job_attribute_versions ORDER BY 1";
        diesel::sql_query(sql).load::<RowVersion>(connection).await.unwrap().into_iter().map(|r| r.version).collect()
    };
    let before = versions(&mut connection).await;
    apply(&mut connection, &events).await.unwrap();
    assert_eq!(versions(&mut connection).await, before, "a replay writes no row");
    assert_eq!(find(&database, "run-00003").await.unwrap(), job);
}

#[derive(diesel::QueryableByName)]
struct RowVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
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
    apply(&mut connection, &events).await.unwrap();
    assert_eq!(history_of(&database).await, model::history(&events));
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

#[tokio::test]
async fn the_longest_text_allowed_is_stored_and_found_and_one_byte_more_is_refused() {
    // The limit is for the b-tree index entries (value, job_id): beside the longest job id (255
    // characters of 4 bytes), the longest value must still fit. Both are random, as Postgres
    // compresses an index entry that compresses.
    let random = || {
        (0..).flat_map(|_| {
            uuid::Uuid::new_v4()
                .as_u128()
                .to_le_bytes()
                .chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect::<Vec<_>>()
        })
    };
    let job_id: String = random().take(255).map(|n| char::from_u32(0x1_0000 + n % 0x10_0000).unwrap()).collect();
    let longest: String = random().take(MAX_TEXT_BYTES).map(|n| char::from(b'!' + (n % 94) as u8)).collect();
    assert_eq!((job_id.len(), longest.len()), (1020, 1500));
    let message = |description: &str| {
        let event = json!({"schemaVersion": 1, "eventId": "e", "jobId": job_id, "occurredAt": "2026-01-01T00:00:00Z",
                           "job": {"description": description}});
        serde_json::to_vec(&event).unwrap()
    };

    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let event = decode(Some(&message(&longest))).expect("the longest description allowed is accepted");
    apply(&mut connection, &[event]).await.unwrap();
    let found: Vec<String> = history_store::schema::jobs::table
        .filter(history_store::schema::jobs::description.eq(&longest))
        .select(history_store::schema::jobs::job_id)
        .load(&mut connection)
        .await
        .unwrap();
    assert_eq!(found, std::slice::from_ref(&job_id), "found by its description");

    let rejection = decode(Some(&message(&format!("{longest}x")))).unwrap_err();
    assert_eq!(
        (rejection.kind, rejection.reason.as_str()),
        ("not-storable", "job.description: is 1501 bytes long; the history stores at most 1500")
    );
    // What the limit spares the batch: Postgres refuses an index entry a few hundred bytes longer.
    let refused = diesel::update(history_store::schema::jobs::table)
        .set(history_store::schema::jobs::description.eq(format!("{longest}{}", &longest[..300])))
        .execute(&mut connection)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("index row size"), "{refused}");
}

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[tokio::test]
async fn the_consumer_writes_every_column_of_jobs_and_no_other() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let table: BTreeSet<String> = diesel::sql_query(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'jobs'",
    )
    .load::<Column>(&mut connection)
    .await
    .unwrap()
    .into_iter()
    .map(|c| c.column_name)
    .collect();
    let written: BTreeSet<String> = JOB_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(written.len(), JOB_COLUMNS.len(), "each column once: {JOB_COLUMNS:?}");
    // No column is left out on purpose: a job's row is written whole, when inserted and when
    // updated, and none is left to a default or a trigger.
    assert!(
        written == table,
        "columns of jobs the consumer does not write: {:?}; columns it writes that jobs does not have: {:?}",
        table.difference(&written).collect::<Vec<_>>(),
        written.difference(&table).collect::<Vec<_>>()
    );
}
