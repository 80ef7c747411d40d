//! The one seam between the API and where deployments run: Kubernetes, the local runtime, or
//! nothing (a Kubernetes runtime without any cluster configuration, whose deployment operations
//! answer 503). Each operation is one method; the HTTP handlers call them and never ask which
//! runtime it is.

use chrono::{DateTime, Utc};
use regex::RegexBuilder;

use crate::error::Error;
use crate::kubernetes::Kubernetes;
use crate::local::LocalRuntime;
use crate::model::RunnerImage;
use crate::model::{
    DeploymentDetail, DeploymentState, DeploymentSummary, Log, LogMatch, LogRequest, LogSearch, Outcome, Precondition,
    Revision, Run, RunOverrides, Versioned,
};
use crate::spec::{CheckedSpec, DeploymentSpec, Target, WorkloadKind, check, schedule};
use crate::{DeployerSettings, airflow};

/// Where deployments run.
#[derive(Debug, Clone)]
pub enum Backend {
    Kubernetes(Box<Kubernetes>),
    Local(LocalRuntime),
    /// The Kubernetes runtime with no cluster to talk to.
    Unconfigured,
}

/// The runtime and the settings that shape every deployment.
#[derive(Debug, Clone)]
pub struct Runtime {
    backend: Backend,
    settings: DeployerSettings,
}

/// Which deployments a list shows, and which page.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub owner: Option<String>,
    pub kind: Option<WorkloadKind>,
    pub state: Option<DeploymentState>,
    pub offset: usize,
    pub limit: usize,
}

/// What a search of a log looks for.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub pattern: String,
    /// `pattern` is a regular expression (linear-time, Rust's syntax) rather than text.
    pub regex: bool,
    pub ignore_case: bool,
    /// At most this many matching lines are answered.
    pub limit: usize,
}

/// Runs a write of several steps to its end even when its caller goes away (a client that
/// disconnects drops the request's future): a write cut in the middle would leave what it had
/// written without undoing it.
async fn to_the_end<T: Send + 'static>(
    write: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(write).await.unwrap_or_else(|error| {
        tracing::error!(%error, "a write to Kubernetes panicked");
        Err(Error::Kubernetes { failure: crate::error::KubeFailure::Unexpected, doing: "finish the change" })
    })
}

/// The whole log of the attempt `request` names.
fn whole(request: &LogRequest) -> LogRequest {
    LogRequest {
        all: true,
        follow: false,
        tail_lines: None,
        since_seconds: None,
        limit_bytes: None,
        window: None,
        ..request.clone()
    }
}

/// The longest pattern a log search takes.
pub const MAX_PATTERN: usize = 1000;

impl Runtime {
    pub fn new(backend: Backend, settings: DeployerSettings) -> Runtime {
        Runtime { backend, settings }
    }

    pub fn settings(&self) -> &DeployerSettings {
        &self.settings
    }

    fn target(&self) -> Result<Target<'_>, Error> {
        let nexus_url = self.settings.nexus_url.as_deref();
        match &self.backend {
            Backend::Kubernetes(_) => Ok(Target::Kubernetes { nexus_url }),
            Backend::Local(_) => Ok(Target::Local { nexus_url }),
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    fn checked(&self, spec: DeploymentSpec, name: Option<&str>) -> Result<CheckedSpec, Error> {
        check::check(spec, name, self.target()?).map_err(Error::Invalid)
    }

    /// Deploys a new deployment (or, with `dry_run`, says what would be written).
    pub async fn create(&self, spec: DeploymentSpec, author: &str, dry_run: bool) -> Result<Outcome, Error> {
        let spec = self.checked(spec, None)?;
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, author) = (kubernetes.clone(), author.to_owned());
                to_the_end(async move { kubernetes.create(spec, &author, dry_run).await }).await
            }
            Backend::Local(local) => {
                local.deploy(spec, author, "deployed", true, &Precondition::default(), dry_run).await
            }
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    /// Changes deployment `name` to `spec`: a new revision.
    pub async fn change(
        &self,
        name: &str,
        spec: DeploymentSpec,
        author: &str,
        precondition: &Precondition,
        dry_run: bool,
    ) -> Result<Outcome, Error> {
        let spec = self.checked(spec, Some(name))?;
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, author, precondition) = (kubernetes.clone(), author.to_owned(), precondition.clone());
                to_the_end(async move { kubernetes.change(spec, &author, "changed", &precondition, dry_run).await })
                    .await
            }
            Backend::Local(local) => local.deploy(spec, author, "changed", false, precondition, dry_run).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    /// Deploys revision `revision` again, as a new revision.
    pub async fn rollback(
        &self,
        name: &str,
        revision: u32,
        author: &str,
        precondition: &Precondition,
    ) -> Result<Outcome, Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, name, author) = (kubernetes.clone(), name.to_owned(), author.to_owned());
                let precondition = precondition.clone();
                to_the_end(async move { kubernetes.rollback(&name, revision, &author, &precondition).await }).await
            }
            Backend::Local(local) => {
                let spec = local
                    .revisions(name)
                    .await?
                    .into_iter()
                    .find(|r| r.revision == revision)
                    .and_then(|r| r.spec)
                    .ok_or_else(|| Error::RevisionNotFound { name: name.to_owned(), revision })?;
                let spec = self.checked(spec, Some(name))?;
                let change = format!("rollback to {revision}");
                local.deploy(spec, author, &change, false, precondition, false).await
            }
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    /// The deployments `filter` selects, by name, and how many there are.
    pub async fn list(&self, filter: &ListFilter) -> Result<(Vec<DeploymentSummary>, usize), Error> {
        let all = match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.list().await?,
            Backend::Local(local) => local.list().await,
            Backend::Unconfigured => return Err(Error::NotConfigured),
        };
        let mut selected: Vec<DeploymentSummary> = all
            .into_iter()
            .filter(|line| filter.owner.as_ref().is_none_or(|owner| line.owner.as_ref() == Some(owner)))
            .filter(|line| filter.kind.is_none_or(|kind| line.kind == kind))
            .filter(|line| filter.state.is_none_or(|state| line.state == state))
            .collect();
        selected.sort_by(|a, b| a.name.cmp(&b.name));
        let total = selected.len();
        Ok((selected.into_iter().skip(filter.offset).take(filter.limit).collect(), total))
    }

    pub async fn get(&self, name: &str) -> Result<Versioned<DeploymentDetail>, Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.get(name).await,
            Backend::Local(local) => local.get(name).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    pub async fn delete(&self, name: &str, precondition: &Precondition) -> Result<(), Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, name, precondition) = (kubernetes.clone(), name.to_owned(), precondition.clone());
                to_the_end(async move { kubernetes.delete(&name, &precondition).await }).await?;
            }
            Backend::Local(local) => local.delete(name, precondition).await?,
            Backend::Unconfigured => return Err(Error::NotConfigured),
        }
        tracing::info!(deployment = %name, "deleted");
        Ok(())
    }

    pub async fn revisions(&self, name: &str) -> Result<Vec<Revision>, Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.revisions(name).await,
            Backend::Local(local) => local.revisions(name).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    /// Suspends (with a reason) or resumes a CronJob deployment.
    pub async fn set_suspended(
        &self,
        name: &str,
        suspend: bool,
        reason: Option<String>,
        precondition: &Precondition,
    ) -> Result<Versioned<DeploymentDetail>, Error> {
        if let Some(reason) = &reason {
            check::text("reason", reason).map_err(Error::Invalid)?;
        }
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, name, precondition) = (kubernetes.clone(), name.to_owned(), precondition.clone());
                to_the_end(
                    async move { kubernetes.set_suspended(&name, suspend, reason.as_deref(), &precondition).await },
                )
                .await
            }
            Backend::Local(local) => local.set_suspended(name, suspend, reason, precondition).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    pub async fn run_now(&self, name: &str, overrides: &RunOverrides, author: &str) -> Result<Run, Error> {
        check::check_overrides(overrides, self.target()?).map_err(Error::Invalid)?;
        match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (kubernetes, name, author, overrides) =
                    (kubernetes.clone(), name.to_owned(), author.to_owned(), overrides.clone());
                to_the_end(async move { kubernetes.run_now(&name, &overrides, &author).await }).await
            }
            Backend::Local(local) => local.run_now(name, overrides, author).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    pub async fn runs(&self, name: &str) -> Result<Vec<Run>, Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.runs(name).await,
            Backend::Local(local) => local.runs(name).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    pub async fn logs(&self, name: &str, request: &LogRequest) -> Result<Log, Error> {
        let Some(window) = request.window else { return Ok(self.log_of(name, request).await?.1) };
        let (_, log) = self.log_of(name, &whole(request)).await?;
        let Log::Text(text) = log else { return Ok(log) };
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let total = lines.len();
        let first = window.from.unwrap_or_else(|| total.saturating_sub(window.lines) + 1).max(1);
        let text = lines.iter().skip(first - 1).take(window.lines).copied().collect();
        Ok(Log::Window { text, first, total })
    }

    async fn log_of(&self, name: &str, request: &LogRequest) -> Result<(String, Log), Error> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.logs(name, request).await,
            Backend::Local(local) => local.logs(name, request).await,
            Backend::Unconfigured => Err(Error::NotConfigured),
        }
    }

    /// The lines of a run's whole log that match `search`, with their numbers.
    pub async fn search_logs(
        &self,
        name: &str,
        request: &LogRequest,
        search: &SearchRequest,
    ) -> Result<LogSearch, Error> {
        let invalid = |message: String| Error::InvalidParameter { field: "pattern", message };
        if search.pattern.is_empty() || search.pattern.len() > MAX_PATTERN {
            return Err(invalid(format!("the pattern must have 1 to {MAX_PATTERN} bytes")));
        }
        let pattern = if search.regex { search.pattern.clone() } else { regex::escape(&search.pattern) };
        let matcher = RegexBuilder::new(&pattern)
            .case_insensitive(search.ignore_case)
            .size_limit(1 << 20)
            .build()
            .map_err(|error| invalid(format!("'{}' is not a regular expression: {error}", search.pattern)))?;
        let (run, log) = self.log_of(name, &whole(request)).await?;
        let Log::Text(text) = log else { return Err(invalid("a followed log cannot be searched".to_owned())) };
        let mut matches = Vec::new();
        let mut truncated = false;
        let mut lines = 0;
        for (index, line) in text.lines().enumerate() {
            lines = index + 1;
            if matcher.is_match(line) {
                if matches.len() == search.limit {
                    truncated = true;
                    continue;
                }
                matches.push(LogMatch { line: index + 1, text: line.to_owned() });
            }
        }
        Ok(LogSearch { run, container: request.container, lines, matches, truncated })
    }

    /// The deployment as an Airflow DAG file, and the file's name.
    pub async fn airflow(&self, name: &str) -> Result<(String, String), Error> {
        let (spec, suspended, namespace) = match &self.backend {
            Backend::Kubernetes(kubernetes) => {
                let (spec, suspended) = kubernetes.exported(name).await?;
                (spec, suspended, kubernetes.namespace().to_owned())
            }
            // A DAG always runs on Kubernetes; a local deployment's goes to the default namespace,
            // when Kubernetes can run it (no file:// download, no schedule with seconds).
            Backend::Local(local) => {
                let (spec, suspended) = local.exported(name).await?;
                let target = Target::Kubernetes { nexus_url: None };
                check::check(spec.clone(), Some(name), target).map_err(|problems| {
                    let why: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
                    Error::NotExportable { name: name.to_owned(), why: why.join("; ") }
                })?;
                (spec, suspended, "default".to_owned())
            }
            Backend::Unconfigured => return Err(Error::NotConfigured),
        };
        let options = airflow::Options {
            namespace: &namespace,
            fetch_image: &self.settings.fetch_image,
            nexus_secret: self.settings.nexus_secret.as_deref(),
            run_as_user: self.settings.run_as_user,
            paused: suspended,
        };
        Ok((format!("{}.py", name.replace('-', "_")), airflow::dag(&spec, &options)))
    }

    /// The next `count` times of a schedule, as this runtime fires it (the local runtime also
    /// takes seconds), in `zone` (UTC when absent).
    pub fn schedule_preview(
        &self,
        cron: &str,
        zone: Option<&str>,
        after: DateTime<Utc>,
        count: usize,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        let invalid = |field: &'static str| move |message: String| Error::InvalidParameter { field, message };
        let zone = zone.map_or(Ok(chrono_tz::UTC), schedule::time_zone).map_err(invalid("timeZone"))?;
        let parsed = match self.backend {
            Backend::Local(_) => schedule::parse_local(cron),
            _ => schedule::parse(cron),
        };
        let parsed = parsed.map_err(invalid("cron"))?;
        if let Some(why) = parsed.never_fires(zone) {
            return Err(invalid("cron")(why));
        }
        Ok(parsed.upcoming(after, zone, count))
    }

    /// The runner images offered (from the configuration).
    pub fn runners(&self) -> &[RunnerImage] {
        &self.settings.runners
    }

    /// The local runtime's runs stop (and report it).
    pub async fn shutdown(&self) {
        if let Backend::Local(local) = &self.backend {
            local.shutdown().await;
        }
    }
}
