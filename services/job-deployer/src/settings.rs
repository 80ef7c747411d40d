//! What job-deployer reads from the environment.

use std::path::PathBuf;

use service_kit::{Env, Positive, ServerSettings, SettingsError};

use crate::events::EventSettings;
use crate::events::logs::{DEFAULT_MAX_BYTES, LogArchiveSettings};
use crate::model::RunnerImage;
use crate::spec;

/// Everything the service reads from the environment (variables prefixed `JOB_DEPLOYER_`), beside
/// the Kubernetes connection, which comes from the pod's service account or `KUBECONFIG`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    /// `JOB_DEPLOYER_NAMESPACE`: where deployments go; the kubeconfig's (or the pod's) namespace
    /// when absent.
    pub namespace: Option<String>,
    pub deployer: DeployerSettings,
    /// `JOB_DEPLOYER_RUNTIME`: `kubernetes` (the default) or `local`.
    pub runtime: RuntimeKind,
    /// `JOB_DEPLOYER_LOCAL_DIR`: the local runtime's state, runs and logs
    /// (`$HOME/.local/share/job-orchestrator/job-deployer` when absent).
    pub local_dir: PathBuf,
    /// The brokers and the creation of a missing topic (kafka_kit: `KAFKA_BROKERS`,
    /// `JOB_EVENTS_TOPIC_PARTITIONS`, `JOB_EVENTS_TOPIC_REPLICATION`), `JOB_EVENTS_TOPIC`
    /// (`job-events`), `JOB_DEPLOYER_EVENT_BUFFER` (10000 events kept while the broker is away).
    pub events: EventSettings,
    /// `JOB_LOGS_TOPIC` (`job-logs`), `JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES` (10 MiB): where runs' logs
    /// go, and how much of each container's is kept (its tail).
    pub logs: LogArchiveSettings,
}

/// Where deployments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Kubernetes,
    Local,
}

impl std::str::FromStr for RuntimeKind {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<RuntimeKind, Self::Err> {
        match text {
            "kubernetes" => Ok(RuntimeKind::Kubernetes),
            "local" => Ok(RuntimeKind::Local),
            _ => Err("`kubernetes` or `local` is expected"),
        }
    }
}

/// What shapes every deployment's pods.
#[derive(Debug, Clone)]
pub struct DeployerSettings {
    /// `JOB_DEPLOYER_FETCH_IMAGE`: the init container's image (sh, curl, sha*sum, unzip, tar).
    pub fetch_image: String,
    /// `JOB_DEPLOYER_NEXUS_SECRET`: a Secret of the namespace with `username` and `password` for
    /// Nexus; downloads are anonymous when absent.
    pub nexus_secret: Option<String>,
    /// `JOB_DEPLOYER_START_FAILURE_GRACE_SECS` (180): how long a run's container may fail to start
    /// (an image that cannot be pulled) before the deployer ends the run.
    pub start_failure_grace: std::time::Duration,
    /// `JOB_DEPLOYER_NEXUS_URL`: when set, every `downloadUrl` must start with it (set it whenever
    /// the Nexus Secret is set: the credentials go to the download's host).
    pub nexus_url: Option<String>,
    /// `JOB_DEPLOYER_RUN_AS_USER` (65532): the user id the runs' containers run as, unless a spec
    /// names the runner's (`runner.runAsUser`); never root, so that the pods pass the `restricted`
    /// Pod Security level.
    pub run_as_user: i64,
    /// `JOB_DEPLOYER_RUNNERS_FILE`: a JSON list of the runner images offered to the UI
    /// (`[{"image", "description", "command", "args"}]`); a few common ones when absent.
    pub runners: Vec<RunnerImage>,
}

/// The runner images offered when no file names them.
const DEFAULT_RUNNERS: &str = r#"[
    {"image": "eclipse-temurin:21-jre", "description": "Java 21: runs a jar", "command": ["java", "-jar", "$(JOB_RESOURCE)"]},
    {"image": "python:3.12-slim", "description": "Python 3.12: runs a script of the resource", "command": ["python3"]},
    {"image": "busybox:1.37", "description": "A shell: runs a script of the resource (Talend's *_run.sh)", "command": ["sh"]}
]"#;

/// The runner images of a file (`JOB_DEPLOYER_RUNNERS_FILE`).
struct RunnersFile(Vec<RunnerImage>);

impl std::str::FromStr for RunnersFile {
    type Err = String;

    fn from_str(path: &str) -> Result<RunnersFile, String> {
        let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read it: {error}"))?;
        let runners: Vec<RunnerImage> =
            serde_json::from_str(&text).map_err(|error| format!("not a list of runner images: {error}"))?;
        for runner in &runners {
            if let Some(problem) = spec::image::problem(&runner.image) {
                return Err(format!("the runner image '{}' {problem}", runner.image));
            }
        }
        Ok(RunnersFile(runners))
    }
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_DEPLOYER", 8082)?,
            namespace: env.optional("JOB_DEPLOYER_NAMESPACE")?,
            deployer: DeployerSettings {
                fetch_image: env.get_or("JOB_DEPLOYER_FETCH_IMAGE", "curlimages/curl:8.11.1".to_owned())?,
                nexus_secret: env.optional("JOB_DEPLOYER_NEXUS_SECRET")?,
                nexus_url: env.optional("JOB_DEPLOYER_NEXUS_URL")?,
                start_failure_grace: std::time::Duration::from_secs(
                    env.get_or("JOB_DEPLOYER_START_FAILURE_GRACE_SECS", 180)?,
                ),
                run_as_user: env.get_or("JOB_DEPLOYER_RUN_AS_USER", Positive(65_532_i64))?.0,
                runners: match env.optional::<RunnersFile>("JOB_DEPLOYER_RUNNERS_FILE")? {
                    Some(RunnersFile(runners)) => runners,
                    None => serde_json::from_str(DEFAULT_RUNNERS).unwrap_or_default(),
                },
            },
            runtime: env.get_or("JOB_DEPLOYER_RUNTIME", RuntimeKind::Kubernetes)?,
            local_dir: match env.optional::<PathBuf>("JOB_DEPLOYER_LOCAL_DIR")? {
                Some(dir) => dir,
                None => env.optional::<PathBuf>("HOME")?.map_or_else(
                    || PathBuf::from("job-deployer"),
                    |home| home.join(".local/share/job-orchestrator/job-deployer"),
                ),
            },
            events: EventSettings {
                kafka: kafka_kit::KafkaSettings::from_env(env)?,
                topic: env.get_or("JOB_EVENTS_TOPIC", "job-events".to_owned())?,
                buffer: env.get_or("JOB_DEPLOYER_EVENT_BUFFER", Positive(10_000_usize))?.0,
            },
            logs: LogArchiveSettings {
                topic: env.get_or("JOB_LOGS_TOPIC", "job-logs".to_owned())?,
                max_bytes: env.get_or("JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES", Positive(DEFAULT_MAX_BYTES))?.0,
            },
        })
    }
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}
