//! From a message of the logs topic to a [`LogMessage`], or the reason it goes to the dead-letter
//! topic (the contract's rule 5), with the same kinds as the job events'.

use common::job_log::LogMessage;

use crate::decode::Rejection;

/// Reads one message value.
pub fn decode(payload: Option<&[u8]>) -> Result<LogMessage, Rejection> {
    let payload = payload.ok_or_else(|| rejection("no-value", "the message has no value".to_owned()))?;
    // The reading is strict and in one pass; only a refusal looks again to say what kind it is.
    LogMessage::from_json(payload).map_err(|error| {
        if let Err(error) = std::str::from_utf8(payload) {
            rejection("not-utf8", format!("not UTF-8: {error}"))
        } else if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
            rejection("not-json", format!("not JSON: {error}"))
        } else if error.field == "schemaVersion" {
            rejection("unsupported-schema-version", error.to_string())
        } else {
            rejection("schema", error.to_string())
        }
    })
}

fn rejection(kind: &'static str, reason: String) -> Rejection {
    Rejection { kind, reason }
}
