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
/// (`deleted: false`, or none) can never bring the job back.
pub async fn soft_delete(connection: &mut AsyncPgConnection, job_id: &str) -> QueryResult<bool> {
    let now = Utc::now().duration_trunc(TimeDelta::milliseconds(1)).unwrap_or_else(|_| Utc::now());
    let mut deletion = AttributeVersions::default();
    deletion.supersede("deleted", &Version(now, API_DELETION.to_owned()));
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
            // `||` merges the objects: `deleted` is replaced, the other attributes kept.
            diesel::insert_into(job_attribute_versions::table)
                .values((
                    job_attribute_versions::job_id.eq(&job_id),
                    job_attribute_versions::versions.eq(deletion.to_json()),
                ))
                .on_conflict(job_attribute_versions::job_id)
                .do_update()
                .set(
                    job_attribute_versions::versions
                        .eq(job_attribute_versions::versions.concat(excluded(job_attribute_versions::versions))),
                )
                .execute(connection)
                .await?;
            Ok(true)
        })
        .await
}
