//! Six runs chosen so that every case of the search table has something to find and something to
//! miss: the original history service's own example run, its example queries' targets, nulls, lists,
//! look-alike parameters, characters that LIKE would treat specially, and a deleted run.

use common::job::{Algorithm, ExitStatus, Job, JobStatus, Parameter, StatusChange};
use common::time::parse_rfc3339;
use history_store::testing::{TestDatabase, insert_job};
use service_kit::testing::TestServer;

pub const ORIGINAL: &str = "admi@test.CBNNGZHYE2";
pub const MS2: &str = "job-ms2";
pub const DELETED: &str = "job-deleted-ms2";
pub const LOOKALIKE: &str = "job-lookalike";
pub const PERCENT: &str = "job-percent";
pub const STAR: &str = "job-star";

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    parse_rfc3339(text).unwrap()
}

fn parameter(id: &str, label: &str, kind: &str, values: &[&str]) -> Parameter {
    Parameter {
        id: None,
        parameter_id: id.into(),
        label: Some(label.into()),
        kind: Some(kind.into()),
        value: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn algorithm(id: &str, version: &str, parameters: Vec<Parameter>) -> Algorithm {
    Algorithm {
        algorithm_id: id.into(),
        algorithm_version: Some(version.into()),
        algorithm_name: Some(id.into()),
        parameters: Some(parameters),
    }
}

fn statuses(list: &[(JobStatus, &str)]) -> Vec<StatusChange> {
    list.iter().map(|(status, time)| StatusChange { status: *status, timestamp: at(time) }).collect()
}

fn empty(job_id: &str) -> Job {
    Job { job_id: job_id.into(), ..Job::default() }
}

/// The original history service's example run ("Estrutura do Job"), its times read as -03:00 as its
/// example queries do.
pub fn seed_job() -> Job {
    use JobStatus::*;
    Job {
        group_id: Some(ORIGINAL.into()),
        project_id: Some("admin/testeYade".into()),
        job_owner: Some("admin".into()),
        automatically_machine_selection: Some(false),
        number_of_processes: Some(1),
        number_of_processes_by_machine: Some(1),
        submission_time: Some(at("2019-06-12T21:24:25.342-03:00")),
        description: Some("test yade pela web".into()),
        priority: Some(1),
        multiple_execution: Some(false),
        job_type: Some("ALGORITHM".into()),
        execution_machine: Some("40100".into()),
        end_time: Some(at("2019-06-12T21:31:20.926-03:00")),
        exit_code: Some(0),
        exit_status: Some(ExitStatus::Success),
        cpu_time: Some(0.0),
        wallclock_time: Some(412),
        status_history: statuses(&[
            (Finished, "2019-06-12T21:31:20.926-03:00"),
            (Scheduled, "2019-06-12T21:24:25.342-03:00"),
            (Uploading, "2019-06-12T21:24:27.334-03:00"),
            (Executing, "2019-06-12T21:24:27.358-03:00"),
            (Downloading, "2019-06-12T21:31:20.815-03:00"),
        ]),
        algorithms: vec![algorithm(
            "Yade",
            "5.0.0",
            vec![
                parameter("working_dir", "Working Folder", "INPUT_FILE", &[".:DIRECTORY_TYPE"]),
                parameter("input_file", "Script File (.py)", "INPUT_FILE", &["teste/fiveParticles_v2.py:UNKNOWN"]),
                parameter("batch_run", "Enable multiple runs", "BOOLEAN", &["false"]),
                parameter("batch_file", "Parameter Table File", "INPUT_FILE", &[]),
                parameter("parallel_computation", "Enable parallel computation", "BOOLEAN", &["true"]),
                parameter("number_of_cores", "The number of cores for a job", "INTEGER", &["4"]),
            ],
        )],
        last_modified_time: Some(at("2019-06-12T21:31:20.926-03:00")),
        ..empty(ORIGINAL)
    }
}

pub fn jobs() -> Vec<Job> {
    use JobStatus::*;
    vec![
        seed_job(),
        Job {
            job_owner: Some("adm-ops".into()),
            priority: Some(2),
            execution_machine: Some("40100".into()),
            description: Some("Teste MS2".into()),
            submission_time: Some(at("2019-06-12T17:00:00Z")),
            end_time: Some(at("2019-06-12T18:30:00Z")),
            exit_status: Some(ExitStatus::Killed),
            status_history: statuses(&[
                (Scheduled, "2019-06-12T17:00:00Z"),
                (Executing, "2019-06-12T17:01:00Z"),
                (Finished, "2019-06-12T18:30:00Z"),
            ]),
            algorithms: vec![algorithm(
                "Yade",
                "5.0.1",
                vec![parameter("sleeps", "Sleeps", "INTEGER", &["3"]), parameter("cores", "Cores", "INTEGER", &["1"])],
            )],
            ..empty(MS2)
        },
        Job {
            job_owner: Some("bob".into()),
            priority: Some(1),
            description: Some("old MS2".into()),
            submission_time: Some(at("2019-06-11T10:00:00Z")),
            exit_status: Some(ExitStatus::ExecutionError),
            status_history: statuses(&[(Scheduled, "2019-06-11T10:00:00Z")]),
            algorithms: vec![algorithm(
                "Teste_Progresso",
                "1.0",
                vec![parameter("sleeps", "Sleeps", "INTEGER", &["1", "5"])],
            )],
            is_deleted: true,
            ..empty(DELETED)
        },
        Job {
            job_owner: Some("carol".into()),
            description: Some("Teste Yade com batch".into()),
            submission_time: Some(at("2019-06-14T00:00:00Z")),
            submission_machines: Some(vec!["m1".into(), "m2".into()]),
            cpu_time: Some(1.5),
            ram_memory: Some(2048.0),
            status_history: statuses(&[(Scheduled, "2019-06-14T00:00:00Z"), (Executing, "2019-06-14T00:00:01Z")]),
            algorithms: vec![algorithm(
                "Yade",
                "5.0.0",
                vec![parameter("sleeps", "Sleeps", "INTEGER", &["7"]), parameter("other", "Other", "INTEGER", &["3"])],
            )],
            ..empty(LOOKALIKE)
        },
        Job {
            priority: Some(3),
            description: Some("50%_off".into()),
            submission_time: Some(at("2019-06-10T00:00:00Z")),
            ..empty(PERCENT)
        },
        Job { priority: Some(3), description: Some("5* rating".into()), ..empty(STAR) },
    ]
}

/// The service on a fresh database holding [`jobs`].
pub async fn server() -> TestServer {
    server_with(&[]).await.0
}

/// The service over the fixtures in a database of its own, with `settings` besides, and that
/// database.
pub async fn server_with(settings: &[(&str, &str)]) -> (TestServer, TestDatabase) {
    let database = TestDatabase::create().await;
    let mut connection = database.connect().await;
    for job in jobs() {
        insert_job(&mut connection, &job).await;
    }
    let env = service_kit::testing::test_env(settings.iter().copied().chain([("DATABASE_URL", database.url.as_str())]));
    let settings = job_history::Settings::from_env(&env).unwrap();
    (TestServer::start(|listener| job_history::run(settings, listener)).await, database)
}
