//! The retention's clean-up, every interval (the first shortly after the start): replicas take turns,
//! one cleans while the others skip (see `history_store::logs::retention`).

use std::time::Duration;

use history_store::DbPool;
use history_store::logs::retention::{self, Retention};
use tokio_util::sync::CancellationToken;

use super::metrics::LogMetrics;

/// How long after the start the first clean-up runs: the service is ready and the first batches
/// are in by then.
const FIRST_CLEANUP: Duration = Duration::from_secs(30);

pub struct Cleanup {
    pub pool: DbPool,
    pub retention: Retention,
    pub interval: Duration,
    pub metrics: LogMetrics,
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleanup")
            .field("retention", &self.retention)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Cleanup {
    pub async fn run(self, stop: CancellationToken) {
        let mut wait = FIRST_CLEANUP.min(self.interval);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = self.interval;
            let run = async {
                let mut connection = self.pool.get().await.map_err(|e| e.to_string())?;
                retention::clean_up(&mut connection, self.retention, chrono::Utc::now())
                    .await
                    .map_err(|e| e.to_string())
            };
            // A clean-up stopped halfway leaves tombstones whose chunks the next one deletes.
            let removed = tokio::select! {
                _ = stop.cancelled() => return,
                removed = run => removed,
            };
            match removed {
                Ok(removed) if removed.ran => {
                    self.metrics.removed("age", removed.by_age);
                    self.metrics.removed("size", removed.by_size);
                    self.metrics.removed("superseded", removed.superseded);
                    tracing::info!(
                        by_age = removed.by_age,
                        by_size = removed.by_size,
                        superseded = removed.superseded,
                        chunks = removed.chunks,
                        "log retention: clean-up done"
                    );
                }
                Ok(_) => tracing::debug!("log retention: another replica is cleaning up"),
                Err(error) => {
                    tracing::warn!(%error, "log retention: clean-up failed; trying again at the next interval")
                }
            }
        }
    }
}
