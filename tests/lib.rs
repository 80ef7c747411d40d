//! What the end-to-end tests share: where the test stack's servers are.

/// The broker the test stack started (`tests/run.sh` exports `KAFKA_BROKERS`).
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!("KAFKA_BROKERS is not set: run the tests through tests/run.sh, which starts the broker")
    })
}
