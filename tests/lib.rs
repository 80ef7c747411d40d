//! What the end-to-end tests share: where the test stack's servers are.

/// The broker the test stack started (`tests/run.sh` exports `KAFKA_BROKERS`).
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!("KAFKA_BROKERS is not set: run the tests through tests/run.sh, which starts the broker")
    })
}

/// The test stack's Kubernetes control plane: a namespace per test with the deployer's
/// ServiceAccount, and waits on its objects. One file with the deployer's integration tests, which
/// use it too.
#[allow(clippy::expect_used, reason = "a test fixture: a broken expectation is a failed test")]
#[path = "../services/job-deployer/tests/integration/cluster.rs"]
pub mod cluster;
