//! `relais sync <source> [--full] [--dry-run] [--json]`: France Travail or a partner source.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use relais_ingest::feeds::FeedRunOptions;
use relais_ingest::francetravail::SOURCE_ID;
use relais_ingest::{RunReport, RunReportOutcome};

use crate::config::Config;
use crate::pipeline::{self, FranceTravailRun};

/// Arguments of `relais sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The source: `francetravail`, or the id of a partner source of the configuration.
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
    /// Partner sources: read and judge the feed but write nothing; the report says what a run would do.
    #[arg(long)]
    dry_run: bool,
    /// Partner sources: accept a snapshot that shrank more than the source's `max_shrink`.
    #[arg(long)]
    accept_shrink: bool,
}

/// Runs the source once and prints its report; exits 1 when the run did not complete, 2 when
/// another run holds the lock.
pub async fn run(config_path: Option<&Path>, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (source, json) = (args.source.clone(), args.json);
    let report = if source == SOURCE_ID {
        sync_francetravail(&config, args).await?
    } else {
        sync_feed(&config, args).await?
    };
    let Some(report) = report else {
        eprintln!("another run of `{source}` is in progress");
        return Ok(ExitCode::from(2));
    };
    print_report(&report, json);
    Ok(if report.outcome == RunReportOutcome::Complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn sync_francetravail(config: &Config, args: SyncArgs) -> anyhow::Result<Option<RunReport>> {
    anyhow::ensure!(
        !args.dry_run && !args.accept_shrink,
        "--dry-run and --accept-shrink apply to partner sources"
    );
    let (store, _) = pipeline::open(config).await?;
    let run = match (args.full, args.check.is_empty()) {
        (true, _) => FranceTravailRun::Full,
        (false, false) => FranceTravailRun::Check(args.check),
        (false, true) => FranceTravailRun::Incremental,
    };
    pipeline::sync_francetravail(config, &store, run).await
}

async fn sync_feed(config: &Config, args: SyncArgs) -> anyhow::Result<Option<RunReport>> {
    if config.source(&args.source).is_none() {
        let known: Vec<&str> = std::iter::once(SOURCE_ID)
            .chain(config.sources.iter().map(|s| s.id.as_str()))
            .collect();
        anyhow::bail!(
            "unknown source `{}`: the sources are {}",
            args.source,
            known.join(", ")
        );
    }
    anyhow::ensure!(
        !args.full && args.check.is_empty(),
        "--full and --check apply to francetravail; a partner feed is always read whole"
    );
    let (store, _) = pipeline::open(config).await?;
    let options = FeedRunOptions {
        dry_run: args.dry_run,
        accept_shrink: args.accept_shrink,
    };
    pipeline::sync_feed(config, &store, &args.source, options).await
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
    if report.not_modified {
        println!("the feed has not changed since the last good snapshot");
    }
    if report.dry_run {
        println!("dry run: nothing was written");
    }
    if let Some(reason) = &report.quarantine_reason {
        println!("quarantined (nothing withdrawn, the last good offers stay): {reason}");
    }
    if let Some(error) = &report.error {
        println!("error: {error}");
    }
}
