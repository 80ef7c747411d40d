//! Folds job events from Kafka into the job history in Postgres, as `contracts/job-events.md` says:
//! [`decode`] reads a message (or refuses it), [`fold`] merges a job's events whatever their order,
//! [`store`] applies a batch in one transaction (its inserts in [`columns`]), [`worker`] runs the loop around them, [`kafka`]
//! holds the consumer and the dead-letter producer. Runs' logs have a loop of their own beside it
//! ([`logs`]); both take the same steps with a batch ([`batch`]).

pub mod batch;
pub mod columns;
pub mod decode;
pub mod fold;
pub mod kafka;
pub mod logs;
pub mod metrics;
mod settings;
pub mod store;
pub mod worker;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer as _;
use service_kit::{NotReady, Readiness, Running, Service, Worker};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::batch::{Problems, Steps};

pub use settings::Settings;

pub const NAME: &str = "job-history-consumer";

/// The service's API, as served at `/openapi.json` and committed as `openapi/job-history-consumer.json`:
/// only the operations endpoints; its work is the topic's.
#[derive(Debug, OpenApi)]
pub struct ApiDoc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] history_store::StoreError),
    #[error("cannot create the Kafka client: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot serve: {0}")]
    Serve(#[from] std::io::Error),
}

/// How long the start waits for a first migration before serving; the worker goes on trying.
const FIRST_MIGRATION_WAIT: Duration = Duration::from_secs(5);

/// How long the broker may take to answer the readiness check's metadata request.
const BROKER_CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// Serves the operations endpoints on `listener` and starts the consumer loop.
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Running, StartError> {
    let problems = Arc::new(Problems::default());
    problems.set("migrations", "not applied yet");
    match tokio::time::timeout(FIRST_MIGRATION_WAIT, history_store::migrate(&settings.database_url)).await {
        Ok(Ok(applied)) => {
            problems.clear("migrations");
            if !applied.is_empty() {
                tracing::info!(?applied, "migrations applied");
            }
        }
        Ok(Err(error)) => tracing::warn!(%error, "cannot migrate yet; retrying in the background"),
        Err(_) => tracing::warn!("cannot migrate yet (no answer); retrying in the background"),
    }

    let mut service = Service::new(NAME, ApiDoc::openapi());
    let metrics = metrics::Metrics::register(service.registry());
    let pool = history_store::pool(&settings.database_url, settings.pool_size)?;
    let consumer =
        kafka::consumer(&settings.topics.kafka, &settings.group, settings.session_timeout_ms, metrics.clone())?;
    let dead_letters = kafka::DeadLetters::new(&settings.topics)?;
    let logs = logs::Logs::new(&settings, service.registry(), metrics.clone(), problems.clone())?;
    let service = service.readiness(readiness(&pool, &consumer, &problems, &settings.topics.events));

    let steps = Steps {
        consumer,
        dead_letters,
        pool,
        problems,
        max_backoff: settings.batch.max_backoff,
        retries: metrics.retries.clone(),
        dead_lettered: metrics.dead_lettered.clone(),
    };
    let event_loop = worker::EventLoop {
        steps,
        database_url: settings.database_url.clone(),
        topics: settings.topics.clone(),
        batch: settings.batch,
        lanes: settings.pool_size,
        metrics,
    };
    let stop = CancellationToken::new();
    let task = logs.run_beside(event_loop.run(stop.clone()), stop.clone());
    let server = service.serve(listener, &settings.server, |_| {})?;
    Ok(Running::with_worker(server, Worker { stop, task }))
}

/// `/readyz`: the database answers and takes the batches, the migrations are applied, the broker
/// answers and the consumer's last dealings with it went through.
fn readiness(
    pool: &history_store::DbPool,
    consumer: &Arc<kafka::EventConsumer>,
    problems: &Arc<Problems>,
    topic: &str,
) -> Readiness {
    let (pool, consumer, topic) = (pool.clone(), consumer.clone(), topic.to_owned());
    let (database, broker, migrations, logs) = (problems.clone(), problems.clone(), problems.clone(), problems.clone());
    Readiness::default()
        .with_check("database", move || {
            let (pool, problems) = (pool.clone(), database.clone());
            async move {
                history_store::ping(pool).await.map_err(|cause| NotReady::because("unavailable", cause))?;
                problems.check("database").map_err(NotReady::reason)
            }
        })
        .with_check("migrations", move || {
            let problems = migrations.clone();
            async move { problems.check("migrations").map_err(NotReady::reason) }
        })
        .with_check("broker", move || {
            let (consumer, problems, topic) = (consumer.clone(), broker.clone(), topic.clone());
            async move {
                // A metadata request blocks its thread until the broker answers.
                tokio::task::spawn_blocking(move || {
                    consumer.fetch_metadata(Some(&topic), BROKER_CHECK_TIMEOUT).map(drop)
                })
                .await
                .map_err(|cause| NotReady::because("unavailable", cause))?
                .map_err(|cause| NotReady::because("unavailable", cause))?;
                problems.check("broker").map_err(NotReady::reason)?;
                problems.check("dead-letter topic").map_err(NotReady::reason)
            }
        })
        .with_check("logs", move || {
            let problems = logs.clone();
            async move { problems.check("logs").map_err(NotReady::reason) }
        })
}
