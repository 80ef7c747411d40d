//! The logs' metrics, served at `/metrics` beside the events'.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::metrics::KindLabel;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// `age`, `size` or `superseded`.
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogMetrics {
    pub chunks: Counter,
    pub bytes: Counter,
    pub stored: Counter,
    pub dead_lettered: Family<KindLabel, Counter>,
    pub removed: Family<ReasonLabel, Counter>,
}

impl LogMetrics {
    pub fn register(registry: &mut Registry) -> LogMetrics {
        let metrics = LogMetrics::default();
        let registry = registry.sub_registry_with_prefix("job_history_consumer_logs");
        registry.register(
            "chunks_archived",
            "Log chunks stored (a chunk delivered again is not counted)",
            metrics.chunks.clone(),
        );
        registry.register("bytes_archived", "Bytes of log text stored", metrics.bytes.clone());
        registry.register("stored_bytes_archived", "Bytes those chunks take compressed", metrics.stored.clone());
        registry.register(
            "dead_lettered",
            "Log messages sent to the logs' dead-letter topic, by reason",
            metrics.dead_lettered.clone(),
        );
        registry.register("removed", "Log readings the retention removed, by reason", metrics.removed.clone());
        metrics
    }

    pub fn removed(&self, reason: &str, count: usize) {
        self.removed.get_or_create(&ReasonLabel { reason: reason.to_owned() }).inc_by(count as u64);
    }
}
