//! The subcommands. Each returns the process exit code.

pub mod access;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod check;
pub mod dedup;
pub mod demo;
pub mod links;
pub mod offers;
pub mod purge;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod status;
pub mod sync;
pub mod territory;
pub mod worker;

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::pipeline;

/// `relais migrate`.
pub async fn migrate(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, _) = pipeline::open(&config).await?;
    store.close().await;
    println!("database ready at {}", config.store_location());
    Ok(ExitCode::SUCCESS)
}

/// `relais reindex`.
pub async fn reindex(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, index) = pipeline::open(&config).await?;
    let started = std::time::Instant::now();
    let done = pipeline::reindex(&config, &store, &index).await?;
    println!(
        "indexed {} offers ({} duplicates shown as \"also published on\") in {:.1} s",
        done.indexed,
        done.duplicates,
        started.elapsed().as_secs_f64()
    );
    if done.withheld > 0 {
        println!(
            "{} offers withheld: their sources' terms forbid redistribution",
            done.withheld
        );
    }
    Ok(ExitCode::SUCCESS)
}
