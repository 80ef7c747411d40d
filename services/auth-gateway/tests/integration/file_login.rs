//! Logins from the static users file (the dev default), the token as cookie and bearer, the keys
//! that check it, logout, links and the web UI's files.

use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use service_kit::auth::{KeySource, Verifier};
use service_kit::testing::{client, client_with_token};
use service_kit::{ErrorBody, Role};

use crate::{USERS, gateway, login};

#[tokio::test]
async fn each_user_of_the_file_logs_in_with_their_roles_and_a_token_the_published_keys_verify() {
    let server = gateway(vec![]).await;
    let jwks: JwkSet = client().get(server.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let verifier = Verifier::new(KeySource::Fixed(jwks));
    for (name, password, role) in USERS {
        let response = login(&server, name, password).await;
        assert_eq!(response.status(), 200, "{name}");
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        let token = body["token"].as_str().unwrap();
        assert_eq!(body["tokenType"], "Bearer");
        assert_eq!(body["user"]["user"], name);
        assert_eq!(body["user"]["roles"], json!([role]));
        let caller = verifier.verify(token).await.unwrap();
        assert_eq!((caller.user.as_str(), caller.roles), (name, vec![role.parse::<Role>().unwrap()]));
        let lifetime = caller.expires - chrono::Utc::now().timestamp();
        assert!((3590..=3600).contains(&lifetime), "an hour by default: {lifetime}");

        assert!(cookie.starts_with(&format!("jo_token={token}")), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "not Secure unless configured: {cookie}");

        // The same caller, by bearer token and by cookie.
        let me: Value =
            client_with_token(token).get(server.url("/api/auth/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!((me["user"].as_str(), me["name"].as_str()), (Some(name), Some(format!("{name} (file)").as_str())));
        let by_cookie = client()
            .get(server.url("/api/auth/me"))
            .header("cookie", format!("jo_token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(by_cookie.status(), 200);
    }
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_one_answer_and_empty_fields_are_refused_clearly() {
    let server = gateway(vec![]).await;
    let wrong = login(&server, "ann", "nope").await;
    assert_eq!(wrong.status(), 401);
    let wrong: ErrorBody = wrong.json().await.unwrap();
    let unknown: ErrorBody = login(&server, "nobody", "nope").await.json().await.unwrap();
    assert_eq!(wrong, unknown, "the answer does not tell which user names exist");
    assert_eq!(wrong.code, "invalid_credentials");

    let empty_password = login(&server, "ann", "").await;
    assert_eq!(empty_password.status(), 401);
    let empty_user = login(&server, "  ", "pw").await;
    assert_eq!(empty_user.status(), 400);
    let body: ErrorBody = empty_user.json().await.unwrap();
    assert_eq!(body.field.as_deref(), Some("username"));
    // Invisible characters, which a directory ignores when comparing names: one account, one spelling.
    for name in ["an\u{AD}n", "ann\u{200B}", "a\tnn"] {
        let refused = login(&server, name, "ann-pw").await;
        assert_eq!(refused.status(), 400, "{name:?}");
    }
    let not_json = client()
        .post(server.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body("user=ann")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    let anonymous = client().get(server.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: ErrorBody = anonymous.json().await.unwrap();
    assert_eq!(body.code, "unauthenticated");
}

#[tokio::test]
async fn repeated_failures_for_one_user_are_slowed_down_and_a_wait_lets_them_in_again() {
    let server = gateway(vec![("AUTH_GATEWAY_LOGIN_USER_FAILURES".into(), "3".into())]).await;
    for _ in 0..3 {
        assert_eq!(login(&server, "olga", "guess").await.status(), 401);
    }
    let throttled = login(&server, "olga", "olga-pw").await;
    assert_eq!(throttled.status(), 429, "even the right password waits");
    assert_eq!(throttled.headers()["retry-after"], "1");
    let body: ErrorBody = throttled.json().await.unwrap();
    assert_eq!(body.code, "too_many_attempts");
    assert_eq!(login(&server, "ann", "ann-pw").await.status(), 200, "other users are not slowed down");

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(login(&server, "olga", "guess").await.status(), 401, "after the wait, one more try");
    let doubled = login(&server, "olga", "olga-pw").await;
    assert_eq!(doubled.status(), 429);
    assert_eq!(doubled.headers()["retry-after"], "2", "the wait doubles");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(login(&server, "olga", "olga-pw").await.status(), 200);
    assert_eq!(login(&server, "olga", "guess").await.status(), 401, "a success cleared the count");
    assert_eq!(login(&server, "olga", "olga-pw").await.status(), 200);

    let metrics = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"login_attempts_total{outcome="throttled"} 2"#), "{metrics}");
    assert!(metrics.contains(r#"login_attempts_total{outcome="invalid_credentials"} 5"#), "{metrics}");
}

#[tokio::test]
async fn logout_removes_the_cookie() {
    let server = gateway(vec![]).await;
    let token =
        login(&server, "vic", "vic-pw").await.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let out = client_with_token(&token).post(server.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let cookie = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("jo_token=;") && cookie.contains("Max-Age=0"), "{cookie}");
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured_and_the_lifetime_follows_the_setting() {
    let server = gateway(vec![
        ("AUTH_GATEWAY_COOKIE_SECURE".into(), "true".into()),
        ("AUTH_GATEWAY_TOKEN_TTL_SECS".into(), "900".into()),
    ])
    .await;
    let response = login(&server, "vic", "vic-pw").await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("Max-Age=900"), "{cookie}");
}

#[tokio::test]
async fn links_come_from_the_settings_and_need_a_token() {
    let server = gateway(vec![
        ("AUTH_GATEWAY_LINK_AIRFLOW_URL".into(), "https://airflow.example.org".into()),
        ("AUTH_GATEWAY_LINK_NEXUS_URL".into(), "https://nexus.example.org".into()),
    ])
    .await;
    assert_eq!(client().get(server.url("/api/links")).send().await.unwrap().status(), 401);
    let links: Value = server.get("/api/links").await.json().await.unwrap();
    let names: Vec<&str> = links.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Apache Airflow", "Nexus"], "tools without a URL are left out");
    assert_eq!(links[1]["url"], "https://nexus.example.org");
}

#[tokio::test]
async fn the_web_ui_files_are_served_without_a_token() {
    let root = tempfile::tempdir().unwrap();
    let ui = root.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(ui.join("index.html"), "<h1>Job Orchestrator</h1>").unwrap();
    std::fs::write(ui.join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(root.path().join("secret.txt"), "beside the UI").unwrap();
    let server = gateway(vec![("AUTH_GATEWAY_UI_DIR".into(), ui.to_string_lossy().into_owned())]).await;
    let page = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "<h1>Job Orchestrator</h1>");
    let script = client().get(server.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript");
    let missing = client().get(server.url("/assets/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<ErrorBody>().await.unwrap().code, "not_found");
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", r"/..\secret.txt", "/assets/../../secret.txt"] {
        let answer = crate::raw_get(&server, path, "").await;
        assert!(answer.starts_with("HTTP/1.1 404") || answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(!answer.contains("beside the UI"), "{path}: {answer}");
    }
}

#[tokio::test]
async fn hash_password_prints_a_hash_the_users_file_takes() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-gateway"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    child.stdin.take().unwrap().write_all(b"p@ss word\n").await.unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    let users = json!({"users": [{"username": "pat", "passwordHash": hash, "roles": ["viewer"]}]});
    std::fs::write(&file, users.to_string()).unwrap();
    let server = gateway(vec![("AUTH_GATEWAY_USERS_FILE".into(), file.to_string_lossy().into_owned())]).await;
    assert_eq!(login(&server, "pat", "p@ss word").await.status(), 200);
    assert_eq!(login(&server, "pat", "p@ss").await.status(), 401);
}

#[tokio::test]
async fn every_login_attempt_is_an_audit_event_without_the_password() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-gateway"))
        .envs(crate::file_env())
        .envs([("AUTH_GATEWAY_LISTEN", "127.0.0.1:0"), ("LOG_FORMAT", "json"), ("RUST_LOG", "info")])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut address = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.split("listening on http://").nth(1) {
            address = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
            break;
        }
    }
    let attempts = [("ann", "ann-pw", 200), ("ann", "Sup3r-Secret-Guess", 401), ("a\nforged line", "x", 400)];
    for (user, password, status) in attempts {
        let response = client()
            .post(format!("http://{address}/api/auth/login"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{user}");
    }
    // A password where the name should be, as a number: refused without quoting it.
    let odd = client()
        .post(format!("http://{address}/api/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann", "password": 271828182845}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 400);
    let body: ErrorBody = odd.json().await.unwrap();
    assert_eq!(body.code, "invalid_body");
    assert!(!body.message.contains("271828182845"), "{}", body.message);
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let mut output = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        output.push(line);
    }
    let audit: Vec<Value> = output
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "audit")
        .collect();
    let seen: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| {
            let fields = &e["fields"];
            (fields["user"].as_str().unwrap(), fields["address"].as_str().unwrap(), fields["outcome"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        seen,
        [
            (r#""ann""#, "127.0.0.1", "ok"),
            (r#""ann""#, "127.0.0.1", "invalid_credentials"),
            (r#""a\nforged line""#, "127.0.0.1", "invalid_request"),
            (r#""""#, "127.0.0.1", "invalid_request")
        ],
        "{output:#?}"
    );
    let all = output.join("\n");
    for password in ["ann-pw", "Sup3r-Secret-Guess", "271828182845"] {
        assert!(!all.contains(password), "a password in the logs: {all}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own() {
    async fn guess(server: &service_kit::testing::TestServer, forwarded_for: &str, user: &str) -> u16 {
        let response = client()
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"username": user, "password": "wrong"}))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
    let limit = ("AUTH_GATEWAY_LOGIN_ADDRESS_FAILURES".to_owned(), "2".to_owned());
    let behind = gateway(vec![limit.clone(), ("AUTH_GATEWAY_TRUSTED_PROXIES".into(), "127.0.0.1".into())]).await;
    assert_eq!(guess(&behind, "10.0.0.1", "a").await, 401);
    assert_eq!(guess(&behind, "10.0.0.1", "b").await, 401);
    assert_eq!(guess(&behind, "10.0.0.1", "c").await, 429, "10.0.0.1 waits");
    // A hop the client wrote itself, before the one the proxy appended, changes nothing. (Asked
    // at once: the wait is one second, and a refused guess is answered without checking a password.)
    assert_eq!(guess(&behind, "10.0.0.7, 10.0.0.1", "e").await, 429);
    assert_eq!(guess(&behind, "10.0.0.2", "d").await, 401, "10.0.0.2 does not");

    // Without a trusted proxy the header is anyone's to write: every guess is 127.0.0.1's.
    let direct = gateway(vec![limit]).await;
    assert_eq!(guess(&direct, "10.0.0.1", "a").await, 401);
    assert_eq!(guess(&direct, "10.0.0.2", "b").await, 401);
    assert_eq!(guess(&direct, "10.0.0.3", "c").await, 429);
}

/// Login CSRF: a form or a script on another site must not log its visitor into an account of the
/// attacker's choosing. REST clients, which send no browser headers, keep working.
#[tokio::test]
async fn a_login_from_another_sites_page_or_not_as_json_is_refused_saying_why() {
    let server = gateway(vec![]).await;
    let host = server.address.to_string();
    let body = json!({"username": "ann", "password": "ann-pw"}).to_string();
    let attempt = |content_type: &'static str, headers: Vec<(&'static str, String)>| {
        let mut request =
            client().post(server.url("/api/auth/login")).header("content-type", content_type).body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    // (case, content type, browser headers, expected status, expected error)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        // What a form of another site sends: a JSON text as text/plain, with the browser's headers.
        (
            "form of another site",
            "text/plain",
            vec![("sec-fetch-site", "cross-site".into())],
            403,
            "cross_site_request",
        ),
        (
            "script of another site",
            "application/json",
            vec![("sec-fetch-site", "cross-site".into())],
            403,
            "cross_site_request",
        ),
        (
            "a sibling subdomain",
            "application/json",
            vec![("sec-fetch-site", "same-site".into())],
            403,
            "cross_site_request",
        ),
        (
            "an old browser on another site",
            "application/json",
            vec![("origin", "http://evil.example".into())],
            403,
            "cross_site_request",
        ),
        ("a sandboxed frame", "application/json", vec![("origin", "null".into())], 403, "cross_site_request"),
        ("text/plain from a REST client", "text/plain", vec![], 415, "unsupported_media_type"),
        ("a form encoding", "application/x-www-form-urlencoded", vec![], 415, "unsupported_media_type"),
        (
            "the platform's own page",
            "application/json",
            vec![("sec-fetch-site", "same-origin".into()), ("origin", format!("http://{host}"))],
            200,
            "",
        ),
        (
            "an old browser on this site",
            "application/json; charset=utf-8",
            vec![("origin", format!("http://{host}"))],
            200,
            "",
        ),
        ("a REST client", "application/json", vec![], 200, ""),
    ];
    for (what, content_type, headers, status, code) in cases {
        let response = attempt(content_type, headers).await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        if status == 200 {
            assert!(response.headers().contains_key("set-cookie"), "{what}: logged in");
        } else {
            assert!(!response.headers().contains_key("set-cookie"), "{what}: no session");
            let error: ErrorBody = response.json().await.unwrap();
            assert_eq!(error.code, code, "{what}");
            assert!(
                error.message.contains("another site") || error.message.contains("application/json"),
                "{what}: says why: {}",
                error.message
            );
        }
    }
}

#[tokio::test]
async fn a_login_body_of_the_wrong_shape_names_the_field_and_never_its_value() {
    let server = gateway(vec![]).await;
    let send = |body: Value| client().post(server.url("/api/auth/login")).json(&body).send();
    let wrong_type = send(json!({"username": "ann", "password": 981_274_665})).await.unwrap();
    assert_eq!(wrong_type.status(), 400);
    let error: ErrorBody = wrong_type.json().await.unwrap();
    assert_eq!(error.field.as_deref(), Some("password"), "{error:?}");
    assert!(!error.message.contains("981274665"), "the value is not quoted: {}", error.message);
    let unknown = send(json!({"username": "ann", "password": "ann-pw", "remember": true})).await.unwrap();
    assert_eq!(unknown.status(), 400);
    let error: ErrorBody = unknown.json().await.unwrap();
    assert!(error.message.contains("remember"), "{error:?}");
}
