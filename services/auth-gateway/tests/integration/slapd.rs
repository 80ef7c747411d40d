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
    /// The LDAPS port, when started with TLS.
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let made = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
}

/// A CA (`ca.pem`) and a certificate it signed for localhost and 127.0.0.1 (`server.pem`, `server.key`).
fn certificates(dir: &std::path::Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA"]]
            .concat(),
    );
    openssl(
        dir,
        &[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

impl Slapd {
    pub async fn start() -> Slapd {
        Slapd::start_with(false).await
    }

    /// With StartTLS on the plain port and LDAPS on `tls_port`, by a certificate of the CA `ca_file()`;
    /// binds without TLS are refused.
    pub async fn start_tls() -> Slapd {
        Slapd::start_with(true).await
    }

    pub fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").to_string_lossy().into_owned()
    }

    async fn start_with(tls: bool) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let tls_config = if tls {
            certificates(dir.path());
            format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n\
                 security simple_bind=128\n",
                d = dir.path().display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             {tls_config}\
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
        let mut slapd = Slapd { dir, port: free_port(), tls_port: tls.then(free_port), child: None };
        slapd.run().await;
        let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/ldap/seed.ldif");
        let mut ldapadd = Command::new("ldapadd");
        ldapadd.args(["-x", "-D", ADMIN, "-w", ADMIN_PASSWORD, "-f"]).arg(seed);
        if tls {
            // Binds need TLS here: StartTLS, trusting the test CA.
            ldapadd.args(["-ZZ", "-H", &slapd.url()]).env("LDAPTLS_CACERT", slapd.ca_file());
        } else {
            ldapadd.args(["-H", &slapd.url()]);
        }
        let added =
            ldapadd.stdout(Stdio::null()).output().await.expect("ldapadd runs (tests/run.sh installs ldap-utils)");
        assert!(added.status.success(), "seeding the directory: {}", String::from_utf8_lossy(&added.stderr));
        slapd
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Starts slapd on its ports and data, and waits until it takes connections.
    pub async fn run(&mut self) {
        let mut listeners = format!("ldap://127.0.0.1:{}/", self.port);
        if let Some(tls_port) = self.tls_port {
            listeners.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
        }
        let child = Command::new("/usr/sbin/slapd")
            .arg("-h")
            .arg(listeners)
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
