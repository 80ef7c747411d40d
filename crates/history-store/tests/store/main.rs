//! The store against the real Postgres: its schema.rs is what diesel prints for its migrations, and
//! the migrations go up, down and up again.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use history_store::testing::TestDatabase;

mod logs;

#[tokio::test]
async fn schema_rs_is_what_diesel_prints_for_the_migrations() {
    let database = TestDatabase::create().await;
    let output = tokio::process::Command::new("diesel")
        .args(["print-schema", "--database-url", &database.url])
        .output()
        .await
        .expect("diesel_cli on the PATH (tests/run.sh installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed = include_str!("../../src/schema.rs");
    assert!(
        printed == committed,
        "src/schema.rs differs from the migrations; regenerate it with \
         `diesel print-schema --database-url <a migrated database> > crates/history-store/src/schema.rs`:\n{printed}"
    );
}

#[tokio::test]
async fn migrations_revert_and_apply_again() {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut connection =
            <AsyncConnectionWrapper<diesel_async::AsyncPgConnection> as diesel::Connection>::establish(&url).unwrap();
        connection.revert_all_migrations(history_store::MIGRATIONS).unwrap();
        assert!(!connection.pending_migrations(history_store::MIGRATIONS).unwrap().is_empty());
    })
    .await
    .unwrap();
    let applied = history_store::migrate(&database.url).await.unwrap();
    let all = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&history_store::MIGRATIONS).unwrap();
    assert_eq!(applied.len(), all.len(), "every migration applied again: {applied:?}");
    assert!(history_store::migrate(&database.url).await.unwrap().is_empty(), "nothing left to apply");
}
