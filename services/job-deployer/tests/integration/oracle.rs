//! The API server as an oracle for the deployer's checks: every spec of the table goes through the
//! deployer's dry run (its own checks, then the API server's dry run of the objects), and the
//! objects of each spec the deployer refuses are sent to the API server too (as the admin, dry
//! run), so that a spec the deployer accepts and Kubernetes refuses cannot pass unseen, and each
//! place where the deployer is stricter says why.

use k8s_openapi::api::batch::v1::CronJob;
use kube::api::PostParams;
use serde_json::{Value, json};

use crate::cluster::image;
use crate::on_kubernetes::Deployer;

const CONTAINER: &str = "/spec/jobTemplate/spec/template/spec/containers/0";

/// One spec: a field of the full spec set to `value`; where it lands in the CronJob (a JSON
/// pointer) and what it is there; whether the deployer and the API server accept it; and, where
/// the deployer refuses what the server takes, why.
struct Case {
    field: &'static str,
    value: Value,
    object: Option<(String, Value)>,
    deployer: bool,
    server: bool,
    why: &'static str,
}

fn case(field: &'static str, value: Value, pointer: &str, deployer: bool, server: bool, why: &'static str) -> Case {
    let object = (!pointer.is_empty()).then(|| (pointer.to_owned(), value.clone()));
    Case { field, value, object, deployer, server, why }
}

fn container(path: &str) -> String {
    format!("{CONTAINER}{path}")
}

fn cases() -> Vec<Case> {
    let long = |n: usize| Value::String("x".repeat(n));
    vec![
        // Accepted by both.
        case("schedule.cron", json!("@daily"), "/spec/schedule", true, true, ""),
        case("schedule.cron", json!("0 9 * * MON-FRI"), "/spec/schedule", true, true, ""),
        case("schedule.cron", json!("*/15 6-18 ? JAN,jul *"), "/spec/schedule", true, true, ""),
        case("schedule.cron", json!("0 0 29 2 *"), "/spec/schedule", true, true, ""),
        case("schedule.timeZone", json!("America/Argentina/Buenos_Aires"), "/spec/timeZone", true, true, ""),
        case("schedule.timeZone", json!("Etc/GMT+5"), "/spec/timeZone", true, true, ""),
        case("schedule.startingDeadlineSeconds", json!(10), "/spec/startingDeadlineSeconds", true, true, ""),
        case(
            "activeDeadlineSeconds",
            json!(9_223_372_036_i64),
            "/spec/jobTemplate/spec/activeDeadlineSeconds",
            true,
            true,
            "",
        ),
        case("name", long(52), "/metadata/name", true, true, ""),
        case("description", long(1500), "", true, true, ""),
        case("runner.runAsUser", json!(1000), &container("/securityContext/runAsUser"), true, true, ""),
        case(
            "runner.resources",
            json!({"requests": {"cpu": "250m", "memory": "1.5Gi"}}),
            &container("/resources"),
            true,
            true,
            "",
        ),
        case(
            "runner.image",
            json!(
                "registry.example.com:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            &container("/image"),
            true,
            true,
            "",
        ),
        case(
            "mounts",
            json!([{"source": "//files/x", "mountPath": "/mnt/a:b", "secretName": "s"}]),
            "",
            true,
            true,
            "",
        ),
        // Refused by both.
        Case {
            object: Some((
                container("/env/2"),
                json!({"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k".repeat(300)}}}),
            )),
            ..case(
                "runner.env",
                json!([{"name": "X", "secret": {"name": "s", "key": "k".repeat(300)}}]),
                "",
                false,
                false,
                "",
            )
        },
        case("schedule.cron", json!("61 * * * *"), "/spec/schedule", false, false, ""),
        case("schedule.cron", json!("0 0 * * 7"), "/spec/schedule", false, false, ""),
        case("schedule.cron", json!("0 0 * * FRI-MON"), "/spec/schedule", false, false, ""),
        case("schedule.cron", json!("* * * *"), "/spec/schedule", false, false, ""),
        case("schedule.cron", json!("0 0 * * 5#3"), "/spec/schedule", false, false, ""),
        case("schedule.timeZone", json!("Mars/Olympus"), "/spec/timeZone", false, false, ""),
        case("name", long(53), "/metadata/name", false, false, ""),
        case("name", json!("Sales_ETL"), "/metadata/name", false, false, ""),
        case(
            "runner.resources",
            json!({"requests": {"cpu": "3"}, "limits": {"cpu": "2"}}),
            &container("/resources"),
            false,
            false,
            "",
        ),
        case("backoffLimit", json!(-1), "/spec/jobTemplate/spec/backoffLimit", false, false, ""),
        case("ttlSecondsAfterFinished", json!(-1), "/spec/jobTemplate/spec/ttlSecondsAfterFinished", false, false, ""),
        case("schedule.successfulJobsHistoryLimit", json!(-1), "/spec/successfulJobsHistoryLimit", false, false, ""),
        // Refused by the deployer, taken by the API server: each says why.
        case(
            "schedule.cron",
            json!("0 0 30 2 *"),
            "/spec/schedule",
            false,
            true,
            "it never fires: the controller finds no time in five years",
        ),
        case(
            "schedule.cron",
            json!("@every 5m"),
            "/spec/schedule",
            false,
            true,
            "an interval from the controller's last look, not a time a preview can name",
        ),
        case(
            "schedule.startingDeadlineSeconds",
            json!(5),
            "/spec/startingDeadlineSeconds",
            false,
            true,
            "the controller looks every 10 s and skips runs it sees later than the deadline",
        ),
        case(
            "activeDeadlineSeconds",
            json!(10_000_000_000_i64),
            "/spec/jobTemplate/spec/activeDeadlineSeconds",
            false,
            true,
            "the Job controller's nanoseconds overflow: the run is killed at once",
        ),
        case(
            "description",
            long(1501),
            "",
            false,
            true,
            "the job history keeps 1500 bytes of a text: the run's events would be refused",
        ),
        case(
            "runner.image",
            json!("Registry/App"),
            &container("/image"),
            false,
            true,
            "the kubelet cannot pull it (InvalidImageName)",
        ),
        case(
            "runner.workingDir",
            json!("/job/../etc"),
            &container("/workingDir"),
            false,
            true,
            "it leaves the run's folder",
        ),
        case(
            "runner.runAsUser",
            json!(0),
            &container("/securityContext/runAsUser"),
            false,
            true,
            "root: the restricted Pod Security level refuses the pod",
        ),
        Case {
            object: Some((container("/env/2/name"), json!("1X"))),
            ..case(
                "runner.env",
                json!([{"name": "1X", "value": "v"}]),
                "",
                false,
                true,
                "not a name a shell can read (Kubernetes 1.34 takes any printable name)",
            )
        },
    ]
}

/// Sets what the JSON `pointer` names in `object`, making the objects on the way.
fn set(object: &mut Value, pointer: &str, value: Value) {
    let mut target = object;
    for token in pointer.trim_start_matches('/').split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        target = match target {
            Value::Array(items) => &mut items[token.parse::<usize>().unwrap()],
            other => &mut other[token.as_str()],
        };
    }
    *target = value;
}

/// `spec` with the dotted `field` set to `value`.
fn with(mut spec: Value, field: &str, value: &Value) -> Value {
    let parts: Vec<&str> = field.split('.').collect();
    let mut target = &mut spec;
    for part in &parts[..parts.len() - 1] {
        target = &mut target[*part];
    }
    target[parts[parts.len() - 1]] = value.clone();
    spec
}

#[tokio::test]
async fn the_api_server_agrees_with_the_deployers_checks_or_the_table_says_why_not() {
    let deployer = Deployer::start("oracle").await;
    let mut base = crate::fixtures::full_spec();
    base["runner"]["image"] = json!(image::exit(0));
    let dry_run = |spec: Value| {
        let request = deployer.call(reqwest::Method::POST, "/v1/deployments?dryRun=true", "jane").json(&spec);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, report) = dry_run(base.clone()).await;
    assert_eq!(status, 200, "{report}");
    let mut stored = report["objects"].as_array().unwrap().last().unwrap().clone();
    let meta = stored["metadata"].as_object_mut().unwrap();
    for server_set in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
        meta.remove(server_set);
    }
    let cron_jobs = deployer.namespace.api::<CronJob>();
    let mut disagreements = Vec::new();
    for case in cases() {
        assert!(case.deployer || !case.server || !case.why.is_empty(), "{}: the table must say why", case.field);
        let (status, body) = dry_run(with(base.clone(), case.field, &case.value)).await;
        let accepted = status == 200;
        if accepted != case.deployer {
            disagreements.push(format!("{} = {}: the deployer answered {status} {body}", case.field, case.value));
            continue;
        }
        if !accepted {
            let codes = body["code"].as_str().unwrap_or_default();
            let at_field = body["problems"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["field"].as_str().unwrap_or_default().starts_with(case.field)));
            if codes != "invalid_deployment" || !at_field {
                disagreements.push(format!(
                    "{} = {}: refused, but not by the deployer's checks at the field: {body}",
                    case.field, case.value
                ));
            }
        }
        let Some((pointer, value)) = &case.object else { continue };
        if accepted {
            continue;
        }
        let mut object = stored.clone();
        set(&mut object, pointer, value.clone());
        let server = match serde_json::from_value::<CronJob>(object) {
            Ok(cron_job) => {
                cron_jobs.create(&PostParams { dry_run: true, ..PostParams::default() }, &cron_job).await.is_ok()
            }
            // Not even a CronJob (a quantity that is not one, say): the API server refuses it too.
            Err(_) => false,
        };
        if server != case.server {
            disagreements.push(format!(
                "{} = {}: the API server {} it",
                case.field,
                case.value,
                if server { "accepts" } else { "refuses" }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    deployer.stop().await;
}
