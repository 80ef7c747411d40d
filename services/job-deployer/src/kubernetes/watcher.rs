//! Watches the Jobs and pods the deployer made (kube-runtime's watcher, on the deployer's labels)
//! and reports every run as job events.
//!
//! Each change of a Job or of one of its pods makes the run's [`RunReport`] again from what
//! Kubernetes holds now, and the events not yet published go out. Because the report only uses the
//! times Kubernetes recorded, a restarted deployer (or a second replica) re-lists, makes the same
//! events with the same ids, and so catches up on what it missed without ever inventing a second
//! version of a fact.
//!
//! How a run ends (the first rule that holds). The Job's own record comes first: it is what every
//! reader sees alike, also after the pods are gone.
//!
//! | what Kubernetes shows | exitStatus |
//! |---|---|
//! | the deployer ended the run (annotations, see below) | FAILED_SETUP_EXECUTION_ENVIRONMENT |
//! | Job `Complete` | SUCCESS (exit code 0) |
//! | Job `Failed` with `DeadlineExceeded` | KILLED |
//! | Job `Failed` by the pod failure policy (the fetch found a wrong resource) | FAILED_SETUP_EXECUTION_ENVIRONMENT |
//! | Job `Failed` otherwise, and its last pod, once ended or gone: | |
//! | - the fetch init container failed, or a container could not start | FAILED_SETUP_EXECUTION_ENVIRONMENT |
//! | - the pod was evicted | LOST |
//! | - the runner was OOMKilled | KILLED (with its exit code) |
//! | - the runner never ended (the pod vanished), or no pod at all | LOST |
//! | - the runner exited non-zero | EXECUTION_ERROR (with its exit code) |
//! | the Job was deleted before it ended (the deployment deleted, a run replaced) | KILLED |
//!
//! A container that cannot start (an image that cannot be pulled, a missing Secret) leaves its pod
//! waiting for ever: the kubelet retries. So does a Job whose pod Kubernetes refuses to make (a
//! namespace's Pod Security level, a quota): the Job controller retries, and records why only as
//! `FailedCreate` events. After a grace period (`JOB_DEPLOYER_START_FAILURE_GRACE_SECS`) the
//! deployer ends such a run itself: it records when and why on the Job (annotations), which makes
//! the run FINISHED with FAILED_SETUP_EXECUTION_ENVIRONMENT at that time, and lowers the Job's
//! `activeDeadlineSeconds` so that Kubernetes stops it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::job::ExitStatus;
use common::job_log::Container;
use futures_util::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use kube::api::ListParams;
use kube::api::{Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::archive::{self, LogTask};
use super::cluster::{FIELD_MANAGER, selector};
use super::manifests::{self, DEPLOYMENT_LABEL};
use super::status::{self, START_FAILURES, time};
use crate::events::logs::LogArchiver;
use crate::events::{self, Attempt, EnvValue, Finish, Publisher, RunReport};
use crate::spec::WorkloadKind;

/// How often the runs going on are looked at again (a container's failure to start, a failed Job
/// without a pod, change nothing that a watch would show).
const RECHECK: Duration = Duration::from_secs(10);
/// How long a failed Job without any pod seen waits for the pods' stream (a stream of its own, which
/// may lag) before its run is reported lost.
const POD_WAIT: Duration = Duration::from_secs(30);

/// Watches `namespace` until `stop`, publishing through `publisher` (and each ended container's log
/// through `archiver`, when given); ends the runs whose container cannot start for
/// `start_failure_grace`.
pub async fn watch(
    client: Client,
    namespace: String,
    publisher: Publisher,
    archiver: Option<LogArchiver>,
    start_failure_grace: Duration,
    stop: CancellationToken,
) -> Result<(), String> {
    let jobs_api = Api::<Job>::namespaced(client.clone(), &namespace);
    let pods_api = Api::<Pod>::namespaced(client.clone(), &namespace);
    let events_api = Api::<KubeEvent>::namespaced(client.clone(), &namespace);
    let config = watcher::Config::default().labels(&selector(&[]));
    let jobs = watcher::watcher(Api::<Job>::namespaced(client.clone(), &namespace), config.clone())
        .default_backoff()
        .map(|event| event.map(Change::Job));
    let pods = watcher::watcher(Api::<Pod>::namespaced(client, &namespace), config)
        .default_backoff()
        .map(|event| event.map(Change::Pod));
    let mut changes = std::pin::pin!(futures_util::stream::select(jobs, pods));
    let mut runs = Runs::new(publisher, chrono::Duration::from_std(start_failure_grace).unwrap_or_default());
    runs.archiving = archiver.is_some();
    let mut recheck = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            _ = recheck.tick() => runs.recheck(),
            change = changes.next() => match change {
                Some(Ok(change)) => runs.change(change, Utc::now()),
                // The backoff retries; the error is worth a line (a missing permission, say).
                Some(Err(error)) => tracing::warn!(%error, "watching the runs failed; retrying"),
                None => return Err("the watch of the runs ended".to_owned()),
            },
        }
        // A log is read while its pod is there: beside the watch, which must not wait for it.
        for task in runs.take_logs() {
            if let Some(archiver) = &archiver {
                tokio::spawn(archive::archive(pods_api.clone(), jobs_api.clone(), archiver.clone(), task));
            }
        }
        for Probe { run, job } in runs.take_probes() {
            let uid = job.metadata.uid.clone().unwrap_or_default();
            let failed = ListParams::default().fields(&format!("involvedObject.uid={uid},reason=FailedCreate"));
            match events_api.list(&failed).await {
                Ok(events) => {
                    let latest = events.items.iter().max_by_key(|event| event.last_timestamp.as_ref().map(|t| t.0));
                    if let Some(message) = latest.and_then(|event| event.message.clone()) {
                        let why = format!("cannot create its pod: {message}");
                        runs.stops.push(Stop {
                            run: run.clone(),
                            job: job.name_any(),
                            patch: ending(&job, &why, Utc::now()),
                        });
                        runs.stopping.insert(run);
                    }
                }
                Err(error) => tracing::warn!(%error, job = %job.name_any(), "cannot read why a run has no pod"),
            }
        }
        for Stop { run, job, patch } in runs.take_stops() {
            let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
            match jobs_api.patch(&job, &params, &Patch::Merge(&patch)).await {
                Ok(_) => tracing::info!(%job, "run ended: a container cannot start"),
                // Tried again at the next look, unless the Job is gone or ended meanwhile.
                Err(error) => {
                    tracing::warn!(%error, %job, "cannot end a run whose container cannot start");
                    runs.stopping.remove(&run);
                }
            }
        }
    }
}

/// A watch event of either kind.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one change at a time is held: boxing would buy nothing")]
enum Change {
    Job(Event<Job>),
    Pod(Event<Pod>),
}

/// What identifies an object across its life: its uid (a Job deleted and made again under the same
/// name is another run).
fn uid<K: kube::Resource>(object: &K) -> String {
    object.meta().uid.clone().unwrap_or_else(|| object.name_any())
}

/// The uid of the Job a pod belongs to.
fn job_of(pod: &Pod) -> Option<String> {
    let owners = pod.metadata.owner_references.as_ref()?;
    owners.iter().find(|owner| owner.kind == "Job").map(|owner| owner.uid.clone())
}

/// The runs known (by their Job's uid), and what was published of each.
#[derive(Debug)]
struct Runs {
    publisher: Publisher,
    jobs: HashMap<String, Job>,
    /// Jobs deleted, with when: the pods' watch is a stream of its own and may tell later what a
    /// deleted run's pod did before, so a deleted run is kept until its pods are gone.
    deleted: HashMap<String, (Job, Deleted)>,
    /// The deleted runs, oldest first, so that the oldest go when there are too many.
    deleted_order: VecDeque<String>,
    pods: Pods,
    /// Pods deleted before their Job was seen (the other stream may lag), oldest first: kept as
    /// they were last until their Job comes.
    gone_pods: VecDeque<String>,
    /// The ids of the events published, per run.
    published: HashMap<String, HashSet<String>>,
    /// Objects listed since the watch (re)started; the others are gone.
    listing_jobs: Option<HashSet<String>>,
    listing_pods: Option<HashSet<String>>,
    /// How long a container may fail to start before the deployer ends its run.
    start_failure_grace: chrono::Duration,
    /// Runs to end, and those being ended.
    stops: Vec<Stop>,
    stopping: HashSet<String>,
    /// Since when each failed run has had fewer pods seen than Kubernetes counted.
    missing_pods_since: HashMap<String, tokio::time::Instant>,
    /// Runs without any pod past the grace, whose events say whether Kubernetes cannot make it,
    /// and when each was last asked about.
    probes: Vec<Probe>,
    probed: HashMap<String, tokio::time::Instant>,
    /// Whether ended containers' logs are archived; those to read, and those taken, per run.
    archiving: bool,
    logs: Vec<LogTask>,
    logs_taken: HashMap<String, HashSet<(Container, u32)>>,
}

/// A run whose Job has made no pod for longer than the grace: its `FailedCreate` events are read.
#[derive(Debug)]
struct Probe {
    run: String,
    job: Job,
}

/// A Job as kept: without what no report reads (the field managers' records, the kept spec, the
/// fetch step and the volumes), which is most of it; a namespace can hold thousands.
fn slim_job(mut job: Job) -> Job {
    job.metadata.managed_fields = None;
    if let Some(annotations) = job.metadata.annotations.as_mut() {
        annotations.remove(manifests::SPEC_ANNOTATION);
    }
    if let Some(pod) = job.spec.as_mut().and_then(|spec| spec.template.spec.as_mut()) {
        pod.init_containers = None;
        pod.volumes = None;
    }
    job
}

/// A pod as kept: its spec only for the node's name, and no field managers' records.
fn slim_pod(mut pod: Pod) -> Pod {
    pod.metadata.managed_fields = None;
    if let Some(spec) = pod.spec.as_mut() {
        *spec = k8s_openapi::api::core::v1::PodSpec { node_name: spec.node_name.take(), ..Default::default() };
    }
    pod
}

/// A run the deployer ends: its uid, its Job's name, and the merge patch that ends it.
#[derive(Debug)]
struct Stop {
    run: String,
    job: String,
    patch: serde_json::Value,
}

/// The pods known, by uid, with the index of each run's: every change of a run looks up its pods,
/// which a scan of all pods would make quadratic in the runs (a deployer catching up on 5,000 runs
/// took 6 s, 20,000 minutes).
#[derive(Debug, Default)]
struct Pods {
    by_key: HashMap<String, Pod>,
    by_run: HashMap<String, HashSet<String>>,
}

impl Pods {
    fn insert(&mut self, key: String, pod: Pod) {
        if let Some(run) = job_of(&pod) {
            self.by_run.entry(run).or_default().insert(key.clone());
        }
        self.by_key.insert(key, pod);
    }

    fn remove(&mut self, key: &str) {
        let Some(pod) = self.by_key.remove(key) else { return };
        if let Some(run) = job_of(&pod)
            && let Some(keys) = self.by_run.get_mut(&run)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.by_run.remove(&run);
            }
        }
    }

    fn of_run(&self, run: &str) -> impl Iterator<Item = &Pod> {
        self.by_run.get(run).into_iter().flatten().filter_map(|key| self.by_key.get(key))
    }

    fn remove_run(&mut self, run: &str) {
        for key in self.by_run.remove(run).unwrap_or_default() {
            self.by_key.remove(&key);
        }
    }
}

/// When a Job was deleted: as Kubernetes recorded it (`deletionTimestamp`), or, for a Job removed
/// at once, as this deployer saw it.
#[derive(Debug, Clone, Copy)]
enum Deleted {
    Recorded(DateTime<Utc>),
    Seen(DateTime<Utc>),
}

impl Runs {
    fn new(publisher: Publisher, start_failure_grace: chrono::Duration) -> Runs {
        Runs {
            publisher,
            jobs: HashMap::new(),
            deleted: HashMap::new(),
            deleted_order: VecDeque::new(),
            pods: Pods::default(),
            gone_pods: VecDeque::new(),
            published: HashMap::new(),
            listing_jobs: None,
            listing_pods: None,
            start_failure_grace,
            stops: Vec::new(),
            stopping: HashSet::new(),
            missing_pods_since: HashMap::new(),
            probes: Vec::new(),
            probed: HashMap::new(),
            archiving: false,
            logs: Vec::new(),
            logs_taken: HashMap::new(),
        }
    }

    /// Looks again at the runs not yet reported ended: a container's failure to start outlasting its
    /// grace, or the wait for a failed run's pods running out, are not changes a watch would show.
    fn recheck(&mut self) {
        let ended =
            |run: &String| self.published.get(run).is_some_and(|ids| ids.iter().any(|id| id.contains("/FINISHED/")));
        let runs: Vec<String> = self.jobs.keys().filter(|run| !ended(run)).cloned().collect();
        for run in runs {
            self.report(&run);
        }
    }

    fn take_stops(&mut self) -> Vec<Stop> {
        std::mem::take(&mut self.stops)
    }

    fn take_probes(&mut self) -> Vec<Probe> {
        std::mem::take(&mut self.probes)
    }

    fn take_logs(&mut self) -> Vec<LogTask> {
        std::mem::take(&mut self.logs)
    }

    /// Takes one watch event; `now` is when it was seen.
    fn change(&mut self, change: Change, now: DateTime<Utc>) {
        match change {
            Change::Job(Event::Init) => self.listing_jobs = Some(HashSet::new()),
            Change::Pod(Event::Init) => self.listing_pods = Some(HashSet::new()),
            Change::Job(Event::InitApply(job)) => {
                if let Some(listed) = self.listing_jobs.as_mut() {
                    listed.insert(uid(&job));
                }
                self.job_applied(job);
            }
            Change::Pod(Event::InitApply(pod)) => {
                if let Some(listed) = self.listing_pods.as_mut() {
                    listed.insert(uid(&pod));
                }
                self.pod_applied(pod);
            }
            Change::Job(Event::Apply(job)) => self.job_applied(job),
            Change::Pod(Event::Apply(pod)) => self.pod_applied(pod),
            Change::Job(Event::Delete(job)) => {
                let deleted =
                    time(job.metadata.deletion_timestamp.as_ref()).map_or(Deleted::Seen(now), Deleted::Recorded);
                self.job_deleted(job, deleted);
            }
            Change::Pod(Event::Delete(pod)) => self.pod_deleted(&pod),
            Change::Job(Event::InitDone) => {
                // Gone while the watch was away: how they ended is not known, and not guessed.
                let listed = self.listing_jobs.take().unwrap_or_default();
                let gone: Vec<String> = self.jobs.keys().filter(|run| !listed.contains(*run)).cloned().collect();
                for run in gone {
                    tracing::info!(%run, "a run's Job went while the watch was away; its end is not known");
                    self.jobs.remove(&run);
                    self.forget(&run);
                }
            }
            Change::Pod(Event::InitDone) => {
                let listed = self.listing_pods.take().unwrap_or_default();
                let gone: Vec<Pod> = self
                    .pods
                    .by_key
                    .iter()
                    .filter(|(key, _)| !listed.contains(*key))
                    .map(|(_, pod)| pod.clone())
                    .collect();
                for pod in gone {
                    self.pod_deleted(&pod);
                }
            }
        }
    }

    fn job_applied(&mut self, job: Job) {
        let job = slim_job(job);
        let run = uid(&job);
        self.jobs.insert(run.clone(), job);
        self.report(&run);
        self.drop_gone_pods(&run);
    }

    /// The deleted pods kept for run `run`, once reported.
    fn drop_gone_pods(&mut self, run: &str) {
        let pods = &mut self.pods;
        self.gone_pods.retain(|pod| match pods.by_key.get(pod).and_then(job_of) {
            Some(job) if job == run => {
                pods.remove(pod);
                false
            }
            _ => true,
        });
    }

    fn pod_applied(&mut self, pod: Pod) {
        let pod = slim_pod(pod);
        let run = job_of(&pod);
        self.pods.insert(uid(&pod), pod);
        if let Some(run) = run {
            self.report(&run);
        }
    }

    fn pod_deleted(&mut self, pod: &Pod) {
        let key = uid(pod);
        let Some(run) = job_of(pod) else {
            self.pods.remove(&key);
            return;
        };
        // Its last state may be news (it ran before it went), then it is gone.
        self.pods.insert(key.clone(), slim_pod(pod.clone()));
        if !self.jobs.contains_key(&run) && !self.deleted.contains_key(&run) {
            self.gone_pods.push_back(key);
            while self.gone_pods.len() > MAX_DELETED {
                if let Some(oldest) = self.gone_pods.pop_front() {
                    self.pods.remove(&oldest);
                }
            }
            return;
        }
        self.report(&run);
        self.pods.remove(&key);
        if self.deleted.contains_key(&run) && self.pods.of_run(&run).next().is_none() {
            self.forget(&run);
        }
    }

    fn job_deleted(&mut self, job: Job, deleted: Deleted) {
        let run = uid(&job);
        self.jobs.remove(&run);
        self.deleted.insert(run.clone(), (slim_job(job), deleted));
        self.deleted_order.push_back(run.clone());
        self.report(&run);
        self.drop_gone_pods(&run);
        while self.deleted_order.len() > MAX_DELETED {
            if let Some(oldest) = self.deleted_order.front().cloned() {
                self.forget(&oldest);
            }
        }
    }

    /// A run whose Job and pods are gone: nothing more can be learnt of it.
    fn forget(&mut self, run: &str) {
        self.deleted.remove(run);
        self.deleted_order.retain(|deleted| deleted != run);
        self.published.remove(run);
        self.stopping.remove(run);
        self.missing_pods_since.remove(run);
        self.probed.remove(run);
        self.logs_taken.remove(run);
        self.pods.remove_run(run);
    }

    /// Publishes what is new of run `run`.
    fn report(&mut self, run: &str) {
        let (job, deleted) = match (self.jobs.get(run), self.deleted.get(run)) {
            (Some(job), _) => (job, None),
            (None, Some((job, deleted))) => (job, Some(*deleted)),
            (None, None) => return,
        };
        let mut pods: Vec<&Pod> = self.pods.of_run(run).collect();
        pods.sort_by_key(|pod| (time(pod.metadata.creation_timestamp.as_ref()), pod.name_any()));
        // Kubernetes counts the pods that ended; until as many have been seen, the last one seen
        // may not be the last one (the pods' stream lags), for a while.
        let counted = job.status.as_ref().map_or(0, |s| s.succeeded.unwrap_or(0) + s.failed.unwrap_or(0));
        let pods_missing = pods.is_empty() || pods.len() < usize::try_from(counted).unwrap_or(0);
        let waited_for_pods = if pods_missing {
            self.missing_pods_since.entry(run.to_owned()).or_insert_with(tokio::time::Instant::now).elapsed()
                >= POD_WAIT
        } else {
            self.missing_pods_since.remove(run);
            true
        };
        let Some(report) = report(job, &pods, deleted, waited_for_pods) else { return };
        if self.archiving {
            let taken = self.logs_taken.entry(run.to_owned()).or_default();
            for task in archive::ended_logs(job, &pods, &report.run) {
                if taken.insert((task.log.container, task.log.attempt)) {
                    self.logs.push(task);
                }
            }
        }
        if report.finished.is_none()
            && deleted.is_none()
            && !self.stopping.contains(run)
            && let Some(patch) = stop_if_cannot_start(job, pods.last().copied(), self.start_failure_grace, Utc::now())
        {
            self.stopping.insert(run.to_owned());
            self.stops.push(Stop { run: run.to_owned(), job: job.name_any(), patch });
        }
        let created = time(job.metadata.creation_timestamp.as_ref());
        if report.finished.is_none()
            && deleted.is_none()
            && pods.is_empty()
            && !self.stopping.contains(run)
            && created.is_some_and(|created| Utc::now() - created >= self.start_failure_grace)
            && self.probed.get(run).is_none_or(|at| at.elapsed() >= RECHECK)
        {
            self.probed.insert(run.to_owned(), tokio::time::Instant::now());
            self.probes.push(Probe { run: run.to_owned(), job: job.clone() });
        }
        let published = self.published.entry(run.to_owned()).or_default();
        for event in events::events(&report) {
            if published.insert(event.event_id.clone()) {
                self.publisher.publish(event);
            }
        }
    }
}

/// Deleted runs kept for their pods' late news.
const MAX_DELETED: usize = 1000;

fn annotation(job: &Job, key: &str) -> Option<String> {
    job.metadata.annotations.as_ref()?.get(key).cloned()
}

/// The run of `job` as Kubernetes shows it, its pods oldest first; `deleted` when the Job was
/// deleted; `waited_for_pods` when every pod Kubernetes counted has been seen, or long enough was
/// waited for them. None for a Job that is not a deployment's run.
fn report(job: &Job, pods: &[&Pod], deleted: Option<Deleted>, waited_for_pods: bool) -> Option<RunReport> {
    let deployment = job.metadata.labels.as_ref()?.get(DEPLOYMENT_LABEL)?.clone();
    let name = job.metadata.name.clone()?;
    let scheduled_at = time(job.metadata.creation_timestamp.as_ref())?;
    let from_cron_job = job.metadata.owner_references.iter().flatten().any(|owner| owner.kind == "CronJob");
    let kind = if from_cron_job { WorkloadKind::CronJob } else { WorkloadKind::Job };
    let runner = job
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .and_then(|pod| pod.containers.iter().find(|container| container.name == manifests::RUNNER));
    let env = runner.and_then(|runner| runner.env.as_ref()).map(Vec::as_slice).unwrap_or_default();
    let env = env.iter().filter(|var| !var.name.starts_with("JOB_RESOURCE")).map(|var| {
        let value = match (&var.value, var.value_from.as_ref().and_then(|from| from.secret_key_ref.as_ref())) {
            (_, Some(secret)) => EnvValue::Secret(&secret.name, &secret.key),
            (value, None) => EnvValue::Plain(value.as_deref().unwrap_or_default()),
        };
        (var.name.as_str(), value)
    });
    let args = runner.and_then(|runner| runner.args.clone()).unwrap_or_default();
    let attempts = pods
        .iter()
        .map(|pod| Attempt {
            started_at: time(pod.metadata.creation_timestamp.as_ref()),
            executing_at: runner_state(pod).and_then(|state| {
                let started = state.running.as_ref().and_then(|r| r.started_at.as_ref());
                time(started.or_else(|| state.terminated.as_ref().and_then(|t| t.started_at.as_ref())))
            }),
            machine: pod.spec.as_ref().and_then(|spec| spec.node_name.clone()),
        })
        .collect();
    Some(RunReport {
        run: events::run_id(&name, kind, scheduled_at),
        deployment,
        owner: annotation(job, manifests::DEPLOYED_BY_ANNOTATION),
        description: annotation(job, manifests::DESCRIPTION_ANNOTATION),
        kind,
        artifact: annotation(job, manifests::ARTIFACT_ANNOTATION)
            .map(|artifact| (artifact, annotation(job, manifests::ARTIFACT_VERSION_ANNOTATION).unwrap_or_default())),
        parameters: events::parameters(env, &args),
        scheduled_at,
        attempts,
        finished: finish(job, pods.last().copied(), deleted, waited_for_pods),
    })
}

fn runner_state(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerState> {
    status::statuses(pod, false).iter().find(|c| c.name == manifests::RUNNER)?.state.as_ref()
}

/// How the run ended, if that is known for sure (see the module's table). Only what cannot change
/// any more is used, so that every reading of the same run gives the same event: the Job's own
/// record, or a pod that has ended or is gone. Until the pods' stream has told how the last pod
/// ended (or for [`POD_WAIT`], when pods are missing), there is no answer yet.
fn finish(job: &Job, pod: Option<&Pod>, deleted: Option<Deleted>, waited_for_pods: bool) -> Option<Finish> {
    let status = job.status.as_ref();
    let attempts = status.map(|s| i64::from(s.succeeded.unwrap_or(0)) + i64::from(s.failed.unwrap_or(0)));
    let finish = |at, exit_status, exit_code| Some(Finish { at, exit_status, exit_code, attempts, recorded: true });
    // Ended by the deployer or deleted: the Job's counters may still move, so none are told.
    let ended_early = |at, exit_status, recorded| Finish { at, exit_status, exit_code: None, attempts: None, recorded };
    if let Some(at) = annotation(job, manifests::SETUP_FAILED_AT_ANNOTATION).and_then(|at| parse_time(&at)) {
        return Some(ended_early(at, ExitStatus::FailedSetupExecutionEnvironment, true));
    }
    let ended =
        status.and_then(|s| s.conditions.as_ref()).into_iter().flatten().find(|condition| {
            condition.status == "True" && (condition.type_ == "Complete" || condition.type_ == "Failed")
        });
    let Some(condition) = ended else {
        return deleted.map(|deleted| match deleted {
            Deleted::Recorded(at) => ended_early(at, ExitStatus::Killed, true),
            Deleted::Seen(at) => ended_early(at, ExitStatus::Killed, false),
        });
    };
    let at = time(condition.last_transition_time.as_ref()).or_else(|| time(status?.completion_time.as_ref()))?;
    match (condition.type_.as_str(), condition.reason.as_deref()) {
        ("Complete", _) => finish(at, ExitStatus::Success, Some(0)),
        (_, Some("DeadlineExceeded")) => finish(at, ExitStatus::Killed, None),
        // The pod failure policy's rule: the fetch found a wrong resource.
        (_, Some("PodFailurePolicy")) => finish(at, ExitStatus::FailedSetupExecutionEnvironment, None),
        _ if !waited_for_pods => None,
        _ => match pod {
            None => finish(at, ExitStatus::Lost, None),
            Some(pod) if settled(pod) => {
                let (exit_status, exit_code) = failure(pod);
                finish(at, exit_status, exit_code)
            }
            Some(_) => None,
        },
    }
}

/// The merge patch that ends a run whose last pod has had a container unable to start for longer
/// than `grace`: when and why, and a deadline already passed.
fn stop_if_cannot_start(
    job: &Job,
    pod: Option<&Pod>,
    grace: chrono::Duration,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    let pod = pod?;
    let why = start_failure(pod)?;
    let created = time(pod.metadata.creation_timestamp.as_ref())?;
    if now - created < grace {
        return None;
    }
    Some(ending(job, &format!("cannot start: {why}"), now))
}

/// The merge patch that ends the run of `job` now, saying `why`: when and why, and a deadline
/// already passed.
fn ending(job: &Job, why: &str, now: DateTime<Utc>) -> serde_json::Value {
    let created = time(job.metadata.creation_timestamp.as_ref()).unwrap_or(now);
    let started = time(job.status.as_ref().and_then(|s| s.start_time.as_ref())).unwrap_or(created);
    let elapsed = (now - started).num_seconds().max(1);
    let deadline = job.spec.as_ref().and_then(|spec| spec.active_deadline_seconds).map_or(elapsed, |d| d.min(elapsed));
    // Only over the Job as read: a second replica deciding the same finds it changed (409), then
    // sees the first one's annotations.
    serde_json::json!({
        "metadata": {"resourceVersion": job.metadata.resource_version, "annotations": {
            manifests::SETUP_FAILED_AT_ANNOTATION: common::time::format_utc_millis(&now),
            manifests::SETUP_FAILURE_ANNOTATION: why,
        }},
        "spec": {"activeDeadlineSeconds": deadline},
    })
}

/// A pod whose state will not change any more: ended, or deleted.
fn settled(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed")) || pod.metadata.deletion_timestamp.is_some()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    common::time::parse_rfc3339(text).ok()
}

/// Why the last pod of a failed run failed, and the runner's exit code when it says something.
fn failure(pod: &Pod) -> (ExitStatus, Option<i64>) {
    let fetch_failed = status::statuses(pod, true).iter().any(|c| {
        c.name == manifests::FETCH
            && c.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code != 0)
    });
    let runner_ended = runner_state(pod).and_then(|state| state.terminated.as_ref());
    let exit_code = runner_ended.map(|t| i64::from(t.exit_code));
    if fetch_failed || start_failure(pod).is_some() {
        (ExitStatus::FailedSetupExecutionEnvironment, None)
    } else if pod.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted") {
        (ExitStatus::Lost, exit_code)
    } else if runner_ended.and_then(|t| t.reason.as_deref()) == Some("OOMKilled") {
        (ExitStatus::Killed, exit_code)
    } else if runner_ended.is_none() {
        (ExitStatus::Lost, None)
    } else {
        (ExitStatus::ExecutionError, exit_code)
    }
}

/// A container of the pod that cannot start (image pull error, bad configuration), in words.
fn start_failure(pod: &Pod) -> Option<String> {
    status::statuses(pod, true).iter().chain(status::statuses(pod, false)).find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref().filter(|r| START_FAILURES.contains(r) && *r != "CrashLoopBackOff")?;
        Some(format!("{}: {reason} ({})", c.name, waiting.message.clone().unwrap_or_default()))
    })
}
