//! The Kubernetes objects of a deployment, built from a checked spec: the Job or CronJob, the
//! Secrets holding inline CIFS credentials, and the Secret recording a revision. Pure: what is
//! built here is what the tests validate against the Kubernetes schemas and the API server.
//!
//! Each revision owns its credentials (`<name>.v<N>-smb-<i>`, immutable): a change never
//! overwrites the Secret a running revision mounts, and a rollback finds its revision's
//! credentials still there. They go when the deployment goes.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{
    CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    CSIVolumeSource, Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, LocalObjectReference,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::ETag;
use crate::spec::check::{RESOURCE_ROOT, file_name};
use crate::spec::{CheckedSpec, DeploymentSpec, Mount, ResourceAmounts, WorkloadKind, names};

pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "job-orchestrator");
pub const DEPLOYMENT_LABEL: &str = "job-orchestrator.io/deployment";
pub const OWNER_LABEL: &str = "job-orchestrator.io/owner";
pub const ROLE_LABEL: &str = "job-orchestrator.io/role";
pub const REVISION_LABEL: &str = "job-orchestrator.io/revision";
pub const OWNER_ANNOTATION: &str = "job-orchestrator.io/owner";
pub const DEPLOYED_BY_ANNOTATION: &str = "job-orchestrator.io/deployed-by";
pub const DEPLOYED_AT_ANNOTATION: &str = "job-orchestrator.io/deployed-at";
pub const REVISION_ANNOTATION: &str = "job-orchestrator.io/revision";
pub const SPEC_ANNOTATION: &str = "job-orchestrator.io/spec";
pub const CHANGE_ANNOTATION: &str = "job-orchestrator.io/change";
pub const SUSPEND_REASON_ANNOTATION: &str = "job-orchestrator.io/suspend-reason";
pub const DESCRIPTION_ANNOTATION: &str = "job-orchestrator.io/description";
/// Set by the deployer on a run it ended because a container could not start (an image that
/// cannot be pulled is retried by the kubelet for ever): when, and why.
pub const SETUP_FAILED_AT_ANNOTATION: &str = "job-orchestrator.io/setup-failed-at";
pub const SETUP_FAILURE_ANNOTATION: &str = "job-orchestrator.io/setup-failure";
/// The artifact's name and version, exactly (the `app.kubernetes.io` labels hold them shortened).
pub const ARTIFACT_ANNOTATION: &str = "job-orchestrator.io/artifact";
pub const ARTIFACT_VERSION_ANNOTATION: &str = "job-orchestrator.io/artifact-version";
/// The annotation `kubectl create job --from=cronjob/...` puts on a run started by hand.
pub const INSTANTIATE_ANNOTATION: (&str, &str) = ("cronjob.kubernetes.io/instantiate", "manual");
/// The secret type of a revision record, so that nothing mistakes it for credentials.
pub const REVISION_SECRET_TYPE: &str = "job-orchestrator.io/revision";
pub const RUNNER: &str = "runner";
pub const FETCH: &str = "fetch";
/// The exit code of the fetch script when retrying cannot help (checksum, unpacking): the Job's
/// pod failure policy fails the run at once instead of retrying it `backoffLimit` times.
pub const FETCH_PERMANENT_FAILURE: i32 = 3;
pub const FETCH_SCRIPT: &str = include_str!("../fetch.sh");
const RESOURCE_VOLUME: &str = "resource";
const SMB_DRIVER: &str = "smb.csi.k8s.io";

/// Where the objects go and who is deploying.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub namespace: &'a str,
    /// The image of the init container that downloads the resource (needs sh, curl, the
    /// checksum commands, unzip and tar: `curlimages/curl` has them).
    pub fetch_image: &'a str,
    /// A Secret with `username` and `password` for Nexus; absent, downloads are anonymous.
    pub nexus_secret: Option<&'a str>,
    /// The user every container runs as unless the spec names the runner's (never root).
    pub run_as_user: i64,
    /// Who deployed it first (kept across revisions) and who made this revision.
    pub owner: &'a str,
    pub author: &'a str,
    pub at: DateTime<Utc>,
    pub revision: u32,
    /// The CronJob's suspension, and why: state carried over from the deployment as it was, never
    /// taken from a spec.
    pub suspended: bool,
    pub suspend_reason: Option<&'a str>,
}

/// The Job or the CronJob of a deployment.
#[derive(Debug, Clone)]
pub enum Workload {
    Job(Box<Job>),
    CronJob(Box<CronJob>),
}

impl Workload {
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Workload::Job(_) => WorkloadKind::Job,
            Workload::CronJob(_) => WorkloadKind::CronJob,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Workload::Job(job) => &job.metadata,
            Workload::CronJob(cron_job) => &cron_job.metadata,
        }
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Workload::Job(job) => &mut job.metadata,
            Workload::CronJob(cron_job) => &mut cron_job.metadata,
        }
    }

    /// To be written over the version `resource_version` (a replace).
    pub fn over(mut self, resource_version: Option<String>) -> Workload {
        self.metadata_mut().resource_version = resource_version;
        self
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.metadata().annotations.as_ref()?.get(key).cloned()
    }

    /// Only objects the deployer made are deployments: a Job of the same name made by someone else
    /// is not ours to show, change or delete.
    pub fn is_ours(&self) -> bool {
        let labels = self.metadata().labels.as_ref();
        is_ours(self.metadata())
            && labels.and_then(|labels| labels.get(ROLE_LABEL)).is_some_and(|value| value == "workload")
    }

    pub fn revision(&self) -> u32 {
        self.annotation(REVISION_ANNOTATION).and_then(|text| text.parse().ok()).unwrap_or(0)
    }

    pub fn suspended(&self) -> bool {
        match self {
            Workload::CronJob(cron_job) => cron_job.spec.as_ref().and_then(|spec| spec.suspend).unwrap_or(false),
            Workload::Job(_) => false,
        }
    }

    /// The deployment's version for clients: the object (uid), its spec (generation, revision) and
    /// its suspension; not its status, which every run changes.
    pub fn etag(&self) -> ETag {
        let meta = self.metadata();
        let generation = meta.generation.unwrap_or_default().to_string();
        let reason = self.annotation(SUSPEND_REASON_ANNOTATION).unwrap_or_default();
        ETag::of(&[
            meta.uid.as_deref().unwrap_or_default(),
            &generation,
            &self.revision().to_string(),
            &self.suspended().to_string(),
            &reason,
        ])
    }
}

/// Whether the platform made the object (its `managed-by` label).
pub fn is_ours(meta: &ObjectMeta) -> bool {
    meta.labels.as_ref().and_then(|labels| labels.get(MANAGED_BY.0)).is_some_and(|value| value == MANAGED_BY.1)
}

/// The name of the deployment (set by the checks).
pub fn name_of(spec: &DeploymentSpec) -> &str {
    spec.name.as_deref().unwrap_or_default()
}

/// The Secret holding the inline credentials of mount `index` in `revision`.
pub fn credentials_secret_name(deployment: &str, revision: u32, index: usize) -> String {
    format!("{deployment}.v{revision}-smb-{index}")
}

/// The Secret recording revision `revision`.
pub fn revision_secret_name(deployment: &str, revision: u32) -> String {
    format!("{deployment}.v{revision}")
}

/// The spec as revision `revision` keeps and shows it: inline credentials replaced by the Secret
/// that holds them.
pub fn kept(spec: &DeploymentSpec, revision: u32) -> DeploymentSpec {
    let mut kept = spec.clone();
    let name = name_of(spec).to_owned();
    for (index, mount) in kept.mounts.iter_mut().enumerate() {
        if mount.credentials.take().is_some() {
            mount.secret_name = Some(credentials_secret_name(&name, revision, index));
        }
    }
    kept
}

/// The labels every object of the deployment carries, for selection.
pub fn labels(spec: &DeploymentSpec, owner: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (DEPLOYMENT_LABEL.to_owned(), name_of(spec).to_owned()),
        (OWNER_LABEL.to_owned(), names::label_value(owner)),
        ("app.kubernetes.io/name".to_owned(), names::label_value(&spec.resource.name)),
        ("app.kubernetes.io/version".to_owned(), names::label_value(&spec.resource.version)),
    ])
}

fn annotations(spec: &DeploymentSpec, context: &Context) -> BTreeMap<String, String> {
    let resource = &spec.resource;
    let mut annotations = BTreeMap::from([
        (OWNER_ANNOTATION.to_owned(), context.owner.to_owned()),
        (DEPLOYED_BY_ANNOTATION.to_owned(), context.author.to_owned()),
        (DEPLOYED_AT_ANNOTATION.to_owned(), context.at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        (
            "job-orchestrator.io/resource".to_owned(),
            format!(
                "{}/{}:{}:{} ({})",
                resource.repository, resource.group, resource.name, resource.version, resource.path
            ),
        ),
        ("job-orchestrator.io/download-url".to_owned(), resource.download_url.clone()),
        ("job-orchestrator.io/runner-image".to_owned(), spec.runner.image.clone()),
        (REVISION_ANNOTATION.to_owned(), context.revision.to_string()),
        (SPEC_ANNOTATION.to_owned(), serde_json::to_string(&kept(spec, context.revision)).unwrap_or_default()),
    ]);
    annotations.extend(run_annotations(spec, context));
    if let Some(reason) = context.suspend_reason.filter(|_| context.suspended) {
        annotations.insert(SUSPEND_REASON_ANNOTATION.to_owned(), reason.to_owned());
    }
    annotations
}

/// What every run (Job) of the deployment carries for its job events: who deployed it, what it
/// runs, and the revision it runs.
fn run_annotations(spec: &DeploymentSpec, context: &Context) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        (DEPLOYED_BY_ANNOTATION.to_owned(), context.author.to_owned()),
        (ARTIFACT_ANNOTATION.to_owned(), spec.resource.name.clone()),
        (ARTIFACT_VERSION_ANNOTATION.to_owned(), spec.resource.version.clone()),
        (REVISION_ANNOTATION.to_owned(), context.revision.to_string()),
    ]);
    if let Some(description) = &spec.description {
        annotations.insert(DESCRIPTION_ANNOTATION.to_owned(), description.clone());
    }
    annotations
}

fn meta(name: &str, context: &Context, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(context.namespace.to_owned()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// The Job or CronJob that runs `spec`.
pub fn workload(spec: &CheckedSpec, context: &Context) -> Workload {
    let spec = spec.spec();
    let labels = labels(spec, context.owner);
    let mut workload_labels = labels.clone();
    workload_labels.insert(ROLE_LABEL.to_owned(), "workload".to_owned());
    let mut metadata = meta(name_of(spec), context, workload_labels);
    metadata.annotations = Some(annotations(spec, context));
    let job_spec = job_spec(spec, context, &labels);
    match &spec.schedule {
        None => Workload::Job(Box::new(Job { metadata, spec: Some(job_spec), status: None })),
        Some(schedule) => Workload::CronJob(Box::new(CronJob {
            metadata,
            spec: Some(CronJobSpec {
                schedule: schedule.cron.trim().to_owned(),
                time_zone: schedule.time_zone.clone(),
                concurrency_policy: Some(schedule.concurrency_policy.as_str().to_owned()),
                starting_deadline_seconds: schedule.starting_deadline_seconds,
                successful_jobs_history_limit: schedule.successful_jobs_history_limit,
                failed_jobs_history_limit: schedule.failed_jobs_history_limit,
                suspend: Some(context.suspended),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        annotations: Some(run_annotations(spec, context)),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(job_spec),
                },
            }),
            status: None,
        })),
    }
}

fn job_spec(spec: &DeploymentSpec, context: &Context, labels: &BTreeMap<String, String>) -> JobSpec {
    JobSpec {
        backoff_limit: spec.backoff_limit,
        active_deadline_seconds: spec.active_deadline_seconds,
        ttl_seconds_after_finished: spec.ttl_seconds_after_finished,
        pod_failure_policy: Some(PodFailurePolicy {
            rules: vec![PodFailurePolicyRule {
                action: "FailJob".to_owned(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: Some(FETCH.to_owned()),
                    operator: "In".to_owned(),
                    values: vec![FETCH_PERMANENT_FAILURE],
                }),
                on_pod_conditions: None,
            }],
        }),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..ObjectMeta::default() }),
            spec: Some(pod_spec(spec, context)),
        },
        ..JobSpec::default()
    }
}

fn pod_spec(spec: &DeploymentSpec, context: &Context) -> PodSpec {
    let name = name_of(spec);
    let mut volumes = vec![Volume {
        name: RESOURCE_VOLUME.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    let resource_mount = VolumeMount {
        name: RESOURCE_VOLUME.to_owned(),
        mount_path: RESOURCE_ROOT.to_owned(),
        ..VolumeMount::default()
    };
    let mut runner_mounts = vec![resource_mount.clone()];
    for (index, mount) in spec.mounts.iter().enumerate() {
        let (volume, volume_mount) = smb_volume(name, context.revision, index, mount);
        volumes.push(volume);
        runner_mounts.push(volume_mount);
    }
    PodSpec {
        restart_policy: Some("Never".to_owned()),
        // The job talks to Nexus and its shares, never to the Kubernetes API.
        automount_service_account_token: Some(false),
        init_containers: Some(vec![fetch_container(spec, context, resource_mount)]),
        containers: vec![runner_container(spec, runner_mounts)],
        volumes: Some(volumes),
        // What the `restricted` Pod Security level asks of a pod: a namespace enforcing it would
        // refuse to make the runs' pods otherwise.
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(context.run_as_user),
            run_as_group: Some(context.run_as_user),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), localhost_profile: None }),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

/// A container's part of the `restricted` level: no privilege escalation, no capability.
pub fn restricted_container(run_as_user: Option<i64>, read_only_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), add: None }),
        run_as_non_root: Some(true),
        run_as_user,
        read_only_root_filesystem: read_only_root.then_some(true),
        ..SecurityContext::default()
    }
}

fn smb_volume(deployment: &str, revision: u32, index: usize, mount: &Mount) -> (Volume, VolumeMount) {
    let volume_name = format!("smb-{index}");
    let secret = match &mount.secret_name {
        Some(existing) => existing.clone(),
        None => credentials_secret_name(deployment, revision, index),
    };
    let volume = Volume {
        name: volume_name.clone(),
        csi: Some(CSIVolumeSource {
            driver: SMB_DRIVER.to_owned(),
            read_only: Some(mount.read_only),
            // The SMB CSI driver reads an inline volume's credentials from `secretName`.
            volume_attributes: Some(BTreeMap::from([
                ("source".to_owned(), mount.source.clone()),
                ("secretName".to_owned(), secret.clone()),
            ])),
            node_publish_secret_ref: Some(LocalObjectReference { name: secret }),
            ..CSIVolumeSource::default()
        }),
        ..Volume::default()
    };
    let volume_mount = VolumeMount {
        name: volume_name,
        mount_path: mount.mount_path.clone(),
        read_only: Some(mount.read_only),
        sub_path: mount.sub_path.clone(),
        ..VolumeMount::default()
    };
    (volume, volume_mount)
}

fn plain_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.into()), value_from: None }
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: secret.to_owned(), key: key.to_owned(), optional: None }),
            ..EnvVarSource::default()
        }),
    }
}

/// A variable of the spec as the container gets it.
pub fn env_var(var: &crate::spec::EnvVar) -> EnvVar {
    match (&var.value, &var.secret) {
        (_, Some(secret)) => secret_env(&var.name, &secret.name, &secret.key),
        (value, None) => plain_env(&var.name, value.clone().unwrap_or_default()),
    }
}

/// The download's file and folder, as the runner sees them.
pub fn resource_paths(spec: &DeploymentSpec) -> (String, String) {
    let dir = format!("{RESOURCE_ROOT}/{RESOURCE_VOLUME}");
    let file = format!("{dir}/{}", file_name(&spec.resource.path).unwrap_or("resource"));
    (file, dir)
}

/// Downloads the resource, checks it and unpacks it. Every value reaches the script through the
/// environment, never through its text, so nothing a user typed can be run as a command.
fn fetch_container(spec: &DeploymentSpec, context: &Context, resource_mount: VolumeMount) -> Container {
    let resource = &spec.resource;
    let (_, dir) = resource_paths(spec);
    let mut env = vec![
        plain_env("RESOURCE_URL", resource.download_url.clone()),
        plain_env("RESOURCE_FILE", file_name(&resource.path).unwrap_or("resource")),
        plain_env("RESOURCE_DIR", dir),
        plain_env("RESOURCE_CHECKSUM_COMMAND", resource.checksum.algorithm.command()),
        plain_env("RESOURCE_CHECKSUM", resource.checksum.value.clone()),
    ];
    if let Some(secret) = context.nexus_secret {
        env.push(secret_env("NEXUS_USERNAME", secret, "username"));
        env.push(secret_env("NEXUS_PASSWORD", secret, "password"));
    }
    Container {
        name: FETCH.to_owned(),
        image: Some(context.fetch_image.to_owned()),
        command: Some(vec!["sh".to_owned(), "-c".to_owned(), FETCH_SCRIPT.to_owned()]),
        env: Some(env),
        volume_mounts: Some(vec![resource_mount]),
        security_context: Some(restricted_container(None, true)),
        ..Container::default()
    }
}

fn runner_container(spec: &DeploymentSpec, volume_mounts: Vec<VolumeMount>) -> Container {
    let runner = &spec.runner;
    let (file, dir) = resource_paths(spec);
    let mut env = vec![plain_env("JOB_RESOURCE", file), plain_env("JOB_RESOURCE_DIR", dir)];
    env.extend(runner.env.iter().map(env_var));
    let list = |amounts: Option<&ResourceAmounts>| {
        let amounts = amounts?;
        let list: BTreeMap<String, Quantity> = [("cpu", &amounts.cpu), ("memory", &amounts.memory)]
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), Quantity(value.clone()?))))
            .collect();
        (!list.is_empty()).then_some(list)
    };
    let resources = runner.resources.as_ref().map(|resources| ResourceRequirements {
        requests: list(resources.requests.as_ref()),
        limits: list(resources.limits.as_ref()),
        ..ResourceRequirements::default()
    });
    Container {
        name: RUNNER.to_owned(),
        image: Some(runner.image.clone()),
        command: (!runner.command.is_empty()).then(|| runner.command.clone()),
        args: (!runner.args.is_empty()).then(|| runner.args.clone()),
        env: Some(env),
        working_dir: runner.working_dir.clone(),
        resources,
        volume_mounts: Some(volume_mounts),
        security_context: Some(restricted_container(runner.run_as_user, false)),
        ..Container::default()
    }
}

/// The Secrets holding the mounts' inline credentials of this revision, one per mount that has
/// them, immutable. They carry the deployment's label and no owner reference: a Job deployment's
/// Job is replaced on every change, and the garbage collector would take its Secrets with it; the
/// deployer removes them with the deployment.
pub fn credentials(spec: &CheckedSpec, context: &Context) -> Vec<Secret> {
    let spec = spec.spec();
    let name = name_of(spec);
    spec.mounts
        .iter()
        .enumerate()
        .filter_map(|(index, mount)| Some((index, mount.credentials.as_ref()?)))
        .map(|(index, credentials)| {
            let mut labels = labels(spec, context.owner);
            labels.insert(ROLE_LABEL.to_owned(), "credentials".to_owned());
            labels.insert(REVISION_LABEL.to_owned(), context.revision.to_string());
            let metadata = meta(&credentials_secret_name(name, context.revision, index), context, labels);
            let mut data = BTreeMap::from([
                ("username".to_owned(), ByteString(credentials.username.clone().into_bytes())),
                ("password".to_owned(), ByteString(credentials.password.clone().into_bytes())),
            ]);
            if let Some(domain) = &credentials.domain {
                data.insert("domain".to_owned(), ByteString(domain.clone().into_bytes()));
            }
            Secret {
                metadata,
                type_: Some("Opaque".to_owned()),
                data: Some(data),
                immutable: Some(true),
                ..Secret::default()
            }
        })
        .collect()
}

/// The record of one revision: the kept spec (no credentials), its author, time and why.
pub fn revision(spec: &CheckedSpec, context: &Context, change: &str) -> Secret {
    let spec = spec.spec();
    let name = name_of(spec);
    let mut labels = labels(spec, context.owner);
    labels.insert(ROLE_LABEL.to_owned(), "revision".to_owned());
    labels.insert(REVISION_LABEL.to_owned(), context.revision.to_string());
    let mut metadata = meta(&revision_secret_name(name, context.revision), context, labels);
    metadata.annotations = Some(BTreeMap::from([
        (DEPLOYED_BY_ANNOTATION.to_owned(), context.author.to_owned()),
        (DEPLOYED_AT_ANNOTATION.to_owned(), context.at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        (CHANGE_ANNOTATION.to_owned(), change.to_owned()),
    ]));
    let spec_json = serde_json::to_vec(&kept(spec, context.revision)).unwrap_or_default();
    Secret {
        metadata,
        type_: Some(REVISION_SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([("spec".to_owned(), ByteString(spec_json))])),
        immutable: Some(true),
        ..Secret::default()
    }
}
