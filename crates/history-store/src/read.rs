//! Reading whole jobs: a job's row with its statuses, algorithms and parameters.

use std::collections::HashMap;

use common::job::Job;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::rows::{AlgorithmRow, JobRow, ParameterRow, StatusRow};
use crate::schema::{job_algorithms, job_parameters, job_status_history, jobs};

/// The job `job_id`, whole; its parameters only if `with_parameters`.
pub async fn find(connection: &mut AsyncPgConnection, job_id: &str, with_parameters: bool) -> QueryResult<Option<Job>> {
    let rows: Vec<JobRow> =
        jobs::table.filter(jobs::job_id.eq(job_id)).select(JobRow::as_select()).load(connection).await?;
    Ok(assemble(connection, rows, with_parameters).await?.into_iter().next())
}

/// The jobs of `rows` with their statuses, algorithms and (if wanted) parameters: one query per
/// child table for the whole page.
pub async fn assemble(
    connection: &mut AsyncPgConnection,
    rows: Vec<JobRow>,
    with_parameters: bool,
) -> QueryResult<Vec<Job>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|row| row.job_id.as_str()).collect();
    let statuses: Vec<StatusRow> = job_status_history::table
        .filter(job_status_history::job_id.eq_any(&ids))
        .select(StatusRow::as_select())
        .load(connection)
        .await?;
    let algorithms: Vec<AlgorithmRow> = job_algorithms::table
        .filter(job_algorithms::job_id.eq_any(&ids))
        .select(AlgorithmRow::as_select())
        .load(connection)
        .await?;
    let parameters: Option<Vec<ParameterRow>> = if with_parameters {
        Some(
            job_parameters::table
                .filter(job_parameters::job_id.eq_any(&ids))
                .select(ParameterRow::as_select())
                .load(connection)
                .await?,
        )
    } else {
        None
    };
    let mut statuses = group_by_job(statuses, |row| &row.job_id);
    let mut algorithms = group_by_job(algorithms, |row| &row.job_id);
    let mut parameters = parameters.map(|rows| group_by_job(rows, |row| &row.job_id));
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.job_id.clone();
            row.into_job(
                statuses.remove(&id).unwrap_or_default(),
                algorithms.remove(&id).unwrap_or_default(),
                parameters.as_mut().map(|all| all.remove(&id).unwrap_or_default()),
            )
        })
        .collect())
}

fn group_by_job<T>(rows: Vec<T>, job_id: impl Fn(&T) -> &String) -> HashMap<String, Vec<T>> {
    let mut grouped: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(job_id(&row).clone()).or_default().push(row);
    }
    grouped
}
