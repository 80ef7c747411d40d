//! Runs' container logs in the history (`docs/contracts/job-logs.md`): one `job_logs` row per
//! reading of a log, one `job_log_chunks` row per chunk, its text compressed with zstd.
//!
//! The consumer [`prepare`]s a batch's messages (compression, off the async threads) and
//! [`archive`](write::archive)s them; job-history reads them back ([`read`]); the retention removes
//! what is due ([`retention`]).

pub mod read;
pub mod retention;
pub mod write;

use chrono::{DateTime, Utc};
use common::job_log::{Container, LogContent, LogMessage};

pub use self::write::{Archived, archive};

/// zstd's level: its default, the best ratio that compression at the broker's pace allows (measured
/// on typical job output: level 3 stores 0.17 byte per byte at 210 MiB/s; level 6 0.15 at 45 MiB/s).
const ZSTD_LEVEL: i32 = 3;

/// One log: a container of an attempt of a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogKey {
    pub job_id: String,
    pub container: Container,
    pub attempt: i32,
}

/// A message ready to be stored: its chunk compressed, its line numbers worked out.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub key: LogKey,
    pub ended_at: DateTime<Utc>,
    pub body: PreparedBody,
}

#[derive(Debug, Clone)]
pub enum PreparedBody {
    Chunk(PreparedChunk),
    Unavailable(String),
}

#[derive(Debug, Clone)]
pub struct PreparedChunk {
    pub collection: String,
    pub index: i32,
    pub chunks: i32,
    pub kept_lines: i64,
    pub kept_bytes: i64,
    pub dropped_lines: i64,
    pub dropped_bytes: i64,
    pub first_line: i64,
    pub last_line: i64,
    pub starts_line: bool,
    pub ends_line: bool,
    pub bytes: i32,
    pub content: Vec<u8>,
}

/// Why a message cannot be stored even though the contract takes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("{0} is larger than the history stores")]
    TooLarge(&'static str),
    #[error("cannot compress the chunk: {0}")]
    Compress(String),
}

/// Compresses the chunks of `messages` (CPU work: call it off the async threads) and works out the
/// line numbers each chunk starts and ends in.
pub fn prepare(messages: &[LogMessage]) -> Vec<Result<Prepared, PrepareError>> {
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| PrepareError::Compress(e.to_string()));
    messages
        .iter()
        .map(|message| {
            let key = LogKey {
                job_id: message.job_id.clone(),
                container: message.container,
                attempt: i32::try_from(message.attempt).map_err(|_| PrepareError::TooLarge("attempt"))?,
            };
            let body = match &message.content {
                LogContent::Unavailable(why) => PreparedBody::Unavailable(why.clone()),
                LogContent::Chunk(chunk) => {
                    let compressor = compressor.as_mut().map_err(|e| e.clone())?;
                    let content = compressor
                        .compress(chunk.text.as_bytes())
                        .map_err(|e| PrepareError::Compress(e.to_string()))?;
                    let large = |what| move |_| PrepareError::TooLarge(what);
                    let first_line = i64::try_from(chunk.first_line).map_err(large("firstLine"))?;
                    let newlines = chunk.text.bytes().filter(|b| *b == b'\n').count() as i64;
                    let ends_with_newline = chunk.text.ends_with('\n');
                    // The line of the chunk's last byte; an empty chunk (an empty log) ends before it starts.
                    let last_line = if chunk.text.is_empty() {
                        first_line - 1
                    } else {
                        first_line + newlines - i64::from(ends_with_newline)
                    };
                    PreparedBody::Chunk(PreparedChunk {
                        collection: chunk.collection.clone(),
                        index: chunk.index as i32,
                        chunks: chunk.chunks as i32,
                        kept_lines: i64::try_from(chunk.kept.lines).map_err(large("keptLines"))?,
                        kept_bytes: i64::try_from(chunk.kept.bytes).map_err(large("keptBytes"))?,
                        dropped_lines: i64::try_from(chunk.dropped.lines).map_err(large("droppedLines"))?,
                        dropped_bytes: i64::try_from(chunk.dropped.bytes).map_err(large("droppedBytes"))?,
                        first_line,
                        last_line,
                        starts_line: !chunk.continues_line,
                        ends_line: ends_with_newline || chunk.index + 1 == chunk.chunks,
                        bytes: chunk.text.len() as i32,
                        content,
                    })
                }
            };
            Ok(Prepared { key, ended_at: message.ended_at.0, body })
        })
        .collect()
}

/// The text of a stored chunk; `bytes` is its size, as stored beside it.
pub fn decompress(content: &[u8], bytes: i32) -> std::io::Result<String> {
    let text = zstd::bulk::decompress(content, usize::try_from(bytes).unwrap_or(0))?;
    // The consumer stored UTF-8 text; anything else is damage, made visible rather than fatal.
    Ok(String::from_utf8(text).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()))
}
