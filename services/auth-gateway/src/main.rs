use std::process::ExitCode;

fn main() -> ExitCode {
    service_kit::main(auth_gateway::NAME, auth_gateway::Settings::from_env, auth_gateway::run)
}
