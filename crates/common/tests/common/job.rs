//! The job model's statuses.

use common::job::{ExitStatus, JobStatus, StatusChange};
use std::str::FromStr;
use strum::IntoEnumIterator;

#[test]
fn status_names_round_trip_through_serde_and_text() {
    for status in JobStatus::iter() {
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(json, format!("\"{status}\""));
        assert_eq!(JobStatus::from_str(status.name()).unwrap(), status);
    }
    for status in ExitStatus::iter() {
        assert_eq!(ExitStatus::from_str(status.name()).unwrap(), status);
    }
    assert_eq!(ExitStatus::FailedSetupExecutionEnvironment.name(), "FAILED_SETUP_EXECUTION_ENVIRONMENT");
    assert!(ExitStatus::from_str("killed").is_err(), "values are upper case, as in the original history service");
}

#[test]
fn equal_timestamps_sort_by_the_status_list() {
    let at = common::time::parse_rfc3339("2019-06-12T21:24:25.342Z").unwrap();
    let mut history = [
        StatusChange { status: JobStatus::Finished, timestamp: at },
        StatusChange { status: JobStatus::Scheduled, timestamp: at },
    ];
    history.sort_by(StatusChange::history_order);
    assert_eq!(history[0].status, JobStatus::Scheduled);
}
