//! Deleting a job from the history's API: soft, as the contract's rule 5 deletes.

use chrono::{DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::schema::{job_attribute_versions, jobs};
use crate::versions::{AttributeVersions, Version};

/// The eventId recorded as the setter of `deleted` when a user deletes a job through the API.
pub const API_DELETION: &str = "job-history/delete";

/// Marks the job deleted, as an event saying `deleted: true` now would; answers whether it exists.
/// The deletion is recorded as the latest setter of `deleted`, so that replaying older events
/// (`deleted: false`, or none) can never bring the job back. The job's row is locked first, as the
/// consumer locks it before reading the versions: the two take turns.
pub async fn soft_delete(connection: &mut AsyncPgConnection, job_id: &str) -> QueryResult<bool> {
    let now = Utc::now().duration_trunc(TimeDelta::milliseconds(1)).unwrap_or_else(|_| Utc::now());
    let job_id = job_id.to_owned();
    connection
        .transaction(async |connection| {
            let updated = diesel::update(jobs::table.filter(jobs::job_id.eq(&job_id)))
                .set(jobs::is_deleted.eq(true))
                .execute(connection)
                .await?;
            if updated == 0 {
                return Ok(false);
            }
            let stored: Option<serde_json::Value> = job_attribute_versions::table
                .filter(job_attribute_versions::job_id.eq(&job_id))
                .select(job_attribute_versions::versions)
                .first(connection)
                .await
                .optional()?;
            let mut versions = match stored {
                Some(json) => AttributeVersions::from_json(json).map_err(|error| {
                    diesel::result::Error::DeserializationError(
                        format!("job_attribute_versions of {job_id}: {error}").into(),
                    )
                })?,
                None => AttributeVersions::default(),
            };
            versions.supersede("deleted", &Version(now, API_DELETION.to_owned()));
            diesel::insert_into(job_attribute_versions::table)
                .values((
                    job_attribute_versions::job_id.eq(&job_id),
                    job_attribute_versions::versions.eq(versions.to_json()),
                ))
                .on_conflict(job_attribute_versions::job_id)
                .do_update()
                .set(job_attribute_versions::versions.eq(excluded(job_attribute_versions::versions)))
                .execute(connection)
                .await?;
            Ok(true)
        })
        .await
}
