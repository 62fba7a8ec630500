//! `relais check`: the configuration validated, the store and every enabled source tried,
//! nothing changed (no migration, no run, no write). Exit 0 when every check passes, 1 when one
//! fails; warnings (a store still to migrate, no France Travail credentials) do not fail it.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use relais_ingest::feeds::probe_feed;
use relais_ingest::francetravail::{FranceTravailClient, SearchQuery};
use relais_storage::{Inspection, Integrity, inspect_postgres, inspect_sqlite};
use serde::Serialize;

use crate::config::Config;

/// Offers read from each partner feed: enough to know its mapping reads it.
const PROBED_OFFERS: u64 = 100;

/// Arguments of `relais check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Prints JSON.
    #[arg(long)]
    json: bool,
}

/// How one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warning,
    Failed,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    what: String,
    verdict: Verdict,
    detail: String,
}

impl Check {
    fn new(what: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            verdict,
            detail: detail.into(),
        }
    }
}

/// `relais check`.
pub async fn run(config_path: Option<&Path>, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let checks = match Config::load(config_path) {
        Err(error) => vec![Check::new(
            "configuration",
            Verdict::Failed,
            format!("{error:#}"),
        )],
        Ok(config) => checks(&config).await,
    };
    let failed = checks.iter().any(|c| c.verdict == Verdict::Failed);
    if args.json {
        println!("{}", serde_json::json!({"ok": !failed, "checks": checks}));
    } else {
        for check in &checks {
            let verdict = match check.verdict {
                Verdict::Ok => "ok",
                Verdict::Warning => "WARNING",
                Verdict::Failed => "FAILED",
            };
            crate::say!("{verdict:>8}  {}: {}", check.what, check.detail);
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn checks(config: &Config) -> Vec<Check> {
    let mut checks = vec![Check::new(
        "configuration",
        Verdict::Ok,
        format!(
            "{} partner source(s), {} feed(s), {} collectivité(s)",
            config.sources.len(),
            config.feeds.len(),
            config.collectivites.len()
        ),
    )];
    for feed in &config.feeds {
        if let Err(error) = relais_territory::parse_territory(&feed.territory) {
            checks.push(Check::new(
                format!("feed {}", feed.name),
                Verdict::Failed,
                format!("territory `{}`: {error}", feed.territory),
            ));
        }
    }
    checks.push(store_check(config).await);
    if config.francetravail.enabled {
        checks.push(france_travail_check(config).await);
    }
    let work = tempfile::tempdir();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let what = format!("source {}", source.id);
        let check = match &work {
            Err(error) => Check::new(
                what,
                Verdict::Failed,
                format!("no temporary directory: {error}"),
            ),
            Ok(work) => match probe_feed(source, work.path(), PROBED_OFFERS).await {
                Err(error) => Check::new(what, Verdict::Failed, error.to_string()),
                Ok(probe) if probe.offers == 0 => Check::new(
                    what,
                    Verdict::Failed,
                    format!(
                        "{} bytes read, no offer in them ({} record(s) refused{})",
                        probe.bytes,
                        probe.rejected,
                        probe
                            .first_rejection
                            .map(|why| format!(", the first: {why}"))
                            .unwrap_or_default()
                    ),
                ),
                Ok(probe) => Check::new(
                    what,
                    if probe.rejected > 0 {
                        Verdict::Warning
                    } else {
                        Verdict::Ok
                    },
                    format!(
                        "{} bytes; {} offer(s) read{}{}",
                        probe.bytes,
                        probe.offers,
                        if probe.read_whole {
                            " (the whole feed)"
                        } else {
                            " (the first ones)"
                        },
                        probe
                            .first_rejection
                            .map(|why| format!("; {} refused, the first: {why}", probe.rejected))
                            .unwrap_or_default()
                    ),
                ),
            },
        };
        checks.push(check);
    }
    checks
}

/// The store, changing nothing: the embedded file read-only (readable, sound, migrated), or
/// PostgreSQL in a read-only session (reachable, migrated).
async fn store_check(config: &Config) -> Check {
    if let Some(url) = config.postgres_url() {
        let what = format!("store {}", config.store_location());
        return match inspect_postgres(url).await {
            Err(error) => Check::new(what, Verdict::Failed, error.to_string()),
            Ok(inspection) => migrated_check(what, &inspection),
        };
    }
    let path = config.database_path();
    let what = format!("store {}", path.display());
    if !path.exists() {
        return Check::new(
            what,
            Verdict::Warning,
            "does not exist yet: `relais migrate` (or the first sync) creates it",
        );
    }
    match inspect_sqlite(&path, Integrity::Quick).await {
        Err(error) => Check::new(what, Verdict::Failed, error.to_string()),
        Ok(inspection) => migrated_check(what, &inspection),
    }
}

/// What a store's inspection says: its offers, and the migrations it lacks.
fn migrated_check(what: String, inspection: &Inspection) -> Check {
    if inspection.pending_migrations.is_empty() {
        Check::new(
            what,
            Verdict::Ok,
            format!(
                "{} offers, {} migrations applied",
                inspection.offers, inspection.applied_migrations
            ),
        )
    } else {
        Check::new(
            what,
            Verdict::Warning,
            format!(
                "{} offers; migrations to apply with `relais migrate`: {}",
                inspection.offers,
                inspection.pending_migrations.join(", ")
            ),
        )
    }
}

/// France Travail: a token, then one search of one offer.
async fn france_travail_check(config: &Config) -> Check {
    let what = "source francetravail";
    if !config.francetravail.has_credentials() {
        return Check::new(
            what,
            Verdict::Warning,
            "no credentials: set RELAIS_FRANCETRAVAIL__CLIENT_ID and RELAIS_FRANCETRAVAIL__CLIENT_SECRET",
        );
    }
    let client = match FranceTravailClient::new(config.francetravail.client_config()) {
        Ok(client) => client,
        Err(error) => return Check::new(what, Verdict::Failed, error.to_string()),
    };
    let query = SearchQuery {
        range: (0, 0),
        ..SearchQuery::default()
    };
    match client.search(&query).await {
        Ok(page) => Check::new(
            what,
            Verdict::Ok,
            format!(
                "token granted; the search answers, {} offers in the stock",
                page.total
            ),
        ),
        Err(error) => Check::new(what, Verdict::Failed, error.to_string()),
    }
}
