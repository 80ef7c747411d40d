//! The local runtime's state on disk, under one folder:
//!
//! ```text
//! deployments/<name>/deployment.json       the deployment (kept spec, owner, revision, suspension)
//! deployments/<name>/revisions/<n>.json    each revision
//! deployments/<name>/runs/<run>/run.json   each run: its attempts and how it ended
//! deployments/<name>/runs/<run>/fetch.log, runner-<attempt>.log, resource/
//! ```
//!
//! On disk rather than in Postgres: the local runtime runs jobs as processes of this one machine,
//! so its state belongs with the runs' folders and logs on this machine, and the deployer needs
//! no database. Every record is written whole to a temporary file then renamed over the old one,
//! so a crash leaves the old record or the new one, never half of one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use common::job::ExitStatus;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::Revision;
use crate::spec::{DeploymentSpec, EnvVar, WorkloadKind, deserialize_kept};

/// A deployment of the local runtime.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// The kept spec (checked; the local runtime has no credentials to keep out of it). Records of
    /// earlier versions are read as they are (see [`DeploymentSpec::from_kept`]).
    #[serde(deserialize_with = "deserialize_kept")]
    pub spec: DeploymentSpec,
    pub owner: String,
    pub deployed_by: String,
    pub deployed_at: DateTime<Utc>,
    pub revision: u32,
    pub suspended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<String>,
    /// The last time the schedule started a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scheduled: Option<DateTime<Utc>>,
}

/// One run, as it went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub name: String,
    pub deployment: String,
    pub revision: u32,
    /// What the run runs, as its revision said: its events never change with later revisions.
    pub kind: WorkloadKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub artifact: String,
    pub artifact_version: String,
    pub manual: bool,
    /// Who deployed the revision, or who pressed "run now".
    pub triggered_by: String,
    pub scheduled_at: DateTime<Utc>,
    /// The runner's environment and arguments for this run (overrides of "run now" applied).
    pub env: Vec<EnvVar>,
    pub args: Vec<String>,
    pub attempts: Vec<AttemptRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<FinishRecord>,
}

/// One revision, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRecord {
    pub revision: u32,
    pub author: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub change: Option<String>,
    #[serde(default, deserialize_with = "kept_option")]
    pub spec: Option<DeploymentSpec>,
}

fn kept_option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<DeploymentSpec>, D::Error> {
    Option::<serde_json::Value>::deserialize(deserializer)?
        .map(|value| DeploymentSpec::from_kept(value).map_err(serde::de::Error::custom))
        .transpose()
}

impl From<RevisionRecord> for Revision {
    fn from(record: RevisionRecord) -> Revision {
        let RevisionRecord { revision, author, at, change, spec } = record;
        Revision { revision, author, at, change, spec }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executing_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    pub machine: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishRecord {
    pub at: DateTime<Utc>,
    pub exit_status: ExitStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Why it failed, in words (as the Kubernetes runtime says it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The folder of the local runtime's state.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn open(root: &Path) -> std::io::Result<Store> {
        std::fs::create_dir_all(root.join("deployments"))?;
        Ok(Store { root: root.to_owned() })
    }

    pub fn deployment_dir(&self, name: &str) -> PathBuf {
        self.root.join("deployments").join(name)
    }

    pub fn run_dir(&self, deployment: &str, run: &str) -> PathBuf {
        self.deployment_dir(deployment).join("runs").join(run)
    }

    pub fn save_deployment(&self, record: &DeploymentRecord) -> std::io::Result<()> {
        let dir = self.deployment_dir(record.spec.name.as_deref().unwrap_or_default());
        write_json(&dir.join("deployment.json"), record)
    }

    pub fn save_revision(&self, deployment: &str, revision: &RevisionRecord) -> std::io::Result<()> {
        let path = self.deployment_dir(deployment).join("revisions").join(format!("{}.json", revision.revision));
        write_json(&path, revision)
    }

    pub fn save_run(&self, run: &RunRecord) -> std::io::Result<()> {
        write_json(&self.run_dir(&run.deployment, &run.name).join("run.json"), run)
    }

    pub fn deployments(&self) -> std::io::Result<Vec<DeploymentRecord>> {
        read_all(&self.root.join("deployments"), "deployment.json")
    }

    pub fn revisions(&self, deployment: &str) -> std::io::Result<Vec<RevisionRecord>> {
        let dir = self.deployment_dir(deployment).join("revisions");
        let mut revisions = Vec::new();
        for entry in list(&dir)? {
            revisions.push(read_json(&entry)?);
        }
        Ok(revisions)
    }

    pub fn runs(&self, deployment: &str) -> std::io::Result<Vec<RunRecord>> {
        read_all(&self.deployment_dir(deployment).join("runs"), "run.json")
    }

    pub fn remove_deployment(&self, name: &str) -> std::io::Result<()> {
        remove_dir(&self.deployment_dir(name))
    }

    pub fn remove_run(&self, deployment: &str, run: &str) -> std::io::Result<()> {
        remove_dir(&self.run_dir(deployment, run))
    }
}

fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.map(|entry| entry.path())).collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// The `file` of every sub-folder of `dir` that has one.
fn read_all<T: DeserializeOwned>(dir: &Path, file: &str) -> std::io::Result<Vec<T>> {
    let mut records = Vec::new();
    for sub in list(dir)? {
        let path = sub.join(file);
        if path.exists() {
            records.push(read_json(&path)?);
        }
    }
    Ok(records)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {error}", path.display())))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("a record path has a folder"))?;
    std::fs::create_dir_all(dir)?;
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
