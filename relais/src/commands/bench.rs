//! `relais bench ...`: benchmark commands whose figures go in `docs/benchmarks.md`.

mod dedup;
mod http;
mod live;
mod peers;
mod pipeline;
mod publish;
mod search;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use relais_fixtures::{SimulatorConfig, start_simulator};
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailConfig, FranceTravailSource, PAGE_SIZE, SOURCE_ID,
    SyncOptions,
};
use relais_model::SourceId;
use relais_storage::Store;
use secrecy::SecretString;

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// A full sweep of a simulator at a given rate limit: throughput against the ceiling the rate allows.
    Harvest(HarvestArgs),
    /// Location resolution on one core, over locations of the synthetic corpus.
    Resolve(ResolveArgs),
    /// A generated partner XML feed: parse and normalise on one thread, then a full run into a
    /// SQLite store (or PostgreSQL with --postgres); peak memory of the whole process.
    Feed(FeedArgs),
    /// Deduplication of a generated benchmark (two cores), then single new offers placed one at a
    /// time; peak memory of the whole process.
    Dedup(dedup::DedupArgs),
    /// The search index: N generated offers indexed, then a fixed mix of 2 000 queries in process.
    Search(search::SearchArgs),
    /// Publication on loopback: a kept feed body against a bare axum handler serving the same
    /// bytes, feed pages rendered afresh and offer pages.
    Publish(publish::PublishArgs),
    /// A generated partner feed through the shipped pipeline: the run (parse, normalise,
    /// store), the worker (deduplication, publication), the index; rates and peak memory.
    Pipeline(pipeline::PipelineArgs),
}

/// Arguments of `relais bench feed`.
#[derive(Debug, Args)]
pub struct FeedArgs {
    /// Size of the generated feed, in megabytes.
    #[arg(long, default_value_t = 1024)]
    size_mb: u64,
    /// Corpus seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only parse and normalise (no store).
    #[arg(long)]
    parse_only: bool,
    /// Stores in this PostgreSQL database instead of a SQLite file; it must hold no offers
    /// (drop or empty it after: the benchmark leaves what it wrote).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

/// Arguments of `relais bench resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Distinct locations generated (each is resolved `--rounds` times).
    #[arg(long, default_value_t = 100_000)]
    locations: u64,
    /// Passes over the locations.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
}

/// Arguments of `relais bench harvest`.
#[derive(Debug, Args)]
pub struct HarvestArgs {
    /// Offers in the simulated stock.
    #[arg(long, default_value_t = 60_000)]
    offers: u64,
    /// Calls per second allowed by the simulator (and used by the client).
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// Share of calls answering 500.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of calls answering 429.
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Token lifetime in seconds.
    #[arg(long, default_value_t = 1_499)]
    token_ttl: u64,
    /// Corpus seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    latency: super::simulate::LatencyArgs,
}

/// Runs a benchmark.
pub async fn run(bench: Bench) -> anyhow::Result<ExitCode> {
    match bench {
        Bench::Harvest(args) => harvest(args).await,
        Bench::Resolve(args) => std::thread::spawn(move || resolve(&args))
            .join()
            .expect("benchmark thread"),
        Bench::Feed(args) => feed(args).await,
        Bench::Search(args) => std::thread::spawn(move || search::run(&args))
            .join()
            .map_err(|_| anyhow::anyhow!("the search benchmark panicked"))?,
        Bench::Publish(args) => publish::run(args).await,
        Bench::Pipeline(args) => pipeline::run(args).await,
        Bench::Dedup(args) => std::thread::spawn(move || dedup::run(&args))
            .join()
            .expect("benchmark thread"),
    }
}

/// Peak resident memory of this process, in megabytes (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes a generated HelloWork feed of at most `records` offers and `max_bytes` to `path`.
fn write_hellowork_file(
    path: &std::path::Path,
    seed: u64,
    records: u64,
    max_bytes: u64,
) -> anyhow::Result<relais_fixtures::partner_feed::FeedStats> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let stats = relais_fixtures::partner_feed::write_hellowork_feed(
        &mut out,
        seed,
        chrono::Utc::now(),
        records,
        max_bytes,
    )?;
    std::io::Write::flush(&mut out)?;
    Ok(stats)
}

/// A partner source reading the generated HelloWork feed at `path` with the board's preset.
fn hellowork_source(id: &str, path: &std::path::Path) -> relais_ingest::feeds::FeedSourceConfig {
    relais_ingest::feeds::FeedSourceConfig {
        id: id.into(),
        name: None,
        enabled: true,
        url: path.display().to_string(),
        format: relais_ingest::feeds::FeedFormat::Xml {
            preset: Some("hellowork".into()),
            mapping: None,
        },
        schedule: "0 0 * * * *".into(),
        jitter_seconds: 0,
        limits: Default::default(),
        max_shrink: 0.3,
        encoding: None,
        licence: Default::default(),
        trust_rank: 50,
    }
}

async fn feed(args: FeedArgs) -> anyhow::Result<ExitCode> {
    use relais_ingest::feeds::{FeedReader, FeedRunOptions, FeedSource, ReadItem};
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("feed.xml");
    let started = std::time::Instant::now();
    let stats = write_hellowork_file(&path, args.seed, u64::MAX, args.size_mb * 1024 * 1024)?;
    eprintln!(
        "generated {} offers, {} MB in {:.1} s",
        stats.records,
        stats.bytes / (1024 * 1024),
        started.elapsed().as_secs_f64()
    );
    let config = hellowork_source("bench", &path);
    // Parse and normalise on one thread.
    let reader = FeedReader::new(&config)?;
    let parse_path = path.clone();
    let (offers, rejected, parse_seconds) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let (mut offers, mut rejected) = (0u64, 0u64);
        let result = reader.read(&parse_path, chrono::Utc::now(), &mut |item| {
            match item {
                ReadItem::Offer(offer, raw) => {
                    std::hint::black_box((offer, raw));
                    offers += 1;
                }
                ReadItem::Rejected(_) => rejected += 1,
                ReadItem::Notice(message) => eprintln!("feed: {message}"),
            }
            Ok(())
        });
        result.map(|()| (offers, rejected, started.elapsed().as_secs_f64()))
    })
    .await??;
    let parse_rate = offers as f64 / parse_seconds;
    eprintln!(
        "parse+normalise on one thread: {offers} offers ({rejected} rejected) in {parse_seconds:.1} s = {parse_rate:.0}/s"
    );
    let (sync_seconds, sync_rate) = if args.parse_only {
        (0.0, 0.0)
    } else {
        let (store, backend) = match &args.postgres {
            Some(url) => {
                let found = relais_storage::inspect_postgres(url).await?;
                anyhow::ensure!(
                    found.offers == 0,
                    "the PostgreSQL database holds {} offers: give the benchmark an empty one",
                    found.offers
                );
                (Store::open_postgres(url).await?, "PostgreSQL")
            }
            None => (
                Store::open_sqlite(&dir.path().join("relais.sqlite")).await?,
                "SQLite",
            ),
        };
        let source = FeedSource::new(config, store.clone(), dir.path().join("downloads"))?;
        let report = source.run(FeedRunOptions::default()).await?;
        anyhow::ensure!(
            report.outcome == relais_ingest::RunReportOutcome::Complete && report.new == offers,
            "the run did not store every offer: {report:?}"
        );
        eprintln!(
            "full run into {backend}: {} new offers in {:.1} s",
            report.new, report.seconds
        );
        (report.seconds, report.new as f64 / report.seconds)
    };
    println!(
        "feed offers={offers} bytes={} parse_offers_per_second={parse_rate:.0} sync_seconds={sync_seconds:.1} sync_offers_per_second={sync_rate:.0} peak_rss_mb={:.0}",
        stats.bytes,
        peak_rss_mb()
    );
    Ok(ExitCode::SUCCESS)
}

/// Resolves France Travail locations as given, then the same places as text only, on this thread.
fn resolve(args: &ResolveArgs) -> anyhow::Result<ExitCode> {
    use relais_territory::{LocationQuery, ResolutionMethod, geography, resolve_location};
    let generator = relais_fixtures::OfferGenerator::new(1, chrono::Utc::now());
    let places: Vec<(Option<String>, Option<String>, Option<String>)> = (0..args.locations)
        .map(|i| {
            let place = &generator.offer(i)["lieuTravail"];
            let text = |f: &str| place[f].as_str().map(str::to_owned);
            (text("libelle"), text("codePostal"), text("commune"))
        })
        .collect();
    let _ = geography(); // parsed once, outside the timing
    let mut total = (0u64, 0f64);
    for (mix, with_codes) in [("france_travail", true), ("text_only", false)] {
        let started = std::time::Instant::now();
        let mut resolved = 0u64;
        for _ in 0..args.rounds {
            for (label, postal_code, insee) in &places {
                let query = LocationQuery {
                    text: label.as_deref(),
                    postal_code: postal_code.as_deref().filter(|_| with_codes),
                    insee: insee.as_deref().filter(|_| with_codes),
                };
                if std::hint::black_box(resolve_location(query)).method
                    != ResolutionMethod::Unresolved
                {
                    resolved += 1;
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let count = places.len() as u64 * u64::from(args.rounds);
        eprintln!(
            "{mix}: {count} locations in {seconds:.3} s = {:.0}/s, {:.2} % resolved",
            count as f64 / seconds,
            100.0 * resolved as f64 / count as f64
        );
        total = (total.0 + count, total.1 + seconds);
    }
    println!(
        "resolve locations={} seconds={:.3} per_second={:.0}",
        total.0,
        total.1,
        total.0 as f64 / total.1
    );
    Ok(ExitCode::SUCCESS)
}

async fn harvest(args: HarvestArgs) -> anyhow::Result<ExitCode> {
    let simulator_config = SimulatorConfig {
        offers: args.offers,
        seed: args.seed,
        rate_per_second: args.rate,
        error_rate: args.error_rate,
        throttle_rate: args.throttle_rate,
        token_ttl: Duration::from_secs(args.token_ttl),
        latency: args.latency.latency()?,
        ..SimulatorConfig::default()
    };
    let simulator =
        start_simulator(simulator_config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let expected = simulator.active_ids().len() as u64;
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite")).await?;
    let (client_id, secret) = simulator.credentials();
    let config = FranceTravailConfig {
        api_base_url: simulator.api_url(),
        token_url: simulator.token_url(),
        rate_per_second: args.rate,
        max_retries: 10,
        request_timeout: Duration::from_secs(10),
        ..FranceTravailConfig::production(client_id, SecretString::from(secret))
    };
    let source = FranceTravailSource::new(
        FranceTravailClient::new(config)?,
        store.clone(),
        SyncOptions::default(),
    );
    eprintln!(
        "simulator ready: {expected} offers, {} calls/s; full sweep starting",
        args.rate
    );
    let report = source.run_full_sweep().await?;
    let stored = store
        .source_counts(&SourceId::parse(SOURCE_ID).expect("valid id"))
        .await?
        .active;
    let retries = source
        .client()
        .stats
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    let in_flight_peak = source
        .client()
        .stats
        .in_flight_peak
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "outcome {:?}, retries {retries}, most calls in flight {in_flight_peak}, failed partitions {:?}",
        report.outcome, report.failed_partitions
    );
    let ceiling = f64::from(args.rate) * PAGE_SIZE as f64;
    let efficiency = stored as f64 / report.seconds / ceiling;
    println!(
        "harvest stored={stored} expected={expected} duplicates={} requests={} seconds={:.2} efficiency={efficiency:.3}",
        report.duplicates, report.requests, report.seconds
    );
    Ok(ExitCode::SUCCESS)
}
