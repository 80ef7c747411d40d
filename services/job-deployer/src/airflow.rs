//! The original tool's "translation into an Airflow task": a complete DAG file running the deployment's pod
//! with the cncf-kubernetes provider's KubernetesPodOperator. It imports in Airflow 2 (2.9+) and 3.
//! Every user value is written as a JSON string literal, which Python reads as the same string, so
//! nothing in a spec can become Python code; Secrets appear by reference, never by value.

use std::fmt::Write;

use serde::Serialize;

use crate::kubernetes::manifests::{self, FETCH};
use crate::spec::check::{RESOURCE_ROOT, file_name};
use crate::spec::{ConcurrencyPolicy, DeploymentSpec, ResourceAmounts};

/// Where the DAG's pod runs and how it fetches the resource: the deployer's own settings.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub namespace: &'a str,
    pub fetch_image: &'a str,
    pub nexus_secret: Option<&'a str>,
    /// The user the containers run as (the deployer's `JOB_DEPLOYER_RUN_AS_USER`), unless the spec
    /// names the runner's: the same `restricted` pod as the deployment's.
    pub run_as_user: i64,
    /// The deployment is suspended: the DAG comes paused.
    pub paused: bool,
}

/// A Python string (or list of strings) literal of `value`.
fn py<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "None".to_owned())
}

fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

fn env_value(name: &str, value: &str) -> String {
    format!("k8s.V1EnvVar(name={}, value={})", py(name), py(value))
}

fn env_secret(name: &str, secret: &str, key: &str) -> String {
    format!(
        "k8s.V1EnvVar(name={}, value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name={}, key={})))",
        py(name),
        py(secret),
        py(key)
    )
}

fn amounts(amounts: Option<&ResourceAmounts>) -> String {
    let Some(amounts) = amounts else { return "None".to_owned() };
    let pairs: Vec<String> = [("cpu", &amounts.cpu), ("memory", &amounts.memory)]
        .into_iter()
        .filter_map(|(key, value)| Some(format!("{}: {}", py(key), py(value.as_ref()?))))
        .collect();
    if pairs.is_empty() { "None".to_owned() } else { format!("{{{}}}", pairs.join(", ")) }
}

fn list(items: &[String], indent: &str) -> String {
    if items.is_empty() {
        return "[]".to_owned();
    }
    let mut out = "[\n".to_owned();
    for item in items {
        let _ = writeln!(out, "{indent}    {item},");
    }
    out + indent + "]"
}

/// A container's part of the `restricted` Pod Security level, as the deployment's pods have it.
fn container_security(run_as_user: Option<i64>, read_only_root: bool) -> String {
    let user = run_as_user.map(|user| format!(", run_as_user={user}")).unwrap_or_default();
    let read_only = if read_only_root { ", read_only_root_filesystem=True" } else { "" };
    format!(
        "k8s.V1SecurityContext(allow_privilege_escalation=False, capabilities=k8s.V1Capabilities(drop=[\"ALL\"]), run_as_non_root=True{user}{read_only})"
    )
}

/// The DAG file of `spec` (a kept spec: mounts name their Secrets).
pub fn dag(spec: &DeploymentSpec, options: &Options) -> String {
    let name = manifests::name_of(spec);
    let (resource_file, resource_dir) = manifests::resource_paths(spec);
    let resource = &spec.resource;
    let indent = "        ";

    let mut fetch_env = vec![
        env_value("RESOURCE_URL", &resource.download_url),
        env_value("RESOURCE_FILE", file_name(&resource.path).unwrap_or("resource")),
        env_value("RESOURCE_DIR", &resource_dir),
        env_value("RESOURCE_CHECKSUM_COMMAND", resource.checksum.algorithm.command()),
        env_value("RESOURCE_CHECKSUM", &resource.checksum.value),
    ];
    if let Some(secret) = options.nexus_secret {
        fetch_env.push(env_secret("NEXUS_USERNAME", secret, "username"));
        fetch_env.push(env_secret("NEXUS_PASSWORD", secret, "password"));
    }
    let mut env = vec![env_value("JOB_RESOURCE", &resource_file), env_value("JOB_RESOURCE_DIR", &resource_dir)];
    env.extend(spec.runner.env.iter().map(|var| match (&var.value, &var.secret) {
        (_, Some(secret)) => env_secret(&var.name, &secret.name, &secret.key),
        (value, None) => env_value(&var.name, value.as_deref().unwrap_or_default()),
    }));

    let mut volumes = vec!["k8s.V1Volume(name=\"resource\", empty_dir=k8s.V1EmptyDirVolumeSource())".to_owned()];
    let resource_mount = format!("k8s.V1VolumeMount(name=\"resource\", mount_path={})", py(RESOURCE_ROOT));
    let mut mounts = vec![resource_mount.clone()];
    for (index, mount) in spec.mounts.iter().enumerate() {
        let secret = mount.secret_name.clone().unwrap_or_default();
        volumes.push(format!(
            "k8s.V1Volume(name=\"smb-{index}\", csi=k8s.V1CSIVolumeSource(driver=\"smb.csi.k8s.io\", read_only={}, volume_attributes={{\"source\": {}, \"secretName\": {}}}, node_publish_secret_ref=k8s.V1LocalObjectReference(name={})))",
            py_bool(mount.read_only),
            py(&mount.source),
            py(&secret),
            py(&secret)
        ));
        mounts.push(format!(
            "k8s.V1VolumeMount(name=\"smb-{index}\", mount_path={}, read_only={}, sub_path={})",
            py(&mount.mount_path),
            py_bool(mount.read_only),
            mount.sub_path.as_deref().map_or("None".to_owned(), py)
        ));
    }

    let (schedule, zone, max_active_runs, paused) = match &spec.schedule {
        Some(schedule) => (
            py(schedule.cron.trim()),
            schedule.time_zone.clone().unwrap_or_else(|| "UTC".to_owned()),
            match schedule.concurrency_policy {
                ConcurrencyPolicy::Allow => None,
                // Airflow cannot replace a running DAG run: one at a time is the nearest.
                ConcurrencyPolicy::Forbid | ConcurrencyPolicy::Replace => Some(1),
            },
            options.paused,
        ),
        None => ("None".to_owned(), "UTC".to_owned(), None, false),
    };
    let resources = spec.runner.resources.as_ref();
    let description = spec
        .description
        .clone()
        .unwrap_or_else(|| format!("{} {} from {}", resource.name, resource.version, resource.repository));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\"\"\"Airflow translation of the Job Orchestrator deployment {}.",
        py(name).trim_matches('"').replace("\"\"\"", "")
    );
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Generated by job-deployer. The pod is the deployment's: an init container fetches and checks");
    let _ = writeln!(out, "the Nexus resource, then the runner runs it. Secrets are referenced by name, never copied.");
    let _ = writeln!(out, "\"\"\"");
    out.push_str(
        r#"from datetime import timedelta

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

"#,
    );
    let _ = writeln!(out, "FETCH_SCRIPT = {}", py(include_str!("fetch.sh")));
    let _ = writeln!(out);
    let _ = writeln!(out, "with DAG(");
    let _ = writeln!(out, "    dag_id={},", py(name));
    let _ = writeln!(out, "    description={},", py(&description));
    let _ = writeln!(out, "    schedule={schedule},");
    let _ = writeln!(out, "    start_date=pendulum.datetime(2024, 1, 1, tz={}),", py(&zone));
    let _ = writeln!(out, "    catchup=False,");
    if let Some(max) = max_active_runs {
        let _ = writeln!(out, "    max_active_runs={max},");
    }
    let _ = writeln!(out, "    is_paused_upon_creation={},", py_bool(paused));
    let _ = writeln!(out, "    tags=[\"job-orchestrator\"],");
    let _ = writeln!(out, ") as dag:");
    let _ = writeln!(out, "    KubernetesPodOperator(");
    let _ = writeln!(out, "        task_id={},", py(name));
    let _ = writeln!(out, "        name={},", py(name));
    let _ = writeln!(out, "        namespace={},", py(options.namespace));
    let _ = writeln!(out, "        image={},", py(&spec.runner.image));
    if !spec.runner.command.is_empty() {
        let _ = writeln!(out, "        cmds={},", py(&spec.runner.command));
    }
    if !spec.runner.args.is_empty() {
        let _ = writeln!(out, "        arguments={},", py(&spec.runner.args));
    }
    let _ = writeln!(out, "        env_vars={},", list(&env, indent));
    if let Some(dir) = &spec.runner.working_dir {
        let _ = writeln!(
            out,
            "        full_pod_spec=k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name=\"base\", working_dir={})])),",
            py(dir)
        );
    }
    let _ = writeln!(
        out,
        "        init_containers=[\n            k8s.V1Container(\n                name={},\n                image={},\n                command=[\"sh\", \"-c\", FETCH_SCRIPT],\n                env={},\n                volume_mounts=[{resource_mount}],\n                security_context={},\n            ),\n        ],",
        py(FETCH),
        py(options.fetch_image),
        list(&fetch_env, "                "),
        container_security(None, true)
    );
    let user = options.run_as_user;
    let _ = writeln!(
        out,
        "        security_context=k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user={user}, run_as_group={user}, seccomp_profile=k8s.V1SeccompProfile(type=\"RuntimeDefault\")),"
    );
    let _ = writeln!(out, "        container_security_context={},", container_security(spec.runner.run_as_user, false));
    let _ = writeln!(out, "        volumes={},", list(&volumes, indent));
    let _ = writeln!(out, "        volume_mounts={},", list(&mounts, indent));
    if resources.is_some() {
        let _ = writeln!(
            out,
            "        container_resources=k8s.V1ResourceRequirements(requests={}, limits={}),",
            amounts(resources.and_then(|r| r.requests.as_ref())),
            amounts(resources.and_then(|r| r.limits.as_ref()))
        );
    }
    if let Some(retries) = spec.backoff_limit {
        let _ = writeln!(out, "        retries={retries},");
    }
    if let Some(seconds) = spec.active_deadline_seconds {
        let _ = writeln!(out, "        execution_timeout=timedelta(seconds={seconds}),");
    }
    let _ = writeln!(out, "        automount_service_account_token=False,");
    let _ = writeln!(out, "        get_logs=True,");
    let _ = writeln!(out, "        on_finish_action=\"delete_pod\",");
    let _ = writeln!(out, "    )");
    out
}
