//! Inserting many rows as one array per column, unnested by Postgres: the statement's text does not
//! depend on the number of rows (prepared once per connection), and Postgres does not analyse a long
//! `VALUES` list. Measured on 400 status rows: 10 ms instead of 20 to 30 ms with `VALUES`.
//!
//! Arrays of arrays cannot be unnested one row at a time, so list values (`submissionMachines`, a
//! parameter's `value`) travel as JSON arrays and become `text[]` in the statement.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, Bool, Float8, Int4, Int8, Jsonb, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use history_store::rows::{JobRow, StatusRow};

/// Defines, from one list of `column: SqlType` (each column a field of [`JobRow`], with
/// `=> conversion` when the field is not bound as it is), the column names [`JOB_COLUMNS`], how each
/// travels ([`JOB_COLUMN_TYPES`]) and [`bind_jobs`], which binds them: one list, one order.
macro_rules! job_columns {
    ($(#[$doc:meta])* $($column:ident: $sql_type:ty $(=> $convert:expr)?),+ $(,)?) => {
        $(#[$doc])*
        pub const JOB_COLUMNS: &[&str] = &[$(stringify!($column)),+];

        /// How each of [`JOB_COLUMNS`] travels, in their order.
        const JOB_COLUMN_TYPES: &[Travel] = &[$(<$sql_type as Sent>::TRAVEL),+];

        /// Binds one array per column of [`JOB_COLUMNS`], in their order.
        fn bind_jobs<'a>(query: BoxedSqlQuery<'a, Pg, SqlQuery>, rows: &[&JobRow]) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
            query $(.bind::<Array<$sql_type>, _>(
                rows.iter().map(|row| job_columns!(@value row, $column $(, $convert)?)).collect::<Vec<_>>()
            ))+
        }
    };
    (@value $row:ident, $column:ident) => { Clone::clone(&$row.$column) };
    (@value $row:ident, $column:ident, $convert:expr) => { $convert($row) };
}

job_columns! {
    /// The columns of `jobs` the consumer writes, all of them (a test compares this list with the
    /// table's columns in Postgres): the statements' column lists, their arrays' types and the binds
    /// all come from this one list, so their orders cannot differ.
    ///
    /// # Adding a job attribute
    /// 1. `crates/common`: the attribute in `Job` (src/job.rs, as the history serves it), in
    ///    `JobAttributes` (src/event.rs, as an event carries it) and in the event's JSON Schema
    ///    (contracts/job-event.v1.schema.json); its contract in `docs/contracts/job-events.md`.
    /// 2. `crates/history-store`: a new migration adding the column and its `(column, job_id)` index,
    ///    `schema.rs` as `diesel print-schema` makes it (a test compares it with the database), and
    ///    the field in `JobRow` (src/rows.rs) with `into_job` and `from_job`.
    /// 3. Here: the column and its SQL type.
    /// 4. The fold: one `set` in `Attributes::apply` (src/fold.rs), under the attribute's name in
    ///    events.
    /// 5. job-history: its selector in `SELECTORS` (services/job-history/src/query/selectors.rs; a test
    ///    there checks that every job-level selector is a column of `jobs`, of its type), then the
    ///    OpenAPI document (`UPDATE_OPENAPI=1 cargo nextest run -p job-history -E 'test(openapi)'`)
    ///    and the UI's types from it (`cd ui && npm run api`).
    /// 6. The producers that know it: the job-deployer's events (services/job-deployer/src/events/).
    job_id: Text,
    group_id: Nullable<Text>,
    project_id: Nullable<Text>,
    job_owner: Nullable<Text>,
    automatically_machine_selection: Nullable<Bool>,
    submission_machines: Nullable<Jsonb> => machines,
    number_of_processes: Nullable<Int8>,
    number_of_processes_by_machine: Nullable<Int8>,
    submission_time: Nullable<Timestamptz>,
    description: Nullable<Text>,
    priority: Nullable<Int8>,
    multiple_execution: Nullable<Bool>,
    job_type: Nullable<Text>,
    number_of_attempts: Nullable<Int8>,
    execution_machine: Nullable<Text>,
    end_time: Nullable<Timestamptz>,
    exit_code: Nullable<Int8>,
    guilty_node_id: Nullable<Text>,
    exit_status: Nullable<Text>,
    cpu_time: Nullable<Float8>,
    wallclock_time: Nullable<Int8>,
    ram_memory: Nullable<Float8>,
    flow_id: Nullable<Text>,
    flow_version: Nullable<Text>,
    flow_name: Nullable<Text>,
    last_modified_time: Nullable<Timestamptz>,
    is_deleted: Bool,
}

/// The submission machines as a JSON array (see above).
fn machines(row: &JobRow) -> Option<serde_json::Value> {
    row.submission_machines.as_ref().map(|m| m.iter().flatten().cloned().collect::<Vec<String>>().into())
}

/// How a column's values travel: the array type they are bound as, and their value in the
/// statement's `SELECT` from the unnested field `r.<column>`.
struct Travel {
    array: &'static str,
    value: fn(&str) -> String,
}

/// How values of an SQL type travel.
trait Sent {
    const TRAVEL: Travel;
}

macro_rules! sent_as_they_are {
    ($($sql_type:ty => $array:literal),+) => {
        $(impl Sent for $sql_type {
            const TRAVEL: Travel = Travel { array: $array, value: str::to_owned };
        })+
    };
}
sent_as_they_are!(Text => "text[]", Bool => "bool[]", Int8 => "int8[]", Float8 => "float8[]", Timestamptz => "timestamptz[]");

/// A list of text, sent as a JSON array: `text[]` in the statement.
impl Sent for Jsonb {
    const TRAVEL: Travel = Travel { array: "jsonb[]", value: text_array };
}

impl<T: Sent> Sent for Nullable<T> {
    const TRAVEL: Travel = T::TRAVEL;
}

/// A JSON array of strings (or null) as `text[]`, in order.
fn text_array(expression: &str) -> String {
    format!(
        "CASE WHEN {expression} IS NULL THEN NULL ELSE ARRAY(SELECT e FROM \
         jsonb_array_elements_text({expression}) WITH ORDINALITY AS t(e, n) ORDER BY n) END"
    )
}

/// `INSERT INTO jobs ... SELECT ... FROM unnest(...)`, without its conflict clause.
static INSERT_JOBS: LazyLock<String> = LazyLock::new(|| {
    let columns = || JOB_COLUMNS.iter().zip(JOB_COLUMN_TYPES);
    let values: Vec<String> = columns().map(|(name, travel)| (travel.value)(&format!("r.{name}"))).collect();
    let arrays: Vec<String> =
        columns().enumerate().map(|(i, (_, travel))| format!("${}::{}", i + 1, travel.array)).collect();
    format!(
        "INSERT INTO jobs ({}) SELECT {} FROM unnest({}) AS r({})",
        JOB_COLUMNS.join(", "),
        values.join(", "),
        arrays.join(", "),
        JOB_COLUMNS.join(", ")
    )
});

static INSERT_NEW_JOBS: LazyLock<String> =
    LazyLock::new(|| format!("{} ON CONFLICT DO NOTHING RETURNING job_id", *INSERT_JOBS));

static UPDATE_JOBS: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> =
        JOB_COLUMNS.iter().filter(|name| **name != "job_id").map(|name| format!("{name} = excluded.{name}")).collect();
    format!("{} ON CONFLICT (job_id) DO UPDATE SET {}", *INSERT_JOBS, set.join(", "))
});

#[derive(QueryableByName)]
struct InsertedJob {
    #[diesel(sql_type = Text)]
    job_id: String,
}

/// Inserts the rows of jobs that were not stored; answers the ids it inserted (not those that
/// another transaction inserted first).
pub async fn insert_new_jobs(connection: &mut AsyncPgConnection, rows: &[&JobRow]) -> QueryResult<Vec<String>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let inserted: Vec<InsertedJob> =
        bind_jobs(sql_query(INSERT_NEW_JOBS.as_str()).into_boxed(), rows).load(connection).await?;
    Ok(inserted.into_iter().map(|row| row.job_id).collect())
}

/// Overwrites the rows of stored jobs.
pub async fn update_jobs(connection: &mut AsyncPgConnection, rows: &[&JobRow]) -> QueryResult<()> {
    if !rows.is_empty() {
        bind_jobs(sql_query(UPDATE_JOBS.as_str()).into_boxed(), rows).execute(connection).await?;
    }
    Ok(())
}

/// Records which events set each job's attributes; `upsert` where a record may exist.
pub async fn write_versions(
    connection: &mut AsyncPgConnection,
    versions: Vec<(String, serde_json::Value)>,
    upsert: bool,
) -> QueryResult<()> {
    if versions.is_empty() {
        return Ok(());
    }
    let insert = "INSERT INTO job_attribute_versions (job_id, versions) SELECT * FROM unnest($1::text[], $2::jsonb[])";
    let sql = if upsert {
        format!("{insert} ON CONFLICT (job_id) DO UPDATE SET versions = excluded.versions")
    } else {
        insert.to_owned()
    };
    let (ids, values): (Vec<String>, Vec<serde_json::Value>) = versions.into_iter().unzip();
    sql_query(sql).bind::<Array<Text>, _>(ids).bind::<Array<Jsonb>, _>(values).execute(connection).await?;
    Ok(())
}

pub async fn insert_statuses(connection: &mut AsyncPgConnection, rows: &[StatusRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let jobs: Vec<&str> = rows.iter().map(|r| r.job_id.as_str()).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.occurred_at).collect();
    sql_query(
        "INSERT INTO job_status_history (job_id, status, occurred_at) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])",
    )
    .bind::<Array<Text>, _>(jobs)
    .bind::<Array<Text>, _>(statuses)
    .bind::<Array<Timestamptz>, _>(times)
    .execute(connection)
    .await?;
    Ok(())
}

/// An algorithm to insert: its job, position and fields.
#[derive(Debug)]
pub struct NewAlgorithm<'a> {
    pub job_id: &'a str,
    pub position: i32,
    pub algorithm_id: &'a str,
    pub algorithm_version: Option<&'a str>,
    pub algorithm_name: Option<&'a str>,
}

#[derive(Debug, QueryableByName)]
pub struct InsertedAlgorithm {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub job_id: String,
    #[diesel(sql_type = Int4)]
    pub position: i32,
}

pub async fn insert_algorithms(
    connection: &mut AsyncPgConnection,
    rows: &[NewAlgorithm<'_>],
) -> QueryResult<Vec<InsertedAlgorithm>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    sql_query(
        "INSERT INTO job_algorithms (job_id, position, algorithm_id, algorithm_version, algorithm_name) \
         SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[]) \
         RETURNING id, job_id, position",
    )
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.job_id).collect::<Vec<_>>())
    .bind::<Array<Int4>, _>(rows.iter().map(|r| r.position).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.algorithm_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.algorithm_version).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.algorithm_name).collect::<Vec<_>>())
    .load(connection)
    .await
}

/// A parameter to insert, under the algorithm whose id it carries.
#[derive(Debug)]
pub struct NewParameter<'a> {
    pub algorithm: i64,
    pub job_id: &'a str,
    pub position: i32,
    pub parameter_id: &'a str,
    pub label: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub value: &'a [String],
}

pub async fn insert_parameters(connection: &mut AsyncPgConnection, rows: &[NewParameter<'_>]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO job_parameters (algorithm, job_id, position, parameter_id, label, type, value) \
         SELECT r.algorithm, r.job_id, r.position, r.parameter_id, r.label, r.type, {} \
         FROM unnest($1::int8[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) \
         AS r(algorithm, job_id, position, parameter_id, label, type, value)",
        text_array("r.value")
    );
    let values: Vec<serde_json::Value> = rows.iter().map(|r| r.value.to_vec().into()).collect();
    sql_query(sql)
        .bind::<Array<Int8>, _>(rows.iter().map(|r| r.algorithm).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.job_id).collect::<Vec<_>>())
        .bind::<Array<Int4>, _>(rows.iter().map(|r| r.position).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.parameter_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.label).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
        .bind::<Array<Jsonb>, _>(values)
        .execute(connection)
        .await?;
    Ok(())
}
