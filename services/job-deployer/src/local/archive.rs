//! A local run's logs to the job history, as a Kubernetes run's go (`events::logs`): each attempt's
//! fetch and runner logs, once the step ended. A ledger in the run's folder (`archived-logs/`)
//! says where each log starts in its file and whether the broker took it, so that a deployer
//! stopped before then sends it at its next start.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use common::job_log::Container;
use tokio::io::AsyncSeekExt;

use super::process::RunFiles;
use super::store::RunRecord;
use super::{Inner, LocalRuntime};
use crate::events::logs::LogOf;

const LEDGER: &str = "archived-logs";

/// The ledger's entries of one log: `<container>-<attempt>.from` holds where it starts in its file
/// (the fetch step appends to one file for all attempts), `.done` says the broker took it.
struct Entry {
    from: PathBuf,
    done: PathBuf,
}

fn entry(files: &RunFiles, container: Container, attempt: u32) -> Entry {
    let stem = files.dir.join(LEDGER).join(format!("{}-{attempt}", container.as_str()));
    Entry { from: stem.with_extension("from"), done: stem.with_extension("done") }
}

/// The file a container of an attempt (from 1) writes to.
fn log_file(files: &RunFiles, container: Container, attempt: u32) -> PathBuf {
    match container {
        Container::Fetch => files.fetch_log(),
        Container::Runner => files.runner_log(attempt.saturating_sub(1) as usize),
    }
}

impl LocalRuntime {
    /// Notes, before a step starts, where its log will start: the current end of its file.
    pub(super) fn log_starts(&self, run: &RunRecord, container: Container, attempt: u32) {
        let files = self.inner.files(run);
        let offset = std::fs::metadata(log_file(&files, container, attempt)).map_or(0, |meta| meta.len());
        let entry = entry(&files, container, attempt);
        let written = std::fs::create_dir_all(files.dir.join(LEDGER))
            .and_then(|()| std::fs::write(&entry.from, offset.to_string()));
        if let Err(error) = written {
            tracing::warn!(%error, run = %run.name, "cannot note where a log starts; it is archived from its file's start");
        }
    }

    /// A step ended: its log goes to the history, in the background.
    pub(super) fn log_ended(&self, run: &RunRecord, container: Container, attempt: u32, ended_at: DateTime<Utc>) {
        let inner = self.inner.clone();
        let (files, job_id) = (inner.files(run), run.name.clone());
        tokio::spawn(async move {
            let log = LogOf { job_id, container, attempt, ended_at };
            inner.archive(&files, &log).await;
        });
    }

    /// At start: sends every log of `run` that a stopped deployer noted and did not send.
    pub(super) fn archive_pending(&self, run: &RunRecord) {
        let files = self.inner.files(run);
        let Ok(ledger) = std::fs::read_dir(files.dir.join(LEDGER)) else { return };
        let mut pending = Vec::new();
        for name in ledger.filter_map(|entry| entry.ok()?.file_name().into_string().ok()) {
            let Some((container, attempt)) = name.strip_suffix(".from").and_then(|stem| stem.rsplit_once('-')) else {
                continue;
            };
            let (Ok(container), Ok(attempt)) = (container.parse::<Container>(), attempt.parse::<u32>()) else {
                continue;
            };
            if entry(&files, container, attempt).done.exists() {
                continue;
            }
            let ended_at = run
                .attempts
                .get(attempt.saturating_sub(1) as usize)
                .and_then(|a| a.ended_at)
                .or(run.finished.as_ref().map(|f| f.at))
                .unwrap_or_else(Utc::now);
            pending.push((container, attempt, ended_at));
        }
        for (container, attempt, ended_at) in pending {
            self.log_ended(run, container, attempt, ended_at);
        }
    }
}

impl Inner {
    fn files(&self, run: &RunRecord) -> RunFiles {
        RunFiles { dir: self.store.run_dir(&run.deployment, &run.name) }
    }

    /// Reads the log from where the ledger says it starts and publishes it; the ledger then says
    /// it is done. A failure is logged; the next start tries again.
    async fn archive(&self, files: &RunFiles, log: &LogOf) {
        let entry = entry(files, log.container, log.attempt);
        let from: u64 =
            std::fs::read_to_string(&entry.from).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0);
        let path = log_file(files, log.container, log.attempt);
        let archived = match open_at(&path, from).await {
            Ok(file) => self.archiver.archive(log, file).await.map(drop),
            // A step that never wrote (it could not start) has an empty log.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.archiver.archive(log, &b""[..]).await.map(drop)
            }
            Err(error) => self.archiver.unavailable(log, &format!("cannot read {}: {error}", path.display())).await,
        };
        match archived {
            Ok(()) => {
                if let Err(error) = std::fs::write(&entry.done, b"") {
                    tracing::warn!(%error, job_id = %log.job_id, "cannot note a log as archived; it will be sent again");
                }
            }
            Err(error) => {
                tracing::error!(%error, job_id = %log.job_id, container = log.container.as_str(), attempt = log.attempt, "a run's log was not archived; the next start tries again")
            }
        }
    }
}

async fn open_at(path: &Path, offset: u64) -> std::io::Result<tokio::fs::File> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(file)
}
