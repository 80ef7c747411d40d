//! Cron schedules as the CronJob controller reads them (five fields, names of months and days,
//! `@hourly` to `@yearly`), and their next time in the CronJob's time zone.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A schedule that passed [`parse`].
#[derive(Debug, Clone)]
pub struct CronSchedule(Cron);

/// Reads `pattern` as Kubernetes does, or says why it cannot. croner alone accepts more than the
/// controller (seconds, years, `L`, `W`, `#`): those are refused here, not at the first run.
pub fn parse(pattern: &str) -> Result<CronSchedule, String> {
    parse_with(pattern, false)
}

/// Like [`parse`], and also with a leading seconds field (`*/5 * * * * *`): the local runtime
/// fires its own schedules and can run one every few seconds.
pub fn parse_local(pattern: &str) -> Result<CronSchedule, String> {
    parse_with(pattern, true)
}

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
    const NAMES: [&str; 19] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "SUN", "MON", "TUE", "WED",
        "THU", "FRI", "SAT",
    ];
    for field in &fields {
        let words = field.split(|c: char| !c.is_ascii_alphabetic()).filter(|word| !word.is_empty());
        if let Some(word) = words.into_iter().find(|word| !NAMES.contains(&word.to_ascii_uppercase().as_str())) {
            return Err(format!("'{pattern}': '{word}' is neither a number nor a month or day name"));
        }
        if let Some(c) =
            field.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?')))
        {
            return Err(format!("'{pattern}': the character '{c}' has no meaning in a schedule"));
        }
    }
    let seconds = if with_seconds { Seconds::Required } else { Seconds::Disallowed };
    let parser = CronParser::builder().seconds(seconds).year(Year::Disallowed).build();
    parser.parse(&fields.join(" ")).map(CronSchedule).map_err(|error| format!("'{pattern}' is not a schedule: {error}"))
}

/// The IANA time zone named `name`, or why there is none.
pub fn time_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| format!("'{name}' is not an IANA time zone (like Europe/Paris or UTC)"))
}

impl CronSchedule {
    /// The first time after `after` that the schedule names, read in `zone`.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        self.0.find_next_occurrence(&after.with_timezone(&zone), false).ok().map(|next| next.with_timezone(&Utc))
    }
}
