//! The init container's script, run by a real shell against an HTTP server standing in for Nexus:
//! it downloads (with credentials when given), verifies the checksum, unpacks, and says why when
//! it cannot.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = include_str!("../../src/fetch.sh");
const USER: &str = "reader";
const PASSWORD: &str = "pa\"ss\\word $(touch /tmp/pwned)";

/// Serves `files` by path; `/private/...` only with the reader's basic credentials.
pub fn nexus(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut authorization = None;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(value) =
                    line.strip_prefix("Authorization: ").or_else(|| line.strip_prefix("authorization: "))
                {
                    authorization = Some(value.trim().to_owned());
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let expected = format!("Basic {}", base64(&format!("{USER}:{PASSWORD}")));
            let allowed = !path.starts_with("/private/") || authorization.as_deref() == Some(expected.as_str());
            let found = files.iter().find(|(name, _)| *name == path);
            let (status, body) = match (allowed, found) {
                (false, _) => ("401 Unauthorized", Vec::new()),
                (true, Some((_, body))) => ("200 OK", body.clone()),
                (true, None) => ("404 Not Found", Vec::new()),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            let _ = reader.read_to_end(&mut Vec::new());
        }
    });
    format!("http://{address}")
}

pub fn base64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A zip holding `files` (path, text), made by Python's zipfile (the machine's Python).
pub fn zip_archive(dir: &Path, files: &[(&str, &str)]) -> Vec<u8> {
    let file = dir.join("made.zip");
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor i in range(2, len(sys.argv), 2):\n    z.writestr(sys.argv[i], sys.argv[i + 1])\nz.close()";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .args(files.iter().flat_map(|(path, text)| [*path, *text]))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(file).unwrap()
}

pub fn sha256(bytes: &[u8], dir: &Path) -> String {
    let file = dir.join("to-hash");
    std::fs::write(&file, bytes).unwrap();
    let output = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8(output.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

struct Fetched {
    code: i32,
    termination: String,
    dir: PathBuf,
}

fn fetch(url: &str, file: &str, checksum: &str, work: &Path, credentials: bool) -> Fetched {
    let dir = work.join(format!("resource-{file}-{}", credentials));
    let termination = work.join(format!("termination-{file}-{credentials}"));
    let mut command = Command::new("sh");
    command
        .args(["-c", SCRIPT])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("TERMINATION_LOG", &termination)
        .env("RESOURCE_URL", url)
        .env("RESOURCE_FILE", file)
        .env("RESOURCE_DIR", &dir)
        .env("RESOURCE_CHECKSUM_COMMAND", "sha256sum")
        .env("RESOURCE_CHECKSUM", checksum);
    if credentials {
        command.env("NEXUS_USERNAME", USER).env("NEXUS_PASSWORD", PASSWORD);
    }
    let output = command.output().unwrap();
    Fetched {
        code: output.status.code().unwrap(),
        termination: std::fs::read_to_string(termination).unwrap_or_default(),
        dir,
    }
}

#[test]
fn the_fetch_script_downloads_checks_unpacks_and_says_why_it_fails() {
    let work = std::env::temp_dir().join(format!("job-deployer-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let archive = zip_archive(&work, &[("sales-etl/run.sh", "echo sales")]);
    let checksum = sha256(&archive, &work);
    let url = nexus(vec![("/sales-etl-1.4.2.zip", archive.clone()), ("/private/sales-etl-1.4.2.zip", archive)]);

    let fetched = fetch(&format!("{url}/sales-etl-1.4.2.zip"), "sales-etl-1.4.2.zip", &checksum, &work, false);
    assert_eq!(fetched.code, 0, "{}", fetched.termination);
    assert_eq!(std::fs::read_to_string(fetched.dir.join("sales-etl/run.sh")).unwrap(), "echo sales");
    assert!(fetched.dir.join("sales-etl-1.4.2.zip").exists(), "the download stays beside what it held");

    // Credentials reach Nexus as basic auth, quotes, backslashes and $(...) included, run as nothing.
    let fetched = fetch(&format!("{url}/private/sales-etl-1.4.2.zip"), "sales-etl-1.4.2.zip", &checksum, &work, true);
    assert_eq!(fetched.code, 0, "{}", fetched.termination);
    assert!(fetched.dir.join("sales-etl/run.sh").exists());
    let fetched = fetch(&format!("{url}/private/sales-etl-1.4.2.zip"), "private.zip", &checksum, &work, false);
    assert_eq!(fetched.code, 1);
    assert!(fetched.termination.starts_with("fetch failed: could not download"), "{}", fetched.termination);

    let wrong = "0".repeat(64);
    let fetched = fetch(&format!("{url}/sales-etl-1.4.2.zip"), "wrong.zip", &wrong, &work, false);
    assert_eq!(fetched.code, 3, "a wrong resource is not retried");
    assert_eq!(
        fetched.termination,
        format!("fetch failed: checksum mismatch for wrong.zip: expected {wrong}, got {checksum} (sha256sum)")
    );
    assert!(!fetched.dir.join("sales-etl").exists(), "nothing is unpacked from a wrong download");

    let fetched = fetch(&format!("{url}/missing.zip"), "missing.zip", &checksum, &work, false);
    assert_eq!(fetched.code, 1, "a download may succeed on a retry");
    assert!(
        fetched.termination.contains("could not download") && fetched.termination.contains("/missing.zip"),
        "{}",
        fetched.termination
    );
    std::fs::remove_dir_all(work).unwrap();
}
