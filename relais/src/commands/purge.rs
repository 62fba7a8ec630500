//! `relais purge [--dry-run]`: anonymises the retained copies of offers withdrawn for longer than
//! `duties.retention_days` and purges their raw payloads (licence art. 7). `relais serve` runs
//! the same every few hours.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use clap::Args;
use relais_storage::{PurgeOutcome, Store};
use serde_json::json;

use crate::commands::access::audit;
use crate::config::Config;
use crate::pipeline;

/// Arguments of `relais purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Counts what would be anonymised and purged, changing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Prints JSON.
    #[arg(long)]
    json: bool,
}

/// Anonymises what the retention period allows; records it in the audit trail as `actor`.
pub async fn purge(config: &Config, store: &Store, dry_run: bool) -> anyhow::Result<PurgeOutcome> {
    let now = Utc::now();
    let cutoff = now - chrono::Duration::days(config.duties.retention_days);
    let outcome = store.purge_withdrawn_before(cutoff, now, dry_run).await?;
    if !dry_run && (outcome.anonymised > 0 || outcome.raw_payloads > 0) {
        audit(
            config,
            store,
            "purge",
            "offers",
            json!({
                "anonymised": outcome.anonymised,
                "raw_payloads": outcome.raw_payloads,
                "retention_days": config.duties.retention_days,
                "withdrawn_before": cutoff,
            }),
        )
        .await?;
    }
    Ok(outcome)
}

/// `relais purge`.
pub async fn run(config_path: Option<&Path>, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    let outcome = purge(&config, &store, args.dry_run).await?;
    if args.json {
        println!(
            "{}",
            json!({"dry_run": args.dry_run, "anonymised": outcome.anonymised, "raw_payloads": outcome.raw_payloads})
        );
    } else {
        println!(
            "{} {} withdrawn offers withdrawn more than {} days ago and {} {} raw payloads",
            if args.dry_run {
                "would anonymise"
            } else {
                "anonymised"
            },
            outcome.anonymised,
            config.duties.retention_days,
            if args.dry_run { "delete" } else { "deleted" },
            outcome.raw_payloads
        );
    }
    Ok(ExitCode::SUCCESS)
}
