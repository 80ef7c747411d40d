//! Kubernetes' naming rules: object names (RFC 1123 labels and subdomains) and label values. User
//! text becomes a name or a label only through these functions.

use std::sync::LazyLock;

use regex::Regex;

/// A CronJob's name leaves room for the 11 characters its controller appends to each Job's name.
pub const MAX_CRONJOB_NAME: usize = 52;
pub const MAX_LABEL: usize = 63;
const MAX_SUBDOMAIN: usize = 253;

static LABEL: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));

/// Compiles one of this crate's fixed patterns (each is exercised by the tests).
pub(crate) fn regex(pattern: &str) -> Regex {
    #[expect(clippy::expect_used, reason = "the patterns are constants, checked by the tests")]
    Regex::new(pattern).expect("a valid pattern")
}

/// Why `name` is not an RFC 1123 label of at most `max` characters, if it is not.
pub fn label_problem(name: &str, max: usize) -> Option<String> {
    if name.is_empty() {
        Some("is empty".to_owned())
    } else if name.len() > max {
        Some(format!("has {} characters, at most {max} are allowed", name.len()))
    } else if !LABEL.is_match(name) {
        Some("must be lower-case letters, digits and '-', starting and ending with a letter or digit".to_owned())
    } else {
        None
    }
}

/// Why `name` is not a DNS subdomain (the name of a Secret), if it is not.
pub fn subdomain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("is empty".to_owned())
    } else if name.len() > MAX_SUBDOMAIN {
        Some(format!("has {} characters, at most {MAX_SUBDOMAIN} are allowed", name.len()))
    } else if !SUBDOMAIN.is_match(name) {
        Some("must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit".to_owned())
    } else {
        None
    }
}

/// A deployment name made from an artifact's name: lower-cased, every run of other characters made
/// one '-', cut to `max`. `sales_ETL.v2` becomes `sales-etl-v2`.
pub fn generate(artifact: &str, max: usize) -> String {
    let mut name = String::with_capacity(artifact.len());
    for c in artifact.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.truncate(max);
    let name = name.trim_end_matches('-');
    if name.is_empty() { "job".to_owned() } else { name.to_owned() }
}

/// A label value carrying `text`: characters labels cannot hold become '-', cut to 63, starting
/// and ending with a letter or digit (possibly empty, which a label value may be).
pub fn label_value(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .take(MAX_LABEL)
        .collect();
    replaced.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

/// `value` in base 36 (digits and lower-case letters): short, and valid in a name.
pub fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
