use std::process::ExitCode;

fn main() -> ExitCode {
    // `job-history migrate` applies the migrations and exits; without arguments, the service runs.
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return job_history::migrate_command();
    }
    service_kit::main(job_history::NAME, job_history::Settings::from_env, job_history::run)
}
