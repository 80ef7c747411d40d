//! Logins against a real OpenLDAP server (see `slapd.rs` and `ldap/seed.ldif`).

use serde_json::{Value, json};
use service_kit::ErrorBody;
use service_kit::testing::{TestServer, client};

use crate::slapd::{READER, READER_PASSWORD, Slapd};
use crate::{gateway, login};

fn ldap_env(slapd: &Slapd, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AUTH_GATEWAY_LDAP_URL", slapd.url().as_str()),
        ("AUTH_GATEWAY_LDAP_BIND_DN", READER),
        ("AUTH_GATEWAY_LDAP_BIND_PASSWORD", READER_PASSWORD),
        ("AUTH_GATEWAY_LDAP_USER_BASE", "ou=people,dc=example,dc=org"),
        ("AUTH_GATEWAY_LDAP_GROUP_BASE", "ou=groups,dc=example,dc=org"),
        // Spelled differently from the directory: DNs compare without case or spaces.
        ("AUTH_GATEWAY_LDAP_ALLOWED_GROUPS", "CN=Data-Team, OU=groups, dc=example, dc=org"),
        ("AUTH_GATEWAY_LDAP_OPERATOR_GROUPS", "cn=operators,ou=groups,dc=example,dc=org"),
        ("AUTH_GATEWAY_LDAP_ADMIN_GROUPS", "cn=admins,ou=groups,dc=example,dc=org"),
        ("AUTH_GATEWAY_LDAP_NESTED_GROUPS", "true"),
        ("AUTH_GATEWAY_LDAP_TIMEOUT_SECS", "2"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

async fn user_of(server: &TestServer, username: &str, password: &str) -> (u16, Value) {
    let response = login(server, username, password).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn metric(server: &TestServer, line_start: &str) -> String {
    let text = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find(|line| line.starts_with(line_start)).map_or_else(|| "absent".to_owned(), str::to_owned)
}

#[tokio::test]
async fn members_log_in_with_the_roles_of_their_groups_found_by_search_or_member_of() {
    let slapd = Slapd::start().await;
    for lookup in ["search", "memberOf"] {
        let server = gateway(ldap_env(&slapd, &[("AUTH_GATEWAY_LDAP_GROUPS", lookup)])).await;
        let (status, alice) = user_of(&server, "alice", "alice-pw").await;
        assert_eq!(status, 200, "{lookup}: {alice}");
        assert_eq!((&alice["user"]["name"], &alice["user"]["roles"]), (&json!("Alice Martin"), &json!(["operator"])));
        // The directory matches the name without case; the token names the user as it spells it.
        let (_, dave) = user_of(&server, "DAVE", "dave-pw").await;
        assert_eq!((&dave["user"]["user"], &dave["user"]["roles"]), (&json!("dave"), &json!(["admin"])), "{lookup}");
        let (status, bob) = user_of(&server, "bob", "bob-pw").await;
        assert_eq!(
            (status, &bob["user"]["roles"]),
            (200, &json!(["viewer"])),
            "{lookup}: bob is in data-team through data-viewers"
        );
        // Filter metacharacters in a real uid: escaped, they match it exactly.
        let (status, special) = user_of(&server, r"o'hara*(ops)\x", "special-pw").await;
        assert_eq!(special["user"]["user"], r"o'hara*(ops)\x");
        assert_eq!((status, &special["user"]["name"]), (200, &json!("Special User")), "{lookup}: {special}");
    }
}

#[tokio::test]
async fn groups_that_name_members_by_unique_member_or_by_uid_count_too() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(
        &slapd,
        &[
            (
                "AUTH_GATEWAY_LDAP_ALLOWED_GROUPS",
                "cn=data-team,ou=groups,dc=example,dc=org;cn=uniques,ou=groups,dc=example,dc=org",
            ),
            ("AUTH_GATEWAY_LDAP_OPERATOR_GROUPS", "cn=posix-operators,ou=groups,dc=example,dc=org"),
        ],
    ))
    .await;
    let (status, carol) = user_of(&server, "carol", "carol-pw").await;
    assert_eq!(
        (status, &carol["user"]["roles"]),
        (200, &json!(["admin"])),
        "carol is allowed by uniqueMember: {carol}"
    );
    let (status, bob) = user_of(&server, "bob", "bob-pw").await;
    assert_eq!((status, &bob["user"]["roles"]), (200, &json!(["operator"])), "bob operates by memberUid: {bob}");
    let (_, alice) = user_of(&server, "alice", "alice-pw").await;
    assert_eq!(alice["user"]["roles"], json!(["viewer"]), "cn=operators gives no role here");
}

#[tokio::test]
async fn without_nested_groups_a_member_of_a_member_group_may_not_log_in() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(&slapd, &[("AUTH_GATEWAY_LDAP_NESTED_GROUPS", "false")])).await;
    assert_eq!(user_of(&server, "bob", "bob-pw").await.0, 403);
    assert_eq!(user_of(&server, "alice", "alice-pw").await.0, 200);
}

#[tokio::test]
async fn non_members_get_403_and_wrong_passwords_401_with_one_message_for_unknown_users() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(&slapd, &[])).await;
    let (status, carol) = user_of(&server, "carol", "carol-pw").await;
    assert_eq!(
        (status, carol["code"].as_str()),
        (403, Some("not_allowed")),
        "carol is an admin, but not of the data team"
    );
    assert_eq!(user_of(&server, "carol", "wrong").await.0, 401, "the password is checked before the groups");

    let (status, wrong) = user_of(&server, "alice", "wrong").await;
    let (_, unknown) = user_of(&server, "mallory", "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(wrong, unknown, "one answer for a wrong password and an unknown user");
    assert_eq!(wrong["code"], "invalid_credentials");
    assert_eq!(
        metric(&server, r#"ldap_binds_total{account="user",outcome="rejected"}"#).await,
        r#"ldap_binds_total{account="user",outcome="rejected"} 2"#
    );
}

#[tokio::test]
async fn an_empty_password_is_refused_without_any_bind() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(&slapd, &[])).await;
    let (status, body) = user_of(&server, "alice", "").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
    assert_eq!(metric(&server, "ldap_binds_total{").await, "absent", "no bind at all, not even the service account's");
    assert_eq!(user_of(&server, "alice", "alice-pw").await.0, 200);
    assert_eq!(
        metric(&server, r#"ldap_binds_total{account="user""#).await,
        r#"ldap_binds_total{account="user",outcome="ok"} 1"#
    );
}

#[tokio::test]
async fn filter_injections_never_log_anyone_in() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(
        &slapd,
        &[("AUTH_GATEWAY_LOGIN_USER_FAILURES", "100"), ("AUTH_GATEWAY_LOGIN_ADDRESS_FAILURES", "100")],
    ))
    .await;
    let attempts = [
        ("*", "alice-pw"),
        ("*)(uid=*))(|(uid=*", "alice-pw"),
        ("admin)(|(objectClass=*)", "alice-pw"),
        // Unescaped, these would match alice alone and bind as her with her password.
        ("ali*", "alice-pw"),
        ("alice)(uid=alice", "alice-pw"),
        ("*)(|(uid=alice", "alice-pw"),
        (r"alice\2a", "alice-pw"),
    ];
    for (username, password) in attempts {
        let (status, body) = user_of(&server, username, password).await;
        assert_eq!(status, 401, "{username}: {body}");
        let body: ErrorBody = serde_json::from_value(body).unwrap();
        assert_eq!(body.code, "invalid_credentials", "{username}");
    }
    assert_eq!(metric(&server, r#"ldap_binds_total{account="user""#).await, "absent", "no user entry was even found");
}

#[tokio::test]
async fn ldap_stopped_mid_test_is_a_503_and_logins_recover_when_it_is_back() {
    let mut slapd = Slapd::start().await;
    let server = gateway(ldap_env(&slapd, &[("AUTH_GATEWAY_LOGIN_ADDRESS_FAILURES", "2")])).await;
    assert_eq!(user_of(&server, "alice", "alice-pw").await.0, 200);

    slapd.stop().await;
    let started = std::time::Instant::now();
    let (status, body) = user_of(&server, "alice", "alice-pw").await;
    assert_eq!((status, body["code"].as_str()), (503, Some("directory_unavailable")), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "within the timeouts: {:?}", started.elapsed());
    assert_eq!(user_of(&server, "alice", "alice-pw").await.0, 503, "still down");

    slapd.run().await;
    // Within a second of the last failure the gateway does not try again, so that logins do not
    // each wait for the directory's timeout.
    let back = std::time::Instant::now();
    let (mut status, mut body) = user_of(&server, "alice", "alice-pw").await;
    while status == 503 && back.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        (status, body) = user_of(&server, "alice", "alice-pw").await;
    }
    assert_eq!(status, 200, "a new service connection once the directory is back: {body}");
    assert!(back.elapsed() < std::time::Duration::from_secs(2), "{:?}", back.elapsed());
    assert_eq!(
        user_of(&server, "bob", "wrong").await.0,
        401,
        "outages did not count as failures (2 from this address would)"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_before_the_directory_is_asked() {
    let slapd = Slapd::start().await;
    let server = gateway(ldap_env(&slapd, &[("AUTH_GATEWAY_LOGIN_USER_FAILURES", "2")])).await;
    assert_eq!(user_of(&server, "alice", "guess-1").await.0, 401);
    assert_eq!(user_of(&server, "alice", "guess-2").await.0, 401);
    let (status, body) = user_of(&server, "alice", "alice-pw").await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_attempts")));
    assert_eq!(
        metric(&server, r#"ldap_binds_total{account="user""#).await,
        r#"ldap_binds_total{account="user",outcome="rejected"} 2"#,
        "the throttled attempt never reached the directory"
    );
    assert_eq!(user_of(&server, "dave", "dave-pw").await.0, 200, "another user from the same address still may");
}

#[tokio::test]
async fn ldaps_and_starttls_trust_the_configured_ca_and_only_it() {
    let slapd = Slapd::start_tls().await;
    let ldaps = format!("ldaps://localhost:{}", slapd.tls_port.unwrap());
    let starttls = format!("ldap://localhost:{}", slapd.port);
    let ca = slapd.ca_file();
    let other_ca = tempfile::tempdir().unwrap();
    let other = Slapd::start_tls().await;
    std::fs::copy(other.ca_file(), other_ca.path().join("ca.pem")).unwrap();
    let other_ca = other_ca.path().join("ca.pem").to_string_lossy().into_owned();
    let cases = [
        (
            "LDAPS with the CA",
            vec![("AUTH_GATEWAY_LDAP_URL", ldaps.as_str()), ("AUTH_GATEWAY_LDAP_CA_FILE", ca.as_str())],
            200,
        ),
        (
            "StartTLS with the CA",
            vec![
                ("AUTH_GATEWAY_LDAP_URL", starttls.as_str()),
                ("AUTH_GATEWAY_LDAP_STARTTLS", "true"),
                ("AUTH_GATEWAY_LDAP_CA_FILE", ca.as_str()),
            ],
            200,
        ),
        ("LDAPS trusting only the system's CAs", vec![("AUTH_GATEWAY_LDAP_URL", ldaps.as_str())], 503),
        (
            "StartTLS trusting another CA",
            vec![
                ("AUTH_GATEWAY_LDAP_URL", starttls.as_str()),
                ("AUTH_GATEWAY_LDAP_STARTTLS", "true"),
                ("AUTH_GATEWAY_LDAP_CA_FILE", other_ca.as_str()),
            ],
            503,
        ),
        ("no TLS, which this directory requires for binds", vec![("AUTH_GATEWAY_LDAP_URL", starttls.as_str())], 503),
    ];
    for (what, settings, expected) in cases {
        let server = gateway(ldap_env(&slapd, &settings)).await;
        let (status, body) = user_of(&server, "alice", "alice-pw").await;
        assert_eq!(status, expected, "{what}: {body}");
    }
}
