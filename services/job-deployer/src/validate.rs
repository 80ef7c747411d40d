//! Every check a deployment spec passes before anything reaches Kubernetes. All problems are
//! collected (not just the first) so that a form can mark every wrong field at once.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::spec::{DeploymentSpec, EnvVar, Mount, ResourceAmounts, Resources, Schedule};
use crate::{image, names, quantity, schedule};

/// Where the fetched resource lives in every container of a run.
pub const RESOURCE_ROOT: &str = "/job";
/// The variables the deployer gives the runner; a spec may not set them.
pub const RESERVED_ENV: [&str; 2] = ["JOB_RESOURCE", "JOB_RESOURCE_DIR"];
const MAX_DESCRIPTION: usize = 2000;

/// One thing wrong in a spec: the field (`runner.resources.limits.memory`, `mounts[1].mountPath`)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[schema(example = "schedule.timeZone")]
    pub field: String,
    #[schema(example = "'Mars/Olympus' is not an IANA time zone (like Europe/Paris or UTC)")]
    pub message: String,
}

#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { field: field.into(), message: message.into() });
    }

    fn check(&mut self, field: impl Into<String>, problem: Option<String>) {
        if let Some(message) = problem {
            self.add(field, message);
        }
    }

    fn required(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "is required");
        }
    }

    fn at_least(&mut self, field: &str, value: Option<i64>, minimum: i64) {
        if let Some(value) = value.filter(|value| *value < minimum) {
            self.add(field, format!("is {value}; it must be at least {minimum}"));
        }
    }
}

/// Checks `spec` and gives it its name (generated from the artifact's name when absent). `name` is
/// the name from the URL for a change (`PUT`), which the spec may repeat but not contradict.
/// `nexus_url`, when set, is where every download must come from: the fetch step sends the Nexus
/// credentials to the download's host, which must not be any host a user names.
pub fn validate(
    spec: DeploymentSpec,
    name: Option<&str>,
    nexus_url: Option<&str>,
) -> Result<DeploymentSpec, Vec<Problem>> {
    let (spec, problems) = check(spec, name, nexus_url, false);
    if problems.0.is_empty() { Ok(spec) } else { Err(problems.0) }
}

/// [`validate`] for the local runtime, which also takes `file://` downloads and schedules with
/// seconds, refuses what it cannot do (CIFS mounts, Kubernetes Secrets, a runner without a command:
/// there is no image entrypoint), and warns of what it records but ignores (the image, resources).
pub fn validate_local(
    spec: DeploymentSpec,
    name: Option<&str>,
    nexus_url: Option<&str>,
) -> Result<(DeploymentSpec, Vec<String>), Vec<Problem>> {
    let (spec, mut problems) = check(spec, name, nexus_url, true);
    if !spec.mounts.is_empty() {
        problems
            .add("mounts", "CIFS mounts need Kubernetes and its SMB CSI driver; the local runtime cannot mount shares");
    }
    for (index, var) in spec.runner.env.iter().enumerate() {
        if var.secret.is_some() {
            problems.add(
                format!("runner.env[{index}].secret"),
                "the local runtime has no Kubernetes Secrets: give the variable a value",
            );
        }
    }
    if spec.runner.command.is_empty() {
        problems.add(
            "runner.command",
            "the local runtime runs the command itself (there is no image entrypoint): give one, e.g. [\"sh\", \"$(JOB_RESOURCE_DIR)/run.sh\"]",
        );
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let mut warnings = vec![format!(
        "runner.image '{}' is recorded but not used: the local runtime runs the command on this machine",
        spec.runner.image
    )];
    if spec.runner.resources.is_some() {
        warnings.push("runner.resources are recorded but not enforced by the local runtime".to_owned());
    }
    Ok((spec, warnings))
}

fn check(
    mut spec: DeploymentSpec,
    name: Option<&str>,
    nexus_url: Option<&str>,
    local: bool,
) -> (DeploymentSpec, Problems) {
    let mut problems = Problems::default();
    let max_name = if spec.schedule.is_some() { names::MAX_CRONJOB_NAME } else { names::MAX_LABEL };
    match (name, spec.name.as_deref()) {
        (Some(path), Some(given)) if path != given => {
            problems.add("name", format!("is '{given}' but the URL names '{path}'; a deployment cannot be renamed"))
        }
        _ => {}
    }
    let name = match name.or(spec.name.as_deref()) {
        Some(name) => name.to_owned(),
        None => names::generate(&spec.resource.name, max_name),
    };
    problems.check(
        "name",
        names::label_problem(&name, max_name).map(|problem| match spec.schedule {
            Some(_) => format!("{problem} (a CronJob's name leaves room for the 11 characters of its runs' names)"),
            None => problem,
        }),
    );
    spec.name = Some(name);
    if spec.description.as_ref().is_some_and(|text| text.chars().count() > MAX_DESCRIPTION) {
        problems.add("description", format!("is longer than {MAX_DESCRIPTION} characters"));
    }
    resource(&mut spec, &mut problems, local);
    let url_checked = !problems.0.iter().any(|problem| problem.field == "resource.downloadUrl");
    if let Some(nexus) = nexus_url
        && url_checked
        && !spec.resource.download_url.starts_with(nexus)
    {
        problems.add(
            "resource.downloadUrl",
            format!("'{}' is not on the Nexus the deployer fetches from ({nexus})", spec.resource.download_url),
        );
    }
    runner(&spec, &mut problems);
    if let Some(schedule) = &spec.schedule {
        cron(schedule, &mut problems, local);
    }
    mounts(&spec.mounts, &mut problems);
    problems.at_least("backoffLimit", spec.backoff_limit.map(i64::from), 0);
    problems.at_least("activeDeadlineSeconds", spec.active_deadline_seconds, 1);
    problems.at_least("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished.map(i64::from), 0);
    (spec, problems)
}

fn resource(spec: &mut DeploymentSpec, problems: &mut Problems, local: bool) {
    let resource = &mut spec.resource;
    problems.required("resource.repository", &resource.repository);
    problems.required("resource.group", &resource.group);
    problems.required("resource.name", &resource.name);
    problems.required("resource.version", &resource.version);
    problems.required("resource.path", &resource.path);
    if file_name(&resource.path).is_none() && !resource.path.trim().is_empty() {
        problems.add("resource.path", format!("'{}' does not end with a file name", resource.path));
    }
    let url = &resource.download_url;
    let local_file = url.strip_prefix("file://").filter(|_| local);
    let host =
        url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).and_then(|rest| rest.split('/').next());
    if let Some(path) = local_file {
        if !path.starts_with('/') || url.chars().any(char::is_control) {
            problems
                .add("resource.downloadUrl", format!("'{url}' is not a file URL with an absolute path (file:///...)"));
        }
    } else if host.is_none_or(str::is_empty) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let what = if local { "an http(s) or file URL" } else { "an http(s) URL" };
        problems.add("resource.downloadUrl", format!("'{url}' is not {what}"));
    } else if host.is_some_and(|host| host.contains('@')) {
        // It would be kept in annotations, revisions and answers: credentials come from a Secret.
        problems.add(
            "resource.downloadUrl",
            "must not hold credentials (user:password@); the deployer's Nexus Secret gives them",
        );
    }
    let checksum = &mut resource.checksum;
    checksum.value = checksum.value.trim().to_ascii_lowercase();
    let expected = checksum.algorithm.hex_len();
    if checksum.value.len() != expected || !checksum.value.chars().all(|c| c.is_ascii_hexdigit()) {
        problems.add(
            "resource.checksum.value",
            format!("a {:?} checksum is {expected} hexadecimal digits", checksum.algorithm).to_lowercase(),
        );
    }
}

/// The file name at the end of an asset path, if there is one.
pub fn file_name(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|name| !name.is_empty() && *name != "." && *name != "..")
}

fn runner(spec: &DeploymentSpec, problems: &mut Problems) {
    let runner = &spec.runner;
    problems.check("runner.image", image::problem(&runner.image));
    if let Some(dir) = runner.working_dir.as_deref() {
        if !dir.starts_with('/') {
            problems.add("runner.workingDir", format!("'{dir}' is not an absolute path"));
        } else if dir.split('/').any(|part| part == "..") {
            problems.add("runner.workingDir", format!("'{dir}' goes up with '..'; name the folder itself"));
        }
    }
    env(&runner.env, problems);
    if let Some(resources) = &runner.resources {
        amounts(resources, problems);
    }
}

fn env(env: &[EnvVar], problems: &mut Problems) {
    let mut seen = HashSet::new();
    for (index, var) in env.iter().enumerate() {
        let field = format!("runner.env[{index}]");
        let valid_name =
            var.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
                && var.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            problems.add(
                format!("{field}.name"),
                format!(
                    "'{}' is not a variable name (letters, digits, '_', '-', '.'; not starting with a digit)",
                    var.name
                ),
            );
        } else if RESERVED_ENV.contains(&var.name.as_str()) {
            problems
                .add(format!("{field}.name"), format!("{} is set by the deployer to the fetched resource", var.name));
        } else if !seen.insert(var.name.as_str()) {
            problems.add(format!("{field}.name"), format!("{} is set twice", var.name));
        }
        match (&var.value, &var.secret) {
            (Some(_), Some(_)) => problems.add(field, "has both a value and a secret; give one"),
            (None, None) => problems.add(field, "has neither a value nor a secret"),
            (None, Some(secret)) => {
                problems.check(format!("{field}.secret.name"), names::subdomain_problem(&secret.name));
                if secret.key.is_empty()
                    || !secret.key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    problems.add(format!("{field}.secret.key"), format!("'{}' is not a Secret key", secret.key));
                }
            }
            (Some(_), None) => {}
        }
    }
}

/// Checks the one-off variables of a run started by hand.
pub fn run_overrides(env_vars: &[EnvVar]) -> Result<(), Vec<Problem>> {
    let mut problems = Problems::default();
    env(env_vars, &mut problems);
    for problem in &mut problems.0 {
        problem.field = problem.field.replacen("runner.env", "env", 1);
    }
    if problems.0.is_empty() { Ok(()) } else { Err(problems.0) }
}

fn amounts(resources: &Resources, problems: &mut Problems) {
    let read = |problems: &mut Problems, kind: &str, amounts: Option<&ResourceAmounts>| {
        let mut values = [None, None];
        for (slot, (resource, text)) in values.iter_mut().zip([
            ("cpu", amounts.and_then(|a| a.cpu.as_deref())),
            ("memory", amounts.and_then(|a| a.memory.as_deref())),
        ]) {
            if let Some(text) = text {
                match quantity::parse(text) {
                    Ok(value) => *slot = Some((value, text.to_owned())),
                    Err(message) => problems.add(format!("runner.resources.{kind}.{resource}"), message),
                }
            }
        }
        values
    };
    let requests = read(problems, "requests", resources.requests.as_ref());
    let limits = read(problems, "limits", resources.limits.as_ref());
    for ((resource, request), limit) in ["cpu", "memory"].into_iter().zip(requests).zip(limits) {
        if let (Some((request, asked)), Some((limit, allowed))) = (request, limit)
            && request > limit
        {
            problems.add(
                format!("runner.resources.requests.{resource}"),
                format!("{asked} is more than the limit {allowed}"),
            );
        }
    }
}

fn cron(schedule: &Schedule, problems: &mut Problems, local: bool) {
    let parsed = if local { schedule::parse_local(&schedule.cron) } else { schedule::parse(&schedule.cron) };
    if let Err(message) = parsed {
        problems.add("schedule.cron", message);
    }
    if let Some(zone) = &schedule.time_zone
        && let Err(message) = schedule::time_zone(zone)
    {
        problems.add("schedule.timeZone", message);
    }
    problems.at_least("schedule.startingDeadlineSeconds", schedule.starting_deadline_seconds, 0);
    problems.at_least("schedule.successfulJobsHistoryLimit", schedule.successful_jobs_history_limit.map(i64::from), 0);
    problems.at_least("schedule.failedJobsHistoryLimit", schedule.failed_jobs_history_limit.map(i64::from), 0);
}

fn mounts(mounts: &[Mount], problems: &mut Problems) {
    let mut paths = HashSet::new();
    for (index, mount) in mounts.iter().enumerate() {
        let field = format!("mounts[{index}]");
        let share = mount.source.strip_prefix("//").map(|rest| rest.splitn(3, '/').collect::<Vec<_>>());
        let well_formed =
            share.as_ref().is_some_and(|parts| parts.len() >= 2 && parts[..2].iter().all(|part| !part.is_empty()));
        if !well_formed || mount.source.chars().any(|c| c.is_control() || c == '\\') {
            problems.add(
                format!("{field}.source"),
                format!("'{}' is not a share: expected //host/share[/folder]", mount.source),
            );
        }
        let path = mount.mount_path.trim_end_matches('/');
        if !mount.mount_path.starts_with('/') {
            problems.add(format!("{field}.mountPath"), format!("'{}' is not an absolute path", mount.mount_path));
        } else if path.is_empty() || path.split('/').any(|part| part == "..") {
            problems.add(format!("{field}.mountPath"), format!("'{}' cannot be mounted over", mount.mount_path));
        } else if path == RESOURCE_ROOT || path.starts_with(&format!("{RESOURCE_ROOT}/")) {
            problems.add(format!("{field}.mountPath"), format!("{RESOURCE_ROOT} holds the fetched resource"));
        } else if !paths.insert(path) {
            problems.add(format!("{field}.mountPath"), format!("'{}' is mounted twice", mount.mount_path));
        }
        if let Some(sub) = &mount.sub_path
            && (sub.starts_with('/') || sub.split('/').any(|part| part == ".."))
        {
            problems.add(format!("{field}.subPath"), format!("'{sub}' must be a relative path inside the share"));
        }
        match (&mount.credentials, &mount.secret_name) {
            (None, None) => problems
                .add(format!("{field}.credentials"), "missing: give credentials or the name of a Secret holding them"),
            (Some(_), Some(_)) => {
                problems.add(format!("{field}.credentials"), "give credentials or secretName, not both")
            }
            (Some(credentials), None) => {
                problems.required(&format!("{field}.credentials.username"), &credentials.username);
                if credentials.password.is_empty() {
                    problems.add(format!("{field}.credentials.password"), "is required");
                }
            }
            (None, Some(secret)) => problems.check(format!("{field}.secretName"), names::subdomain_problem(secret)),
        }
    }
}
