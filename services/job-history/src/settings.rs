//! What job-history reads from the environment.

use std::time::Duration;

use history_store::PoolSize;
use service_kit::{Env, Positive, ServerSettings, SettingsError};

use crate::query;
use crate::query::limits::QueryLimits;

/// Everything the service reads from the environment: `DATABASE_URL` (default: the dev stack's
/// database), `JOB_HISTORY_DB_POOL_SIZE` (default 16), the bounds of a query
/// (`JOB_HISTORY_QUERY_MAX_*`), how long a search may run (`JOB_HISTORY_STATEMENT_TIMEOUT_SECS`,
/// default 10) and the server settings of `JOB_HISTORY_`.
#[derive(Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database_url: String,
    pub pool_size: usize,
    pub query_limits: QueryLimits,
    pub statement_timeout: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        Ok(Settings {
            server: ServerSettings::from_env(env, "JOB_HISTORY", 8086)?,
            database_url: env
                .get_or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/job_orchestrator_dev".to_owned())?,
            pool_size: env.get_or("JOB_HISTORY_DB_POOL_SIZE", PoolSize(16))?.0,
            query_limits: query_limits(env)?,
            statement_timeout: Duration::from_secs(env.get_or("JOB_HISTORY_STATEMENT_TIMEOUT_SECS", Positive(10))?.0),
        })
    }
}

impl std::fmt::Debug for Settings {
    // The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("pool_size", &self.pool_size)
            .field("query_limits", &self.query_limits)
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

fn query_limits(env: &Env) -> Result<QueryLimits, SettingsError> {
    let default = QueryLimits::default();
    let get = |limit: query::limits::Limit, default: usize| env.get_or(limit.setting(), Positive(default)).map(|p| p.0);
    use query::limits::Limit;
    Ok(QueryLimits {
        length: get(Limit::Length, default.length)?,
        comparisons: get(Limit::Comparisons, default.comparisons)?,
        subqueries: get(Limit::Subqueries, default.subqueries)?,
        list_values: get(Limit::ListValues, default.list_values)?,
    })
}

impl AsRef<ServerSettings> for Settings {
    fn as_ref(&self) -> &ServerSettings {
        &self.server
    }
}
