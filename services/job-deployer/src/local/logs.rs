//! A local run's logs: one file per attempt for the runner (both output streams, in order) and one
//! for the fetch step, read whole, bounded as the kubelet bounds a log, or followed as they grow.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::process::RunFiles;
use super::store::{RunRecord, Store};
use crate::error::Error;
use crate::model::{Log, LogContainer, LogRequest};

/// How often a followed log is read again for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The run asked for (the latest when none is named), among the deployment's runs.
pub(super) fn pick(name: &str, mut runs: Vec<RunRecord>, wanted: Option<&str>) -> Result<RunRecord, Error> {
    runs.sort_by_key(|run| std::cmp::Reverse((run.scheduled_at, run.name.clone())));
    match wanted {
        Some(wanted) => runs
            .into_iter()
            .find(|run| run.name == wanted)
            .ok_or_else(|| Error::RunNotFound { deployment: name.to_owned(), run: wanted.to_owned() }),
        None => runs.into_iter().next().ok_or_else(|| Error::NoRunYet(name.to_owned())),
    }
}

/// The log `request` names of `run`.
pub(super) async fn read(store: &Store, run: &RunRecord, request: &LogRequest) -> Result<Log, Error> {
    if request.since_seconds.is_some() {
        return Err(Error::InvalidParameter {
            field: "sinceSeconds",
            message: "the local runtime keeps no time per log line: use tailLines or limitBytes".to_owned(),
        });
    }
    let files = RunFiles { dir: store.run_dir(&run.deployment, &run.name) };
    let path = match request.container {
        LogContainer::Fetch => files.fetch_log(),
        LogContainer::Runner => {
            let latest = run.attempts.len().saturating_sub(1);
            let attempt = if request.previous { latest.checked_sub(1) } else { Some(latest) };
            files.runner_log(attempt.ok_or_else(|| Error::NoPreviousAttempt(run.name.clone()))?)
        }
    };
    if request.follow {
        return Ok(Log::Follow(Box::pin(follow(store.clone(), path, run.deployment.clone(), run.name.clone()))));
    }
    let text = tokio::fs::read(&path).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let (tail, limit) = request.bounds();
    Ok(Log::Text(bound(&text, tail, limit)))
}

/// The log as it grows, until the run ends and everything was read.
fn follow(
    store: Store,
    path: PathBuf,
    deployment: String,
    run: String,
) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send + use<> {
    futures_util::stream::unfold((0_u64, false), move |(offset, done)| {
        let (path, store, deployment, run) = (path.clone(), store.clone(), deployment.clone(), run.clone());
        async move {
            if done {
                return None;
            }
            loop {
                // Whether the run had ended is asked before reading: lines written before the end
                // are then all read before the stream ends.
                let ended = store
                    .runs(&deployment)
                    .ok()
                    .and_then(|runs| runs.into_iter().find(|r| r.name == run))
                    .is_none_or(|r| r.finished.is_some());
                match read_from(&path, offset).await {
                    Ok(bytes) if !bytes.is_empty() => {
                        let next = offset + bytes.len() as u64;
                        return Some((Ok(bytes), (next, false)));
                    }
                    Ok(_) if ended => return None,
                    Ok(_) => tokio::time::sleep(FOLLOW_POLL).await,
                    Err(error) => return Some((Err(error), (offset, true))),
                }
            }
        }
    })
}

async fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut bytes = Vec::new();
    file.take(1024 * 1024).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// The last `tail` lines, then at most `limit` bytes of them (as the kubelet bounds a log).
fn bound(text: &str, tail: Option<i64>, limit: Option<i64>) -> String {
    let mut text = text;
    if tail == Some(0) {
        return String::new();
    }
    if let Some(tail) = tail.and_then(|tail| usize::try_from(tail).ok()) {
        let lines: Vec<(usize, &str)> = text.match_indices('\n').collect();
        let ends_with_newline = text.ends_with('\n');
        let count = lines.len() + usize::from(!ends_with_newline && !text.is_empty());
        if count > tail {
            let skip = count - tail;
            text = &text[lines[skip - 1].0 + 1..];
        }
    }
    let limit = limit.and_then(|limit| usize::try_from(limit).ok()).unwrap_or(usize::MAX);
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::bound;

    #[test]
    fn logs_are_bounded_by_lines_then_bytes() {
        assert_eq!(bound("a\nb\nc\n", Some(2), None), "b\nc\n");
        assert_eq!(bound("a\nb\nc", Some(2), None), "b\nc");
        assert_eq!(bound("a\nb\n", Some(5), Some(3)), "a\nb");
        assert_eq!(bound("é", None, Some(1)), "");
        assert_eq!(bound("a\n", Some(0), None), "");
        assert_eq!(bound("a\nb", Some(0), None), "");
    }
}
