//! `relais serve`: the feeds, the search API, and the scheduled runs of the sources.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use relais_index::OfferIndex;
use relais_ingest::feeds::FeedRunOptions;
use relais_publish::{AppState, router};
use relais_storage::Store;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::pipeline::{self, FranceTravailRun};
use crate::scheduler::{parse_schedule, run_on_schedule};

/// Serves until interrupted.
pub async fn run(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, index) = pipeline::open(&config).await?;
    let done = pipeline::reindex(&config, &store, &index).await?;
    tracing::info!(
        indexed = done.indexed,
        duplicates = done.duplicates,
        "index rebuilt from the store"
    );
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", config.server.listen))?;
    let cancel = CancellationToken::new();
    let mut schedulers = start_schedules(&config, &store, &index, &cancel)?;
    schedulers.extend(start_feed_schedules(&config, &store, &index, &cancel)?);
    println!("serving on http://{}", listener.local_addr()?);
    serve_until_interrupted(listener, &config, index, store.clone(), cancel.clone()).await?;
    cancel.cancel();
    for task in schedulers {
        let _ = task.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves the router on `listener` until Ctrl-C or `cancel`.
pub async fn serve_until_interrupted(
    listener: tokio::net::TcpListener,
    config: &Config,
    index: OfferIndex,
    store: Store,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let state = AppState::with_store(index, config.feeds.clone(), store)
        .context("invalid feed in the configuration")?;
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = cancel.cancelled() => {}
            }
        })
        .await
        .context("server stopped")
}

/// Starts the scheduled France Travail runs, each followed by a reindex.
pub fn start_schedules(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let settings = &config.francetravail;
    if !settings.enabled {
        return Ok(Vec::new());
    }
    if !settings.has_credentials() {
        tracing::warn!("france travail credentials are not set: no scheduled runs");
        return Ok(Vec::new());
    }
    let mut tasks = Vec::new();
    for (name, expression, run) in [
        (
            "francetravail-full",
            &settings.full_sweep_schedule,
            FranceTravailRun::Full,
        ),
        (
            "francetravail-incremental",
            &settings.incremental_schedule,
            FranceTravailRun::Incremental,
        ),
    ] {
        let schedule = parse_schedule(expression)?;
        let (config, store, index) = (config.clone(), store.clone(), index.clone());
        tasks.push(tokio::spawn(run_on_schedule(
            name.to_owned(),
            schedule,
            Duration::ZERO,
            cancel.clone(),
            move || {
                let (config, store, index, run) =
                    (config.clone(), store.clone(), index.clone(), run.clone());
                async move { run_and_reindex(&config, &store, &index, run).await }
            },
        )));
    }
    Ok(tasks)
}

/// Starts the scheduled runs of the enabled partner sources, each followed by a reindex.
fn start_feed_schedules(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let schedule = parse_schedule(&source.schedule)?;
        let (config, store, index, id) = (
            config.clone(),
            store.clone(),
            index.clone(),
            source.id.clone(),
        );
        tasks.push(tokio::spawn(run_on_schedule(
            source.id.clone(),
            schedule,
            Duration::from_secs(source.jitter_seconds),
            cancel.clone(),
            move || {
                let (config, store, index, id) = (config.clone(), store.clone(), index.clone(), id.clone());
                async move {
                    match pipeline::sync_feed(&config, &store, &id, FeedRunOptions::default()).await {
                        Ok(Some(_)) => match pipeline::reindex(&config, &store, &index).await {
                            Ok(done) => tracing::info!(indexed = done.indexed, duplicates = done.duplicates, "index rebuilt"),
                            Err(error) => tracing::error!(error = %format!("{error:#}"), "reindex failed"),
                        },
                        Ok(None) => tracing::info!(source = %id, "another run holds the lock; tick skipped"),
                        Err(error) => tracing::error!(source = %id, error = %format!("{error:#}"), "scheduled run failed"),
                    }
                }
            },
        )));
    }
    Ok(tasks)
}

async fn run_and_reindex(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
    run: FranceTravailRun,
) {
    match pipeline::sync_francetravail(config, store, run).await {
        Ok(Some(_)) => match pipeline::reindex(config, store, index).await {
            Ok(done) => tracing::info!(
                indexed = done.indexed,
                duplicates = done.duplicates,
                "index rebuilt"
            ),
            Err(error) => tracing::error!(error = %format!("{error:#}"), "reindex failed"),
        },
        Ok(None) => tracing::info!("another run holds the lock; tick skipped"),
        Err(error) => tracing::error!(error = %format!("{error:#}"), "scheduled run failed"),
    }
}
