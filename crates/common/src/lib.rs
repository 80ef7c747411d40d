//! What every piece of Job Orchestrator agrees on: the job run as the history keeps it ([`job`]),
//! an asset's checksum as the catalog offers it and the deployer checks it ([`checksum`]),
//! the Kafka event that reports it ([`event`]), a run's log on its way to the history
//! ([`job_log`]), instants on the wire ([`time`]) and the RSQL query
//! language over the history ([`rsql`]).
//!
//! This crate does no I/O and depends on no web, database or broker framework, so that every service
//! and tool can use it.

pub mod checksum;
pub mod event;
pub mod job;
pub mod job_log;
pub mod rsql;
pub mod time;
