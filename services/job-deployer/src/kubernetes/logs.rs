//! A run's log, from the kubelet of the node that ran its pod, through the API server. What the API
//! server would answer vaguely is told first from the pod's own status: a pod not yet on a node
//! (the API server answers 200 with nothing), a container still waiting to start or unable to
//! (a 400 whose message only the deployer's log kept); and a kubelet that cannot be reached is
//! told apart from the API server.

use futures_util::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;

use super::manifests::DEPLOYMENT_LABEL;
use super::status::{self, time};
use super::{Kubernetes, kube};
use crate::error::Error;
use crate::model::{Log, LogContainer, LogRequest};

pub(super) async fn read(kubernetes: &Kubernetes, name: &str, request: &LogRequest) -> Result<(String, Log), Error> {
    let cluster = &kubernetes.cluster;
    let mut jobs: Vec<Job> = cluster.list(&[(DEPLOYMENT_LABEL, name)]).await.map_err(kube("list the runs"))?;
    if jobs.is_empty() {
        kubernetes.ours(name).await?;
        return Err(Error::NoRunYet(name.to_owned()));
    }
    let pods: Vec<Pod> = cluster.list(&[(DEPLOYMENT_LABEL, name)]).await.map_err(kube("list the runs' pods"))?;
    jobs.sort_by_key(|job| {
        std::cmp::Reverse((time(job.metadata.creation_timestamp.as_ref()), job.metadata.name.clone()))
    });
    let job = match &request.run {
        Some(wanted) => jobs
            .into_iter()
            .find(|job| job.metadata.name.as_ref() == Some(wanted))
            .ok_or_else(|| Error::RunNotFound { deployment: name.to_owned(), run: wanted.clone() })?,
        None => jobs.into_iter().next().ok_or_else(|| Error::NoRunYet(name.to_owned()))?,
    };
    let run = job.metadata.name.clone().unwrap_or_default();
    let pod = status::pods_by_job(pods).remove(&run).and_then(|pods| pods.into_iter().next()).ok_or_else(|| {
        let why = status::failure_reason(&job, None).map(|why| format!(": {why}")).unwrap_or_default();
        Error::LogNotReady(format!("the run '{run}' has no pod yet{why}"))
    })?;
    let node = ready(&pod, request)?;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let (tail_lines, limit_bytes) = request.bounds();
    let params = LogParams {
        container: Some(request.container.as_str().to_owned()),
        tail_lines,
        since_seconds: request.since_seconds,
        limit_bytes,
        previous: request.previous,
        follow: request.follow,
        ..LogParams::default()
    };
    let failed = |error: kube::Error| log_error(&error, &run, &node);
    if params.follow {
        let lines = cluster.log_stream(&pod_name, &params).await.map_err(failed)?.lines();
        let body = lines.map(|line| line.map(|line| (line + "\n").into_bytes()));
        return Ok((run, Log::Follow(Box::pin(body))));
    }
    let text = cluster.logs(&pod_name, &params).await.map_err(failed)?;
    Ok((run, Log::Text(text)))
}

/// The pod's node when the container asked for has a log to read, else why not.
fn ready(pod: &Pod, request: &LogRequest) -> Result<String, Error> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let Some(node) = pod.spec.as_ref().and_then(|spec| spec.node_name.clone()) else {
        let why = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|conditions| conditions.iter().find(|c| c.type_ == "PodScheduled"))
            .and_then(|condition| condition.message.clone())
            .map(|message| format!(" ({message})"))
            .unwrap_or_default();
        return Err(Error::LogNotReady(format!("the run's pod '{pod_name}' is not on a node yet{why}")));
    };
    if request.previous {
        return Ok(node);
    }
    let container = request.container.as_str();
    let statuses = status::statuses(pod, request.container == LogContainer::Fetch);
    let Some(found) = statuses.iter().find(|c| c.name == container) else {
        return Err(Error::LogNotReady(format!("the {container} container of pod '{pod_name}' has not started yet")));
    };
    let never_ran = found.restart_count == 0 && found.last_state.as_ref().and_then(|s| s.terminated.as_ref()).is_none();
    if let Some(waiting) = found.state.as_ref().and_then(|state| state.waiting.as_ref())
        && never_ran
    {
        let reason = waiting.reason.clone().unwrap_or_default();
        let why = match (reason.as_str(), waiting.message.as_deref()) {
            ("PodInitializing", _) => "the fetch step has not finished".to_owned(),
            (reason, Some(message)) => format!("{reason}: {message}"),
            (reason, None) => reason.to_owned(),
        };
        return Err(Error::LogNotReady(format!(
            "the {container} container of pod '{pod_name}' has not started: {why}"
        )));
    }
    Ok(node)
}

/// A failed log call: the API server answered, so a failure behind it is the node's kubelet's.
fn log_error(error: &kube::Error, run: &str, node: &str) -> Error {
    match error {
        kube::Error::Api(status) if status.code == 400 && status.message.contains("waiting to start") => {
            Error::LogNotReady(status.message.clone())
        }
        kube::Error::Api(status) if status.code == 400 && status.message.contains("previous terminated container") => {
            Error::NoPreviousAttempt(run.to_owned())
        }
        kube::Error::Api(status) if status.code == 404 => {
            Error::LogNotReady(format!("the pod of the run '{run}' is gone, and its log with it"))
        }
        kube::Error::Api(status)
            if status.code >= 500
                && ["dial ", "kubelet", "10250", node].iter().any(|word| status.message.contains(word)) =>
        {
            tracing::error!(%error, node, "the kubelet does not give a log");
            Error::KubeletUnreachable { node: node.to_owned() }
        }
        _ => Error::kubernetes(error, "read the logs"),
    }
}
