//! One attempt of a local run as processes of this machine: the same fetch script as the Kubernetes
//! init container (download with curl from http(s) or file URLs, checksum, unpack), then the
//! runner's command with its environment, both logged to files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::kubernetes::manifests::{FETCH_PERMANENT_FAILURE, FETCH_SCRIPT};
use crate::spec::DeploymentSpec;
use crate::spec::check::{RESOURCE_ROOT, file_name};

/// How long a stopped process has between SIGTERM and SIGKILL (Kubernetes gives 30 s; a laptop
/// needs less, and a stopping deployer has 10 s in all, its last events included).
const GRACE: Duration = Duration::from_secs(3);

/// The files of one run.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
}

impl RunFiles {
    /// What `$(JOB_RESOURCE_DIR)` names, and what `/job` in a working directory stands for.
    pub fn resource_dir(&self) -> PathBuf {
        self.dir.join("resource")
    }

    pub fn fetch_log(&self) -> PathBuf {
        self.dir.join("fetch.log")
    }

    pub fn runner_log(&self, attempt: usize) -> PathBuf {
        self.dir.join(format!("runner-{attempt}.log"))
    }

    fn termination_log(&self) -> PathBuf {
        self.dir.join("termination-log")
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Killed by a signal nobody here sent (the kernel's OOM killer, a user).
    Signalled(i32),
    /// It ran past the run's deadline and was stopped.
    DeadlineExceeded,
    /// The run was stopped (deleted, replaced, the deployer stopping).
    Stopped,
    CannotStart(String),
}

/// Runs the fetch script; `Err` says why the resource is not there, `permanent` when no retry helps.
pub async fn fetch(
    spec: &DeploymentSpec,
    files: &RunFiles,
    deadline: Option<tokio::time::Instant>,
    stop: &CancellationToken,
) -> Result<(), (Ended, Option<String>)> {
    let resource = &spec.resource;
    // An earlier attempt's message must not stand for this one's.
    let _ = std::fs::remove_file(files.termination_log());
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(FETCH_SCRIPT)
        .env_clear()
        .envs(base_env())
        .env("RESOURCE_URL", &resource.download_url)
        .env("RESOURCE_FILE", file_name(&resource.path).unwrap_or("resource"))
        .env("RESOURCE_DIR", files.resource_dir())
        .env("RESOURCE_CHECKSUM_COMMAND", resource.checksum.algorithm.command())
        .env("RESOURCE_CHECKSUM", &resource.checksum.value)
        .env("TERMINATION_LOG", files.termination_log());
    match run(command, &files.fetch_log(), &files.dir, deadline, stop).await {
        Ended::Exited(0) => Ok(()),
        ended => {
            let message = std::fs::read_to_string(files.termination_log()).ok().filter(|text| !text.is_empty());
            Err((ended, message))
        }
    }
}

/// Whether a fetch that ended so may be tried again (not after a wrong resource, a stop or the deadline).
pub fn fetch_retryable(ended: &Ended) -> bool {
    !matches!(ended, Ended::Exited(FETCH_PERMANENT_FAILURE) | Ended::Stopped | Ended::DeadlineExceeded)
}

/// Runs the runner's command, `$(VAR)` references expanded as Kubernetes does.
pub async fn execute(
    spec: &DeploymentSpec,
    env: &[(String, String)],
    args: &[String],
    files: &RunFiles,
    attempt: usize,
    deadline: Option<tokio::time::Instant>,
    stop: &CancellationToken,
) -> Ended {
    let vars = variables(spec, env, files);
    let lookup: HashMap<&str, &str> = vars.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let mut words = spec.runner.command.iter().chain(args).map(|word| expand(word, &lookup));
    let Some(program) = words.next() else {
        return Ended::CannotStart("the runner has no command".to_owned());
    };
    let working_dir = match spec.runner.working_dir.as_deref() {
        Some(dir) => local_path(dir, files),
        None => files.resource_dir(),
    };
    let mut command = Command::new(program);
    command.args(words).env_clear().envs(base_env()).envs(vars);
    run(command, &files.runner_log(attempt), &working_dir, deadline, stop).await
}

/// The runner's environment: the resource's paths, then the spec's variables in order, each able
/// to name the ones before it with `$(NAME)`.
fn variables(spec: &DeploymentSpec, env: &[(String, String)], files: &RunFiles) -> Vec<(String, String)> {
    let resource_dir = files.resource_dir();
    let resource_file = resource_dir.join(file_name(&spec.resource.path).unwrap_or("resource"));
    let mut vars: Vec<(String, String)> = vec![
        ("JOB_RESOURCE".to_owned(), resource_file.display().to_string()),
        ("JOB_RESOURCE_DIR".to_owned(), resource_dir.display().to_string()),
    ];
    for (name, value) in env {
        let lookup: HashMap<&str, &str> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let value = expand(value, &lookup);
        vars.retain(|(existing, _)| existing != name);
        vars.push((name.clone(), value));
    }
    vars
}

/// A container path of the spec on this machine: `/job/...` is the run's folder.
fn local_path(path: &str, files: &RunFiles) -> PathBuf {
    match path.strip_prefix(RESOURCE_ROOT) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => files.dir.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

/// What every local process gets from the deployer's environment: where programs are, and the
/// locale. Nothing else (no database URL, no token) leaks into a job.
fn base_env() -> Vec<(String, String)> {
    ["PATH", "HOME", "LANG", "TZ"]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .collect()
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is replaced, an undefined reference is left
/// as written, and `$$` is a literal `$`.
pub fn expand(text: &str, vars: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(value) = vars.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Runs `command` in its own process group, its output (both streams, in order) appended to `log`,
/// until it exits, the deadline passes or `stop` is cancelled.
async fn run(
    mut command: Command,
    log: &Path,
    working_dir: &Path,
    deadline: Option<tokio::time::Instant>,
    stop: &CancellationToken,
) -> Ended {
    let opened = std::fs::create_dir_all(working_dir)
        .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(log))
        .and_then(|file| Ok((file.try_clone()?, file)));
    let (out, err) = match opened {
        Ok(files) => files,
        Err(error) => return Ended::CannotStart(format!("cannot prepare the run's files: {error}")),
    };
    command
        .current_dir(working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return Ended::CannotStart(format!("cannot start: {error}")),
    };
    let deadline_passed = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        status = child.wait() => match status {
            Ok(status) => match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
                (Some(code), _) => Ended::Exited(code),
                (None, Some(signal)) => Ended::Signalled(signal),
                (None, None) => Ended::CannotStart("ended without a status".to_owned()),
            },
            Err(error) => Ended::CannotStart(format!("cannot wait for it: {error}")),
        },
        () = deadline_passed => {
            terminate(&mut child).await;
            Ended::DeadlineExceeded
        }
        () = stop.cancelled() => {
            terminate(&mut child).await;
            Ended::Stopped
        }
    }
}

/// SIGTERM to the whole process group (a shell's children too), SIGKILL after the grace period.
async fn terminate(child: &mut Child) {
    let Some(group) = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw) else { return };
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes() {
        let vars = HashMap::from([("A", "x"), ("JOB_RESOURCE_DIR", "/tmp/r")]);
        assert_eq!(expand("$(JOB_RESOURCE_DIR)/run.sh", &vars), "/tmp/r/run.sh");
        assert_eq!(expand("$(A)$(B)$$(A)$", &vars), "x$(B)$(A)$");
        assert_eq!(expand("$(unclosed", &vars), "$(unclosed");
    }
}
