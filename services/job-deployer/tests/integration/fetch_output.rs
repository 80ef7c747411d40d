//! The fetch step's output goes to the job history with the run's logs: whatever happens, it never
//! holds the Nexus credentials it was given (nor credentials or tokens in the URL), in its standard
//! output, its standard error or its termination message.

use std::path::Path;
use std::process::Command;

use crate::fetch::{nexus, sha256, zip_archive};

const SCRIPT: &str = include_str!("../../src/fetch.sh");
const USER: &str = "reader";
const PASSWORD: &str = "pa\"ss\\word $(touch /tmp/pwned)";

/// Everything the step shows: both streams and the termination message, and its exit code.
fn output_of(url: &str, checksum: &str, work: &Path, password: &str) -> (i32, String) {
    let termination = work.join("termination");
    let _ = std::fs::remove_file(&termination);
    let output = Command::new("sh")
        .args(["-c", SCRIPT])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("TERMINATION_LOG", &termination)
        .env("RESOURCE_URL", url)
        .env("RESOURCE_FILE", "sales.zip")
        .env("RESOURCE_DIR", work.join("resource"))
        .env("RESOURCE_CHECKSUM_COMMAND", "sha256sum")
        .env("RESOURCE_CHECKSUM", checksum)
        .env("NEXUS_USERNAME", USER)
        .env("NEXUS_PASSWORD", password)
        .output()
        .unwrap();
    let shown = [&output.stdout, &output.stderr, &std::fs::read(&termination).unwrap_or_default()]
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .join("\n");
    (output.status.code().unwrap(), shown)
}

#[test]
fn the_fetch_steps_output_never_holds_credentials() {
    let work = std::env::temp_dir().join(format!("job-deployer-fetch-output-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("sales/run.sh", "echo sales")]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/private/sales.zip", archive)]);
    let host = url.trim_start_matches("http://");
    let wrong = "0".repeat(64);
    let cases = [
        ("downloaded", format!("{url}/private/sales.zip"), checksum.as_str(), PASSWORD, 0),
        ("refused (401)", format!("{url}/private/sales.zip"), checksum.as_str(), "not-the-password", 1),
        ("not found", format!("{url}/private/missing.zip"), checksum.as_str(), PASSWORD, 1),
        ("wrong checksum", format!("{url}/private/sales.zip"), wrong.as_str(), PASSWORD, 3),
        ("unreachable", "http://127.0.0.1:9/private/sales.zip".to_owned(), checksum.as_str(), PASSWORD, 1),
        // The deployer refuses such URLs; the script still never repeats what they carry.
        (
            "credentials in the URL",
            format!("http://{USER}:url-secret@{host}/private/gone.zip"),
            checksum.as_str(),
            PASSWORD,
            1,
        ),
        ("a token in the URL", format!("{url}/private/gone.zip?token=url-secret"), checksum.as_str(), PASSWORD, 1),
    ];
    let user_password = format!("{USER}:{PASSWORD}");
    let basic = crate::fetch::base64(&user_password);
    for (case, url, checksum, password, code) in cases {
        let (exit, shown) = output_of(&url, checksum, &work, password);
        assert_eq!(exit, code, "{case}: {shown}");
        assert!(!shown.trim().is_empty(), "{case}: the step says what it did");
        for secret in [PASSWORD, password, user_password.as_str(), basic.as_str(), "url-secret"] {
            assert!(!shown.contains(secret), "{case}: the output holds {secret:?}: {shown}");
        }
    }
    assert!(!Path::new("/tmp/pwned").exists(), "the password was never run");
    std::fs::remove_dir_all(work).unwrap();
}
