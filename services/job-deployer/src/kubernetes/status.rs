//! What the API shows of a deployment and its runs, read from the Kubernetes objects. The original
//! tool's container states (see [`ContainerState`]) come from the latest run's pod.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::manifests::{self, Workload};
use crate::model::{ContainerState, DeploymentDetail, DeploymentState, DeploymentSummary, Run, RunState};
use crate::spec::{DeploymentSpec, schedule};

/// The spec kept on the workload.
pub fn kept_spec(workload: &Workload) -> Option<DeploymentSpec> {
    let text = workload.annotation(manifests::SPEC_ANNOTATION)?;
    DeploymentSpec::from_kept(serde_json::from_str(&text).ok()?).ok()
}

fn job_finished(job: &Job) -> Option<bool> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().filter(|condition| condition.status == "True").find_map(|condition| {
        match condition.type_.as_str() {
            "Complete" => Some(true),
            "Failed" => Some(false),
            _ => None,
        }
    })
}

pub(crate) fn time(value: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<DateTime<Utc>> {
    let at = value?.0;
    DateTime::from_timestamp(at.as_second(), u32::try_from(at.subsec_nanosecond()).unwrap_or(0))
}

/// The pods of each Job (by the Job's name), newest first.
pub fn pods_by_job(pods: Vec<Pod>) -> BTreeMap<String, Vec<Pod>> {
    let mut by_job: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods {
        let owner =
            pod.metadata.owner_references.as_ref().and_then(|owners| owners.iter().find(|owner| owner.kind == "Job"));
        if let Some(owner) = owner {
            by_job.entry(owner.name.clone()).or_default().push(pod);
        }
    }
    for pods in by_job.values_mut() {
        pods.sort_by_key(|pod| std::cmp::Reverse(time(pod.metadata.creation_timestamp.as_ref())));
    }
    by_job
}

pub(crate) fn statuses(pod: &Pod, init: bool) -> &[ContainerStatus] {
    let status = pod.status.as_ref();
    let list = if init {
        status.and_then(|s| s.init_container_statuses.as_ref())
    } else {
        status.and_then(|s| s.container_statuses.as_ref())
    };
    list.map(Vec::as_slice).unwrap_or_default()
}

pub(crate) const START_FAILURES: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
];

pub fn container_state(pod: Option<&Pod>) -> ContainerState {
    let Some(pod) = pod else { return ContainerState::Scheduled };
    let status = pod.status.as_ref();
    let waiting_on_error = statuses(pod, true).iter().chain(statuses(pod, false)).any(|container| {
        let waiting = container.state.as_ref().and_then(|state| state.waiting.as_ref());
        waiting.and_then(|waiting| waiting.reason.as_deref()).is_some_and(|reason| START_FAILURES.contains(&reason))
    });
    match status.and_then(|status| status.phase.as_deref()) {
        Some("Running") => ContainerState::Running,
        Some("Succeeded") => ContainerState::Stopped,
        Some("Failed" | "Unknown") => ContainerState::Failed,
        _ if waiting_on_error => ContainerState::Failed,
        _ => {
            let placed = status
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"));
            if placed { ContainerState::Initiated } else { ContainerState::Scheduled }
        }
    }
}

/// Why a run failed, in words, from its Job's conditions and its latest pod.
pub fn failure_reason(job: &Job, pod: Option<&Pod>) -> Option<String> {
    if let Some(why) = job.metadata.annotations.as_ref().and_then(|a| a.get(manifests::SETUP_FAILURE_ANNOTATION)) {
        return Some(why.clone());
    }
    let failed = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Failed" && c.status == "True"));
    if failed.is_some_and(|condition| condition.reason.as_deref() == Some("DeadlineExceeded")) {
        return Some("deadline exceeded: the run took longer than its activeDeadlineSeconds".to_owned());
    }
    if let Some(reason) = pod.and_then(pod_failure) {
        return Some(reason);
    }
    failed.map(|condition| match (&condition.reason, &condition.message) {
        (Some(reason), Some(message)) => format!("{reason}: {message}"),
        (Some(reason), None) => reason.clone(),
        _ => "failed".to_owned(),
    })
}

fn pod_failure(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if status.reason.as_deref() == Some("Evicted") {
        return Some(
            format!("evicted: {}", status.message.clone().unwrap_or_default()).trim_end_matches(": ").to_owned(),
        );
    }
    for container in statuses(pod, true).iter().chain(statuses(pod, false)) {
        let state = container.state.as_ref();
        if let Some(waiting) = state.and_then(|state| state.waiting.as_ref())
            && let Some(reason) = waiting.reason.as_deref().filter(|reason| START_FAILURES.contains(reason))
        {
            let what = if reason.contains("Image") { "image pull error" } else { "cannot start" };
            return Some(format!("{what}: {reason} ({})", waiting.message.clone().unwrap_or_default()));
        }
        let Some(ended) = state.and_then(|state| state.terminated.as_ref()).filter(|ended| ended.exit_code != 0) else {
            continue;
        };
        if container.name == manifests::FETCH {
            let message = ended.message.clone().unwrap_or_default();
            return Some(if message.starts_with("fetch failed") {
                message
            } else {
                format!("fetch failed: exit code {}", ended.exit_code)
            });
        }
        if ended.reason.as_deref() == Some("OOMKilled") {
            return Some("out of memory (OOMKilled)".to_owned());
        }
        return Some(format!("exited with code {}", ended.exit_code));
    }
    None
}

fn runner_exit_code(pod: &Pod) -> Option<i32> {
    statuses(pod, false)
        .iter()
        .find(|c| c.name == manifests::RUNNER)
        .and_then(|c| c.state.as_ref()?.terminated.as_ref())
        .map(|t| t.exit_code)
}

pub fn run(job: &Job, pods: &[Pod]) -> Run {
    let pod = pods.first();
    let finished = job_finished(job);
    let status = job.status.as_ref();
    let state = match finished {
        Some(true) => RunState::Succeeded,
        Some(false) => RunState::Failed,
        None if status.and_then(|s| s.active).unwrap_or(0) > 0
            && pod.is_some_and(|p| container_state(Some(p)) == ContainerState::Running) =>
        {
            RunState::Running
        }
        None => RunState::Pending,
    };
    let manual = job
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(manifests::INSTANTIATE_ANNOTATION.0))
        .is_some_and(|v| v == manifests::INSTANTIATE_ANNOTATION.1);
    let mut container_state = container_state(pod);
    if finished == Some(false) {
        container_state = ContainerState::Failed;
    }
    Run {
        name: job.metadata.name.clone().unwrap_or_default(),
        state,
        container_state,
        manual,
        triggered_by: job.metadata.annotations.as_ref().and_then(|a| a.get(manifests::DEPLOYED_BY_ANNOTATION)).cloned(),
        started_at: time(status.and_then(|s| s.start_time.as_ref())),
        finished_at: time(status.and_then(|s| s.completion_time.as_ref())).or_else(|| {
            finished
                .and_then(|_| {
                    status?.conditions.as_ref()?.iter().find(|c| c.status == "True")?.last_transition_time.as_ref()
                })
                .and_then(|t| time(Some(t)))
        }),
        exit_code: pod.and_then(runner_exit_code),
        failure_reason: if finished == Some(true) { None } else { failure_reason(job, pod) },
        pod: pod.and_then(|pod| pod.metadata.name.clone()),
    }
}

/// The runs of one deployment, newest first.
pub fn runs(jobs: Vec<Job>, pods: Vec<Pod>) -> Vec<Run> {
    let by_job = pods_by_job(pods);
    let mut jobs = jobs;
    jobs.sort_by_key(|job| {
        std::cmp::Reverse((time(job.metadata.creation_timestamp.as_ref()), job.metadata.name.clone()))
    });
    jobs.iter()
        .map(|job| {
            run(
                job,
                by_job.get(job.metadata.name.as_deref().unwrap_or_default()).map(Vec::as_slice).unwrap_or_default(),
            )
        })
        .collect()
}

/// The runs of every deployment (by the deployment label), newest first.
pub fn runs_by_deployment(jobs: Vec<Job>, pods: Vec<Pod>) -> BTreeMap<String, Vec<Run>> {
    let mut jobs_by_deployment: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        if let Some(deployment) = job.metadata.labels.as_ref().and_then(|l| l.get(manifests::DEPLOYMENT_LABEL)) {
            jobs_by_deployment.entry(deployment.clone()).or_default().push(job);
        }
    }
    let mut pods_by_deployment: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods {
        if let Some(deployment) = pod.metadata.labels.as_ref().and_then(|l| l.get(manifests::DEPLOYMENT_LABEL)) {
            pods_by_deployment.entry(deployment.clone()).or_default().push(pod);
        }
    }
    jobs_by_deployment
        .into_iter()
        .map(|(deployment, jobs)| {
            let pods = pods_by_deployment.remove(&deployment).unwrap_or_default();
            (deployment, runs(jobs, pods))
        })
        .collect()
}

/// The list line of `workload`, given its latest run.
pub fn summary(workload: &Workload, latest: Option<&Run>, now: DateTime<Utc>) -> DeploymentSummary {
    let spec = kept_spec(workload);
    let resource = spec.as_ref().map(|spec| {
        let r = &spec.resource;
        format!("{}/{}:{}:{}", r.repository, r.group, r.name, r.version)
    });
    let (state, schedule, time_zone, last_run, next_run) = match workload {
        Workload::CronJob(cron_job) => cron_job_view(cron_job, now),
        Workload::Job(job) => {
            let state = if job_finished(job).is_some() { DeploymentState::Inactive } else { DeploymentState::Active };
            (state, None, None, time(job.status.as_ref().and_then(|s| s.start_time.as_ref())), None)
        }
    };
    DeploymentSummary {
        name: workload.name().to_owned(),
        kind: workload.kind(),
        deployed_at: workload
            .annotation(manifests::DEPLOYED_AT_ANNOTATION)
            .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
            .map(|at| at.with_timezone(&Utc)),
        deployed_by: workload.annotation(manifests::DEPLOYED_BY_ANNOTATION),
        owner: workload.annotation(manifests::OWNER_ANNOTATION),
        state,
        container_state: latest.map_or(ContainerState::Scheduled, |run| run.container_state),
        image: spec.as_ref().map(|spec| spec.runner.image.clone()).unwrap_or_default(),
        resource: resource.unwrap_or_default(),
        schedule,
        time_zone,
        last_run,
        next_run,
        last_failure: latest.and_then(|run| run.failure_reason.clone()),
        revision: workload.revision(),
        description: spec.and_then(|spec| spec.description),
    }
}

/// The detail of `workload`, given its runs (newest first).
pub fn detail(workload: &Workload, runs: &[Run], now: DateTime<Utc>) -> DeploymentDetail {
    let active_runs = match workload {
        Workload::CronJob(cron_job) => cron_job.status.as_ref().and_then(|s| s.active.as_ref()).map_or(0, Vec::len),
        Workload::Job(job) => {
            job.status.as_ref().and_then(|s| s.active).map_or(0, |active| usize::try_from(active).unwrap_or(0))
        }
    };
    DeploymentDetail {
        summary: summary(workload, runs.first(), now),
        suspended: workload.suspended(),
        suspend_reason: workload.annotation(manifests::SUSPEND_REASON_ANNOTATION).filter(|_| workload.suspended()),
        spec: kept_spec(workload),
        active_runs,
        warnings: Vec::new(),
    }
}

type CronView = (DeploymentState, Option<String>, Option<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn cron_job_view(cron_job: &CronJob, now: DateTime<Utc>) -> CronView {
    let spec = cron_job.spec.as_ref();
    let suspended = spec.and_then(|spec| spec.suspend).unwrap_or(false);
    let pattern = spec.map(|spec| spec.schedule.clone());
    let zone_name = spec.and_then(|spec| spec.time_zone.clone());
    let zone = zone_name.as_deref().map_or(Ok(chrono_tz::UTC), schedule::time_zone);
    let next_run = match (&pattern, zone, suspended) {
        (Some(pattern), Ok(zone), false) => schedule::parse(pattern).ok().and_then(|cron| cron.next_after(now, zone)),
        _ => None,
    };
    let last_run = time(cron_job.status.as_ref().and_then(|s| s.last_schedule_time.as_ref()));
    let state = if suspended { DeploymentState::Inactive } else { DeploymentState::Active };
    (state, pattern, zone_name, last_run, next_run)
}
