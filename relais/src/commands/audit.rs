//! `relais audit [--since D] [--json]`: the operator actions recorded (who, when, what).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;

use crate::config::Config;
use crate::pipeline;

/// Arguments of `relais audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// From this day (YYYY-MM-DD, UTC) or instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Prints one JSON object per line.
    #[arg(long)]
    json: bool,
}

/// `relais audit`.
pub async fn run(config_path: Option<&Path>, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    let since = match args.since.as_deref() {
        None => DateTime::UNIX_EPOCH,
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .with_context(|| format!("`--since {text}`: give YYYY-MM-DD or an RFC 3339 instant"))?,
    };
    for entry in store.audit_since(since).await? {
        if args.json {
            println!("{}", serde_json::to_string(&entry)?);
        } else {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                entry.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                entry.actor,
                entry.action,
                entry.subject,
                entry.details
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
