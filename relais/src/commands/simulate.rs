//! `relais simulate francetravail`: the France Travail simulator as a server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use relais_fixtures::{Latency, SimulatorConfig, SimulatorHandle, start_simulator};

/// Simulated sources.
#[derive(Debug, Subcommand)]
pub enum SimulatedSource {
    /// The "Offres d'emploi v2" API.
    Francetravail(SimulateArgs),
}

/// Knobs of the simulator.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1 (0 picks one).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// Offers in the stock.
    #[arg(long, default_value_t = 10_000)]
    pub offers: u64,
    /// Seed of the corpus and of injected faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Calls per second per client before 429.
    #[arg(long, default_value_t = 10)]
    pub rate: u32,
    /// Share of calls answering 500.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of calls answering 429 regardless of the rate.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of calls that hang for --hang-seconds.
    #[arg(long, default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// How long a hung call hangs.
    #[arg(long, default_value_t = 40)]
    pub hang_seconds: u64,
    /// Share of calls whose body is cut in the middle.
    #[arg(long, default_value_t = 0.0)]
    pub truncate_rate: f64,
    /// Lifetime of tokens (`expires_in`), in seconds.
    #[arg(long, default_value_t = 1_499)]
    pub token_ttl: u64,
    /// Each minute, create and update this many offers and withdraw half as many.
    #[arg(long, default_value_t = 0)]
    pub churn_per_minute: u64,
    #[command(flatten)]
    pub latency: LatencyArgs,
}

/// How long the simulated API takes to answer each call.
#[derive(Debug, Args)]
pub struct LatencyArgs {
    /// Median latency of an API call, in milliseconds (none by default).
    #[arg(long = "latency-ms")]
    pub median_ms: Option<u64>,
    /// 90th percentile of the latency, in milliseconds (the median when not given).
    #[arg(long = "latency-p90-ms", requires = "median_ms")]
    pub p90_ms: Option<u64>,
}

impl LatencyArgs {
    /// The latency asked, if any.
    pub fn latency(&self) -> anyhow::Result<Option<Latency>> {
        let Some(median_ms) = self.median_ms else {
            return Ok(None);
        };
        let p90_ms = self.p90_ms.unwrap_or(median_ms);
        anyhow::ensure!(
            p90_ms >= median_ms,
            "--latency-p90-ms ({p90_ms}) is below --latency-ms ({median_ms})"
        );
        Ok(Some(Latency {
            median: Duration::from_millis(median_ms),
            p90: Duration::from_millis(p90_ms),
        }))
    }
}

impl SimulateArgs {
    /// The simulator configuration.
    pub fn simulator_config(&self) -> anyhow::Result<SimulatorConfig> {
        Ok(SimulatorConfig {
            offers: self.offers,
            seed: self.seed,
            rate_per_second: self.rate,
            error_rate: self.error_rate,
            throttle_rate: self.throttle_rate,
            timeout_rate: self.timeout_rate,
            hang: Duration::from_secs(self.hang_seconds),
            truncate_rate: self.truncate_rate,
            token_ttl: Duration::from_secs(self.token_ttl),
            churn_per_minute: self.churn_per_minute,
            latency: self.latency.latency()?,
            ..SimulatorConfig::default()
        })
    }
}

/// The environment that points relais at a simulator.
pub fn environment_for(simulator: &SimulatorHandle) -> Vec<(String, String)> {
    let (client_id, secret) = simulator.credentials();
    vec![
        (
            "RELAIS_FRANCETRAVAIL__API_BASE_URL".into(),
            simulator.api_url(),
        ),
        (
            "RELAIS_FRANCETRAVAIL__TOKEN_URL".into(),
            simulator.token_url(),
        ),
        ("RELAIS_FRANCETRAVAIL__CLIENT_ID".into(), client_id),
        // The simulator's own throwaway credential, not a real secret.
        ("RELAIS_FRANCETRAVAIL__CLIENT_SECRET".into(), secret),
    ]
}

/// Serves until interrupted.
pub async fn run(source: SimulatedSource) -> anyhow::Result<ExitCode> {
    let SimulatedSource::Francetravail(args) = source;
    let simulator = start_simulator(
        args.simulator_config()?,
        SocketAddr::from(([127, 0, 0, 1], args.port)),
    )
    .await?;
    println!("simulator: {}", simulator.base_url());
    println!("offers: {}", simulator.active_ids().len());
    for (name, value) in environment_for(&simulator) {
        println!("export {name}='{value}'");
    }
    tokio::signal::ctrl_c().await?;
    simulator.stop();
    Ok(ExitCode::SUCCESS)
}
