//! The SQL of a search and of one job, run on a connection; the rows become [`Job`]s.

use std::time::Duration;

use common::job::Job;
use deadpool::managed::Object;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bool, Double, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use history_store::DbPool;
use history_store::rows::JobRow;

use crate::query::selectors::Selector;
use crate::query::{Bind, Sql};

/// What a search asks for, checked.
#[derive(Debug, Clone)]
pub struct Search {
    /// The condition of `q` over `jobs j`; `None` for every job.
    pub condition: Option<Sql>,
    /// The sort field and whether ascending; `None` for newest submission first.
    pub sort: Option<(&'static Selector, bool)>,
    pub offset: i64,
    pub limit: i64,
    pub with_parameters: bool,
}

/// One page of a search, and how many jobs match in all.
#[derive(Debug)]
pub struct Page {
    pub jobs: Vec<Job>,
    pub total: i64,
}

impl Search {
    fn where_clause(&self) -> Sql {
        self.condition.clone().unwrap_or_else(|| Sql { text: "TRUE".to_owned(), binds: Vec::new() })
    }

    /// The page's jobs, in order. Ties are broken by job id so that pages never overlap. The page's
    /// ids are found first and the rows read after, so that the rows skipped by `offset` are not
    /// read from the table when an index can give the order (an index-only scan, for the default
    /// order without a filter).
    pub fn page_sql(&self) -> Sql {
        let mut sql = self.where_clause();
        // Nulls sort as larger than any value (PostgreSQL's rule): last ascending, first descending.
        let order = match self.sort {
            Some((selector, ascending)) => {
                format!("j.\"{}\" {}, j.job_id ASC", selector.column, if ascending { "ASC" } else { "DESC" })
            }
            None => "j.submission_time DESC, j.job_id ASC".to_owned(),
        };
        let limit = sql.bind(Bind::Integer(self.limit));
        let offset = sql.bind(Bind::Integer(self.offset));
        sql.text = format!(
            "SELECT j.* FROM jobs j WHERE j.job_id IN \
             (SELECT j.job_id FROM jobs j WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}) ORDER BY {order}",
            sql.text
        );
        sql
    }

    /// How many jobs match.
    pub fn count_sql(&self) -> Sql {
        let mut sql = self.where_clause();
        sql.text = format!("SELECT count(*) AS total FROM jobs j WHERE {}", sql.text);
        sql
    }
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The SQL with its values bound in order.
pub fn bound(sql: &Sql) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let mut query = diesel::sql_query(sql.text.clone()).into_boxed::<Pg>();
    for value in &sql.binds {
        query = match value.clone() {
            Bind::Text(text) => query.bind::<Text, _>(text),
            Bind::Texts(texts) => query.bind::<Array<Text>, _>(texts),
            Bind::Integer(number) => query.bind::<BigInt, _>(number),
            Bind::Decimal(number) => query.bind::<Double, _>(number),
            Bind::Boolean(flag) => query.bind::<Bool, _>(flag),
            Bind::Instant(instant) => query.bind::<Timestamptz, _>(instant),
        };
    }
    query
}

pub async fn search(connection: &mut AsyncPgConnection, search: &Search) -> QueryResult<Page> {
    let rows: Vec<JobRow> = bound(&search.page_sql()).load(connection).await?;
    // A page that is not full and not past the end holds the last matching jobs: the total follows
    // without counting them all again.
    let total = if (rows.len() as i64) < search.limit && (!rows.is_empty() || search.offset == 0) {
        search.offset + rows.len() as i64
    } else {
        bound(&search.count_sql()).get_result::<Total>(connection).await?.total
    };
    let jobs = history_store::read::assemble(connection, rows, search.with_parameters).await?;
    Ok(Page { jobs, total })
}

/// Why a search gave no page.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("no connection to the database: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("the search did not finish within {} s", .0.as_secs())]
    Timeout(Duration),
}

/// Runs `search` on a connection of `pool` for at most `timeout`. A search that runs out of time,
/// or whose caller goes away (actix then drops this future), is cancelled on the server as well,
/// and its connection is closed rather than given back to the pool.
pub async fn run(pool: &DbPool, search: &Search, timeout: Duration) -> Result<Page, SearchError> {
    let connection = pool.get().await.map_err(|e| SearchError::Unavailable(e.to_string()))?;
    let mut in_flight = InFlight { cancel: Some(connection.cancel_token()), connection: Some(connection) };
    let answer = match in_flight.connection.as_mut() {
        Some(connection) => tokio::time::timeout(timeout, self::search(connection, search)).await,
        None => return Err(SearchError::Unavailable("no connection".to_owned())),
    };
    match answer {
        Ok(answer) => {
            in_flight.cancel = None;
            Ok(answer?)
        }
        Err(_) => Err(SearchError::Timeout(timeout)),
    }
}

/// A search on its way: dropped before it finished, it cancels the statement on the server.
struct InFlight {
    cancel: Option<tokio_postgres::CancelToken>,
    connection: Option<Object<history_store::DbManager>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(cancel) = self.cancel.take() else { return };
        // The connection saw its statement dropped half way: it is not reused.
        if let Some(connection) = self.connection.take() {
            drop(Object::take(connection));
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                match cancel.cancel_query(tokio_postgres::NoTls).await {
                    Ok(()) => tracing::info!("a search was cancelled on the database"),
                    Err(error) => tracing::warn!(%error, "cannot cancel a search on the database"),
                }
            });
        }
    }
}
