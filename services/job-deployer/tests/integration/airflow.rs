//! The Airflow translation, loaded by real Airflow 2 and 3 with the cncf-kubernetes provider:
//! no import error, and the operator's arguments are the deployment's.

use std::path::Path;
use std::process::Command;

use job_deployer::airflow::{self, Options};
use job_deployer::kubernetes::manifests;
use serde_json::{Value, json};

use crate::api_server;
use crate::fixtures::{checked, context, full_spec, job_spec, server};
use crate::tools;

fn options(paused: bool) -> Options<'static> {
    Options {
        namespace: "jobs",
        fetch_image: "curlimages/curl:8.11.1",
        nexus_secret: Some("nexus-reader"),
        run_as_user: 65_532,
        paused,
    }
}

/// Prints, as JSON, what Airflow made of each DAG file's DAG and its task.
const INSPECT: &str = r#"
import importlib.util, json, sys
out = {}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("dag_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    (task,) = dag.tasks
    env = {}
    for var in task.env_vars:
        ref = var.value_from.secret_key_ref if var.value_from else None
        env[var.name] = {"secret": ref.name, "key": ref.key} if ref else var.value
    resources = task.container_resources
    # Airflow 2's timetables have a summary; Airflow 3's SDK ones keep the expression.
    timetable = dag.timetable
    schedule = getattr(timetable, "summary", None) or getattr(timetable, "expression", None)
    if type(timetable).__name__ == "NullTimetable":
        schedule = "None"
    zone = getattr(timetable, "_timezone", None) or getattr(timetable, "timezone", None)
    out[dag.dag_id] = {
        "schedule": schedule,
        "timezone": getattr(zone, "name", None) or (str(zone) if zone else None),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "paused": dag.is_paused_upon_creation,
        "image": task.image,
        "cmds": task.cmds,
        "arguments": task.arguments,
        "namespace": task.namespace,
        "env": env,
        "init": [c.name for c in task.init_containers],
        "init_env": sorted(v.name for v in task.init_containers[0].env),
        "volumes": [v.name for v in task.volumes],
        "mounts": {m.mount_path: m.name for m in task.volume_mounts},
        "requests": resources.requests if resources else None,
        "limits": resources.limits if resources else None,
        "retries": task.retries,
        "timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None,
        "pod_security": task.security_context.to_dict() if task.security_context else None,
        "container_security": task.container_security_context.to_dict() if task.container_security_context else None,
        "init_security": task.init_containers[0].security_context.to_dict(),
    }
print(json.dumps(out))
"#;

fn dags(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut hostile = full_spec();
    // Text that would break out of a Python string if it were pasted in.
    hostile["name"] = json!("hostile");
    hostile["description"] = json!("\"\"\" + __import__('os').system('touch /tmp/pwned') + r'''\\");
    hostile["runner"]["args"] = json!(["it's \"quoted\" \\ and {braced} and \u{e9}t\u{e9}"]);
    for (spec, paused) in [(full_spec(), false), (job_spec(), false), (hostile, true)] {
        let spec = manifests::kept(checked(spec).spec(), 1);
        let file = dir.join(format!("{}.py", manifests::name_of(&spec).replace('-', "_")));
        std::fs::write(&file, airflow::dag(&spec, &options(paused))).unwrap();
        files.push(file);
    }
    files
}

/// `local`: Airflow 3 answers from its database unless asked to parse the files itself.
fn airflow_checks(variable: &str, local: bool) {
    let python = tools::program(variable);
    let bin = python.parent().unwrap();
    let home = std::env::temp_dir().join(format!("job-deployer-{variable}-{}", std::process::id()));
    let dags_dir = home.join("dags");
    std::fs::create_dir_all(&dags_dir).unwrap();
    let files = dags(&dags_dir);
    // A file that cannot import, so that the check below is seen to find errors.
    std::fs::write(dags_dir.join("broken.py"), "from airflow import DAG\nimport no_such_module\n").unwrap();
    let airflow = |args: &[&str], succeeds: bool| {
        let output = Command::new(bin.join("airflow"))
            .args(args)
            .env("AIRFLOW_HOME", &home)
            .env("AIRFLOW__CORE__DAGS_FOLDER", &dags_dir)
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.success(), succeeds, "airflow {args:?}:\n{text}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    airflow(&["db", "migrate"], true);
    let local_flag: &[&str] = if local { &["--local"] } else { &[] };
    // It exits 1 when a file has errors.
    let errors = airflow(&[&["dags", "list-import-errors", "-o", "json"], local_flag].concat(), false);
    let errors: Value = serde_json::from_str(errors.lines().rev().find(|line| line.starts_with('[')).unwrap()).unwrap();
    let failing: Vec<&str> =
        errors.as_array().unwrap().iter().map(|error| error["filepath"].as_str().unwrap()).collect();
    assert_eq!(failing.len(), 1, "only the broken file fails to import: {errors:#}");
    assert!(failing[0].ends_with("broken.py"), "{errors:#}");
    let listed = airflow(&[&["dags", "list", "-o", "json"], local_flag].concat(), true);
    for dag in ["sales-etl", "report-builder", "hostile"] {
        assert!(listed.contains(&format!("\"{dag}\"")), "{dag} is listed:\n{listed}");
    }

    let output = Command::new(&python).arg("-c").arg(INSPECT).args(&files).env("AIRFLOW_HOME", &home).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value =
        serde_json::from_slice(output.stdout.rsplit(|b| *b == b'\n').find(|line| line.starts_with(b"{")).unwrap())
            .unwrap();
    let sales = &seen["sales-etl"];
    assert_eq!(sales["schedule"], "30 2 * * 1-5");
    assert_eq!(sales["timezone"], "Europe/Paris");
    assert_eq!(sales["catchup"], false);
    assert_eq!(sales["max_active_runs"], 1, "Forbid: one run at a time");
    assert_eq!(sales["image"], "registry.example.com:5000/talend/runner:8.0.1");
    assert_eq!(sales["cmds"], json!(["sh", "-c"]));
    assert_eq!(sales["arguments"], json!(["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh --context=Prod"]));
    assert_eq!(sales["namespace"], "jobs");
    assert_eq!(
        sales["env"],
        json!({
            "JOB_RESOURCE": "/job/resource/sales-etl-1.4.2.zip", "JOB_RESOURCE_DIR": "/job/resource",
            "CONTEXT": "Prod", "DB_PASSWORD": {"secret": "sales-db", "key": "password"}
        })
    );
    assert_eq!(sales["init"], json!(["fetch"]));
    assert_eq!(
        sales["init_env"],
        json!([
            "NEXUS_PASSWORD",
            "NEXUS_USERNAME",
            "RESOURCE_CHECKSUM",
            "RESOURCE_CHECKSUM_COMMAND",
            "RESOURCE_DIR",
            "RESOURCE_FILE",
            "RESOURCE_URL"
        ])
    );
    assert_eq!(sales["volumes"], json!(["resource", "smb-0", "smb-1"]));
    assert_eq!(sales["mounts"], json!({"/job": "resource", "/mnt/exports": "smb-0", "/mnt/archive": "smb-1"}));
    assert_eq!(sales["requests"], json!({"cpu": "500m", "memory": "512Mi"}));
    assert_eq!(sales["limits"], json!({"cpu": "2", "memory": "2Gi"}));
    assert_eq!(sales["retries"], 2);
    assert_eq!(sales["timeout"], 3600.0);
    assert_eq!(sales["paused"], false, "a deployment that is not suspended is not paused");
    assert_eq!(seen["hostile"]["paused"], true, "a suspended one is");
    let pod_security = &sales["pod_security"];
    assert_eq!(
        (pod_security["run_as_non_root"].clone(), pod_security["run_as_user"].clone()),
        (json!(true), json!(65532))
    );
    assert_eq!(pod_security["seccomp_profile"]["type"], "RuntimeDefault");
    for security in [&sales["container_security"], &sales["init_security"]] {
        assert_eq!(security["allow_privilege_escalation"], false, "{security}");
        assert_eq!(security["capabilities"]["drop"], json!(["ALL"]), "{security}");
    }
    let report = &seen["report-builder"];
    assert_eq!(report["schedule"], "None");
    assert_eq!(report["cmds"], json!(["java", "-jar", "$(JOB_RESOURCE)"]));
    let hostile = &seen["hostile"];
    assert_eq!(hostile["arguments"], json!(["it's \"quoted\" \\ and {braced} and \u{e9}t\u{e9}"]));
    assert!(!Path::new("/tmp/pwned").exists(), "nothing in a spec ran as Python");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains("s3cr3t"), "no credential in a DAG");
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn exported_dags_load_in_airflow_2() {
    airflow_checks("AIRFLOW2_PYTHON", false);
}

#[test]
fn exported_dags_load_in_airflow_3() {
    airflow_checks("AIRFLOW3_PYTHON", true);
}

#[tokio::test]
async fn the_airflow_export_is_served_from_the_deployed_spec() {
    let (cluster, mut api) = api_server::cluster();
    let server = server(Some(cluster)).await;
    let spec = checked(full_spec());
    let context = manifests::Context { revision: 1, ..context() };
    let manifests::Workload::CronJob(cron_job) = manifests::workload(&spec, &context) else { panic!("a CronJob") };
    let export = tokio::spawn(server.client.get(server.url("/v1/deployments/sales-etl/airflow")).send());
    api.expect(
        "GET",
        "/apis/batch/v1/namespaces/jobs/cronjobs/sales-etl",
        200,
        serde_json::to_value(&cron_job).unwrap(),
    )
    .await;
    let response = export.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/x-python; charset=utf-8");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"sales_etl.py\"");
    let text = response.text().await.unwrap();
    assert_eq!(text, airflow::dag(&manifests::kept(spec.spec(), 1), &options(false)));
    server.stop().await;
}
