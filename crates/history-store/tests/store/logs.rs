//! Archived logs in the real Postgres: chunks stored once in any order, readings that never mix,
//! incomplete logs that complete, and the retention.

use chrono::{DateTime, TimeDelta, Utc};
use common::job::Job;
use common::job_log::{Collected, Container, Extent, LogMessage, cut};
use common::time::Instant;
use diesel_async::AsyncPgConnection;
use history_store::logs::read::{self, Reading, Served};
use history_store::logs::retention::{Removed, Retention, clean_up};
use history_store::logs::{LogKey, decompress};
use history_store::testing::{TestDatabase, archive_messages, insert_job, insert_log};

fn key(job_id: &str, container: Container, attempt: i32) -> LogKey {
    LogKey { job_id: job_id.to_owned(), container, attempt }
}

fn at(text: &str) -> DateTime<Utc> {
    common::time::parse_rfc3339(text).unwrap()
}

/// A log of `lines` numbered lines, about 60 bytes each.
fn text(lines: usize, tag: &str) -> String {
    (1..=lines).map(|n| format!("2026-01-12 03:00:00,{n:06} INFO [main] {tag} line {n}\n")).collect()
}

fn messages(key: &LogKey, text: &str, dropped: Extent) -> Vec<LogMessage> {
    ended_messages(key, text, dropped, at("2026-01-12T03:20:00Z"))
}

fn ended_messages(key: &LogKey, text: &str, dropped: Extent, ended: DateTime<Utc>) -> Vec<LogMessage> {
    let log = Collected { text: text.to_owned(), dropped };
    cut(&key.job_id, key.container, key.attempt as u32, Instant(ended), &log)
}

async fn readings_of(connection: &mut AsyncPgConnection, key: &LogKey) -> Vec<Reading> {
    read::readings(connection, &key.job_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.key().as_ref() == Some(key))
        .collect()
}

/// The text of the reading served for `key`, from its chunks, and whether it is complete.
async fn served_text(connection: &mut AsyncPgConnection, key: &LogKey) -> Option<(String, bool)> {
    let readings = readings_of(connection, key).await;
    let Served::Reading(reading) = read::served(&readings) else { return None };
    let chunks = read::chunk_lines(connection, &reading.row).await.unwrap();
    let wanted: Vec<i32> = chunks.iter().map(|c| c.chunk).collect();
    let contents = read::contents(connection, &reading.row, &wanted).await.unwrap();
    let text = contents
        .iter()
        .zip(&chunks)
        .map(|((_, content), lines)| decompress(content, lines.bytes).unwrap())
        .collect::<String>();
    Some((text, reading.complete()))
}

#[tokio::test]
async fn chunks_stored_twice_and_out_of_order_give_one_log() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let key = key("run-1", Container::Runner, 1);
    let log = text(9000, "twice");
    let all = messages(&key, &log, Extent::default());
    assert!(all.len() >= 4, "{} chunks", all.len());
    // Last chunk first, every chunk twice (once inside one batch), in three batches.
    let mut shuffled: Vec<LogMessage> = all.iter().rev().cloned().collect();
    shuffled.push(all[1].clone());
    shuffled.extend(all.iter().cloned());
    for batch in shuffled.chunks(3) {
        archive_messages(&mut connection, batch).await;
    }
    assert_eq!(served_text(&mut connection, &key).await, Some((log, true)));
    let readings = readings_of(&mut connection, &key).await;
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].received, all.len() as i64);
}

#[tokio::test]
async fn an_interrupted_reading_is_incomplete_until_sent_again_and_readings_never_mix() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let key = key("run-2", Container::Fetch, 3);
    let log = text(9000, "first");
    let all = messages(&key, &log, Extent::default());
    // A producer killed after two chunks.
    archive_messages(&mut connection, &all[..2]).await;
    let (partial, complete) = served_text(&mut connection, &key).await.unwrap();
    assert!(!complete && log.starts_with(&partial) && partial.len() < log.len());

    // Another reading of the same log (a bound changed meanwhile: the tail only), also cut short.
    let tail_start = log.len() / 2 + log[log.len() / 2..].find('\n').unwrap() + 1;
    let dropped = Extent { lines: log[..tail_start].matches('\n').count() as u64, bytes: tail_start as u64 };
    let other = messages(&key, &log[tail_start..], dropped);
    assert_ne!(other.len(), all.len());
    archive_messages(&mut connection, &other[..1]).await;
    let (served, _) = served_text(&mut connection, &key).await.unwrap();
    assert_eq!(served, partial, "the reading with the most chunks, never a mixture");

    // The restarted producer sends the first reading again, whole.
    archive_messages(&mut connection, &all).await;
    assert_eq!(served_text(&mut connection, &key).await, Some((log, true)));
}

fn retention(max_stored_bytes: i64) -> Retention {
    Retention { max_age: TimeDelta::days(30), max_stored_bytes }
}

/// What the history says of `key`: `Ok(complete)` for a served reading, `Err(why)` for a removed log.
async fn state(connection: &mut AsyncPgConnection, key: &LogKey) -> Result<bool, String> {
    let readings = readings_of(connection, key).await;
    match read::served(&readings) {
        Served::Reading(reading) => Ok(reading.complete()),
        Served::Removed(tombstone) => Err(tombstone.row.removal.clone().unwrap_or_default()),
        other => panic!("{key:?}: {other:?}"),
    }
}

#[tokio::test]
async fn the_retention_removes_what_is_due_and_nothing_else() {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    let now = at("2026-03-01T00:00:00Z");
    let days_ago = |days: i64| now - TimeDelta::days(days) - TimeDelta::minutes(1);
    let old = key("old", Container::Runner, 1);
    let young = key("young", Container::Runner, 1);
    let deleted_young = key("deleted-young", Container::Runner, 1);
    let deleted_old = key("deleted-old", Container::Fetch, 1);
    for (key, ended) in
        [(&old, days_ago(30)), (&young, days_ago(29)), (&deleted_young, days_ago(1)), (&deleted_old, days_ago(31))]
    {
        insert_log(&mut connection, key, ended, &text(100, &key.job_id), Extent::default()).await;
    }
    for job in ["deleted-young", "deleted-old"] {
        insert_job(&mut connection, &Job { job_id: job.into(), ..Job::default() }).await;
        assert!(history_store::deletion::soft_delete(&mut connection, job).await.unwrap());
    }
    // A log with a complete reading and an incomplete other one.
    let twice = key("twice", Container::Runner, 2);
    let complete = ended_messages(&twice, &text(3000, "complete"), Extent::default(), days_ago(2));
    let partial = ended_messages(&twice, &text(4000, "partial"), Extent::default(), days_ago(2));
    archive_messages(&mut connection, &complete).await;
    archive_messages(&mut connection, &partial[..1]).await;

    let removed = clean_up(&mut connection, retention(i64::MAX), now).await.unwrap();
    assert_eq!((removed.by_age, removed.superseded, removed.by_size, removed.ran), (2, 1, 0, true));
    assert!(removed.chunks >= 3, "{removed:?}");
    assert_eq!(state(&mut connection, &old).await, Err("age".into()));
    assert_eq!(state(&mut connection, &deleted_old).await, Err("age".into()), "a deleted job's logs age alike");
    for kept in [&young, &deleted_young, &twice] {
        assert_eq!(state(&mut connection, kept).await, Ok(true), "{kept:?}");
    }
    assert_eq!(served_text(&mut connection, &twice).await, Some((text(3000, "complete"), true)));

    // Chunks of removed logs delivered again are left out: the log stays removed.
    let again = ended_messages(&old, &text(100, "old"), Extent::default(), days_ago(30));
    let prepared: Vec<_> = history_store::logs::prepare(&again).into_iter().map(Result::unwrap).collect();
    let archived = history_store::logs::archive(&mut connection, &prepared).await.unwrap();
    assert_eq!((archived.chunks, archived.ignored), (0, again.len()));
    let superseded: Vec<_> = history_store::logs::prepare(&partial).into_iter().map(Result::unwrap).collect();
    assert_eq!(history_store::logs::archive(&mut connection, &superseded).await.unwrap().chunks, 0);
    assert_eq!(state(&mut connection, &old).await, Err("age".into()));
    assert_eq!(
        clean_up(&mut connection, retention(i64::MAX), now).await.unwrap(),
        Removed { ran: true, ..Removed::default() }
    );

    // By size: the newest ends are kept up to the limit, the oldest removed first.
    let sizes = stored_sizes(&mut connection, &[&deleted_young, &young, &twice]).await;
    let removed = clean_up(&mut connection, retention(sizes[0] + sizes[2]), now).await.unwrap();
    assert_eq!((removed.by_age, removed.by_size), (0, 1), "{removed:?}");
    assert_eq!(state(&mut connection, &young).await, Err("size".into()), "ended 29 days ago: the oldest");
    assert_eq!(state(&mut connection, &deleted_young).await, Ok(true));
    assert_eq!(state(&mut connection, &twice).await, Ok(true));
}

/// The compressed bytes each log's served reading takes.
async fn stored_sizes(connection: &mut AsyncPgConnection, keys: &[&LogKey]) -> Vec<i64> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use history_store::schema::job_log_chunks;
    let mut sizes = Vec::new();
    for key in keys {
        let readings = readings_of(connection, key).await;
        let Served::Reading(reading) = read::served(&readings) else { panic!("{key:?}") };
        let size: Option<i64> = job_log_chunks::table
            .filter(job_log_chunks::job_id.eq(&key.job_id))
            .filter(job_log_chunks::collection.eq(&reading.row.collection))
            .select(diesel::dsl::sum(job_log_chunks::stored))
            .get_result(connection)
            .await
            .unwrap();
        sizes.push(size.unwrap());
    }
    sizes
}

#[tokio::test]
async fn replicas_take_turns_at_the_clean_up() {
    use diesel_async::RunQueryDsl;
    let database = TestDatabase::create().await;
    let mut other = database.connect().await;
    diesel::sql_query("SELECT pg_advisory_lock(7204190302)").execute(&mut other).await.unwrap();
    let mut connection = database.connect().await;
    let removed = clean_up(&mut connection, retention(0), Utc::now()).await.unwrap();
    assert!(!removed.ran, "another replica holds the turn");
    diesel::sql_query("SELECT pg_advisory_unlock(7204190302)").execute(&mut other).await.unwrap();
    assert!(clean_up(&mut connection, retention(0), Utc::now()).await.unwrap().ran);
}
