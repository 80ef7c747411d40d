//! The logs' retention (the contract's rule 4): logs whose container ended more than the retention's
//! age ago are removed; past its total size (compressed), the oldest ends go first; readings
//! superseded by a complete one go too. A removed reading keeps its row as a tombstone (when, why)
//! and loses its chunks. A soft-deleted job is no exception either way.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::read::{self, Reading, Served};
use crate::schema::job_logs;

/// How long logs are kept, and how much room they may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: TimeDelta,
    /// Compressed bytes of every kept chunk together.
    pub max_stored_bytes: i64,
}

/// What one clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub by_age: usize,
    pub by_size: usize,
    pub superseded: usize,
    /// Chunks deleted (of those and of earlier removals whose chunks were still there).
    pub chunks: usize,
    /// False when another replica was cleaning up: this one did nothing.
    pub ran: bool,
}

/// Replicas take turns: one cleans up while the others skip.
const LOCK: i64 = 7_204_190_302;

/// Chunks deleted per statement, so that no transaction holds too much.
const CHUNKS_PER_DELETE: i64 = 5000;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Removes what `retention` says is due at `now`.
pub async fn clean_up(
    connection: &mut AsyncPgConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> QueryResult<Removed> {
    let marked = connection
        .transaction(async |connection| {
            let locked: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<BigInt, _>(LOCK)
                .get_result(connection)
                .await?;
            if !locked.locked {
                return Ok(None);
            }
            let by_age = diesel::update(
                job_logs::table
                    .filter(job_logs::removed_at.is_null())
                    .filter(job_logs::ended_at.lt(now - retention.max_age)),
            )
            .set((job_logs::removed_at.eq(now), job_logs::removal.eq("age")))
            .execute(connection)
            .await?;
            let superseded = remove_superseded(connection, now).await?;
            let by_size = remove_beyond_size(connection, retention.max_stored_bytes, now).await?;
            Ok::<_, diesel::result::Error>(Some((by_age, superseded, by_size)))
        })
        .await?;
    let Some((by_age, superseded, by_size)) = marked else { return Ok(Removed::default()) };
    let mut chunks = 0;
    loop {
        // Chunks of every removed reading, those of earlier clean-ups that a delivery added after
        // them included.
        let deleted = diesel::sql_query(
            "DELETE FROM job_log_chunks WHERE ctid = ANY (ARRAY ( \
               SELECT c.ctid FROM job_log_chunks c JOIN job_logs l USING (job_id, container, attempt, collection) \
               WHERE l.removed_at IS NOT NULL LIMIT $1))",
        )
        .bind::<BigInt, _>(CHUNKS_PER_DELETE)
        .execute(connection)
        .await?;
        chunks += deleted;
        if deleted == 0 {
            break;
        }
    }
    Ok(Removed { by_age, by_size, superseded, chunks, ran: true })
}

/// Marks removed the readings of logs that have a complete reading served instead of them.
async fn remove_superseded(connection: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    // Logs with more than one kept reading: rare (a changed bound, a notice then a reading).
    let logs: Vec<(String, String, i32)> = job_logs::table
        .filter(job_logs::removed_at.is_null())
        .group_by((job_logs::job_id, job_logs::container, job_logs::attempt))
        .having(diesel::dsl::count_star().gt(1))
        .select((job_logs::job_id, job_logs::container, job_logs::attempt))
        .load(connection)
        .await?;
    let mut removed = 0;
    for (job_id, container, attempt) in logs {
        let readings: Vec<Reading> = read::readings(connection, &job_id)
            .await?
            .into_iter()
            .filter(|r| r.row.container == container && r.row.attempt == attempt && r.row.removed_at.is_none())
            .collect();
        let Served::Reading(best) = read::served(&readings) else { continue };
        if !best.complete() {
            continue;
        }
        let others: Vec<&str> = readings
            .iter()
            .filter(|r| r.row.collection != best.row.collection)
            .map(|r| r.row.collection.as_str())
            .collect();
        removed += diesel::update(
            job_logs::table
                .filter(job_logs::job_id.eq(&job_id))
                .filter(job_logs::container.eq(&container))
                .filter(job_logs::attempt.eq(attempt))
                .filter(job_logs::collection.eq_any(&others)),
        )
        .set((job_logs::removed_at.eq(now), job_logs::removal.eq("superseded")))
        .execute(connection)
        .await?;
    }
    Ok(removed)
}

/// Marks removed the readings beyond `max_stored_bytes`, counted from the newest end back.
async fn remove_beyond_size(
    connection: &mut AsyncPgConnection,
    max_stored_bytes: i64,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH sizes AS ( \
           SELECT l.job_id, l.container, l.attempt, l.collection, l.ended_at, coalesce(sum(c.stored), 0) AS stored \
           FROM job_logs l LEFT JOIN job_log_chunks c USING (job_id, container, attempt, collection) \
           WHERE l.removed_at IS NULL GROUP BY 1, 2, 3, 4, 5), \
         kept AS ( \
           SELECT *, sum(stored) OVER (ORDER BY ended_at DESC, job_id, container, attempt, collection) AS total FROM sizes) \
         UPDATE job_logs l SET removed_at = $2, removal = 'size' FROM kept k \
         WHERE l.job_id = k.job_id AND l.container = k.container AND l.attempt = k.attempt \
           AND l.collection = k.collection AND k.total > $1",
    )
    .bind::<BigInt, _>(max_stored_bytes)
    .bind::<Timestamptz, _>(now)
    .execute(connection)
    .await
}
