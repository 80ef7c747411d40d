//! Storing a batch of prepared log messages, in one transaction: the readings they name, then their
//! chunks, each once whatever the deliveries (the contract's folding rules 1 and 2). Messages of a
//! log that the retention removed are left out (rule 4).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{LogKey, Prepared, PreparedBody};
use crate::schema::{job_log_chunks, job_logs};

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Archived {
    /// Chunks written (new ones; a chunk already there is not counted).
    pub chunks: usize,
    /// Bytes of text those chunks hold, and what they take compressed.
    pub bytes: u64,
    pub stored: u64,
    /// Messages of logs that the retention removed, left out.
    pub ignored: usize,
}

#[derive(Insertable)]
#[diesel(table_name = job_logs)]
struct NewReading<'a> {
    job_id: &'a str,
    container: &'static str,
    attempt: i32,
    collection: &'a str,
    ended_at: DateTime<Utc>,
    chunks: i32,
    kept_lines: i64,
    kept_bytes: i64,
    dropped_lines: i64,
    dropped_bytes: i64,
    unavailable: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = job_log_chunks)]
struct NewChunk<'a> {
    job_id: &'a str,
    container: &'static str,
    attempt: i32,
    collection: &'a str,
    chunk: i32,
    first_line: i64,
    last_line: i64,
    starts_line: bool,
    ends_line: bool,
    bytes: i32,
    stored: i32,
    content: &'a [u8],
}

#[derive(QueryableByName)]
struct Removed {
    #[diesel(sql_type = Text)]
    job_id: String,
    #[diesel(sql_type = Text)]
    container: String,
    #[diesel(sql_type = Int4)]
    attempt: i32,
    #[diesel(sql_type = Text)]
    collection: String,
    #[diesel(sql_type = Nullable<Text>)]
    removal: Option<String>,
}

/// Rows per INSERT: well under Postgres' 65,535 parameters, and a few MiB of chunks.
const ROWS_PER_INSERT: usize = 200;

/// Stores `messages` in one transaction.
pub async fn archive(connection: &mut AsyncPgConnection, messages: &[Prepared]) -> QueryResult<Archived> {
    connection.transaction(async |connection| store(connection, messages).await).await
}

async fn store(connection: &mut AsyncPgConnection, messages: &[Prepared]) -> QueryResult<Archived> {
    let removed = removed(connection, messages).await?;
    let kept = |message: &&Prepared| {
        let collection = match &message.body {
            PreparedBody::Chunk(chunk) => chunk.collection.as_str(),
            PreparedBody::Unavailable(_) => "",
        };
        !removed
            .iter()
            .any(|(key, reading)| *key == message.key && reading.as_ref().is_none_or(|reading| reading == collection))
    };
    let all = messages.len();
    let messages: Vec<&Prepared> = messages.iter().filter(kept).collect();
    let mut archived = Archived { ignored: all - messages.len(), ..Archived::default() };

    let mut readings: Vec<NewReading<'_>> = Vec::new();
    let mut seen = BTreeSet::new();
    for message in &messages {
        let (collection, reading) = match &message.body {
            PreparedBody::Chunk(chunk) => (
                chunk.collection.as_str(),
                NewReading {
                    job_id: &message.key.job_id,
                    container: message.key.container.as_str(),
                    attempt: message.key.attempt,
                    collection: &chunk.collection,
                    ended_at: message.ended_at,
                    chunks: chunk.chunks,
                    kept_lines: chunk.kept_lines,
                    kept_bytes: chunk.kept_bytes,
                    dropped_lines: chunk.dropped_lines,
                    dropped_bytes: chunk.dropped_bytes,
                    unavailable: None,
                },
            ),
            PreparedBody::Unavailable(why) => (
                "",
                NewReading {
                    job_id: &message.key.job_id,
                    container: message.key.container.as_str(),
                    attempt: message.key.attempt,
                    collection: "",
                    ended_at: message.ended_at,
                    chunks: 0,
                    kept_lines: 0,
                    kept_bytes: 0,
                    dropped_lines: 0,
                    dropped_bytes: 0,
                    unavailable: Some(why),
                },
            ),
        };
        if seen.insert((&message.key, collection)) {
            readings.push(reading);
        }
    }
    for rows in readings.chunks(ROWS_PER_INSERT) {
        diesel::insert_into(job_logs::table).values(rows).on_conflict_do_nothing().execute(connection).await?;
    }

    let chunks: Vec<NewChunk<'_>> = messages
        .iter()
        .filter_map(|message| match &message.body {
            PreparedBody::Chunk(chunk) => Some(NewChunk {
                job_id: &message.key.job_id,
                container: message.key.container.as_str(),
                attempt: message.key.attempt,
                collection: &chunk.collection,
                chunk: chunk.index,
                first_line: chunk.first_line,
                last_line: chunk.last_line,
                starts_line: chunk.starts_line,
                ends_line: chunk.ends_line,
                bytes: chunk.bytes,
                stored: chunk.content.len() as i32,
                content: &chunk.content,
            }),
            PreparedBody::Unavailable(_) => None,
        })
        .collect();
    for rows in chunks.chunks(ROWS_PER_INSERT) {
        let written: Vec<(i32, i32)> = diesel::insert_into(job_log_chunks::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning((job_log_chunks::bytes, job_log_chunks::stored))
            .get_results(connection)
            .await?;
        archived.chunks += written.len();
        archived.bytes += written.iter().map(|(bytes, _)| *bytes as u64).sum::<u64>();
        archived.stored += written.iter().map(|(_, stored)| *stored as u64).sum::<u64>();
    }
    Ok(archived)
}

/// The readings of the batch's logs that the retention removed: a log removed by age or size
/// (`None`: all its readings), or one reading superseded by another.
async fn removed(
    connection: &mut AsyncPgConnection,
    messages: &[Prepared],
) -> QueryResult<Vec<(LogKey, Option<String>)>> {
    let keys: BTreeSet<&LogKey> = messages.iter().map(|message| &message.key).collect();
    let job_ids: Vec<&str> = keys.iter().map(|key| key.job_id.as_str()).collect();
    let containers: Vec<&str> = keys.iter().map(|key| key.container.as_str()).collect();
    let attempts: Vec<i32> = keys.iter().map(|key| key.attempt).collect();
    let rows: Vec<Removed> = diesel::sql_query(
        "SELECT l.job_id, l.container, l.attempt, l.collection, l.removal FROM job_logs l \
         JOIN unnest($1::text[], $2::text[], $3::int4[]) AS k (job_id, container, attempt) \
           ON l.job_id = k.job_id AND l.container = k.container AND l.attempt = k.attempt \
         WHERE l.removed_at IS NOT NULL",
    )
    .bind::<Array<Text>, _>(&job_ids)
    .bind::<Array<Text>, _>(&containers)
    .bind::<Array<Int4>, _>(&attempts)
    .load(connection)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let key = LogKey { job_id: row.job_id, container: row.container.parse().ok()?, attempt: row.attempt };
            let superseded = row.removal.as_deref() == Some("superseded");
            Some((key, superseded.then_some(row.collection)))
        })
        .collect())
}
