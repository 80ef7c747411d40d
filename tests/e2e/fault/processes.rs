//! The platform's servers as processes of their own, which the fault test kills and starts again:
//! the services' built binaries and an Apache Kafka broker, each logging to a file of the test's
//! folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

/// A port below Linux's ephemeral range, so that no outgoing connection takes it meanwhile; the
/// same for every start of one server, so that its address never changes.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let port = 20_000 + u16::try_from(uuid::Uuid::new_v4().as_u128() % 12_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// Where cargo put the workspace's binaries: beside the folder of this test's own executable
/// (`target/<profile>/deps/`).
fn binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let path = test.parent().and_then(Path::parent).unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the services first (`cargo build -p job-deployer -p job-history \
         -p job-history-consumer`; tests/run.sh builds them with the dev stack)",
        path.display()
    );
    path
}

/// Opens `path` for appending: every start of a server adds to its one log.
fn log_file(path: &Path) -> (Stdio, Stdio) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
}

/// One of the platform's services, run from its binary on a fixed port.
pub struct Service {
    pub name: &'static str,
    port: u16,
    listen_variable: &'static str,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Service {
    pub fn new(name: &'static str, listen_variable: &'static str, env: &[(String, String)], dir: &Path) -> Service {
        let log = dir.join(format!("{name}.log"));
        Service { name, port: free_port(), listen_variable, env: env.to_vec(), log, child: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts the binary and waits until it answers `/healthz` (its API serves; whether the broker
    /// or the database answer is `/readyz`'s business, and the test's to wait for).
    pub async fn start(&mut self) {
        let (stdout, stderr) = log_file(&self.log);
        let mut child = Command::new(binary(self.name))
            .env(self.listen_variable, format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{} does not start: {error}", self.name));
        let client = service_kit::testing::client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(self.url("/healthz")).timeout(Duration::from_secs(2)).send().await
                && response.status() == 200
            {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{} exited ({status}) before serving; its log: {}", self.name, self.log.display());
            }
            assert!(
                Instant::now() < deadline,
                "{} does not serve within 60 s; its log: {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
    }

    /// SIGKILL: no chance to finish anything.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("a running service");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
}

/// Apache Kafka on a port of its own, run by deploy/local/kafka/broker.sh (the test stack's way),
/// its data kept across restarts.
pub struct Broker {
    dir: PathBuf,
    pub port: u16,
    starts: u32,
    child: Option<Child>,
}

impl Broker {
    pub fn new(dir: &Path) -> Broker {
        Broker { dir: dir.to_owned(), port: free_port(), starts: 0, child: None }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it says it serves (Kafka takes 7 to 20 s on two busy cores).
    pub async fn start(&mut self) {
        self.starts += 1;
        let log = self.dir.join(format!("broker-{}.log", self.starts));
        let (stdout, stderr) = log_file(&log);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/local/kafka/broker.sh");
        let mut child = Command::new(script)
            .arg(self.dir.join("kafka"))
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("deploy/local/kafka/broker.sh: run the tests through tests/run.sh, which installs Kafka");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("Kafka Server started") {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the broker exited ({status}) before serving; its log: {}", log.display());
            }
            assert!(Instant::now() < deadline, "the broker does not serve within 120 s; its log: {}", log.display());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.child = Some(child);
    }

    /// Stops it as an operator would (SIGTERM, a clean shutdown), and waits for it.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("a running broker");
        let pid = child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
            Ok(status) => {
                status.unwrap();
            }
            Err(_) => panic!("the broker does not stop within 60 s of SIGTERM"),
        }
    }
}
