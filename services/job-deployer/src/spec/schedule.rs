//! Cron schedules as the CronJob controller reads them, and their next times in a time zone.
//!
//! Kubernetes parses a CronJob's schedule with robfig/cron's standard parser: five fields (minute
//! hour day-of-month month day-of-week) of comma-separated items `*`, `?`, `N`, `N-M`, each with an
//! optional `/step` (`N/step` meaning `N-max/step`), month and day names in any case, day-of-week
//! 0 to 6 (7 is refused), and `@hourly` to `@yearly`. When day-of-month and day-of-week are both
//! restricted a day matching either fires; when either is `*` (or `?`, or `*/1`), both must match.
//! Each field is read here by those rules, with their bounds, then handed to croner, written so
//! that croner reads it the same way, to compute the times. A schedule with no time in the next
//! five years (the controller's own horizon), like `0 0 30 2 *`, never fires and is refused.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// How far ahead a schedule must fire, as robfig/cron looks (5 years).
const HORIZON_DAYS: i64 = 5 * 366;

/// A schedule that passed [`parse`] or [`parse_local`], and its text.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    text: String,
}

/// Reads `pattern` as Kubernetes does, or says why it cannot.
pub fn parse(pattern: &str) -> Result<CronSchedule, String> {
    parse_with(pattern, false)
}

/// Like [`parse`], and also with a leading seconds field (`*/5 * * * * *`): the local runtime
/// fires its own schedules and can run one every few seconds.
pub fn parse_local(pattern: &str) -> Result<CronSchedule, String> {
    parse_with(pattern, true)
}

/// One field's bounds and names.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: Field = Field { name: "second", min: 0, max: 59, names: &[] };
const MINUTE: Field = Field { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: Field = Field { name: "hour", min: 0, max: 23, names: &[] };
const DAY_OF_MONTH: Field = Field { name: "day-of-month", min: 1, max: 31, names: &[] };
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
const DAY_OF_WEEK: Field =
    Field { name: "day-of-week", min: 0, max: 6, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

fn parse_with(pattern: &str, seconds: bool) -> Result<CronSchedule, String> {
    let pattern = pattern.trim();
    let expanded = match pattern.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
        "@monthly" => "0 0 1 * *".to_owned(),
        "@weekly" => "0 0 * * 0".to_owned(),
        "@daily" | "@midnight" => "0 0 * * *".to_owned(),
        "@hourly" => "0 * * * *".to_owned(),
        other if other.starts_with('@') => {
            return Err(format!(
                "'{pattern}' is not a schedule: known shortcuts are @hourly, @daily, @weekly, @monthly, @yearly"
            ));
        }
        _ => pattern.to_owned(),
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let with_seconds = seconds && fields.len() == 6;
    if fields.len() != 5 && !with_seconds {
        let also = if seconds { " (or six, with seconds first)" } else { "" };
        return Err(format!(
            "'{pattern}' has {} fields; a schedule has five{also}: minute hour day-of-month month day-of-week",
            fields.len()
        ));
    }
    let kinds: &[Field] = if with_seconds {
        &[SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK]
    } else {
        &[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK]
    };
    let mut written = Vec::with_capacity(fields.len());
    for (text, field) in fields.iter().zip(kinds) {
        written.push(read_field(text, field).map_err(|why| format!("'{pattern}': {why}"))?);
    }
    let seconds = if with_seconds { Seconds::Required } else { Seconds::Disallowed };
    let parser = CronParser::builder().seconds(seconds).year(Year::Disallowed).build();
    parser
        .parse(&written.join(" "))
        .map(|cron| CronSchedule { cron, text: pattern.to_owned() })
        .map_err(|error| format!("'{pattern}' is not a schedule: {error}"))
}

/// One field as robfig/cron reads it, written back for croner: numeric ranges with their step,
/// and `*` for a day field robfig counts as unrestricted.
fn read_field(text: &str, field: &Field) -> Result<String, String> {
    let mut items = Vec::new();
    let mut unrestricted = false;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("the {} field '{text}' has an empty item", field.name));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                if step.contains('/') {
                    return Err(format!("'{item}' has too many '/'"));
                }
                (range, Some(number(step, item)?))
            }
            None => (item, None),
        };
        let (start, end, star) = if range == "*" || range == "?" {
            (field.min, field.max, true)
        } else {
            let mut bounds = range.split('-');
            let start = value(bounds.next().unwrap_or_default(), field, item)?;
            let end = match (bounds.next(), bounds.next()) {
                (None, _) => None,
                (Some(end), None) => Some(value(end, field, item)?),
                (Some(_), Some(_)) => return Err(format!("'{item}' has too many '-'")),
            };
            // `N/step` means from N to the field's end.
            let end = end.unwrap_or(if step.is_some() { field.max } else { start });
            (start, end, false)
        };
        let step = step.unwrap_or(1);
        if start < field.min {
            return Err(format!("in '{item}', {start} is below the {}'s minimum {}", field.name, field.min));
        }
        if end > field.max {
            let hint = if field.name == "day-of-week" && end == 7 { " (Sunday is 0)" } else { "" };
            return Err(format!("in '{item}', {end} is above the {}'s maximum {}{hint}", field.name, field.max));
        }
        if start > end {
            return Err(format!("in '{item}', the range starts after it ends ({start} > {end})"));
        }
        if step == 0 {
            return Err(format!("in '{item}', the step must be a positive number"));
        }
        unrestricted |= star && step == 1;
        items.push(if start == end { start.to_string() } else { format!("{start}-{end}/{step}") });
    }
    let day_field = field.name == DAY_OF_MONTH.name || field.name == DAY_OF_WEEK.name;
    Ok(if unrestricted && day_field { "*".to_owned() } else { items.join(",") })
}

fn number(text: &str, item: &str) -> Result<u32, String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("in '{item}', '{text}' is not a number"));
    }
    text.parse().map_err(|_| format!("in '{item}', '{text}' is too large"))
}

fn value(text: &str, field: &Field, item: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = field.names.iter().position(|name| *name == lower) {
        return Ok(u32::try_from(index).unwrap_or_default() + field.min);
    }
    if text.chars().any(|c| c.is_ascii_alphabetic()) {
        let known = match (field.names.first(), field.names.last()) {
            (Some(first), Some(last)) => format!(" ({first} to {last})"),
            _ => String::new(),
        };
        return Err(format!("'{text}' is neither a number nor a {} name{known}", field.name));
    }
    number(text, item)
}

/// The IANA time zone named `name`, or why there is none.
pub fn time_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| format!("'{name}' is not an IANA time zone (like Europe/Paris or UTC)"))
}

impl CronSchedule {
    /// The first time after `after` that the schedule names, read in `zone`.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let next = self.cron.find_next_occurrence(&after.with_timezone(&zone), false).ok()?.with_timezone(&Utc);
        (next - after <= chrono::Duration::days(HORIZON_DAYS)).then_some(next)
    }

    /// The next `count` times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, zone: Tz, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count);
        let mut from = after;
        while times.len() < count {
            let Some(next) = self.next_after(from, zone) else { break };
            times.push(next);
            from = next;
        }
        times
    }

    /// Why the schedule never fires (no time in the controller's five years), if it does not.
    pub fn never_fires(&self, zone: Tz) -> Option<String> {
        self.next_after(Utc::now(), zone)
            .is_none()
            .then(|| format!("'{}' names no time in the next five years: it would never run", self.text))
    }
}
