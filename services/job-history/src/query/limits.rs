//! How much one search may ask of the database. Each AND of many comparisons on parameters,
//! algorithms or statuses is one subquery more for Postgres to join, and the cost of planning a join
//! grows much faster than the number of its parts: unbounded, a 2 KB query kept a Postgres backend
//! busy for minutes. The defaults are far above what a person writes (the original history service's
//! documented examples use at most three comparisons) and keep the worst allowed query cheap to plan.

use common::rsql::Span;

/// The bounds of a query; each has a setting (`JOB_HISTORY_QUERY_MAX_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Characters in `q`.
    pub length: usize,
    /// Comparisons in the whole query.
    pub comparisons: usize,
    /// Subqueries in one AND group: each parameter or algorithm that its comparisons describe, and
    /// each comparison on `status`.
    pub subqueries: usize,
    /// Values in one `=in=` or `=out=` list.
    pub list_values: usize,
}

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits { length: 4096, comparisons: 64, subqueries: 8, list_values: 100 }
    }
}

/// Which bound a query went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Length,
    Comparisons,
    Subqueries,
    ListValues,
}

impl Limit {
    /// The setting that moves this bound.
    pub fn setting(self) -> &'static str {
        match self {
            Limit::Length => "JOB_HISTORY_QUERY_MAX_LENGTH",
            Limit::Comparisons => "JOB_HISTORY_QUERY_MAX_COMPARISONS",
            Limit::Subqueries => "JOB_HISTORY_QUERY_MAX_SUBQUERIES",
            Limit::ListValues => "JOB_HISTORY_QUERY_MAX_LIST_VALUES",
        }
    }
}

/// A query over one of its bounds: which, how much it asked, the most allowed, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: Limit,
    pub actual: usize,
    pub max: usize,
    pub span: Span,
}

impl QueryLimits {
    /// The query's length, checked before it is parsed.
    pub fn check_length(&self, query: &str) -> Result<(), TooLarge> {
        let actual = query.chars().count();
        if actual > self.length {
            // Where the allowed text ends.
            let span = Span { start: self.length, end: self.length + 1 };
            return Err(TooLarge { limit: Limit::Length, actual, max: self.length, span });
        }
        Ok(())
    }

    pub(crate) fn check(&self, limit: Limit, actual: usize, span: Span) -> Result<(), TooLarge> {
        let max = match limit {
            Limit::Length => self.length,
            Limit::Comparisons => self.comparisons,
            Limit::Subqueries => self.subqueries,
            Limit::ListValues => self.list_values,
        };
        if actual > max { Err(TooLarge { limit, actual, max, span }) } else { Ok(()) }
    }
}
