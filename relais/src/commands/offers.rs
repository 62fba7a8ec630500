//! `relais offers --source <id> [--json]`: the stored offers of a source.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use relais_model::SourceId;

use crate::config::Config;
use crate::pipeline;

/// Arguments of `relais offers`.
#[derive(Debug, Args)]
pub struct OffersArgs {
    /// The source whose offers are listed.
    #[arg(long)]
    source: String,
    /// Prints each offer as canonical `Offer` JSON, one per line.
    #[arg(long)]
    json: bool,
}

/// Lists the offers of a source, active and withdrawn, by id.
pub async fn run(config_path: Option<&Path>, args: OffersArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let source = SourceId::parse(&args.source)?;
    let (store, _) = pipeline::open(&config).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    store
        .for_each_offer_of_source(&source, |offer| {
            if write_error.is_some() {
                return;
            }
            let line = if args.json {
                serde_json::to_string(&offer).expect("offers serialise")
            } else {
                format!(
                    "{}\t{}\t{}\t{}",
                    offer.key.source_offer_id(),
                    if offer.status.is_active() {
                        "active"
                    } else {
                        "withdrawn"
                    },
                    offer.location.commune.as_ref().map_or("-", |c| c.as_str()),
                    offer.title
                )
            };
            if let Err(error) = writeln!(out, "{line}") {
                write_error = Some(error);
            }
        })
        .await?;
    match write_error {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Some(error) if error.kind() != std::io::ErrorKind::BrokenPipe => return Err(error.into()),
        _ => out.flush().or_else(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })?,
    }
    Ok(ExitCode::SUCCESS)
}
