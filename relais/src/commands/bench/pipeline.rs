//! `relais bench pipeline --offers N`: the whole way of a partner feed's offers, through the
//! code that ships and in the order `relais serve` runs it: a full run of the feed (download,
//! parse, normalise, store, the change log: `relais sync`), then the worker (deduplication and
//! the publication log) and the index's follower, both started before the run as in `serve`,
//! catching up batch after batch. On SQLite, or on PostgreSQL with `--postgres URL`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use relais_index::OfferIndex;
use relais_ingest::feeds::{FeedRunOptions, FeedSource};
use relais_publish::IndexStatus;

use crate::config::Config;
use crate::live::{Follower, Publisher};

/// Arguments of `relais bench pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Offers in the generated partner feed.
    #[arg(long, default_value_t = 100_000)]
    offers: u64,
    /// Corpus seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stores in this PostgreSQL database instead of a SQLite file; it must hold no offers
    /// (drop or empty it after: the benchmark leaves what it wrote).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

/// Runs the benchmark.
pub async fn run(args: PipelineArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let feed = dir.path().join("feed.xml");
    let generated = super::write_hellowork_file(&feed, args.seed, args.offers, u64::MAX)?;
    eprintln!(
        "pipeline: generated a HelloWork feed of {} offers, {} MB",
        generated.records,
        generated.bytes / 1_000_000
    );
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    let source = super::hellowork_source("hellowork", &feed);
    // Configured, as in `relais.toml`: its terms (redistribution allowed) decide what is published.
    config.sources = vec![source.clone()];
    if let Some(url) = &args.postgres {
        let found = relais_storage::inspect_postgres(url).await?;
        anyhow::ensure!(
            found.offers == 0,
            "the PostgreSQL database holds {} offers: give the benchmark an empty one",
            found.offers
        );
        config.storage.url = Some(url.as_str().into());
    }
    let store = crate::pipeline::open_store(&config).await?;
    eprintln!("pipeline: store {}", config.store_location());
    let index = OfferIndex::open_or_create(&config.index_dir())?;
    // Started on the empty store, as `relais serve` starts them before its first run.
    let mut worker = Publisher::new(config.clone(), store.clone());
    worker.start().await?;
    let mut follower = Follower::new(
        store.clone(),
        index.clone(),
        Arc::new(IndexStatus::starting()),
    );
    follower.start().await?;

    let started = Instant::now();
    let report = FeedSource::new(source, store.clone(), dir.path().join("downloads"))?
        .run(FeedRunOptions::default())
        .await?;
    anyhow::ensure!(
        report.outcome == relais_ingest::RunReportOutcome::Complete,
        "the run did not complete: {report:?}"
    );
    let stored_at = started.elapsed().as_secs_f64();
    eprintln!(
        "pipeline: run: {} new offers stored in {stored_at:.1} s ({} rejected)",
        report.new, report.rejected
    );
    let mut published = 0usize;
    while let Some(batch) = worker.apply_next().await? {
        published += batch.changes;
    }
    let deduplicated_at = started.elapsed().as_secs_f64();
    eprintln!(
        "pipeline: worker: {published} changes deduplicated and published in {:.1} s",
        deduplicated_at - stored_at
    );
    // An offer is indexed again when its job's shown copy or links change as copies arrive.
    let mut writes = 0usize;
    while let Some(applied) = follower.apply_next().await? {
        writes += applied.indexed + applied.removed;
    }
    let seconds = started.elapsed().as_secs_f64();
    // Counted once the searchers have reloaded (they do half a second after a commit).
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let indexed = index.len();
    eprintln!(
        "pipeline: index: {indexed} jobs searchable after {writes} index writes in {:.1} s",
        seconds - deduplicated_at
    );
    anyhow::ensure!(
        indexed > 0 && indexed <= report.new,
        "the index holds {indexed} offers after a run of {}",
        report.new
    );
    println!(
        "pipeline offers={} seconds={seconds:.1} offers_per_second={:.0} peak_rss_mb={:.0} store_offers_per_second={:.0}",
        report.new,
        report.new as f64 / seconds,
        super::peak_rss_mb(),
        report.new as f64 / stored_at
    );
    // The index's writer goes (its merges stop) before its directory does.
    drop((follower, worker, index));
    Ok(ExitCode::SUCCESS)
}
