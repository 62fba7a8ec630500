//! `relais bench ...`: benchmark commands whose figures go in `docs/benchmarks.md`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use relais_fixtures::{SimulatorConfig, start_simulator};
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailConfig, FranceTravailSource, PAGE_SIZE, SOURCE_ID,
    SyncOptions,
};
use relais_model::SourceId;
use relais_storage::Store;
use secrecy::SecretString;

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// A full sweep of a simulator at a given rate limit: throughput against the ceiling the rate allows.
    Harvest(HarvestArgs),
}

/// Arguments of `relais bench harvest`.
#[derive(Debug, Args)]
pub struct HarvestArgs {
    /// Offers in the simulated stock.
    #[arg(long, default_value_t = 60_000)]
    offers: u64,
    /// Calls per second allowed by the simulator (and used by the client).
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// Share of calls answering 500.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of calls answering 429.
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Token lifetime in seconds.
    #[arg(long, default_value_t = 1_499)]
    token_ttl: u64,
    /// Corpus seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs a benchmark.
pub async fn run(bench: Bench) -> anyhow::Result<ExitCode> {
    let Bench::Harvest(args) = bench;
    let simulator_config = SimulatorConfig {
        offers: args.offers,
        seed: args.seed,
        rate_per_second: args.rate,
        error_rate: args.error_rate,
        throttle_rate: args.throttle_rate,
        token_ttl: Duration::from_secs(args.token_ttl),
        ..SimulatorConfig::default()
    };
    let simulator =
        start_simulator(simulator_config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let expected = simulator.active_ids().len() as u64;
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite")).await?;
    let (client_id, secret) = simulator.credentials();
    let config = FranceTravailConfig {
        api_base_url: simulator.api_url(),
        token_url: simulator.token_url(),
        rate_per_second: args.rate,
        max_retries: 10,
        request_timeout: Duration::from_secs(10),
        ..FranceTravailConfig::production(client_id, SecretString::from(secret))
    };
    let source = FranceTravailSource::new(
        FranceTravailClient::new(config)?,
        store.clone(),
        SyncOptions::default(),
    );
    eprintln!(
        "simulator ready: {expected} offers, {} calls/s; full sweep starting",
        args.rate
    );
    let report = source.run_full_sweep().await?;
    let stored = store
        .source_counts(&SourceId::parse(SOURCE_ID).expect("valid id"))
        .await?
        .active;
    let retries = source
        .client()
        .stats
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "outcome {:?}, retries {retries}, failed partitions {:?}",
        report.outcome, report.failed_partitions
    );
    let ceiling = f64::from(args.rate) * PAGE_SIZE as f64;
    let efficiency = stored as f64 / report.seconds / ceiling;
    println!(
        "harvest stored={stored} expected={expected} duplicates={} requests={} seconds={:.2} efficiency={efficiency:.3}",
        report.duplicates, report.requests, report.seconds
    );
    Ok(ExitCode::SUCCESS)
}
