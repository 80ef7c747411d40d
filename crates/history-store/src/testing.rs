//! For tests: a database of one's own, cloned from a migrated template, and a way to fill it.
//!
//! Each test process creates its database with `CREATE DATABASE ... TEMPLATE`, which is much faster
//! than migrating. The template is made once, under an advisory lock, named after the migrations;
//! `tests/run.sh` drops every `jh_` database before and after a run.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test helpers: a broken expectation is a failed test")]

use std::hash::{DefaultHasher, Hash, Hasher};

use common::job::Job;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::rows::{JobRow, StatusRow};
use crate::schema::{job_algorithms, job_parameters, job_status_history, jobs};

/// The Postgres server of the test stack (`TEST_POSTGRES_URL`, without a database name).
pub fn server_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A fresh, migrated database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let server = server_url();
        let mut admin = AsyncPgConnection::establish(&format!("{server}/postgres")).await.expect("the test Postgres");
        let template = template_name();
        // One process builds the template; the others wait for it. Clones are serialised as well:
        // CREATE DATABASE refuses a template that another session is copying from or connected to.
        diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut admin).await.unwrap();
        let exists: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "count(*) FROM pg_database WHERE datname = '{template}'"
        )))
        .get_result(&mut admin)
        .await
        .unwrap();
        if exists == 0 {
            // Built under another name and renamed once migrated: a failed build leaves no template.
            let building = format!("{template}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{building}\"")).execute(&mut admin).await.unwrap();
            diesel::sql_query(format!("CREATE DATABASE \"{building}\"")).execute(&mut admin).await.unwrap();
            crate::migrate(&format!("{server}/{building}")).await.expect("the template migrates");
            diesel::sql_query(format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        let name = format!("jh_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).await.unwrap();
        TestDatabase { url: format!("{server}/{name}"), name }
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.expect("the test database")
    }
}

/// Named after the migrations' files, so that a changed migration gets a template of its own.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for migration in MigrationSource::<diesel::pg::Pg>::migrations(&crate::MIGRATIONS).unwrap() {
        let name = migration.name().to_string();
        name.hash(&mut hasher);
        for file in ["up.sql", "down.sql"] {
            std::fs::read(directory.join(&name).join(file)).unwrap_or_default().hash(&mut hasher);
        }
    }
    format!("jh_template_{:016x}", hasher.finish())
}

/// Inserts a whole run: its row, statuses, algorithms and parameters.
pub async fn insert_job(connection: &mut AsyncPgConnection, job: &Job) {
    diesel::insert_into(jobs::table).values(JobRow::from_job(job)).execute(connection).await.unwrap();
    let statuses: Vec<StatusRow> = job
        .status_history
        .iter()
        .map(|s| StatusRow { job_id: job.job_id.clone(), status: s.status.name().to_owned(), occurred_at: s.timestamp })
        .collect();
    diesel::insert_into(job_status_history::table).values(&statuses).execute(connection).await.unwrap();
    for (position, algorithm) in job.algorithms.iter().enumerate() {
        let id: i64 = diesel::insert_into(job_algorithms::table)
            .values((
                job_algorithms::job_id.eq(&job.job_id),
                job_algorithms::position.eq(position as i32),
                job_algorithms::algorithm_id.eq(&algorithm.algorithm_id),
                job_algorithms::algorithm_version.eq(&algorithm.algorithm_version),
                job_algorithms::algorithm_name.eq(&algorithm.algorithm_name),
            ))
            .returning(job_algorithms::id)
            .get_result(connection)
            .await
            .unwrap();
        for (position, parameter) in algorithm.parameters.iter().flatten().enumerate() {
            diesel::insert_into(job_parameters::table)
                .values((
                    job_parameters::algorithm.eq(id),
                    job_parameters::job_id.eq(&job.job_id),
                    job_parameters::position.eq(position as i32),
                    job_parameters::parameter_id.eq(&parameter.parameter_id),
                    job_parameters::label.eq(&parameter.label),
                    job_parameters::type_.eq(&parameter.kind),
                    job_parameters::value.eq(parameter.value.iter().cloned().map(Some).collect::<Vec<_>>()),
                ))
                .execute(connection)
                .await
                .unwrap();
        }
    }
}

/// Archives a log as the consumer would: `text` (what was kept, after `dropped`) cut into chunks,
/// compressed and stored; answers the messages, for a test that delivers some of them again.
pub async fn insert_log(
    connection: &mut AsyncPgConnection,
    key: &crate::logs::LogKey,
    ended_at: chrono::DateTime<chrono::Utc>,
    text: &str,
    dropped: common::job_log::Extent,
) -> Vec<common::job_log::LogMessage> {
    let log = common::job_log::Collected { text: text.to_owned(), dropped };
    let attempt = u32::try_from(key.attempt).unwrap();
    let messages = common::job_log::cut(&key.job_id, key.container, attempt, common::time::Instant(ended_at), &log);
    archive_messages(connection, &messages).await;
    messages
}

/// Stores `messages` as the consumer would.
pub async fn archive_messages(connection: &mut AsyncPgConnection, messages: &[common::job_log::LogMessage]) {
    let prepared: Vec<_> = crate::logs::prepare(messages).into_iter().map(Result::unwrap).collect();
    crate::logs::archive(connection, &prepared).await.unwrap();
}
