//! `relais status [--json]`.

use std::path::Path;
use std::process::ExitCode;

use relais_ingest::francetravail::SOURCE_ID;
use relais_model::SourceId;
use relais_publish::SourceInfo;
use relais_storage::RunOutcome;
use serde_json::json;

use crate::config::Config;
use crate::pipeline;

/// Prints each source's active and withdrawn counts, its last run, and its freshness (licence
/// art. 5.2) as of `at` (default: now): an alarm when it was not updated within what its terms
/// ask, and whether it is withheld for a stock left unconfirmed too long.
pub async fn run(
    config_path: Option<&Path>,
    as_json: bool,
    at: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, _) = pipeline::open(&config).await?;
    let now = match at {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| anyhow::anyhow!("`--at {text}`: not an RFC 3339 instant: {e}"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let licence = config.licence();
    let max_staleness = chrono::Duration::hours(config.duties.max_staleness_hours);
    let ids =
        std::iter::once(SOURCE_ID.to_owned()).chain(config.sources.iter().map(|s| s.id.clone()));
    let mut sources = Vec::new();
    for id in ids {
        let source = SourceId::parse(&id)?;
        let counts = store.source_counts(&source).await?;
        let last = store.latest_run(&source, None, None).await?;
        let last_run = last.as_ref().map(|run| {
            // A run found dead by its successor did not complete.
            let outcome = match run.outcome {
                RunOutcome::Abandoned => RunOutcome::Failed,
                other => other,
            };
            json!({
                "id": run.id,
                "kind": run.kind.as_str(),
                "outcome": outcome.as_str(),
                "failed_partitions": run.failed_partitions,
                "error": run.error,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
            })
        });
        let freshness = match licence.terms(&id) {
            Some(terms) => Some(SourceInfo::read(&store, &id).await?.status(
                terms,
                now,
                max_staleness,
            )),
            None => None,
        };
        if !as_json {
            println!(
                "{id}: {} active, {} withdrawn",
                counts.active, counts.withdrawn
            );
            if let Some(status) = &freshness {
                match status.age_hours {
                    Some(age) => println!("  last complete run {age:.1} h ago"),
                    None => println!("  no complete run yet"),
                }
                if let Some(alarm) = &status.alarm {
                    println!("  ALARM (licence freshness): {alarm}");
                    eprintln!("ALARM: {id}: {alarm}");
                }
                if let Some(reason) = &status.withheld_reason {
                    println!("  WITHHELD from every surface: {reason}");
                }
            }
            match &last {
                Some(run) => println!(
                    "  last run {}: {} {}, started {}{}{}",
                    run.id,
                    run.kind.as_str(),
                    run.outcome.as_str(),
                    run.started_at,
                    if run.failed_partitions.is_empty() {
                        String::new()
                    } else {
                        format!(", failed partitions: {}", run.failed_partitions.join(", "))
                    },
                    run.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
                None => println!("  no run yet"),
            }
        }
        let mut entry = json!({"id": id, "active": counts.active, "withdrawn": counts.withdrawn, "last_run": last_run});
        if let Some(status) = &freshness {
            entry["last_complete_run"] = json!(status.last_complete_run);
            entry["age_hours"] = json!(status.age_hours);
            entry["fresh"] = json!(status.fresh);
            entry["alarm"] = json!(status.alarm);
            entry["published"] = json!(status.published);
            entry["withheld_reason"] = json!(status.withheld_reason);
        }
        sources.push(entry);
    }
    if as_json {
        println!("{}", json!({ "sources": sources }));
    }
    Ok(ExitCode::SUCCESS)
}
