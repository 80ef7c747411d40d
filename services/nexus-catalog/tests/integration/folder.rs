//! The local folder, served through the same API: what the dev stack and the end-to-end tests
//! browse instead of Nexus.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;

use crate::{catalog, get, jobs};

fn write(root: &Path, path: &str, content: &[u8]) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, content).unwrap();
}

fn sha256sum(file: &Path) -> String {
    let output = std::process::Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8(output.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[actix_web::test]
async fn a_folder_laid_out_as_a_maven_repository() {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "samples/com/example/hello/1.0.0/hello-1.0.0.zip", b"zip one");
    write(root.path(), "samples/com/example/hello/1.1.0/hello-1.1.0.zip", b"zip two");
    write(root.path(), "samples/com/example/hello/1.1.0/hello-1.1.0.pom", b"<project/>");
    write(root.path(), "samples/com/example/hello/1.10.0-SNAPSHOT/hello 1.10.0-SNAPSHOT.zip", b"zip three");
    write(root.path(), "samples/tools/cleanup/2.0/run.sh", b"#!/bin/sh\n");
    write(root.path(), "samples/README.md", b"not a job");
    write(root.path(), "samples/.git/objects/ab/cd/ef", b"hidden");
    write(root.path(), ".trash/x/y/1/z.zip", b"hidden repository");
    std::fs::create_dir_all(root.path().join("empty")).unwrap();
    let folder = root.path().to_str().unwrap();
    let server = catalog(&[("NEXUS_CATALOG_FOLDER", folder)]).await;

    let (status, repositories) = get(&server, "/v1/repositories").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        repositories,
        json!([
            {"name": "empty", "format": "folder", "type": "local", "url": format!("file://{folder}/empty")},
            {"name": "samples", "format": "folder", "type": "local", "url": format!("file://{folder}/samples")}
        ])
    );
    let (_, page) = get(&server, "/v1/repositories/samples/artifacts").await;
    assert_eq!(jobs(&page), ["com.example:hello@1.10.0-SNAPSHOT (3)", "tools:cleanup@2.0 (1)"]);
    let (_, page) = get(&server, "/v1/repositories/samples/artifacts?q=clean").await;
    assert_eq!(jobs(&page), ["tools:cleanup@2.0 (1)"]);
    let (_, page) = get(&server, "/v1/repositories/samples/artifacts?q=1.1.0").await;
    assert_eq!(jobs(&page), ["com.example:hello@1.1.0 (1)"], "q matches versions too: the matching one counts");
    let (_, page) = get(&server, "/v1/repositories/empty/artifacts").await;
    assert_eq!(page, json!({"artifacts": [], "total": 0}));

    let (_, versions) = get(&server, "/v1/repositories/samples/artifacts/com.example/hello/versions").await;
    let names: Vec<&str> =
        versions["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(names, ["1.10.0-SNAPSHOT", "1.1.0", "1.0.0"]);

    let (status, detail) = get(&server, "/v1/repositories/samples/artifacts/com.example/hello/versions/1.1.0").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let zip = root.path().join("samples/com/example/hello/1.1.0/hello-1.1.0.zip");
    assert_eq!(
        detail["toRun"],
        json!({"repository": "samples", "group": "com.example", "name": "hello", "version": "1.1.0",
               "path": "com/example/hello/1.1.0/hello-1.1.0.zip", "downloadUrl": format!("file://{}", zip.display()),
               "checksum": {"algorithm": "sha256", "value": sha256sum(&zip)}})
    );
    assert_eq!(detail["assets"][0]["size"], 7);
    assert_eq!(detail["assets"][1]["kind"], "metadata");
    let (_, detail) =
        get(&server, "/v1/repositories/samples/artifacts/com.example/hello/versions/1.10.0-SNAPSHOT").await;
    assert!(detail["toRun"]["downloadUrl"].as_str().unwrap().ends_with("/hello%201.10.0-SNAPSHOT.zip"), "{detail}");

    // Nothing outside the repository can be named.
    for path in [
        "/v1/repositories/samples/artifacts/..%2F..%2Fetc/passwd/versions",
        "/v1/repositories/samples/artifacts/com..example/hello/versions",
        "/v1/repositories/samples/artifacts/com.example/..%2Fhello/versions",
    ] {
        let (status, error) = get(&server, path).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_artifact")),
            "{path}: {error}"
        );
    }
    let (status, error) = get(&server, "/v1/repositories/.trash/artifacts").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_repository")));
    server.stop().await;
}
