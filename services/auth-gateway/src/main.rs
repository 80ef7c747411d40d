use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("hash-password") {
        return hash_password();
    }
    service_kit::main(auth_gateway::NAME, auth_gateway::Settings::from_env, auth_gateway::run)
}

/// `auth-gateway hash-password`: reads a password on standard input (one line) and prints its
/// argon2 hash, for the static users file.
#[allow(clippy::print_stdout, reason = "the hash is this command's output")]
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        eprintln!("auth-gateway hash-password: cannot read the password on standard input");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("auth-gateway hash-password: the password is empty");
        return ExitCode::from(2);
    }
    match auth_gateway::directory::users_file::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("auth-gateway hash-password: {error}");
            ExitCode::FAILURE
        }
    }
}
