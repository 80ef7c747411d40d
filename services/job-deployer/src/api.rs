//! The HTTP API: deploy, list, inspect, change (with revisions and rollback), suspend and resume,
//! run now, runs, logs, delete, and the Airflow translation.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use futures_util::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::LogParams;
use serde::{Deserialize, Serialize};
use service_kit::{Caller, ErrorBody, Query};
use utoipa::{IntoParams, ToSchema};

use crate::cluster::Cluster;
use crate::error::{ApiError, InvalidBody};
use crate::local::{LocalRuntime, Log};
use crate::manifests::{self, Context, DEPLOYMENT_LABEL, ROLE_LABEL, Workload};
use crate::spec::{DeploymentSpec, EnvVar, WorkloadKind};
use crate::status::{self, DeploymentDetail, DeploymentState, DeploymentSummary, Run};
use crate::{DeployerSettings, airflow, validate};

const MAX_LIMIT: usize = 500;
/// Lines of log answered when the caller sets no bound: a huge log is never sent whole unless
/// asked (`all=true`).
pub(crate) const DEFAULT_TAIL_LINES: i64 = 1000;
pub(crate) const DEFAULT_LIMIT_BYTES: i64 = 5 * 1024 * 1024;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/v1/deployments", web::post().to(create_deployment))
        .route("/v1/deployments", web::get().to(list_deployments))
        .route("/v1/deployments/{name}", web::get().to(get_deployment))
        .route("/v1/deployments/{name}", web::put().to(update_deployment))
        .route("/v1/deployments/{name}", web::delete().to(delete_deployment))
        .route("/v1/deployments/{name}/revisions", web::get().to(list_revisions))
        .route("/v1/deployments/{name}/revisions/{revision}/rollback", web::post().to(rollback))
        .route("/v1/deployments/{name}/suspend", web::post().to(suspend))
        .route("/v1/deployments/{name}/resume", web::post().to(resume))
        .route("/v1/deployments/{name}/run", web::post().to(run_now))
        .route("/v1/deployments/{name}/runs", web::get().to(list_runs))
        .route("/v1/deployments/{name}/logs", web::get().to(logs))
        .route("/v1/deployments/{name}/airflow", web::get().to(airflow_dag));
}

/// The Kubernetes side of the service, or a 503 when it has no cluster to talk to.
fn cluster(state: &web::Data<State>) -> Result<&Cluster, ApiError> {
    state.cluster.as_ref().ok_or_else(|| {
        ApiError::Unavailable(ErrorBody::new(
            "kubernetes_not_configured",
            "the deployer has no Kubernetes cluster: run it in a cluster or give it a kubeconfig (KUBECONFIG)",
        ))
    })
}

/// What the handlers share: the local runtime when it is the one configured, else the cluster.
#[derive(Debug)]
pub struct State {
    pub cluster: Option<Cluster>,
    pub local: Option<LocalRuntime>,
    pub settings: DeployerSettings,
}

/// Deploys a spec: the Job or CronJob and its Secrets, recorded as a new revision.
async fn deploy(
    cluster: &Cluster,
    settings: &DeployerSettings,
    mut spec: DeploymentSpec,
    author: &str,
    existing: Option<Workload>,
    change: &str,
) -> Result<Workload, ApiError> {
    let revision = existing.as_ref().map_or(0, status::revision_of) + 1;
    let owner = existing
        .as_ref()
        .and_then(|old| status::annotation(old, manifests::OWNER_ANNOTATION))
        .unwrap_or_else(|| author.to_owned());
    // Suspension is the CronJob's state, kept across changes until resumed.
    if let (Some(old), Some(schedule)) = (&existing, spec.schedule.as_mut()) {
        schedule.suspend |= status::suspended(old);
    }
    let context = Context {
        namespace: cluster.namespace(),
        fetch_image: &settings.fetch_image,
        nexus_secret: settings.nexus_secret.as_deref(),
        owner: &owner,
        author,
        at: Utc::now(),
        revision,
    };
    for secret in manifests::credentials(&spec, &context) {
        cluster.apply_secret(&secret).await?;
    }
    let workload = manifests::workload(&spec, &context);
    let applied = match &existing {
        None => cluster.apply(&workload, None).await?,
        Some(Workload::CronJob(old)) if workload.kind() == WorkloadKind::CronJob => {
            cluster.apply(&workload, old.metadata.resource_version.clone()).await?
        }
        // A Job's pod template cannot change, and a Job cannot become a CronJob: the old object
        // goes (its runs with it) and the new one is created under the same name.
        Some(old) => {
            let name = manifests::name_of(&spec);
            cluster.delete_workload(old.kind(), name).await?;
            apply_after_delete(cluster, &workload).await?
        }
    };
    cluster.record_revision(&manifests::revision(&spec, &context, change)).await?;
    if existing.is_some() {
        let keep: Vec<String> =
            manifests::kept(&spec).mounts.into_iter().filter_map(|mount| mount.secret_name).collect();
        cluster.delete_secrets(manifests::name_of(&spec), Some("credentials"), &keep).await?;
    }
    Ok(applied)
}

/// Applies a workload whose predecessor of the same name is being deleted: Kubernetes answers 409
/// until the old object is gone, which takes a moment.
async fn apply_after_delete(cluster: &Cluster, workload: &Workload) -> Result<Workload, ApiError> {
    let mut attempt = 0;
    loop {
        match cluster.apply(workload, None).await {
            Err(ApiError::Conflict(_)) if attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

async fn detail(cluster: &Cluster, workload: Workload) -> Result<DeploymentDetail, ApiError> {
    let name = workload.metadata().name.clone().unwrap_or_default();
    let pods: Vec<Pod> = cluster.list(&[(DEPLOYMENT_LABEL, &name)], "list the deployment's pods").await?;
    Ok(detail_of(&workload, status::latest_pods(pods).remove(&name).as_ref()))
}

fn detail_of(workload: &Workload, latest_pod: Option<&Pod>) -> DeploymentDetail {
    let active_runs = match workload {
        Workload::CronJob(cron_job) => cron_job.status.as_ref().and_then(|s| s.active.as_ref()).map_or(0, Vec::len),
        Workload::Job(job) => {
            job.status.as_ref().and_then(|s| s.active).map_or(0, |active| usize::try_from(active).unwrap_or(0))
        }
    };
    DeploymentDetail {
        summary: status::summary(workload, latest_pod, Utc::now()),
        suspended: status::suspended(workload),
        suspend_reason: status::annotation(workload, manifests::SUSPEND_REASON_ANNOTATION),
        spec: status::kept_spec(workload),
        active_runs,
        warnings: Vec::new(),
    }
}

/// Deploys a Nexus artifact as a Job (no schedule) or a CronJob.
#[utoipa::path(
    post, path = "/v1/deployments", tag = "deployments",
    request_body = DeploymentSpec,
    responses(
        (status = 201, body = DeploymentDetail, description = "deployed"),
        (status = 400, body = InvalidBody, description = "every problem of the spec, with its field"),
        (status = 409, body = ErrorBody, description = "a deployment of that name exists"),
        (status = 502, body = ErrorBody, description = "Kubernetes refused the deployer"),
        (status = 503, body = ErrorBody, description = "Kubernetes cannot be reached"),
    )
)]
pub async fn create_deployment(
    state: web::Data<State>,
    caller: Caller,
    body: web::Json<DeploymentSpec>,
) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        let (spec, warnings) = validate::validate_local(body.into_inner(), None, state.settings.nexus_url.as_deref())
            .map_err(ApiError::Invalid)?;
        let detail = local.deploy(spec, &caller.user, "deployed", true).await?;
        return Ok(HttpResponse::Created().json(DeploymentDetail { warnings, ..detail }));
    }
    let cluster = cluster(&state)?;
    let spec =
        validate::validate(body.into_inner(), None, state.settings.nexus_url.as_deref()).map_err(ApiError::Invalid)?;
    let name = manifests::name_of(&spec).to_owned();
    if cluster.find(&name).await?.is_some() {
        return Err(ApiError::conflict(
            "deployment_exists",
            format!("a deployment named '{name}' exists; change it with PUT /v1/deployments/{name}"),
        ));
    }
    let workload = deploy(cluster, &state.settings, spec, &caller.user, None, "deployed").await?;
    tracing::info!(deployment = %name, kind = workload.kind().as_str(), "deployed");
    Ok(HttpResponse::Created().json(detail_of(&workload, None)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParamsQuery {
    /// Only the deployments this user deployed first.
    owner: Option<String>,
    /// `Job` or `CronJob`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<WorkloadKind>)]
    kind: Option<WorkloadKind>,
    /// `Active` or `Inactive`.
    #[param(value_type = Option<DeploymentState>)]
    state: Option<DeploymentState>,
    #[param(minimum = 0, example = 0)]
    offset: Option<usize>,
    /// At most 500; 50 when absent.
    #[param(minimum = 0, maximum = 500, example = 50)]
    limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentSummary>,
    /// How many match the filters.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
}

/// The seed's job list, by name.
#[utoipa::path(
    get, path = "/v1/deployments", tag = "deployments", params(ListParamsQuery),
    responses(
        (status = 200, body = DeploymentList),
        (status = 400, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn list_deployments(
    state: web::Data<State>,
    query: Query<ListParamsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if limit > MAX_LIMIT {
        return Err(ApiError::invalid("limit", format!("the parameter `limit` is {limit}; at most {MAX_LIMIT}")));
    }
    let offset = query.offset.unwrap_or(0);
    let summaries = match &state.local {
        Some(local) => local.list().await,
        None => summaries(cluster(&state)?).await?,
    };
    let mut deployments: Vec<DeploymentSummary> = summaries
        .into_iter()
        .filter(|line| query.owner.as_ref().is_none_or(|owner| line.owner.as_ref() == Some(owner)))
        .filter(|line| query.kind.is_none_or(|kind| line.kind == kind))
        .filter(|line| query.state.is_none_or(|state| line.state == state))
        .collect();
    deployments.sort_by(|a, b| a.name.cmp(&b.name));
    let total = deployments.len();
    let page = deployments.into_iter().skip(offset).take(limit).collect();
    Ok(HttpResponse::Ok().json(DeploymentList { deployments: page, total, offset, limit }))
}

/// Every deployment's list line, from the Kubernetes objects.
async fn summaries(cluster: &Cluster) -> Result<Vec<DeploymentSummary>, ApiError> {
    let workload_labels = [(ROLE_LABEL, "workload")];
    let cron_jobs: Vec<CronJob> = cluster.list(&workload_labels, "list the CronJobs").await?;
    let jobs: Vec<Job> = cluster.list(&workload_labels, "list the Jobs").await?;
    let pods: Vec<Pod> = cluster.list(&[], "list the pods").await?;
    let latest = status::latest_pods(pods);
    let now = Utc::now();
    let workloads = cron_jobs
        .into_iter()
        .map(|c| Workload::CronJob(Box::new(c)))
        .chain(jobs.into_iter().map(|j| Workload::Job(Box::new(j))));
    Ok(workloads
        .map(|workload| {
            let name = workload.metadata().name.clone().unwrap_or_default();
            status::summary(&workload, latest.get(&name), now)
        })
        .collect())
}

/// One deployment: its spec and status.
#[utoipa::path(
    get, path = "/v1/deployments/{name}", tag = "deployments",
    params(("name" = String, Path)),
    responses((status = 200, body = DeploymentDetail), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn get_deployment(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        return Ok(HttpResponse::Ok().json(local.get(&name).await?));
    }
    let cluster = cluster(&state)?;
    let workload = cluster.get(&name).await?;
    Ok(HttpResponse::Ok().json(detail(cluster, workload).await?))
}

/// Changes a deployment in place (version, image, schedule, configuration): a new revision.
#[utoipa::path(
    put, path = "/v1/deployments/{name}", tag = "deployments",
    request_body = DeploymentSpec,
    params(("name" = String, Path)),
    responses(
        (status = 200, body = DeploymentDetail),
        (status = 400, body = InvalidBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "changed by someone else meanwhile"),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn update_deployment(
    state: web::Data<State>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Json<DeploymentSpec>,
) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        let (spec, warnings) =
            validate::validate_local(body.into_inner(), Some(&name), state.settings.nexus_url.as_deref())
                .map_err(ApiError::Invalid)?;
        let detail = local.deploy(spec, &caller.user, "changed", false).await?;
        return Ok(HttpResponse::Ok().json(DeploymentDetail { warnings, ..detail }));
    }
    let cluster = cluster(&state)?;
    let spec = validate::validate(body.into_inner(), Some(&name), state.settings.nexus_url.as_deref())
        .map_err(ApiError::Invalid)?;
    let existing = cluster.get(&name).await?;
    let workload = deploy(cluster, &state.settings, spec, &caller.user, Some(existing), "changed").await?;
    Ok(HttpResponse::Ok().json(detail(cluster, workload).await?))
}

/// Removes the deployment: its Job or CronJob, their runs and pods (in the background), and its
/// Secrets (credentials and revisions).
#[utoipa::path(
    delete, path = "/v1/deployments/{name}", tag = "deployments",
    params(("name" = String, Path)),
    responses((status = 204, description = "removed"), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn delete_deployment(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        local.delete(&name).await?;
    } else {
        let cluster = cluster(&state)?;
        let workload = cluster.get(&name).await?;
        cluster.delete_workload(workload.kind(), &name).await?;
        cluster.delete_secrets(&name, None, &[]).await?;
    }
    tracing::info!(deployment = %name, "deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// One revision of a deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub author: Option<String>,
    pub at: Option<chrono::DateTime<Utc>>,
    /// `deployed`, `changed`, or `rollback to N`.
    pub change: Option<String>,
    pub spec: Option<DeploymentSpec>,
}

fn revision_of_secret(secret: &Secret) -> Option<Revision> {
    let labels = secret.metadata.labels.as_ref()?;
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    Some(Revision {
        revision: labels.get(manifests::REVISION_LABEL)?.parse().ok()?,
        author: annotations.get(manifests::DEPLOYED_BY_ANNOTATION).cloned(),
        at: annotations
            .get(manifests::DEPLOYED_AT_ANNOTATION)
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc)),
        change: annotations.get(manifests::CHANGE_ANNOTATION).cloned(),
        spec: secret.data.as_ref()?.get("spec").and_then(|bytes| serde_json::from_slice(&bytes.0).ok()),
    })
}

/// Every revision, newest first, each with its author, time and spec.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/revisions", tag = "deployments",
    params(("name" = String, Path)),
    responses((status = 200, body = [Revision]), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn list_revisions(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        return Ok(HttpResponse::Ok().json(local.revisions(&name).await?));
    }
    let cluster = cluster(&state)?;
    let secrets: Vec<Secret> =
        cluster.list(&[(DEPLOYMENT_LABEL, &name), (ROLE_LABEL, "revision")], "list the revisions").await?;
    let mut revisions: Vec<Revision> = secrets.iter().filter_map(revision_of_secret).collect();
    if revisions.is_empty() {
        cluster.get(&name).await?;
    }
    revisions.sort_by_key(|revision| std::cmp::Reverse(revision.revision));
    Ok(HttpResponse::Ok().json(revisions))
}

/// Deploys the spec of an earlier revision again, as a new revision.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/revisions/{revision}/rollback", tag = "deployments",
    params(("name" = String, Path), ("revision" = u32, Path)),
    responses((status = 200, body = DeploymentDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn rollback(
    state: web::Data<State>,
    caller: Caller,
    path: web::Path<(String, u32)>,
) -> Result<HttpResponse, ApiError> {
    let (name, number) = path.into_inner();
    let missing =
        || ApiError::NotFound(ErrorBody::new("revision_not_found", format!("'{name}' has no revision {number}")));
    let change = format!("rollback to {number}");
    if let Some(local) = &state.local {
        let revisions = local.revisions(&name).await?;
        let spec = revisions.into_iter().find(|r| r.revision == number).and_then(|r| r.spec).ok_or_else(missing)?;
        let (spec, warnings) = validate::validate_local(spec, Some(&name), state.settings.nexus_url.as_deref())
            .map_err(ApiError::Invalid)?;
        let detail = local.deploy(spec, &caller.user, &change, false).await?;
        return Ok(HttpResponse::Ok().json(DeploymentDetail { warnings, ..detail }));
    }
    let cluster = cluster(&state)?;
    let existing = cluster.get(&name).await?;
    let spec = cluster
        .revision(&name, number)
        .await?
        .as_ref()
        .and_then(revision_of_secret)
        .and_then(|revision| revision.spec)
        .ok_or_else(missing)?;
    let spec = validate::validate(spec, Some(&name), state.settings.nexus_url.as_deref()).map_err(ApiError::Invalid)?;
    let workload = deploy(cluster, &state.settings, spec, &caller.user, Some(existing), &change).await?;
    Ok(HttpResponse::Ok().json(detail(cluster, workload).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why, shown with the deployment until it is resumed.
    pub reason: Option<String>,
}

async fn set_suspended(
    state: web::Data<State>,
    name: &str,
    suspend: bool,
    reason: Option<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        return Ok(HttpResponse::Ok().json(local.set_suspended(name, suspend, reason).await?));
    }
    let cluster = cluster(&state)?;
    let workload = cluster.get(name).await?;
    if workload.kind() != WorkloadKind::CronJob {
        return Err(ApiError::conflict(
            "not_a_cronjob",
            format!("'{name}' is a Job, which runs once; only a CronJob can be suspended or resumed"),
        ));
    }
    let cron_job = cluster.set_suspended(name, suspend, reason.as_deref().filter(|_| suspend)).await?;
    tracing::info!(deployment = %name, suspend, "suspension changed");
    Ok(HttpResponse::Ok().json(detail(cluster, Workload::CronJob(Box::new(cron_job))).await?))
}

/// Stops a CronJob from starting runs (runs going on finish).
#[utoipa::path(
    post, path = "/v1/deployments/{name}/suspend", tag = "control",
    params(("name" = String, Path)), request_body(content = Option<SuspendRequest>),
    responses((status = 200, body = DeploymentDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "a Job, not a CronJob"))
)]
pub async fn suspend(
    state: web::Data<State>,
    name: web::Path<String>,
    body: Option<web::Json<SuspendRequest>>,
) -> Result<HttpResponse, ApiError> {
    set_suspended(state, &name, true, body.and_then(|body| body.into_inner().reason)).await
}

/// Lets a suspended CronJob run on its schedule again.
#[utoipa::path(
    post, path = "/v1/deployments/{name}/resume", tag = "control",
    params(("name" = String, Path)),
    responses((status = 200, body = DeploymentDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn resume(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    set_suspended(state, &name, false, None).await
}

/// One-off changes for a run started by hand.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunRequest {
    /// Variables set (or replaced) for this run only.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Replace the runner's arguments for this run only.
    pub args: Option<Vec<String>>,
}

/// Starts a run of a CronJob now, from its template (as `kubectl create job --from=cronjob/...`).
#[utoipa::path(
    post, path = "/v1/deployments/{name}/run", tag = "control",
    params(("name" = String, Path)), request_body(content = Option<RunRequest>),
    responses((status = 201, body = Run), (status = 400, body = InvalidBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn run_now(
    state: web::Data<State>,
    caller: Caller,
    name: web::Path<String>,
    body: Option<web::Json<RunRequest>>,
) -> Result<HttpResponse, ApiError> {
    let overrides = body.map(web::Json::into_inner).unwrap_or_default();
    validate::run_overrides(&overrides.env).map_err(ApiError::Invalid)?;
    if let Some(local) = &state.local {
        if overrides.env.iter().any(|var| var.secret.is_some()) {
            return Err(ApiError::invalid("env", "the local runtime has no Kubernetes Secrets: give values"));
        }
        return Ok(HttpResponse::Created().json(local.run_now(&name, overrides, &caller.user).await?));
    }
    let cluster = cluster(&state)?;
    let Workload::CronJob(cron_job) = cluster.get(&name).await? else {
        return Err(ApiError::conflict(
            "not_a_cronjob",
            format!("'{name}' is a Job, which runs once; change it with PUT to run it again"),
        ));
    };
    let job = manual_run(&cron_job, &overrides, &caller.user)?;
    let created = cluster.create_job(&job).await?;
    tracing::info!(deployment = %name, run = ?created.metadata.name, "run started by hand");
    Ok(HttpResponse::Created().json(status::run(&created, &[])))
}

/// A Job from the CronJob's template, named `<name>-m<base-36 seconds>`, owned by the CronJob.
fn manual_run(cron_job: &CronJob, overrides: &RunRequest, author: &str) -> Result<Job, ApiError> {
    let name = cron_job.metadata.name.clone().unwrap_or_default();
    let template = cron_job.spec.as_ref().map(|spec| spec.job_template.clone()).unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    if let Some(runner) =
        spec.template.spec.as_mut().and_then(|pod| pod.containers.iter_mut().find(|c| c.name == manifests::RUNNER))
    {
        let env = runner.env.get_or_insert_with(Vec::new);
        for var in &overrides.env {
            let value = manifests::env_var(var);
            match env.iter_mut().find(|existing| existing.name == var.name) {
                Some(existing) => *existing = value,
                None => env.push(value),
            }
        }
        if let Some(args) = &overrides.args {
            runner.args = Some(args.clone());
        }
    }
    let mut annotations = template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
    annotations.insert(manifests::INSTANTIATE_ANNOTATION.0.to_owned(), manifests::INSTANTIATE_ANNOTATION.1.to_owned());
    annotations.insert(manifests::DEPLOYED_BY_ANNOTATION.to_owned(), author.to_owned());
    let uid = cron_job.metadata.uid.clone().ok_or_else(|| {
        ApiError::BadGateway(ErrorBody::new("kubernetes_error", "Kubernetes gave the CronJob no uid"))
    })?;
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(format!("{name}-m{}", crate::names::base36(Utc::now().timestamp().unsigned_abs()))),
            namespace: cron_job.metadata.namespace.clone(),
            labels: template.metadata.and_then(|m| m.labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".to_owned(),
                kind: "CronJob".to_owned(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

async fn runs_of(cluster: &Cluster, name: &str) -> Result<Vec<Run>, ApiError> {
    let jobs: Vec<Job> = cluster.list(&[(DEPLOYMENT_LABEL, name)], "list the runs").await?;
    let pods: Vec<Pod> = cluster.list(&[(DEPLOYMENT_LABEL, name)], "list the runs' pods").await?;
    if jobs.is_empty() {
        cluster.get(name).await?;
    }
    Ok(status::runs(jobs, pods))
}

/// The runs (Jobs) of a deployment, newest first, with why each failed.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/runs", tag = "runs",
    params(("name" = String, Path)),
    responses((status = 200, body = [Run]), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn list_runs(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if let Some(local) = &state.local {
        return Ok(HttpResponse::Ok().json(local.runs(&name).await?));
    }
    let cluster = cluster(&state)?;
    Ok(HttpResponse::Ok().json(runs_of(cluster, &name).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The run (Job name, from `.../runs`); the latest run when absent.
    pub(crate) run: Option<String>,
    /// `runner` (default) or `fetch` (the init container that downloads the resource).
    pub(crate) container: Option<String>,
    /// The last lines only; 1000 when no bound is given (see `all`).
    #[param(rename = "tailLines", minimum = 0)]
    pub(crate) tail_lines: Option<i64>,
    /// Only the lines of the last seconds.
    #[param(rename = "sinceSeconds", minimum = 1)]
    pub(crate) since_seconds: Option<i64>,
    /// The logs of the previous attempt of the container (after a restart).
    pub(crate) previous: Option<bool>,
    /// Stream the log as it grows, until the container ends or the client leaves.
    pub(crate) follow: Option<bool>,
    /// At most this many bytes; 5 MiB when no bound is given.
    #[param(rename = "limitBytes", minimum = 1)]
    pub(crate) limit_bytes: Option<i64>,
    /// The whole log, however long.
    pub(crate) all: Option<bool>,
}

/// The logs of the latest run, or of a given run.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/logs", tag = "runs",
    params(("name" = String, Path), LogQuery),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)
    )
)]
pub async fn logs(
    state: web::Data<State>,
    name: web::Path<String>,
    query: Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let container = query.container.clone().unwrap_or_else(|| manifests::RUNNER.to_owned());
    if container != manifests::RUNNER && container != manifests::FETCH {
        return Err(ApiError::invalid(
            "container",
            format!("the parameter `container` is '{container}'; it is runner or fetch"),
        ));
    }
    for (field, value, minimum) in [
        ("tailLines", query.tail_lines, 0),
        ("sinceSeconds", query.since_seconds, 1),
        ("limitBytes", query.limit_bytes, 1),
    ] {
        if let Some(value) = value.filter(|value| *value < minimum) {
            return Err(ApiError::invalid(field, format!("the parameter `{field}` is {value}; at least {minimum}")));
        }
    }
    let text = ContentType::plaintext();
    if let Some(local) = &state.local {
        return Ok(match local.logs(&name, &query).await? {
            Log::Text(body) => HttpResponse::Ok().content_type(text).body(body),
            Log::Follow(stream) => HttpResponse::Ok().content_type(text).streaming(stream),
        });
    }
    let cluster = cluster(&state)?;
    let runs = runs_of(cluster, &name).await?;
    let run = match &query.run {
        Some(wanted) => runs.iter().find(|run| &run.name == wanted).ok_or_else(|| {
            ApiError::NotFound(
                ErrorBody::new("run_not_found", format!("'{name}' has no run named '{wanted}'")).with_field("run"),
            )
        })?,
        None => runs
            .first()
            .ok_or_else(|| ApiError::NotFound(ErrorBody::new("no_run", format!("'{name}' has not run yet"))))?,
    };
    let pod = run.pod.clone().ok_or_else(|| {
        ApiError::NotFound(ErrorBody::new("no_pod", format!("the run '{}' has no pod yet", run.name)))
    })?;
    let unbounded = query.all.unwrap_or(false);
    let bounded = query.tail_lines.is_some() || query.since_seconds.is_some();
    let params = LogParams {
        container: Some(container),
        tail_lines: query.tail_lines.or((!unbounded && !bounded).then_some(DEFAULT_TAIL_LINES)),
        since_seconds: query.since_seconds,
        limit_bytes: query.limit_bytes.or((!unbounded).then_some(DEFAULT_LIMIT_BYTES)),
        previous: query.previous.unwrap_or(false),
        follow: query.follow.unwrap_or(false),
        ..LogParams::default()
    };
    if params.follow {
        let lines = cluster.log_stream(&pod, &params).await?.lines();
        let body = lines.map(|line| line.map(|line| web::Bytes::from(line + "\n")));
        return Ok(HttpResponse::Ok().content_type(text).streaming(body));
    }
    Ok(HttpResponse::Ok().content_type(text).body(cluster.logs(&pod, &params).await?))
}

/// The deployment as an Airflow DAG file (Python) with a KubernetesPodOperator doing the same.
#[utoipa::path(
    get, path = "/v1/deployments/{name}/airflow", tag = "deployments",
    params(("name" = String, Path)),
    responses((status = 200, content_type = "text/x-python", body = String), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn airflow_dag(state: web::Data<State>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (spec, namespace) = match &state.local {
        // A DAG always runs on Kubernetes; a local deployment's goes to the default namespace, when
        // Kubernetes can run it (no file:// download, no schedule with seconds).
        Some(local) => {
            let spec = validate::validate(local.spec(&name).await?, Some(&name), None).map_err(|problems| {
                let why: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
                ApiError::conflict(
                    "not_exportable",
                    format!("'{name}' cannot run on Kubernetes as it is: {}", why.join("; ")),
                )
            })?;
            (spec, "default")
        }
        None => {
            let cluster = cluster(&state)?;
            let workload = cluster.get(&name).await?;
            let spec = status::kept_spec(&workload).ok_or_else(|| {
                ApiError::conflict(
                    "no_spec",
                    format!(
                        "'{name}' lost its spec annotation (changed outside the deployer); change it with PUT first"
                    ),
                )
            })?;
            (spec, cluster.namespace())
        }
    };
    let dag = airflow::dag(
        &spec,
        &airflow::Options {
            namespace,
            fetch_image: &state.settings.fetch_image,
            nexus_secret: state.settings.nexus_secret.as_deref(),
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/x-python; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}.py\"", name.replace('-', "_"))))
        .body(dag))
}
