//! What the API shows of a local deployment and its runs, from their records.

use chrono::{DateTime, Utc};
use common::job::ExitStatus;

use super::store::{DeploymentRecord, RunRecord};
use crate::kubernetes::manifests::name_of;
use crate::model::{ContainerState, DeploymentState, DeploymentSummary, Run, RunState};
use crate::spec::schedule;

pub(super) fn container_state(run: Option<&RunRecord>) -> ContainerState {
    let Some(run) = run else { return ContainerState::Scheduled };
    match (&run.finished, run.attempts.last()) {
        (Some(finish), _) if finish.exit_status == ExitStatus::Success => ContainerState::Stopped,
        (Some(_), _) => ContainerState::Failed,
        (None, Some(attempt)) if attempt.executing_at.is_some() && attempt.ended_at.is_none() => {
            ContainerState::Running
        }
        (None, Some(_)) => ContainerState::Initiated,
        (None, None) => ContainerState::Scheduled,
    }
}

pub(super) fn run_view(run: &RunRecord) -> Run {
    let state = match (&run.finished, container_state(Some(run))) {
        (Some(finish), _) if finish.exit_status == ExitStatus::Success => RunState::Succeeded,
        (Some(_), _) => RunState::Failed,
        (None, ContainerState::Running) => RunState::Running,
        (None, _) => RunState::Pending,
    };
    Run {
        name: run.name.clone(),
        state,
        container_state: container_state(Some(run)),
        manual: run.manual,
        triggered_by: Some(run.triggered_by.clone()),
        started_at: run.attempts.first().map(|attempt| attempt.started_at),
        finished_at: run.finished.as_ref().map(|finish| finish.at),
        exit_code: run.attempts.last().and_then(|attempt| attempt.exit_code).and_then(|code| i32::try_from(code).ok()),
        failure_reason: run.finished.as_ref().and_then(|finish| finish.reason.clone()),
        pod: None,
    }
}

pub(super) fn summary(record: &DeploymentRecord, latest: Option<&RunRecord>, now: DateTime<Utc>) -> DeploymentSummary {
    let spec = &record.spec;
    let resource = &spec.resource;
    let schedule = spec.schedule.as_ref();
    let next_run = schedule.filter(|_| !record.suspended).and_then(|schedule| {
        let zone = schedule.time_zone.as_deref().map_or(Ok(chrono_tz::UTC), schedule::time_zone).ok()?;
        schedule::parse_local(&schedule.cron).ok()?.next_after(now, zone)
    });
    let state = match (schedule, latest.and_then(|run| run.finished.as_ref())) {
        (Some(_), _) if record.suspended => DeploymentState::Inactive,
        (Some(_), _) | (None, None) => DeploymentState::Active,
        (None, Some(_)) => DeploymentState::Inactive,
    };
    DeploymentSummary {
        name: name_of(spec).to_owned(),
        kind: spec.kind(),
        deployed_at: Some(record.deployed_at),
        deployed_by: Some(record.deployed_by.clone()),
        owner: Some(record.owner.clone()),
        state,
        container_state: container_state(latest),
        image: spec.runner.image.clone(),
        resource: format!("{}/{}:{}:{}", resource.repository, resource.group, resource.name, resource.version),
        schedule: schedule.map(|schedule| schedule.cron.clone()),
        time_zone: schedule.and_then(|schedule| schedule.time_zone.clone()),
        last_run: match schedule {
            Some(_) => record.last_scheduled,
            None => latest.map(|run| run.scheduled_at),
        },
        next_run,
        last_failure: latest.and_then(|run| run.finished.as_ref()).and_then(|finish| finish.reason.clone()),
        revision: record.revision,
        description: spec.description.clone(),
    }
}
