//! Applying a batch of events to the history in one transaction, set-based: a handful of statements
//! whatever the batch's size.

use std::collections::BTreeMap;

use common::event::{AlgorithmReport, JobEvent};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use history_store::rows::{JobRow, StatusRow};
use history_store::schema::{job_algorithms, job_attribute_versions, job_parameters, job_status_history, jobs};
use history_store::versions::AttributeVersions;

use crate::fold::{Change, JobState, fold};

/// Rows per INSERT: the widest table (jobs, 27 columns) stays well under Postgres' 65,535 parameters.
const ROWS_PER_INSERT: usize = 1000;

/// What a batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Jobs whose row changed.
    pub jobs: usize,
    /// Status history entries added.
    pub statuses: usize,
}

/// Folds `events` into the history in one transaction (rule 8 commits the offsets after it).
///
/// Every job of the batch is locked first, in job id order: two consumers that briefly share a
/// partition during a rebalance then take turns on a job instead of overwriting each other's fold,
/// and never deadlock.
pub async fn apply(connection: &mut AsyncPgConnection, events: &[JobEvent]) -> QueryResult<Applied> {
    let mut by_job: BTreeMap<&str, Vec<&JobEvent>> = BTreeMap::new();
    for event in events {
        by_job.entry(event.job_id.as_str()).or_default().push(event);
    }
    if by_job.is_empty() {
        return Ok(Applied::default());
    }
    connection.transaction(async |connection| apply_in(connection, by_job).await).await
}

async fn apply_in(connection: &mut AsyncPgConnection, by_job: BTreeMap<&str, Vec<&JobEvent>>) -> QueryResult<Applied> {
    let ids: Vec<&str> = by_job.keys().copied().collect();
    // A job seen first (rule 6) gets an empty row, so that it is locked like the others.
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let new: Vec<_> = chunk.iter().map(|id| jobs::job_id.eq(*id)).collect();
        diesel::insert_into(jobs::table).values(new).on_conflict_do_nothing().execute(connection).await?;
    }
    let rows: Vec<JobRow> = jobs::table
        .filter(jobs::job_id.eq_any(&ids))
        .order(jobs::job_id)
        .select(JobRow::as_select())
        .for_update()
        .load(connection)
        .await?;
    let mut versions: BTreeMap<String, serde_json::Value> = job_attribute_versions::table
        .filter(job_attribute_versions::job_id.eq_any(&ids))
        .select((job_attribute_versions::job_id, job_attribute_versions::versions))
        .load::<(String, serde_json::Value)>(connection)
        .await?
        .into_iter()
        .collect();

    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let stored = match versions.remove(&row.job_id) {
            Some(json) => AttributeVersions::from_json(json).map_err(|error| {
                diesel::result::Error::DeserializationError(
                    format!("job_attribute_versions of {}: {error}", row.job_id).into(),
                )
            })?,
            None => AttributeVersions::default(),
        };
        let before = JobState { row, versions: stored };
        let events = by_job.get(before.row.job_id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let change = fold(before.clone(), events.iter().copied());
        changes.push((before, change));
    }
    write(connection, &changes).await
}

async fn write(connection: &mut AsyncPgConnection, changes: &[(JobState, Change)]) -> QueryResult<Applied> {
    // A replayed event changes nothing: such jobs are not written again.
    let changed: Vec<&Change> =
        changes.iter().filter(|(before, change)| *before != change.state).map(|(_, c)| c).collect();
    for chunk in changed.chunks(ROWS_PER_INSERT) {
        let rows: Vec<&JobRow> = chunk.iter().map(|change| &change.state.row).collect();
        update_jobs(connection, &rows).await?;
        let versions: Vec<_> = chunk
            .iter()
            .map(|change| {
                (
                    job_attribute_versions::job_id.eq(&change.state.row.job_id),
                    job_attribute_versions::versions.eq(change.state.versions.to_json()),
                )
            })
            .collect();
        diesel::insert_into(job_attribute_versions::table)
            .values(versions)
            .on_conflict(job_attribute_versions::job_id)
            .do_update()
            .set(job_attribute_versions::versions.eq(excluded(job_attribute_versions::versions)))
            .execute(connection)
            .await?;
    }

    let statuses: Vec<StatusRow> = changes
        .iter()
        .flat_map(|(_, change)| {
            change.statuses.iter().map(|(status, at)| StatusRow {
                job_id: change.state.row.job_id.clone(),
                status: status.name().to_owned(),
                occurred_at: *at,
            })
        })
        .collect();
    let mut added = 0;
    for chunk in statuses.chunks(ROWS_PER_INSERT) {
        added += diesel::insert_into(job_status_history::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(connection)
            .await?;
    }

    let replaced: Vec<(&str, &[AlgorithmReport])> = changes
        .iter()
        .filter_map(|(_, change)| Some((change.state.row.job_id.as_str(), change.algorithms.as_deref()?)))
        .collect();
    replace_algorithms(connection, &replaced).await?;
    Ok(Applied { jobs: changed.len(), statuses: added })
}

/// Writes the rows of jobs that exist (the batch inserted the new ones empty).
async fn update_jobs(connection: &mut AsyncPgConnection, rows: &[&JobRow]) -> QueryResult<()> {
    use jobs::*;
    diesel::insert_into(table)
        .values(rows.iter().copied().cloned().collect::<Vec<JobRow>>())
        .on_conflict(job_id)
        .do_update()
        .set((
            group_id.eq(excluded(group_id)),
            project_id.eq(excluded(project_id)),
            job_owner.eq(excluded(job_owner)),
            automatically_machine_selection.eq(excluded(automatically_machine_selection)),
            submission_machines.eq(excluded(submission_machines)),
            number_of_processes.eq(excluded(number_of_processes)),
            number_of_processes_by_machine.eq(excluded(number_of_processes_by_machine)),
            submission_time.eq(excluded(submission_time)),
            description.eq(excluded(description)),
            priority.eq(excluded(priority)),
            multiple_execution.eq(excluded(multiple_execution)),
            job_type.eq(excluded(job_type)),
            number_of_attempts.eq(excluded(number_of_attempts)),
            execution_machine.eq(excluded(execution_machine)),
            end_time.eq(excluded(end_time)),
            exit_code.eq(excluded(exit_code)),
            guilty_node_id.eq(excluded(guilty_node_id)),
            exit_status.eq(excluded(exit_status)),
            cpu_time.eq(excluded(cpu_time)),
            wallclock_time.eq(excluded(wallclock_time)),
            ram_memory.eq(excluded(ram_memory)),
            flow_id.eq(excluded(flow_id)),
            flow_version.eq(excluded(flow_version)),
            flow_name.eq(excluded(flow_name)),
            last_modified_time.eq(excluded(last_modified_time)),
            is_deleted.eq(excluded(is_deleted)),
        ))
        .execute(connection)
        .await?;
    Ok(())
}

/// Replaces the algorithms (and so the parameters) of each job with the given list.
async fn replace_algorithms(
    connection: &mut AsyncPgConnection,
    replaced: &[(&str, &[AlgorithmReport])],
) -> QueryResult<()> {
    if replaced.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = replaced.iter().map(|(job, _)| *job).collect();
    // The parameters go with their algorithms (ON DELETE CASCADE).
    diesel::delete(job_algorithms::table.filter(job_algorithms::job_id.eq_any(&ids))).execute(connection).await?;

    let algorithms: Vec<_> = replaced
        .iter()
        .flat_map(|(job, list)| {
            list.iter().enumerate().map(move |(position, algorithm)| {
                (
                    job_algorithms::job_id.eq(*job),
                    job_algorithms::position.eq(position as i32),
                    job_algorithms::algorithm_id.eq(&algorithm.algorithm_id),
                    job_algorithms::algorithm_version.eq(&algorithm.algorithm_version),
                    job_algorithms::algorithm_name.eq(&algorithm.algorithm_name),
                )
            })
        })
        .collect();
    let mut algorithm_ids: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for chunk in algorithms.chunks(ROWS_PER_INSERT) {
        let inserted: Vec<(i64, String, i32)> = diesel::insert_into(job_algorithms::table)
            .values(chunk)
            .returning((job_algorithms::id, job_algorithms::job_id, job_algorithms::position))
            .get_results(connection)
            .await?;
        algorithm_ids.extend(inserted.into_iter().map(|(id, job, position)| ((job, position), id)));
    }

    let mut parameters = Vec::new();
    for (job, list) in replaced {
        for (position, algorithm) in list.iter().enumerate() {
            let Some(&id) = algorithm_ids.get(&(job.to_string(), position as i32)) else { continue };
            for (index, parameter) in algorithm.parameters.iter().enumerate() {
                parameters.push((
                    job_parameters::algorithm.eq(id),
                    job_parameters::job_id.eq(*job),
                    job_parameters::position.eq(index as i32),
                    job_parameters::parameter_id.eq(&parameter.parameter_id),
                    job_parameters::label.eq(&parameter.label),
                    job_parameters::type_.eq(&parameter.kind),
                    job_parameters::value.eq(parameter.value.iter().cloned().map(Some).collect::<Vec<_>>()),
                ));
            }
        }
    }
    for chunk in parameters.chunks(ROWS_PER_INSERT) {
        diesel::insert_into(job_parameters::table).values(chunk).execute(connection).await?;
    }
    Ok(())
}
