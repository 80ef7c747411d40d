use std::process::ExitCode;

fn main() -> ExitCode {
    service_kit::main(job_history_consumer::NAME, job_history_consumer::Settings::from_env, job_history_consumer::run)
}
