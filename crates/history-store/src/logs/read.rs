//! Reading logs back: a run's readings, which one is served for a log (the contract's rule 3), and
//! its chunks, by their line numbers first and their content only for the chunks wanted.

use chrono::{DateTime, Utc};
use common::job_log::Container;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::LogKey;
use crate::schema::{job_log_chunks, job_logs};

/// One reading of a log (or a notice that it could not be read), as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = job_logs, check_for_backend(diesel::pg::Pg))]
pub struct ReadingRow {
    pub job_id: String,
    pub container: String,
    pub attempt: i32,
    pub collection: String,
    pub ended_at: DateTime<Utc>,
    pub chunks: i32,
    pub kept_lines: i64,
    pub kept_bytes: i64,
    pub dropped_lines: i64,
    pub dropped_bytes: i64,
    pub unavailable: Option<String>,
    pub archived_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub removal: Option<String>,
}

/// A reading and how many of its chunks are here.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub row: ReadingRow,
    pub received: i64,
}

impl Reading {
    pub fn key(&self) -> Option<LogKey> {
        Some(LogKey {
            job_id: self.row.job_id.clone(),
            container: self.row.container.parse().ok()?,
            attempt: self.row.attempt,
        })
    }

    pub fn container(&self) -> Option<Container> {
        self.row.container.parse().ok()
    }

    fn is_notice(&self) -> bool {
        self.row.unavailable.is_some()
    }

    pub fn complete(&self) -> bool {
        !self.is_notice() && self.received >= i64::from(self.row.chunks)
    }
}

/// What the history holds for one log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Served<'a> {
    /// The reading to serve, complete or not.
    Reading(&'a Reading),
    /// No reading, but the producer said why it could not read the log.
    Unavailable(&'a Reading),
    /// The retention removed it (the tombstone says when and why).
    Removed(&'a Reading),
    Nothing,
}

/// Which of a log's readings is served: a complete one first, then the one with the most chunks
/// (then the smallest id, so that every reader chooses alike); a notice only when no reading is
/// kept; a tombstone only when nothing else is.
pub fn served<'a>(readings: impl IntoIterator<Item = &'a Reading>) -> Served<'a> {
    let readings: Vec<&Reading> = readings.into_iter().collect();
    let kept = || readings.iter().copied().filter(|r| r.row.removed_at.is_none());
    let best = kept()
        .filter(|r| !r.is_notice())
        .max_by_key(|r| (r.complete(), r.received, std::cmp::Reverse(r.row.collection.as_str())));
    if let Some(reading) = best {
        return Served::Reading(reading);
    }
    if let Some(notice) = kept().filter(|r| r.is_notice()).max_by_key(|r| r.row.archived_at) {
        return Served::Unavailable(notice);
    }
    let removed = readings.iter().copied().filter(|r| r.row.removal.as_deref().is_some_and(|why| why != "superseded"));
    match removed.max_by_key(|r| r.row.removed_at) {
        Some(tombstone) => Served::Removed(tombstone),
        None => Served::Nothing,
    }
}

/// Every reading of the run's logs (tombstones included), with the chunks received of each.
pub async fn readings(connection: &mut AsyncPgConnection, job_id: &str) -> QueryResult<Vec<Reading>> {
    let rows: Vec<ReadingRow> =
        job_logs::table.filter(job_logs::job_id.eq(job_id)).select(ReadingRow::as_select()).load(connection).await?;
    let counts: Vec<(String, i32, String, i64)> = job_log_chunks::table
        .filter(job_log_chunks::job_id.eq(job_id))
        .group_by((job_log_chunks::container, job_log_chunks::attempt, job_log_chunks::collection))
        .select((
            job_log_chunks::container,
            job_log_chunks::attempt,
            job_log_chunks::collection,
            diesel::dsl::count_star(),
        ))
        .load(connection)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let received = counts
                .iter()
                .find(|(container, attempt, collection, _)| {
                    *container == row.container && *attempt == row.attempt && *collection == row.collection
                })
                .map_or(0, |count| count.3);
            Reading { row, received }
        })
        .collect())
}

/// Where a chunk's lines are: the numbers of the lines of its first and last byte, and whether
/// those bytes start and end a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = job_log_chunks, check_for_backend(diesel::pg::Pg))]
pub struct ChunkLines {
    pub chunk: i32,
    pub first_line: i64,
    pub last_line: i64,
    pub starts_line: bool,
    pub ends_line: bool,
    pub bytes: i32,
}

/// The chunks of `reading` that are here, in order, without their content.
pub async fn chunk_lines(connection: &mut AsyncPgConnection, reading: &ReadingRow) -> QueryResult<Vec<ChunkLines>> {
    of_reading(reading).order(job_log_chunks::chunk).select(ChunkLines::as_select()).load(connection).await
}

/// The compressed content of `chunks` of `reading`, in order (see [`super::decompress`]).
pub async fn contents(
    connection: &mut AsyncPgConnection,
    reading: &ReadingRow,
    chunks: &[i32],
) -> QueryResult<Vec<(i32, Vec<u8>)>> {
    of_reading(reading)
        .filter(job_log_chunks::chunk.eq_any(chunks))
        .order(job_log_chunks::chunk)
        .select((job_log_chunks::chunk, job_log_chunks::content))
        .load(connection)
        .await
}

fn of_reading(reading: &ReadingRow) -> job_log_chunks::BoxedQuery<'_, diesel::pg::Pg> {
    job_log_chunks::table
        .filter(job_log_chunks::job_id.eq(&reading.job_id))
        .filter(job_log_chunks::container.eq(&reading.container))
        .filter(job_log_chunks::attempt.eq(reading.attempt))
        .filter(job_log_chunks::collection.eq(&reading.collection))
        .into_boxed()
}
