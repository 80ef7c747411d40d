use std::process::ExitCode;

fn main() -> ExitCode {
    service_kit::main(nexus_catalog::NAME, nexus_catalog::Settings::from_env, nexus_catalog::run)
}
