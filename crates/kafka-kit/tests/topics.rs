//! Missing topics created as the settings say, on the test stack's real broker (`KAFKA_BROKERS`).

use std::time::Duration;

use kafka_kit::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

fn settings(partitions: i32, replication: i32) -> KafkaSettings {
    let brokers = std::env::var("KAFKA_BROKERS").expect("KAFKA_BROKERS: run the tests with tests/run.sh");
    KafkaSettings { brokers, partitions, replication }
}

fn partitions_of(settings: &KafkaSettings, topic: &str) -> usize {
    let client: BaseConsumer = settings.client_config().create().unwrap();
    let metadata = client.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    metadata.topics()[0].partitions().len()
}

#[tokio::test]
async fn a_missing_topic_is_made_with_the_settings_partitions_and_replicas_and_an_existing_one_is_left() {
    let topic = format!("kafka-kit-{}", std::process::id());
    let three = settings(3, 1);
    three.create_missing_topics(&[&topic], Duration::from_secs(10)).await.unwrap();
    assert_eq!(partitions_of(&three, &topic), 3);
    // Asked again with other settings, the topic stays as it is.
    settings(5, 1).create_missing_topics(&[&topic], Duration::from_secs(10)).await.unwrap();
    assert_eq!(partitions_of(&three, &topic), 3);
    // The replicas are asked of the broker: two cannot be had from the test stack's single broker.
    let refused = settings(1, 2).create_missing_topics(&[&format!("{topic}-two")], Duration::from_secs(10)).await;
    assert!(matches!(refused, Err(KafkaError::AdminOp(RDKafkaErrorCode::InvalidReplicationFactor))), "{refused:?}");
}
