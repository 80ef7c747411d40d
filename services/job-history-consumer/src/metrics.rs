//! The consumer's own metrics, served at `/metrics` beside the HTTP ones.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// Why the message was refused: [`crate::decode::Rejection::kind`].
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabel {
    /// `database`, `broker` or `dead-letter topic`.
    pub dependency: String,
}

#[derive(Debug, Clone)]
pub struct Metrics {
    pub applied: Counter,
    pub dead_lettered: Family<KindLabel, Counter>,
    pub batch_size: Histogram,
    pub apply_seconds: Histogram,
    pub lag: Family<PartitionLabels, Gauge>,
    pub retries: Family<DependencyLabel, Counter>,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Metrics {
        let metrics = Metrics {
            applied: Counter::default(),
            dead_lettered: Family::default(),
            // 1 to 4096 events.
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            // 1 ms to about 4 s.
            apply_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 13)),
            lag: Family::default(),
            retries: Family::default(),
        };
        let registry = registry.sub_registry_with_prefix("job_history_consumer");
        registry.register("events_applied", "Events folded into the history", metrics.applied.clone());
        registry.register(
            "events_dead_lettered",
            "Messages sent to the dead-letter topic, by reason",
            metrics.dead_lettered.clone(),
        );
        registry.register("batch_size", "Messages per batch", metrics.batch_size.clone());
        registry.register(
            "apply_duration_seconds",
            "Time to apply a batch in one transaction",
            metrics.apply_seconds.clone(),
        );
        registry.register(
            "consumer_lag",
            "Messages of a partition not yet committed by the group (from librdkafka's statistics)",
            metrics.lag.clone(),
        );
        registry.register("retries", "Attempts that failed and were retried, by dependency", metrics.retries.clone());
        metrics
    }
}
