use std::process::ExitCode;

fn main() -> ExitCode {
    service_kit::main(job_history::NAME, job_history::Settings::from_env, job_history::run)
}
