//! The objects a deployment becomes, field by field, and valid for Kubernetes 1.34 by its own
//! schemas (`kubernetes-validate --strict`).

use std::process::Command;

use job_deployer::kubernetes::manifests::{self, Workload};
use serde_json::{Value, json};

use crate::fixtures::{SHA256, checked, context, full_spec, job_spec};
use crate::tools;

fn json_of(workload: &Workload) -> Value {
    match workload {
        Workload::Job(job) => serde_json::to_value(job).unwrap(),
        Workload::CronJob(cron_job) => serde_json::to_value(cron_job).unwrap(),
    }
}

/// Runs `kubernetes-validate` on the objects; panics with its report when one is refused.
fn assert_valid_for_kubernetes(objects: &[Value]) {
    let program = tools::program("KUBERNETES_VALIDATE");
    let dir = tempdir();
    for (index, object) in objects.iter().enumerate() {
        let file = dir.join(format!("{index}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(object).unwrap()).unwrap();
        let output = Command::new(&program).args(["-k", "1.34.0", "--strict"]).arg(&file).output().unwrap();
        let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(
            output.status.success(),
            "{} is refused:\n{report}\n{}",
            object["kind"],
            serde_json::to_string_pretty(object).unwrap()
        );
        assert!(report.contains("passed"), "{report}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("job-deployer-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

#[test]
fn a_scheduled_deployment_becomes_a_cronjob_with_its_fetch_step_mounts_and_labels() {
    let spec = checked(full_spec());
    let workload = manifests::workload(&spec, &context());
    let cron_job = json_of(&workload);
    assert_eq!(cron_job["apiVersion"], "batch/v1");
    assert_eq!(cron_job["kind"], "CronJob");
    let meta = &cron_job["metadata"];
    assert_eq!(meta["name"], "sales-etl");
    assert_eq!(meta["namespace"], "jobs");
    assert_eq!(
        meta["labels"],
        json!({
            "app.kubernetes.io/managed-by": "job-orchestrator", "job-orchestrator.io/deployment": "sales-etl",
            "job-orchestrator.io/owner": "jane", "job-orchestrator.io/role": "workload",
            "app.kubernetes.io/name": "sales-etl", "app.kubernetes.io/version": "1.4.2"
        })
    );
    let annotations = &meta["annotations"];
    assert_eq!(annotations["job-orchestrator.io/deployed-by"], "joe");
    assert_eq!(annotations["job-orchestrator.io/owner"], "jane");
    assert_eq!(annotations["job-orchestrator.io/deployed-at"], "2026-11-21T10:00:00Z");
    assert_eq!(annotations["job-orchestrator.io/revision"], "3");
    assert_eq!(annotations["job-orchestrator.io/runner-image"], "registry.example.com:5000/talend/runner:8.0.1");
    assert_eq!(annotations["job-orchestrator.io/description"], "Nightly \"sales\" load");
    assert_eq!(
        annotations["job-orchestrator.io/resource"],
        "releases/com.example.etl:sales-etl:1.4.2 (com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip)"
    );

    let spec_json = &cron_job["spec"];
    assert_eq!(spec_json["schedule"], "30 2 * * 1-5");
    assert_eq!(spec_json["timeZone"], "Europe/Paris");
    assert_eq!(spec_json["concurrencyPolicy"], "Forbid");
    assert_eq!(spec_json["startingDeadlineSeconds"], 300);
    assert_eq!(spec_json["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec_json["failedJobsHistoryLimit"], 5);
    assert_eq!(spec_json["suspend"], false);
    let job = &spec_json["jobTemplate"]["spec"];
    assert_eq!(job["backoffLimit"], 2);
    assert_eq!(job["activeDeadlineSeconds"], 3600);
    assert_eq!(job["ttlSecondsAfterFinished"], 86400);
    assert_eq!(
        job["podFailurePolicy"]["rules"][0],
        json!({"action": "FailJob", "onExitCodes": {"containerName": "fetch", "operator": "In", "values": [3]}})
    );
    assert_eq!(spec_json["jobTemplate"]["metadata"]["labels"]["job-orchestrator.io/deployment"], "sales-etl");
    assert_eq!(job["template"]["metadata"]["labels"]["job-orchestrator.io/deployment"], "sales-etl");
    assert!(
        job["template"]["metadata"]["labels"].get("job-orchestrator.io/role").is_none(),
        "runs are not deployments"
    );

    let pod = &job["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["automountServiceAccountToken"], false);
    // What the `restricted` Pod Security level asks.
    assert_eq!(
        pod["securityContext"],
        json!({"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    for container in [&pod["initContainers"][0], &pod["containers"][0]] {
        let security = &container["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false, "{container}");
        assert_eq!(security["capabilities"], json!({"drop": ["ALL"]}), "{container}");
        assert_eq!(security["runAsNonRoot"], true, "{container}");
    }
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "resource", "emptyDir": {}},
            {"name": "smb-0", "csi": {"driver": "smb.csi.k8s.io", "readOnly": false,
                "volumeAttributes": {"source": "//files.example.com/exports", "secretName": "sales-etl.v3-smb-0"}, "nodePublishSecretRef": {"name": "sales-etl.v3-smb-0"}}},
            {"name": "smb-1", "csi": {"driver": "smb.csi.k8s.io", "readOnly": true,
                "volumeAttributes": {"source": "//files.example.com/archive", "secretName": "archive-smb"}, "nodePublishSecretRef": {"name": "archive-smb"}}}
        ])
    );
    let fetch = &pod["initContainers"][0];
    assert_eq!(fetch["name"], "fetch");
    assert_eq!(fetch["image"], "curlimages/curl:8.11.1");
    assert_eq!(fetch["command"][0], "sh");
    assert!(fetch["command"][2].as_str().unwrap().contains("checksum mismatch"));
    assert_eq!(
        fetch["env"],
        json!([
            {"name": "RESOURCE_URL", "value": "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip"},
            {"name": "RESOURCE_FILE", "value": "sales-etl-1.4.2.zip"},
            {"name": "RESOURCE_DIR", "value": "/job/resource"},
            {"name": "RESOURCE_CHECKSUM_COMMAND", "value": "sha256sum"},
            {"name": "RESOURCE_CHECKSUM", "value": SHA256},
            {"name": "NEXUS_USERNAME", "valueFrom": {"secretKeyRef": {"name": "nexus-reader", "key": "username"}}},
            {"name": "NEXUS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "nexus-reader", "key": "password"}}}
        ])
    );
    let runner = &pod["containers"][0];
    assert_eq!(runner["name"], "runner");
    assert_eq!(runner["image"], "registry.example.com:5000/talend/runner:8.0.1");
    assert_eq!(runner["command"], json!(["sh", "-c"]));
    assert_eq!(runner["args"], json!(["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh --context=Prod"]));
    assert_eq!(runner["workingDir"], "/work");
    assert_eq!(
        runner["env"],
        json!([
            {"name": "JOB_RESOURCE", "value": "/job/resource/sales-etl-1.4.2.zip"},
            {"name": "JOB_RESOURCE_DIR", "value": "/job/resource"},
            {"name": "CONTEXT", "value": "Prod"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sales-db", "key": "password"}}}
        ])
    );
    assert_eq!(
        runner["resources"],
        json!({"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}})
    );
    assert_eq!(
        runner["volumeMounts"],
        json!([
            {"name": "resource", "mountPath": "/job"},
            {"name": "smb-0", "mountPath": "/mnt/exports", "readOnly": false, "subPath": "sales"},
            {"name": "smb-1", "mountPath": "/mnt/archive", "readOnly": true}
        ])
    );
    let text = serde_json::to_string(&cron_job).unwrap();
    assert!(!text.contains("s3cr3t-pa55"), "the CronJob carries no password");
    assert!(!text.contains("svc-etl"), "nor the share's user name");

    let credentials = manifests::credentials(&spec, &context());
    assert_eq!(credentials.len(), 1, "only the mount with inline credentials gets a Secret");
    let secret = serde_json::to_value(&credentials[0]).unwrap();
    assert_eq!(secret["metadata"]["name"], "sales-etl.v3-smb-0", "each revision has its own");
    assert_eq!(secret["metadata"]["labels"]["job-orchestrator.io/role"], "credentials");
    assert_eq!(secret["metadata"]["labels"]["job-orchestrator.io/revision"], "3");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["immutable"], true);
    // base64 of svc-etl, s3cr3t-pa55 and CORP, as the API carries Secret data.
    assert_eq!(
        secret["data"],
        json!({"username": "c3ZjLWV0bA==", "password": "czNjcjN0LXBhNTU=", "domain": "Q09SUA=="})
    );

    let revision = serde_json::to_value(manifests::revision(&spec, &context(), "changed")).unwrap();
    assert_eq!(revision["metadata"]["name"], "sales-etl.v3");
    assert_eq!(revision["type"], "job-orchestrator.io/revision");
    assert_eq!(revision["metadata"]["annotations"]["job-orchestrator.io/change"], "changed");
    let kept: k8s_openapi::ByteString = serde_json::from_value(revision["data"]["spec"].clone()).unwrap();
    let kept = String::from_utf8(kept.0).unwrap();
    assert!(!kept.contains("s3cr3t") && kept.contains("\"secretName\":\"sales-etl.v3-smb-0\""), "{kept}");
    assert!(!kept.contains("suspend"), "suspension is state, not spec: {kept}");

    assert_valid_for_kubernetes(&[cron_job, secret, revision]);
}

#[test]
fn an_unscheduled_deployment_becomes_a_job_named_after_its_artifact() {
    let spec = checked(job_spec());
    let workload = manifests::workload(&spec, &context());
    let job = json_of(&workload);
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["metadata"]["name"], "report-builder");
    assert_eq!(job["metadata"]["labels"]["app.kubernetes.io/name"], "Report_Builder");
    let runner = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(runner["command"], json!(["java", "-jar", "$(JOB_RESOURCE)"]));
    assert_eq!(runner["env"][0], json!({"name": "JOB_RESOURCE", "value": "/job/resource/Report_Builder-2.0.0.jar"}));
    assert!(runner.get("resources").is_none());
    assert!(job["spec"].get("backoffLimit").is_none(), "Kubernetes' default applies");
    assert!(manifests::credentials(&spec, &context()).is_empty());
    assert_valid_for_kubernetes(&[job]);
}
