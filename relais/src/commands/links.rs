//! `relais links check|list`: the partner offers' apply links, checked once now, and the offers
//! hidden because their link is gone.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::pipeline;

/// `relais links …`.
#[derive(Debug, Subcommand)]
pub enum LinksCommand {
    /// Checks every active partner offer's apply link once (as `relais serve` does every few hours).
    Check {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lists the offers hidden because their apply link answers 404 or 410.
    List {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `relais links …`.
pub async fn run(config_path: Option<&Path>, command: LinksCommand) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    match command {
        LinksCommand::Check { json } => {
            let report = relais_ingest::links::check_apply_links(
                &store,
                &config.partner_source_ids(),
                &config.link_check_options(),
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} links checked: {} gone (404/410), {} unreachable; {} offers hidden, {} shown again",
                    report.checked,
                    report.gone,
                    report.unreachable,
                    report.hidden,
                    report.shown_again
                );
            }
        }
        LinksCommand::List { json } => {
            let hidden = store.hidden_offers().await?;
            if json {
                let list: Vec<_> = hidden
                    .iter()
                    .map(|h| json!({"key": h.key.to_string(), "url": h.url, "status": h.status, "hidden_at": h.hidden_at}))
                    .collect();
                println!("{}", json!({ "hidden": list }));
            } else if hidden.is_empty() {
                println!("no offer hidden for its apply link");
            } else {
                for h in hidden {
                    println!(
                        "{}\tanswered {} twice\tsince {}\t{}",
                        h.key,
                        h.status.map_or("-".to_owned(), |s| s.to_string()),
                        h.hidden_at,
                        h.url
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
