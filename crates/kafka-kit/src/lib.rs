//! What the platform's producers (job-deployer) and consumers (job-history-consumer) of Kafka
//! share: where the brokers are, how a missing topic is created, and the client settings every
//! connection starts from. A crate of its own so that neither `common` (no I/O) nor `service-kit`
//! (every service, most of which never talk to Kafka) depends on rdkafka.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use service_kit::{Env, Positive, SettingsError};

/// The brokers, and how the topics a service creates when missing are made: `KAFKA_BROKERS`
/// (`127.0.0.1:9092`), `JOB_EVENTS_TOPIC_PARTITIONS` (6), `JOB_EVENTS_TOPIC_REPLICATION` (1; at most
/// the number of brokers). Topics that exist are left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    pub brokers: String,
    pub partitions: i32,
    pub replication: i32,
}

impl KafkaSettings {
    pub fn from_env(env: &Env) -> Result<KafkaSettings, SettingsError> {
        Ok(KafkaSettings {
            brokers: env.get_or("KAFKA_BROKERS", "127.0.0.1:9092".to_owned())?,
            partitions: env.get_or("JOB_EVENTS_TOPIC_PARTITIONS", Positive(6_i32))?.0,
            replication: env.get_or("JOB_EVENTS_TOPIC_REPLICATION", Positive(1_i32))?.0,
        })
    }

    /// The settings every client starts from. librdkafka's warnings and errors go to our logs (its
    /// default level follows the `log` crate's, which nothing here sets up).
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers).set_log_level(RDKafkaLogLevel::Warning);
        config
    }

    /// Creates those of `topics` the brokers lack, so that a fresh broker works. A topic the broker
    /// refuses to create (no right to, too many replicas) is logged and answered as
    /// `KafkaError::AdminOp`; a broker that does not answer within `timeout` as its error.
    pub async fn create_missing_topics(&self, topics: &[&str], timeout: Duration) -> KafkaResult<()> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let topics: Vec<NewTopic> = topics
            .iter()
            .map(|name| NewTopic::new(name, self.partitions, TopicReplication::Fixed(self.replication)))
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
        let mut refused = None;
        for result in admin.create_topics(&topics, &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    tracing::warn!(topic, %code, "the broker does not create the topic");
                    refused = Some(code);
                }
            }
        }
        refused.map_or(Ok(()), |code| Err(KafkaError::AdminOp(code)))
    }
}
