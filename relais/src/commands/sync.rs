//! `relais sync <source> [--full] [--json]`.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use relais_ingest::{RunReport, RunReportOutcome};

use crate::config::Config;
use crate::pipeline::{self, FranceTravailRun};

/// Arguments of `relais sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The source: `francetravail`.
    source: String,
    /// A full sweep (reads the whole stock, withdraws what is gone) instead of an incremental sync.
    #[arg(long)]
    full: bool,
    /// Prints the run report as JSON.
    #[arg(long)]
    json: bool,
    /// Checks these offers with the detail endpoint instead: refreshes them, or withdraws those that are gone.
    #[arg(long = "check", value_name = "ID", conflicts_with = "full")]
    check: Vec<String>,
}

/// Runs the source once and prints its report; exits 1 when the run failed, 2 when another run holds the lock.
pub async fn run(config_path: Option<&Path>, args: SyncArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.source == "francetravail",
        "unknown source `{}`: the only source is `francetravail`",
        args.source
    );
    let config = Config::load(config_path)?;
    let (store, _) = pipeline::open(&config).await?;
    let run = match (args.full, args.check.is_empty()) {
        (true, _) => FranceTravailRun::Full,
        (false, false) => FranceTravailRun::Check(args.check),
        (false, true) => FranceTravailRun::Incremental,
    };
    let Some(report) = pipeline::sync_francetravail(&config, &store, run).await? else {
        eprintln!("another run of `{}` is in progress", args.source);
        return Ok(ExitCode::from(2));
    };
    print_report(&report, args.json);
    Ok(if report.outcome == RunReportOutcome::Complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &RunReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("report serialises")
        );
        return;
    }
    println!(
        "{} {} run {}: {:?}; fetched {}, new {}, changed {}, unchanged {}, reactivated {}, withdrawn {}, rejected {}; {} requests in {:.1} s",
        report.source,
        report.kind,
        report.run_id,
        report.outcome,
        report.fetched,
        report.new,
        report.changed,
        report.unchanged,
        report.reactivated,
        report.withdrawn,
        report.rejected,
        report.requests,
        report.seconds
    );
    if let Some(resumed) = report.resumed_from {
        println!("resumed the interrupted run {resumed}");
    }
    if !report.warnings.is_empty() {
        println!("warnings: {:?}", report.warnings);
    }
    if !report.failed_partitions.is_empty() {
        println!(
            "failed partitions (nothing withdrawn): {}",
            report.failed_partitions.join(", ")
        );
    }
    if let Some(error) = &report.error {
        println!("error: {error}");
    }
}
