//! `relais status [--json]`.

use std::path::Path;
use std::process::ExitCode;

use relais_ingest::francetravail::SOURCE_ID;
use relais_model::SourceId;
use relais_storage::RunOutcome;
use serde_json::json;

use crate::config::Config;
use crate::pipeline;

/// Prints each source's active and withdrawn counts and its last run.
pub async fn run(config_path: Option<&Path>, as_json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, _) = pipeline::open(&config).await?;
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
        if !as_json {
            println!(
                "{id}: {} active, {} withdrawn",
                counts.active, counts.withdrawn
            );
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
        sources.push(json!({"id": id, "active": counts.active, "withdrawn": counts.withdrawn, "last_run": last_run}));
    }
    if as_json {
        println!("{}", json!({ "sources": sources }));
    }
    Ok(ExitCode::SUCCESS)
}
