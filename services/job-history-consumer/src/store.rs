//! Applying a batch of events to the history in one transaction, set-based: a handful of statements
//! whatever the batch's size.

use std::collections::{BTreeMap, BTreeSet};

use common::event::{AlgorithmReport, JobEvent};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use history_store::rows::{JobRow, StatusRow};
use history_store::schema::{job_algorithms, job_attribute_versions, job_status_history, jobs};
use history_store::versions::AttributeVersions;

use crate::columns::{self, NewAlgorithm, NewParameter};
use crate::fold::{Change, JobState, fold};

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
/// The batch's stored jobs are locked before they are read: two consumers that briefly share a
/// partition during a rebalance take turns on a job instead of overwriting each other's fold.
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
    let events_of = |job: &str| by_job.get(job).map(Vec::as_slice).unwrap_or_default().iter().copied();
    let ids: Vec<&str> = by_job.keys().copied().collect();
    let mut stored = load_locked(connection, &ids).await?;

    // A job seen first (rule 6) is inserted whole: one row version, one entry per index.
    let new: Vec<Change> =
        ids.iter().filter(|id| !stored.contains_key(**id)).map(|id| fold(JobState::new(id), events_of(id))).collect();
    let inserted = insert_new(connection, &new).await?;
    // Another consumer may have inserted one of them meanwhile (both can hold a partition for a
    // moment during a rebalance): fold into its row like into any other.
    let raced: Vec<&str> =
        new.iter().map(|change| change.state.row.job_id.as_str()).filter(|id| !inserted.contains(*id)).collect();
    if !raced.is_empty() {
        stored.extend(load_locked(connection, &raced).await?);
    }

    let mut changes: Vec<(Option<JobState>, Change)> = Vec::with_capacity(ids.len());
    changes.extend(new.into_iter().filter(|c| inserted.contains(&c.state.row.job_id)).map(|change| (None, change)));
    for (job, before) in stored {
        let change = fold(before.clone(), events_of(&job));
        changes.push((Some(before), change));
    }
    write(connection, &changes).await
}

/// Runs the statements of `run` with a plan made for their values each time. The statements are
/// prepared once per connection, and Postgres would soon reuse one generic plan per statement, made
/// from the statistics of that moment: a consumer started on an empty history keeps scanning whole
/// tables for `job_id = ANY($1)` once it has grown (seen: 70 ms a batch at 20,000 jobs instead of
/// 1 ms). Planning one of those costs about a millisecond. Only those, though: the foreign key
/// checks that Postgres runs for every inserted row are prepared statements too, and planned again
/// for each row they made the inserts of statuses and parameters five times slower.
async fn planned_for_their_values<T>(
    connection: &mut AsyncPgConnection,
    run: impl AsyncFnOnce(&mut AsyncPgConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(connection).await?;
    let result = run(connection).await?;
    diesel::sql_query("SET LOCAL plan_cache_mode TO DEFAULT").execute(connection).await?;
    Ok(result)
}

/// The stored jobs among `ids`, locked until the transaction ends, in job id order (two
/// transactions locking the same jobs then wait for each other instead of deadlocking).
async fn load_locked(connection: &mut AsyncPgConnection, ids: &[&str]) -> QueryResult<BTreeMap<String, JobState>> {
    planned_for_their_values(connection, async |connection| load_locked_in(connection, ids).await).await
}

async fn load_locked_in(connection: &mut AsyncPgConnection, ids: &[&str]) -> QueryResult<BTreeMap<String, JobState>> {
    let rows: Vec<JobRow> = jobs::table
        .filter(jobs::job_id.eq_any(ids))
        .order(jobs::job_id)
        .select(JobRow::as_select())
        .for_update()
        .load(connection)
        .await?;
    let mut versions: BTreeMap<String, serde_json::Value> = job_attribute_versions::table
        .filter(job_attribute_versions::job_id.eq_any(ids))
        .select((job_attribute_versions::job_id, job_attribute_versions::versions))
        .load::<(String, serde_json::Value)>(connection)
        .await?
        .into_iter()
        .collect();
    let mut stored = BTreeMap::new();
    for row in rows {
        let versions = match versions.remove(&row.job_id) {
            Some(json) => AttributeVersions::from_json(json).map_err(|error| {
                diesel::result::Error::DeserializationError(
                    format!("job_attribute_versions of {}: {error}", row.job_id).into(),
                )
            })?,
            None => AttributeVersions::default(),
        };
        stored.insert(row.job_id.clone(), JobState { row, versions });
    }
    Ok(stored)
}

/// Inserts the rows of new jobs; answers the ids it inserted (not those another transaction did).
async fn insert_new(connection: &mut AsyncPgConnection, new: &[Change]) -> QueryResult<BTreeSet<String>> {
    let rows: Vec<&JobRow> = new.iter().map(|change| &change.state.row).collect();
    Ok(columns::insert_new_jobs(connection, &rows).await?.into_iter().collect())
}

/// Writes what the batch changed. `before` is `None` for a job [`insert_new`] just inserted. Only
/// stored jobs need conflict handling: the new ones have nothing yet.
async fn write(connection: &mut AsyncPgConnection, changes: &[(Option<JobState>, Change)]) -> QueryResult<Applied> {
    let new: Vec<&Change> = changes.iter().filter(|(before, _)| before.is_none()).map(|(_, change)| change).collect();
    // A replayed event changes nothing: such jobs are not written again.
    let stored: Vec<(&JobState, &Change)> = changes
        .iter()
        .filter_map(|(before, change)| Some((before.as_ref()?, change)))
        .filter(|(before, change)| **before != change.state)
        .collect();

    let updated: Vec<&JobRow> =
        stored.iter().filter(|(before, change)| before.row != change.state.row).map(|(_, c)| &c.state.row).collect();
    columns::update_jobs(connection, &updated).await?;
    let versions = |changes: &mut dyn Iterator<Item = &Change>| -> Vec<(String, serde_json::Value)> {
        changes.map(|change| (change.state.row.job_id.clone(), change.state.versions.to_json())).collect()
    };
    columns::write_versions(connection, versions(&mut new.iter().copied()), false).await?;
    columns::write_versions(connection, versions(&mut stored.iter().map(|(_, change)| *change)), true).await?;
    let added = add_statuses(connection, changes).await?;

    let replaced: Vec<(&str, &[AlgorithmReport])> = changes
        .iter()
        .filter_map(|(_, change)| Some((change.state.row.job_id.as_str(), change.algorithms.as_deref()?)))
        .collect();
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(before, _)| before.row.job_id.as_str()).collect();
    replace_algorithms(connection, &replaced, &stored_ids).await?;
    Ok(Applied { jobs: new.len() + stored.len(), statuses: added })
}

/// Adds the (status, occurredAt) pairs the history does not hold yet (rule 2); answers how many.
/// The jobs are locked, so what is read here cannot change before the insert: a plain INSERT of
/// the missing pairs is safe, and much cheaper than one that checks every row for a conflict.
async fn add_statuses(
    connection: &mut AsyncPgConnection,
    changes: &[(Option<JobState>, Change)],
) -> QueryResult<usize> {
    let stored_jobs: Vec<&str> = changes
        .iter()
        .filter(|(before, change)| before.is_some() && !change.statuses.is_empty())
        .map(|(_, change)| change.state.row.job_id.as_str())
        .collect();
    let held: BTreeSet<StatusRow> = if stored_jobs.is_empty() {
        BTreeSet::new()
    } else {
        let query = job_status_history::table
            .filter(job_status_history::job_id.eq_any(&stored_jobs))
            .select(StatusRow::as_select());
        planned_for_their_values(connection, async |connection| query.load(connection).await)
            .await?
            .into_iter()
            .collect()
    };
    let statuses: Vec<StatusRow> = changes
        .iter()
        .flat_map(|(_, change)| {
            change.statuses.iter().map(|(status, at)| StatusRow {
                job_id: change.state.row.job_id.clone(),
                status: status.name().to_owned(),
                occurred_at: *at,
            })
        })
        .filter(|row| !held.contains(row))
        .collect();
    columns::insert_statuses(connection, &statuses).await?;
    Ok(statuses.len())
}

/// Replaces the algorithms (and so the parameters) of each job with the given list; only jobs
/// among `stored` can have some already.
async fn replace_algorithms(
    connection: &mut AsyncPgConnection,
    replaced: &[(&str, &[AlgorithmReport])],
    stored: &BTreeSet<&str>,
) -> QueryResult<()> {
    let old: Vec<&str> = replaced.iter().map(|(job, _)| *job).filter(|job| stored.contains(job)).collect();
    if !old.is_empty() {
        // The parameters go with their algorithms (ON DELETE CASCADE).
        let delete = diesel::delete(job_algorithms::table.filter(job_algorithms::job_id.eq_any(&old)));
        planned_for_their_values(connection, async |connection| delete.execute(connection).await).await?;
    }

    let algorithms: Vec<NewAlgorithm> = replaced
        .iter()
        .flat_map(|(job, list)| {
            list.iter().enumerate().map(move |(position, algorithm)| NewAlgorithm {
                job_id: job,
                position: position as i32,
                algorithm_id: &algorithm.algorithm_id,
                algorithm_version: algorithm.algorithm_version.as_deref(),
                algorithm_name: algorithm.algorithm_name.as_deref(),
            })
        })
        .collect();
    let algorithm_ids: BTreeMap<(String, i32), i64> = columns::insert_algorithms(connection, &algorithms)
        .await?
        .into_iter()
        .map(|inserted| ((inserted.job_id, inserted.position), inserted.id))
        .collect();

    let mut parameters = Vec::new();
    for (job, list) in replaced {
        for (position, algorithm) in list.iter().enumerate() {
            let Some(&id) = algorithm_ids.get(&(job.to_string(), position as i32)) else { continue };
            for (index, parameter) in algorithm.parameters.iter().enumerate() {
                parameters.push(NewParameter {
                    algorithm: id,
                    job_id: job,
                    position: index as i32,
                    parameter_id: &parameter.parameter_id,
                    label: parameter.label.as_deref(),
                    kind: parameter.kind.as_deref(),
                    value: &parameter.value,
                });
            }
        }
    }
    columns::insert_parameters(connection, &parameters).await
}
