//! Every check a deployment spec passes before anything is deployed, for the runtime it goes to.
//! All problems are collected (not just the first) so that a form can mark every wrong field at
//! once. Where the deployer is stricter than the Kubernetes API server, the rule says why: a value
//! the server takes but its controllers read otherwise (a deadline that overflows, a schedule that
//! never fires) would fail later, out of sight.

use std::collections::HashSet;

use common::event::MAX_TEXT_BYTES;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{DeploymentSpec, EnvVar, Mount, ResourceAmounts, Resources, Schedule, WorkloadKind};
use super::{image, names, quantity, schedule};
use crate::model::RunOverrides;

/// Where the fetched resource lives in every container of a run.
pub const RESOURCE_ROOT: &str = "/job";
/// The variables the deployer gives the runner; a spec may not set them.
pub const RESERVED_ENV: [&str; 2] = ["JOB_RESOURCE", "JOB_RESOURCE_DIR"];
/// Kubernetes turns deadlines into nanoseconds in a signed 64-bit integer (Go's `time.Duration`):
/// beyond this many seconds (292 years) the controllers' arithmetic overflows, and a Job's
/// deadline ends the run at once, a CronJob's starting deadline skips every run.
pub const MAX_SECONDS: i64 = i64::MAX / 1_000_000_000;
/// The CronJob controller looks at each CronJob every 10 s: a shorter starting deadline makes it
/// skip runs that were merely seen late (Kubernetes' documentation says as much).
pub const MIN_STARTING_DEADLINE: i64 = 10;

/// The longest spec, written as JSON, that the annotations of its object can hold beside the others.
pub const MAX_SPEC_BYTES: usize = 240 * 1024;

/// One thing wrong in a spec: the field (`runner.resources.limits.memory`, `mounts[1].mountPath`)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[schema(example = "schedule.timeZone")]
    pub field: String,
    #[schema(example = "'Mars/Olympus' is not an IANA time zone (like Europe/Paris or UTC)")]
    pub message: String,
}

/// The runtime a spec is checked for, with where downloads may come from (`JOB_DEPLOYER_NEXUS_URL`:
/// the fetch step sends the Nexus credentials to the download's host, which must not be any host a
/// user names).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Kubernetes {
        nexus_url: Option<&'a str>,
    },
    /// Also takes `file://` downloads and schedules with seconds; refuses what it cannot do (CIFS
    /// mounts, Kubernetes Secrets, a runner without a command: there is no image entrypoint).
    Local {
        nexus_url: Option<&'a str>,
    },
}

impl Target<'_> {
    fn local(self) -> bool {
        matches!(self, Target::Local { .. })
    }

    fn nexus_url(self) -> Option<String> {
        match self {
            Target::Kubernetes { nexus_url } | Target::Local { nexus_url } => nexus_url.map(str::to_owned),
        }
    }
}

/// A spec that passed every check for its runtime, named: the only thing a runtime deploys.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSpec {
    spec: DeploymentSpec,
    warnings: Vec<String>,
}

impl CheckedSpec {
    pub fn name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or_default()
    }

    pub fn spec(&self) -> &DeploymentSpec {
        &self.spec
    }

    pub fn kind(&self) -> WorkloadKind {
        self.spec.kind()
    }

    /// What the runtime records but will not do.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
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

    fn within(&mut self, field: &str, value: Option<i64>, minimum: i64, maximum: i64, why: &str) {
        match value {
            Some(value) if value < minimum => {
                self.add(field, format!("is {value}; it must be at least {minimum}{why}"))
            }
            Some(value) if value > maximum => self.add(field, format!("is {value}; it must be at most {maximum}{why}")),
            _ => {}
        }
    }

    /// Text that goes into the job history: at most [`MAX_TEXT_BYTES`], and no NUL (Postgres
    /// holds neither), so that no run's events are refused.
    fn text(&mut self, field: impl Into<String>, text: &str) {
        if text.len() > MAX_TEXT_BYTES {
            self.add(
                field,
                format!("is {} bytes long; the job history keeps at most {MAX_TEXT_BYTES} bytes", text.len()),
            );
        } else if text.contains('\0') {
            self.add(field, "contains a NUL character");
        }
    }

    fn into_result(self) -> Result<(), Vec<Problem>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// Checks `spec` for `target` and gives it its name (made from the artifact's name when absent).
/// `name` is the name from the URL for a change (`PUT`), which the spec may repeat but not
/// contradict.
pub fn check(spec: DeploymentSpec, name: Option<&str>, target: Target) -> Result<CheckedSpec, Vec<Problem>> {
    let (spec, mut problems) = common_checks(spec, name, target);
    let mut warnings = Vec::new();
    if target.local() {
        local_checks(&spec, &mut problems, &mut warnings);
    }
    problems.into_result()?;
    Ok(CheckedSpec { spec, warnings })
}

fn local_checks(spec: &DeploymentSpec, problems: &mut Problems, warnings: &mut Vec<String>) {
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
    warnings.push(format!(
        "runner.image '{}' is recorded but not used: the local runtime runs the command on this machine",
        spec.runner.image
    ));
    if spec.runner.resources.is_some() {
        warnings.push("runner.resources are recorded but not enforced by the local runtime".to_owned());
    }
    if spec.runner.run_as_user.is_some() {
        warnings.push("runner.runAsUser is recorded but not used: local runs run as the deployer's user".to_owned());
    }
}

fn common_checks(mut spec: DeploymentSpec, name: Option<&str>, target: Target) -> (DeploymentSpec, Problems) {
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
    if let Some(description) = &spec.description {
        problems.text("description", description);
    }
    resource(&mut spec, &mut problems, target);
    runner(&spec, &mut problems);
    if let Some(schedule) = &spec.schedule {
        cron(schedule, &mut problems, target.local());
    }
    mounts(&spec.mounts, &mut problems);
    problems.within("backoffLimit", spec.backoff_limit.map(i64::from), 0, i64::from(i32::MAX), "");
    let overflow = " (Kubernetes counts it in nanoseconds, which cannot hold more)";
    problems.within("activeDeadlineSeconds", spec.active_deadline_seconds, 1, MAX_SECONDS, overflow);
    problems.within(
        "ttlSecondsAfterFinished",
        spec.ttl_seconds_after_finished.map(i64::from),
        0,
        i64::from(i32::MAX),
        "",
    );
    // The spec is kept as an annotation of its Job or CronJob, whose annotations Kubernetes holds
    // to 256 KiB in all.
    let size = serde_json::to_vec(&spec).map_or(0, |bytes| bytes.len());
    if size > MAX_SPEC_BYTES {
        problems.add(
            "",
            format!("the spec is {size} bytes; at most {MAX_SPEC_BYTES} (Kubernetes keeps 256 KiB of annotations on an object, the spec among them)"),
        );
    }
    (spec, problems)
}

fn resource(spec: &mut DeploymentSpec, problems: &mut Problems, target: Target) {
    let local = target.local();
    let resource = &mut spec.resource;
    problems.required("resource.repository", &resource.repository);
    problems.required("resource.group", &resource.group);
    problems.required("resource.name", &resource.name);
    problems.required("resource.version", &resource.version);
    problems.required("resource.path", &resource.path);
    // The artifact's name and version go into every run's events.
    problems.text("resource.name", &resource.name);
    problems.text("resource.version", &resource.version);
    if file_name(&resource.path).is_none() && !resource.path.trim().is_empty() {
        problems.add("resource.path", format!("'{}' does not end with a file name", resource.path));
    }
    let url = &resource.download_url;
    let local_file = url.strip_prefix("file://").filter(|_| local);
    let host =
        url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).and_then(|rest| rest.split('/').next());
    let mut url_checked = true;
    if let Some(path) = local_file {
        if !path.starts_with('/') || url.chars().any(char::is_control) {
            problems
                .add("resource.downloadUrl", format!("'{url}' is not a file URL with an absolute path (file:///...)"));
            url_checked = false;
        }
    } else if host.is_none_or(str::is_empty) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let what = if local { "an http(s) or file URL" } else { "an http(s) URL" };
        problems.add("resource.downloadUrl", format!("'{url}' is not {what}"));
        url_checked = false;
    } else if host.is_some_and(|host| host.contains('@')) {
        // It would be kept in annotations, revisions and answers: credentials come from a Secret.
        problems.add(
            "resource.downloadUrl",
            "must not hold credentials (user:password@); the deployer's Nexus Secret gives them",
        );
        url_checked = false;
    }
    if let Some(nexus) = target.nexus_url()
        && url_checked
        && !url.starts_with(&nexus)
    {
        problems
            .add("resource.downloadUrl", format!("'{url}' is not on the Nexus the deployer fetches from ({nexus})"));
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
    for (index, arg) in runner.args.iter().enumerate() {
        problems.text(format!("runner.args[{index}]"), arg);
    }
    env(&runner.env, "runner.env", problems);
    if let Some(resources) = &runner.resources {
        amounts(resources, problems);
    }
    // The `restricted` Pod Security level refuses root (0).
    problems.within("runner.runAsUser", runner.run_as_user, 1, i64::from(i32::MAX), " (pods run as a non-root user)");
}

fn env(env: &[EnvVar], prefix: &str, problems: &mut Problems) {
    let mut seen = HashSet::new();
    for (index, var) in env.iter().enumerate() {
        let field = format!("{prefix}[{index}]");
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
                    || secret.key.len() > 253
                    || !secret.key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    problems.add(format!("{field}.secret.key"), format!("'{}' is not a Secret key", secret.key));
                }
            }
            (Some(value), None) => problems.text(format!("{field}.value"), value),
        }
    }
}

/// Checks one text that the job history or an annotation keeps (a suspension's reason).
pub fn text(field: &str, value: &str) -> Result<(), Vec<Problem>> {
    let mut problems = Problems::default();
    problems.text(field, value);
    problems.into_result()
}

/// Checks the one-off changes of a run started by hand, for `target`.
pub fn check_overrides(overrides: &RunOverrides, target: Target) -> Result<(), Vec<Problem>> {
    let mut problems = Problems::default();
    env(&overrides.env, "env", &mut problems);
    if target.local() {
        for (index, var) in overrides.env.iter().enumerate() {
            if var.secret.is_some() {
                problems.add(
                    format!("env[{index}].secret"),
                    "the local runtime has no Kubernetes Secrets: give the variable a value",
                );
            }
        }
    }
    for (index, arg) in overrides.args.iter().flatten().enumerate() {
        problems.text(format!("args[{index}]"), arg);
    }
    problems.into_result()
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
    if let Err(message) = &parsed {
        problems.add("schedule.cron", message.clone());
    }
    let zone = match schedule.time_zone.as_deref().map(schedule::time_zone) {
        Some(Err(message)) => {
            problems.add("schedule.timeZone", message);
            None
        }
        Some(Ok(zone)) => Some(zone),
        None => Some(chrono_tz::UTC),
    };
    if let (Ok(cron), Some(zone)) = (parsed, zone)
        && let Some(why) = cron.never_fires(zone)
    {
        problems.add("schedule.cron", why);
    }
    let why = " (the CronJob controller looks every 10 s and skips a run seen later than its deadline)";
    problems.within(
        "schedule.startingDeadlineSeconds",
        schedule.starting_deadline_seconds,
        MIN_STARTING_DEADLINE,
        MAX_SECONDS,
        why,
    );
    let limit = i64::from(i32::MAX);
    problems.within(
        "schedule.successfulJobsHistoryLimit",
        schedule.successful_jobs_history_limit.map(i64::from),
        0,
        limit,
        "",
    );
    problems.within("schedule.failedJobsHistoryLimit", schedule.failed_jobs_history_limit.map(i64::from), 0, limit, "");
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
