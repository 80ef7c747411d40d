//! A Kubernetes run's container logs to the job history (`events::logs`): when the watcher sees the
//! fetch or runner container of a pod ended, its log is read through the API server (pods/log)
//! while the pod is still there, published, and recorded on the run's Job as an annotation
//! (`logs.job-orchestrator.io/<container>-<attempt>: <pod>`), so that a restarted deployer (or a
//! second replica) reading the same pods does not read their logs again. A pod gone before its
//! log was read is told to the history as such.

use common::job_log::Container;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{LogParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use tokio_util::compat::FuturesAsyncReadCompatExt;

use super::cluster::FIELD_MANAGER;
use super::manifests::{FETCH, RUNNER};
use super::status::{self, time};
use crate::events::logs::{LogArchiver, LogOf};

/// The prefix of the Job's annotations that record the logs archived.
const ARCHIVED: &str = "logs.job-orchestrator.io/";

/// A log to archive: which container of which pod, for which run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTask {
    pub job: String,
    pub pod: String,
    pub log: LogOf,
}

fn annotation(container: Container, attempt: u32) -> String {
    format!("{ARCHIVED}{}-{attempt}", container.as_str())
}

/// The ended containers of `pods` (oldest first: attempt 1, 2...) whose log the Job does not
/// record as archived; `job_id` is the run's id in the history.
pub fn ended_logs(job: &Job, pods: &[&Pod], job_id: &str) -> Vec<LogTask> {
    let annotations = job.metadata.annotations.as_ref();
    let mut tasks = Vec::new();
    for (index, pod) in pods.iter().enumerate() {
        let attempt = u32::try_from(index + 1).unwrap_or(u32::MAX);
        for (container, name, init) in [(Container::Fetch, FETCH, true), (Container::Runner, RUNNER, false)] {
            let ended = status::statuses(pod, init)
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.state.as_ref()?.terminated.as_ref());
            let Some(ended) = ended else { continue };
            let recorded = annotations.and_then(|a| a.get(&annotation(container, attempt)));
            if recorded.is_some_and(|pod_name| *pod_name == pod.name_any()) {
                continue;
            }
            let ended_at = time(ended.finished_at.as_ref()).unwrap_or_else(chrono::Utc::now);
            tasks.push(LogTask {
                job: job.name_any(),
                pod: pod.name_any(),
                log: LogOf { job_id: job_id.to_owned(), container, attempt, ended_at },
            });
        }
    }
    tasks
}

/// Reads the log, publishes it and records it on the Job; a failure is logged (a restarted
/// deployer tries again).
pub async fn archive(pods: Api<Pod>, jobs: Api<Job>, archiver: LogArchiver, task: LogTask) {
    let LogTask { job, pod, log } = task;
    let params = LogParams { container: Some(container_name(log.container).to_owned()), ..LogParams::default() };
    let published = match pods.log_stream(&pod, &params).await {
        Ok(stream) => archiver.archive(&log, stream.compat()).await.map(drop),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            archiver.unavailable(&log, &format!("the pod {pod} was gone before its log was read")).await
        }
        Err(error) => {
            tracing::warn!(%error, %pod, "cannot read a run's log; a restarted deployer tries again");
            return;
        }
    };
    if let Err(error) = published {
        tracing::error!(%error, %pod, container = log.container.as_str(), "a run's log was not archived");
        return;
    }
    let patch = serde_json::json!({"metadata": {"annotations": {annotation(log.container, log.attempt): pod}}});
    let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
    match jobs.patch(&job, &params, &Patch::Merge(&patch)).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => tracing::warn!(%error, %job, "cannot record a log as archived; it may be read again"),
    }
}

fn container_name(container: Container) -> &'static str {
    match container {
        Container::Fetch => FETCH,
        Container::Runner => RUNNER,
    }
}
