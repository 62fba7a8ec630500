//! `relais report`: a collectivité's traffic report over a period (the same as `GET /v1/reports`),
//! or every collectivité's for a month, one file each, for the operator to send to France
//! Travail. Each export is recorded in the audit trail.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use clap::Args;
use relais_publish::reports::{Report, csv, html, period};
use serde_json::json;

use crate::commands::access::{audit, find_collectivite};
use crate::config::{Config, METHOD_PATH};
use crate::pipeline;

/// Arguments of `relais report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The collectivité.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    collectivite: Option<String>,
    /// First day, YYYY-MM-DD (Europe/Paris).
    #[arg(long, requires = "collectivite")]
    from: Option<String>,
    /// Last day, YYYY-MM-DD, included.
    #[arg(long, requires = "collectivite")]
    to: Option<String>,
    /// Every collectivité, one file each, for `--month`.
    #[arg(long, requires = "month")]
    all: bool,
    /// The month of `--all`, YYYY-MM.
    #[arg(long)]
    month: Option<String>,
    /// `json`, `csv` or `html`.
    #[arg(long, default_value = "json", value_parser = ["json", "csv", "html"])]
    format: String,
    /// Writes the report here instead of printing it (with `--all`: the directory of the files).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `relais report`.
pub async fn run(config_path: Option<&Path>, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    if args.all {
        let month = args.month.as_deref().unwrap_or_default();
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .with_context(|| format!("`--month {month}`: give YYYY-MM"))?;
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|next| next.pred_opt())
            .context("month out of range")?;
        let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let mut ids: Vec<String> = config.collectivites.iter().map(|c| c.id.clone()).collect();
        for stored in store.collectivites().await? {
            if !ids.contains(&stored.id) {
                ids.push(stored.id);
            }
        }
        ids.sort();
        for id in ids {
            let collectivite = find_collectivite(&config, &store, &id).await?;
            let report = Report::build(&store, &collectivite, first, last).await?;
            let path = dir.join(format!(
                "relais-{id}-{}-{:02}.{}",
                first.year(),
                first.month(),
                args.format
            ));
            std::fs::write(&path, render(&config, &report, &args.format)?)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            audit(
                &config,
                &store,
                "report.export",
                &id,
                json!({"from": report.from, "to": report.to, "format": args.format, "file": path.display().to_string()}),
            )
            .await?;
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.collectivite.as_deref().unwrap_or_default();
    let (Some(from), Some(to)) = (args.from.as_deref(), args.to.as_deref()) else {
        anyhow::bail!("give the period: --from YYYY-MM-DD --to YYYY-MM-DD");
    };
    let (from, to) = period(from, to).map_err(anyhow::Error::msg)?;
    let collectivite = find_collectivite(&config, &store, id).await?;
    let report = Report::build(&store, &collectivite, from, to).await?;
    let body = render(&config, &report, &args.format)?;
    match &args.out {
        Some(path) => std::fs::write(path, &body)
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => println!("{}", body.trim_end()),
    }
    audit(
        &config,
        &store,
        "report.export",
        id,
        json!({"from": report.from, "to": report.to, "format": args.format,
               "file": args.out.as_ref().map(|p| p.display().to_string())}),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

fn render(config: &Config, report: &Report, format: &str) -> anyhow::Result<String> {
    Ok(match format {
        "csv" => csv(report),
        "html" => {
            let public = config.server.public_url.trim().trim_end_matches('/');
            html(report, &config.licence(), &format!("{public}{METHOD_PATH}"))?
        }
        _ => serde_json::to_string(report)?,
    })
}
