//! A real OpenLDAP server (Debian's slapd, which tests/run.sh installs) in a temporary directory on a
//! free port of 127.0.0.1, seeded with `ldap/seed.ldif` through its memberof overlay, so that
//! `memberOf` is filled as in a real directory. It can be stopped and started again mid-test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub const BASE: &str = "dc=example,dc=org";
pub const READER: &str = "cn=reader,dc=example,dc=org";
pub const READER_PASSWORD: &str = "reader-secret";
const ADMIN: &str = "cn=admin,dc=example,dc=org";
const ADMIN_PASSWORD: &str = "admin-secret";

#[derive(Debug)]
pub struct Slapd {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Slapd {
    pub async fn start() -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let config = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             pidfile {dir}/slapd.pid\n\
             database mdb\n\
             maxsize 104857600\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ADMIN}\"\n\
             rootpw {ADMIN_PASSWORD}\n\
             directory {dir}/data\n\
             overlay memberof\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by users read by * none\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("slapd.conf"), config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut slapd = Slapd { dir, port, child: None };
        slapd.run().await;
        let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/ldap/seed.ldif");
        let added = Command::new("ldapadd")
            .args(["-x", "-H", &slapd.url(), "-D", ADMIN, "-w", ADMIN_PASSWORD, "-f"])
            .arg(seed)
            .stdout(Stdio::null())
            .output()
            .await
            .expect("ldapadd runs (tests/run.sh installs ldap-utils)");
        assert!(added.status.success(), "seeding the directory: {}", String::from_utf8_lossy(&added.stderr));
        slapd
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Starts slapd on its port and data, and waits until it takes connections.
    pub async fn run(&mut self) {
        let child = Command::new("/usr/sbin/slapd")
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{}/", self.port))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            // In the foreground, so that the test owns the process.
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("slapd starts (tests/run.sh installs Debian's slapd)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("slapd does not listen on {} after 5 s", self.port);
    }

    /// Stops slapd as a crash or an outage would: its connections drop.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}
