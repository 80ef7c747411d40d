//! A run's container log on its way to the job history, as `docs/contracts/job-logs.md` and
//! `docs/contracts/job-log.v1.schema.json` define it: the log of one container (`fetch` or
//! `runner`) of one attempt, cut into ordered chunks ([`cut`]), or a notice that it could not be
//! collected ([`LogContent::Unavailable`]).
//!
//! [`LogMessage::from_json`] accepts exactly what the schema accepts and names the offending
//! field otherwise; a test holds the two together.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::{MAX_TEXT_BYTES, SchemaVersion};
use crate::time::Instant;

/// The most text one chunk carries, in bytes. JSON escapes a byte in at most six (`\u0000`), so a
/// chunk's message stays under 800 KiB whatever the text: below the broker's default limit of one
/// message (1 MiB), with no need to measure the encoded size.
pub const MAX_CHUNK_BYTES: usize = 128 * 1024;

/// The most chunks one log is cut into: 1 GiB of text, far above any bound a producer keeps.
pub const MAX_CHUNKS: u32 = 8192;

/// The container of a run's pod (or of a local run) whose log it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Container {
    /// The init container that downloads the resource.
    Fetch,
    /// The container that runs the job.
    Runner,
}

impl Container {
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Fetch => "fetch",
            Container::Runner => "runner",
        }
    }
}

impl std::str::FromStr for Container {
    type Err = ();

    fn from_str(text: &str) -> Result<Container, ()> {
        match text {
            "fetch" => Ok(Container::Fetch),
            "runner" => Ok(Container::Runner),
            _ => Err(()),
        }
    }
}

/// One message of the `job-logs` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMessage {
    /// The run (the job history's `jobId`); also the Kafka key.
    pub job_id: String,
    pub container: Container,
    /// 1 for the run's first attempt (pod), 2 for the next...
    pub attempt: u32,
    /// When the container ended: the retention's clock.
    pub ended_at: Instant,
    pub content: LogContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogContent {
    Chunk(LogChunk),
    /// The runtime could not read the log, and why (the pod was gone, the kubelet did not answer).
    Unavailable(String),
}

/// One piece of a log, and what every piece of it repeats about the whole (so that any one of them,
/// arriving first, says what is coming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// Which reading of the log this chunk belongs to: the same log read twice gives the same, two
    /// different readings never mix (see [`collection_id`]).
    pub collection: String,
    /// 0 for the first chunk.
    pub index: u32,
    /// How many chunks the reading was cut into.
    pub chunks: u32,
    /// The number of the line the chunk's first byte belongs to, in the container's whole log (the
    /// dropped lines counted).
    pub first_line: u64,
    /// The chunk starts in the middle of a line that the previous chunk began (a line longer than a
    /// chunk).
    pub continues_line: bool,
    pub kept: Extent,
    /// What was cut from the log's start to keep it within the producer's bound.
    pub dropped: Extent,
    pub text: String,
}

/// A stretch of a log: its lines and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extent {
    pub lines: u64,
    pub bytes: u64,
}

/// A log as a producer read it: the tail it kept within its bound, and what it dropped before.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Collected {
    pub text: String,
    pub dropped: Extent,
}

impl Collected {
    /// The lines and bytes kept: a last line without a newline counts.
    pub fn kept(&self) -> Extent {
        Extent { lines: count_lines(&self.text), bytes: self.text.len() as u64 }
    }
}

/// The lines of `text`, a last line without a newline included.
pub fn count_lines(text: &str) -> u64 {
    let newlines = memchr_count(text.as_bytes());
    newlines + u64::from(!text.is_empty() && !text.ends_with('\n'))
}

fn memchr_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Identifies one reading of a log: the first 32 hexadecimal digits of the SHA-256 of what was
/// dropped and of the text kept. The same log read again (a restarted producer, a second replica)
/// gives the same chunks with the same id; a different reading (another bound) another id, so that
/// the history never mixes the chunks of two readings.
pub fn collection_id(log: &Collected) -> String {
    let mut hash = Sha256::new();
    hash.update(log.dropped.lines.to_be_bytes());
    hash.update(log.dropped.bytes.to_be_bytes());
    hash.update(log.text.as_bytes());
    hash.finalize().iter().take(16).map(|byte| format!("{byte:02x}")).collect()
}

/// Cuts `log` into the messages that carry it, in order: chunks of at most [`MAX_CHUNK_BYTES`]
/// ending at a line's end whenever a line fits, so that a reader rarely needs two chunks for a
/// line. An empty log is one empty chunk.
pub fn cut(job_id: &str, container: Container, attempt: u32, ended_at: Instant, log: &Collected) -> Vec<LogMessage> {
    let collection = collection_id(log);
    let text = log.text.as_str();
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < text.len() || pieces.is_empty() {
        let mut end = (start + MAX_CHUNK_BYTES).min(text.len());
        if end < text.len() {
            end = match text[start..end].rfind('\n') {
                Some(newline) => start + newline + 1,
                None => (start + 1..=end).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(end),
            };
        }
        pieces.push((start, end));
        start = end;
    }
    let chunks = pieces.len() as u32;
    let kept = log.kept();
    let mut line = log.dropped.lines + 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(index, (start, end))| {
            let piece = &text[start..end];
            let chunk = LogChunk {
                collection: collection.clone(),
                index: index as u32,
                chunks,
                first_line: line,
                continues_line: start > 0 && !text[..start].ends_with('\n'),
                kept,
                dropped: log.dropped,
                text: piece.to_owned(),
            };
            line += memchr_count(piece.as_bytes());
            LogMessage { job_id: job_id.to_owned(), container, attempt, ended_at, content: LogContent::Chunk(chunk) }
        })
        .collect()
}

/// Why a message is not a log message: the JSON path of the offending field (`.` for the whole
/// message) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LogMessageError {
    pub field: String,
    pub message: String,
}

impl LogMessageError {
    fn new(field: &str, message: impl Into<String>) -> LogMessageError {
        LogMessageError { field: field.to_owned(), message: message.into() }
    }
}

/// The message as it is on the wire: one object, the chunk's fields or `unavailable`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wire {
    schema_version: SchemaVersion,
    job_id: String,
    container: Container,
    attempt: u32,
    ended_at: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unavailable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    continues_line: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kept_lines: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kept_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dropped_lines: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dropped_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// The fields of a chunk, by their names on the wire.
const CHUNK_FIELDS: [&str; 10] = [
    "collection",
    "chunk",
    "chunks",
    "firstLine",
    "continuesLine",
    "keptLines",
    "keptBytes",
    "droppedLines",
    "droppedBytes",
    "text",
];

impl LogMessage {
    /// Reads one message value, accepting exactly what the JSON Schema accepts.
    pub fn from_json(bytes: &[u8]) -> Result<LogMessage, LogMessageError> {
        // serde's derived structs also read an array of their fields; the schema only takes objects.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            let _: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|error| LogMessageError::new(".", error.to_string()))?;
            return Err(LogMessageError::new(".", "must be a JSON object"));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let wire: Wire = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let field = error.path().to_string();
            LogMessageError { field, message: error.into_inner().to_string() }
        })?;
        deserializer.end().map_err(|error| LogMessageError::new(".", error.to_string()))?;
        let message = wire.into_message()?;
        message.validate()?;
        Ok(message)
    }

    /// The message value: UTF-8 JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Wire::from(self))
    }

    /// The schema's rules that the types alone do not hold. Producers call it before publishing.
    pub fn validate(&self) -> Result<(), LogMessageError> {
        check_text("jobId", &self.job_id, MAX_TEXT_BYTES)?;
        if self.attempt == 0 {
            return Err(LogMessageError::new("attempt", "must be 1 or more (1 is the first attempt)"));
        }
        let chunk = match &self.content {
            LogContent::Unavailable(why) => return check_text("unavailable", why, MAX_TEXT_BYTES),
            LogContent::Chunk(chunk) => chunk,
        };
        let hex = chunk.collection.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if chunk.collection.is_empty() || chunk.collection.len() > 64 || !hex {
            return Err(LogMessageError::new("collection", "must be 1 to 64 lower-case hexadecimal digits"));
        }
        if !(1..=MAX_CHUNKS).contains(&chunk.chunks) {
            return Err(LogMessageError::new("chunks", format!("must be 1 to {MAX_CHUNKS}")));
        }
        if chunk.index >= chunk.chunks {
            return Err(LogMessageError::new(
                "chunk",
                format!("is {}, but the log has {} chunk(s), numbered from 0", chunk.index, chunk.chunks),
            ));
        }
        if chunk.text.len() > MAX_CHUNK_BYTES {
            return Err(LogMessageError::new(
                "text",
                format!("is {} bytes long; a chunk carries at most {MAX_CHUNK_BYTES}", chunk.text.len()),
            ));
        }
        let first = chunk.dropped.lines + 1;
        let last = chunk.dropped.lines + chunk.kept.lines;
        if chunk.first_line < first || chunk.first_line > last.max(first) {
            return Err(LogMessageError::new(
                "firstLine",
                format!("is {}, outside the kept lines {first} to {last}", chunk.first_line),
            ));
        }
        if chunk.index == 0 && (chunk.first_line != first || chunk.continues_line) {
            return Err(LogMessageError::new(
                "firstLine",
                format!("the first chunk starts the first kept line, {first}, and continues none"),
            ));
        }
        Ok(())
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), LogMessageError> {
    if value.is_empty() {
        return Err(LogMessageError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(LogMessageError::new(field, format!("is {} bytes long; the maximum is {max}", value.len())));
    }
    if value.contains('\0') {
        return Err(LogMessageError::new(field, "contains a NUL character"));
    }
    Ok(())
}

impl Wire {
    fn into_message(self) -> Result<LogMessage, LogMessageError> {
        let present: Vec<&str> = CHUNK_FIELDS
            .into_iter()
            .zip([
                self.collection.is_some(),
                self.chunk.is_some(),
                self.chunks.is_some(),
                self.first_line.is_some(),
                self.continues_line.is_some(),
                self.kept_lines.is_some(),
                self.kept_bytes.is_some(),
                self.dropped_lines.is_some(),
                self.dropped_bytes.is_some(),
                self.text.is_some(),
            ])
            .filter_map(|(name, present)| present.then_some(name))
            .collect();
        let content = match self.unavailable {
            Some(why) => match present.first() {
                Some(field) => {
                    return Err(LogMessageError::new(field, "a message with `unavailable` carries no chunk"));
                }
                None => LogContent::Unavailable(why),
            },
            None => {
                let missing = |field: &str| LogMessageError::new(field, "is required (or `unavailable`)");
                LogContent::Chunk(LogChunk {
                    collection: self.collection.ok_or_else(|| missing("collection"))?,
                    index: self.chunk.ok_or_else(|| missing("chunk"))?,
                    chunks: self.chunks.ok_or_else(|| missing("chunks"))?,
                    first_line: self.first_line.ok_or_else(|| missing("firstLine"))?,
                    continues_line: self.continues_line.ok_or_else(|| missing("continuesLine"))?,
                    kept: Extent {
                        lines: self.kept_lines.ok_or_else(|| missing("keptLines"))?,
                        bytes: self.kept_bytes.ok_or_else(|| missing("keptBytes"))?,
                    },
                    dropped: Extent {
                        lines: self.dropped_lines.ok_or_else(|| missing("droppedLines"))?,
                        bytes: self.dropped_bytes.ok_or_else(|| missing("droppedBytes"))?,
                    },
                    text: self.text.ok_or_else(|| missing("text"))?,
                })
            }
        };
        Ok(LogMessage {
            job_id: self.job_id,
            container: self.container,
            attempt: self.attempt,
            ended_at: self.ended_at,
            content,
        })
    }
}

impl From<&LogMessage> for Wire {
    fn from(message: &LogMessage) -> Wire {
        let mut wire = Wire {
            schema_version: SchemaVersion,
            job_id: message.job_id.clone(),
            container: message.container,
            attempt: message.attempt,
            ended_at: message.ended_at,
            unavailable: None,
            collection: None,
            chunk: None,
            chunks: None,
            first_line: None,
            continues_line: None,
            kept_lines: None,
            kept_bytes: None,
            dropped_lines: None,
            dropped_bytes: None,
            text: None,
        };
        match &message.content {
            LogContent::Unavailable(why) => wire.unavailable = Some(why.clone()),
            LogContent::Chunk(chunk) => {
                wire.collection = Some(chunk.collection.clone());
                wire.chunk = Some(chunk.index);
                wire.chunks = Some(chunk.chunks);
                wire.first_line = Some(chunk.first_line);
                wire.continues_line = Some(chunk.continues_line);
                wire.kept_lines = Some(chunk.kept.lines);
                wire.kept_bytes = Some(chunk.kept.bytes);
                wire.dropped_lines = Some(chunk.dropped.lines);
                wire.dropped_bytes = Some(chunk.dropped.bytes);
                wire.text = Some(chunk.text.clone());
            }
        }
        wire
    }
}
