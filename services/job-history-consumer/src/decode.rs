//! From a Kafka message to a [`JobEvent`], or the reason it goes to the dead-letter topic (rule 7).

use common::event::{JobEvent, SCHEMA_VERSION};

/// The longest text the history stores in one field, in bytes (the platform's one limit, which the
/// deployer also checks). A longer value would make Postgres refuse the whole batch, again at every
/// retry; it is refused here instead, with the field named.
pub use common::event::MAX_TEXT_BYTES;

/// Why a message is not an event the history can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A stable name for dashboards and the `dlq.error` header: `no-value`, `not-utf8`, `not-json`,
    /// `unsupported-schema-version`, `schema`, `not-storable`, or (from the worker)
    /// `refused-by-database`.
    pub kind: &'static str,
    /// What is wrong, and where.
    pub reason: String,
}

impl Rejection {
    fn new(kind: &'static str, reason: impl Into<String>) -> Rejection {
        Rejection { kind, reason: reason.into() }
    }
}

/// Reads one message value.
pub fn decode(payload: Option<&[u8]>) -> Result<JobEvent, Rejection> {
    let payload = payload.ok_or_else(|| Rejection::new("no-value", "the message has no value"))?;
    let text =
        std::str::from_utf8(payload).map_err(|error| Rejection::new("not-utf8", format!("not UTF-8: {error}")))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| Rejection::new("not-json", format!("not JSON: {error}")))?;
    if let Some(version) = value.get("schemaVersion")
        && version.as_u64() != Some(SCHEMA_VERSION)
    {
        return Err(Rejection::new(
            "unsupported-schema-version",
            format!("schemaVersion {version} is not supported: this consumer reads version {SCHEMA_VERSION}"),
        ));
    }
    let event = JobEvent::from_value(&value).map_err(|error| Rejection::new("schema", error.to_string()))?;
    check_storable(&value, &mut String::new())?;
    Ok(event)
}

/// Postgres refuses NUL characters in text and JSON, and over-long indexed values (see
/// [`MAX_TEXT_BYTES`]); `path` is where `value` sits in the message.
fn check_storable(value: &serde_json::Value, path: &mut String) -> Result<(), Rejection> {
    let within = |path: &mut String, step: &str, value: &serde_json::Value| {
        let length = path.len();
        path.push_str(step);
        let checked = check_storable(value, path);
        path.truncate(length);
        checked
    };
    match value {
        serde_json::Value::String(text) => {
            let field = if path.is_empty() { "." } else { path.trim_start_matches('.') };
            if text.contains('\0') {
                return Err(Rejection::new("not-storable", format!("{field}: contains a NUL character")));
            }
            if text.len() > MAX_TEXT_BYTES {
                return Err(Rejection::new(
                    "not-storable",
                    format!("{field}: is {} bytes long; the history stores at most {MAX_TEXT_BYTES}", text.len()),
                ));
            }
            Ok(())
        }
        serde_json::Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(index, item)| within(path, &format!("[{index}]"), item))
        }
        serde_json::Value::Object(fields) => {
            fields.iter().try_for_each(|(name, field)| within(path, &format!(".{name}"), field))
        }
        _ => Ok(()),
    }
}
