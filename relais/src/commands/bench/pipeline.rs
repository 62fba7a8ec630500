//! `relais bench pipeline --offers N`: the whole way of a partner feed's offers, through the
//! code that ships and as `relais serve` runs it: a full run of the feed (download, parse,
//! normalise, store, the change log: `relais sync`), and beside it the worker (deduplication
//! and the publication log) and the index's follower, both started on the empty store, each
//! reading its log as the stage before writes it. On SQLite, or on PostgreSQL with
//! `--postgres URL`.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

    // The worker and the index's follower run beside the run, as in `relais serve`: each
    // reads its log whenever it has nothing to do, at the pace `serve` polls it, and stops once
    // the stage before it has finished and its log is read to the end.
    let run_done = Arc::new(AtomicBool::new(false));
    let worker_done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let worker_task = {
        let (run_done, worker_done) = (run_done.clone(), worker_done.clone());
        tokio::spawn(async move {
            let mut published = 0usize;
            loop {
                let finished = run_done.load(Ordering::Acquire);
                match worker.apply_next().await? {
                    Some(batch) => published += batch.changes,
                    None if finished => break,
                    None => tokio::time::sleep(crate::live::POLL).await,
                }
            }
            worker_done.store(true, Ordering::Release);
            anyhow::Ok((worker, published, started.elapsed().as_secs_f64()))
        })
    };
    let follower_task = tokio::spawn(async move {
        let mut writes = 0usize;
        loop {
            let finished = worker_done.load(Ordering::Acquire);
            match follower.apply_next().await? {
                Some(applied) => writes += applied.indexed + applied.removed,
                None if finished => break,
                None => tokio::time::sleep(crate::live::POLL).await,
            }
        }
        anyhow::Ok((follower, writes, started.elapsed().as_secs_f64()))
    });
    let report = FeedSource::new(source, store.clone(), dir.path().join("downloads"))?
        .run(FeedRunOptions::default())
        .await;
    run_done.store(true, Ordering::Release);
    let report = report?;
    anyhow::ensure!(
        report.outcome == relais_ingest::RunReportOutcome::Complete,
        "the run did not complete: {report:?}"
    );
    let stored_at = started.elapsed().as_secs_f64();
    eprintln!(
        "pipeline: run: {} new offers stored in {stored_at:.1} s ({} rejected)",
        report.new, report.rejected
    );
    let (worker, published, deduplicated_at) = worker_task.await??;
    eprintln!(
        "pipeline: worker: {published} changes deduplicated and published {:.1} s after the run ({deduplicated_at:.1} s in all)",
        deduplicated_at - stored_at
    );
    let (follower, writes, seconds) = follower_task.await??;
    // Counted once the searchers have reloaded (they do half a second after a commit).
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let indexed = index.len();
    eprintln!(
        "pipeline: index: {indexed} jobs searchable after {writes} index writes, {:.1} s after the worker",
        seconds - deduplicated_at
    );
    // The stages ran side by side: the index must hold exactly what the store publishes.
    let mut published_offers = 0u64;
    store
        .for_each_publication_row(|_, row| published_offers += u64::from(row.links.is_some()))
        .await?;
    anyhow::ensure!(
        indexed > 0 && indexed == published_offers,
        "the index holds {indexed} offers, the store publishes {published_offers}"
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
