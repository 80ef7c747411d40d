use std::process::ExitCode;

fn main() -> ExitCode {
    service_kit::main(job_deployer::NAME, job_deployer::Settings::from_env, job_deployer::run)
}
