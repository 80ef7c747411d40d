//! A Nexus served over HTTPS with a certificate of a private CA: reached with
//! `NEXUS_CATALOG_NEXUS_CA_FILE`, refused without it, and the refusal told to the user without
//! the TLS internals.

use std::path::Path;

use reqwest::StatusCode;

use crate::nexus_stand_in::{NexusStandIn, StandInRepository, maven_component};
use crate::{catalog, get, jobs};

fn openssl(dir: &Path, args: &[&str]) {
    let made = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
}

/// A CA (`ca.pem`) and a certificate it signed for 127.0.0.1 (`server.pem`, `server.key`).
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA"]]
            .concat(),
    );
    openssl(dir, &[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=nexus"]].concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
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

#[actix_web::test]
async fn a_nexus_behind_a_private_ca_is_reached_with_the_ca_file_only() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let nexus = NexusStandIn::start(100);
    nexus.add_repository(StandInRepository {
        name: "releases".into(),
        format: "maven2".into(),
        components: vec![maven_component("com.acme", "sales", "1.0", "2024-01-01T00:00:00Z")],
    });
    nexus.serve_tls(&dir.path().join("server.pem"), &dir.path().join("server.key")).await;
    let url = nexus.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca_file = dir.path().join("ca.pem");

    let trusting = catalog(&[
        ("NEXUS_CATALOG_NEXUS_URL", url.as_str()),
        ("NEXUS_CATALOG_NEXUS_CA_FILE", ca_file.to_str().unwrap()),
    ])
    .await;
    let (status, page) = get(&trusting, "/v1/repositories/releases/artifacts").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(jobs(&page), ["com.acme:sales@1.0 (1)"]);
    let (_, detail) = get(&trusting, "/v1/repositories/releases/artifacts/com.acme/sales/versions/1.0").await;
    assert_eq!(detail["toRun"]["downloadUrl"], format!("{url}/repository/releases/com/acme/sales/1.0/sales-1.0.zip"));
    trusting.stop().await;

    // Without the CA file the system's CAs do not vouch for Nexus: no request gets through, and
    // the user reads that Nexus is unavailable, not why the handshake failed (that is logged).
    nexus.forget_requests();
    let wary = catalog(&[("NEXUS_CATALOG_NEXUS_URL", url.as_str())]).await;
    let (status, error) = get(&wary, "/v1/repositories/releases/artifacts").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("nexus_unavailable")), "{error}");
    assert_eq!(
        error,
        serde_json::json!({"code": "nexus_unavailable", "message": "Nexus is unavailable; try again later"})
    );
    assert_eq!(nexus.requests(), []);
    let metrics = wary.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"nexus_requests_total{endpoint="repositories",outcome="unreachable"} 3"#), "{metrics}");
    wary.stop().await;
}
