//! `relais bench search`: N generated offers of distinct jobs over the real geography (the
//! deduplication benchmark's generator without its copies: French job vocabulary, places
//! weighted towards big towns) indexed by the real indexing code, then a fixed mix of 2 000
//! queries in process.
//!
//! Then (unless `--live-seconds 0`) the same offers go into a SQLite store followed by the live
//! index, and changes committed at `--live-rate` per second are timed from commit to searchable.
//!
//! With `--http`, the real `relais serve` serves that store and index and `wrk` loads it over
//! loopback (see `http`).
//!
//! With `--peers`, SQLite FTS5 and PostgreSQL full-text search run the same corpus and mix
//! (see `peers`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use relais_fixtures::DedupBenchmark;
use relais_index::{
    CONTRACT_NAMES, OfferIndex, PlaceFilter, Radius, SearchRequest, SortOrder, offer_point,
};
use relais_model::Offer;

use super::{http, live, peers};

/// Arguments of `relais bench search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Offers indexed.
    #[arg(long, default_value_t = 1_000_000)]
    offers: usize,
    /// Generator seed (corpus and queries).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also serve the live measurement's store and index with `relais serve` and load it over
    /// loopback with `wrk` (saturation, then about 200 queries/s); measures its memory too.
    #[arg(long)]
    http: bool,
    /// Seconds of each `wrk` run.
    #[arg(long, default_value_t = 20)]
    http_seconds: u64,
    /// Also run the same corpus and mix on SQLite FTS5 and on PostgreSQL full-text search (a
    /// throwaway cluster of the system's PostgreSQL) and report their figures and the hit-count
    /// parity beside ours.
    #[arg(long)]
    peers: bool,
    /// Seconds of steady changes for the ingest → searchable latency (0: not measured).
    #[arg(long, default_value_t = 30)]
    live_seconds: u64,
    /// Changes per second committed meanwhile.
    #[arg(long, default_value_t = 100)]
    live_rate: usize,
    /// Keep the index in this directory and, when it already holds the offers of the same
    /// `--offers` and `--seed`, query it without building it again (for profiling the queries;
    /// the build figures are then `-`).
    #[arg(long)]
    index_dir: Option<std::path::PathBuf>,
    /// Print the slowest queries of the measured pass (their URL, time and total), for profiling.
    #[arg(long, default_value_t = 0)]
    slowest: usize,
    /// Read each hit's stored summary, as the search API does (the in-process figures then
    /// include the document store and the summaries' parsing).
    #[arg(long)]
    summaries: bool,
    /// Keep the store and index of the live and HTTP measurements (their directory is
    /// printed), for serving them again with `relais api` and profiling.
    #[arg(long)]
    keep_data: bool,
}

const QUERIES: usize = 2_000;

/// `count` offers of distinct jobs: the index of all of France holds each job once, so the
/// corpus leaves out the copies the deduplication benchmark makes (otherwise a live index,
/// which publishes each job once, would hold fewer offers than the count says).
pub(super) fn generate(count: usize, seed: u64) -> Vec<Offer> {
    let bench = DedupBenchmark::new(seed);
    let mut offers = Vec::with_capacity(count);
    let mut unit = 0;
    while offers.len() < count {
        offers.extend(super::dedup::originals(&bench, unit..unit + 10_000));
        unit += 10_000;
    }
    offers.truncate(count);
    offers
}

fn word_of(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphabetic())
        .find(|w| w.chars().count() >= 5)
        .unwrap_or("agent")
        .to_lowercase()
}

/// The fixed mix: 20 % keyword, 15 % keyword and département, 25 % keyword and radius, 15 %
/// keyword, contract and radius, 5 % ROME and radius by date, 15 % département feed (50 newest),
/// 5 % feed of 25 communes.
fn query_mix(offers: &[Offer], seed: u64) -> Vec<SearchRequest> {
    let mut random = ChaCha8Rng::seed_from_u64(seed ^ 0x5ea7c4);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let base = SearchRequest {
        limit: 20,
        now_ms,
        ..SearchRequest::default()
    };
    let located: Vec<&Offer> = offers
        .iter()
        .filter(|o| o.location.commune.is_some())
        .collect();
    let departement = |o: &Offer| {
        let code = o.location.departement.as_ref().map_or("75", |d| d.as_str());
        let territory = relais_territory::parse_territory(&format!("dep:{code}")).ok();
        Arc::new(
            territory
                .as_ref()
                .map_or_else(PlaceFilter::default, PlaceFilter::from),
        )
    };
    (0..QUERIES)
        .map(|i| {
            let offer = located[random.random_range(0..located.len())];
            let word = Some(word_of(&offer.title));
            let radius = offer_point(offer).map(|center| Radius {
                center,
                km: [5.0, 10.0, 20.0, 30.0, 50.0][random.random_range(0..5)],
            });
            match i % 20 {
                0..4 => SearchRequest {
                    text: word,
                    ..base.clone()
                },
                4..7 => SearchRequest {
                    text: word,
                    places: vec![departement(offer)],
                    ..base.clone()
                },
                7..12 => SearchRequest {
                    text: word,
                    radius,
                    ..base.clone()
                },
                12..15 => SearchRequest {
                    text: word,
                    radius,
                    contracts: vec![CONTRACT_NAMES[random.random_range(0..3)].to_owned()],
                    ..base.clone()
                },
                15 => SearchRequest {
                    rome: offer
                        .job
                        .rome_code
                        .iter()
                        .map(|r| r.as_str()[..3].to_owned())
                        .collect(),
                    radius,
                    sort: SortOrder::Date,
                    ..base.clone()
                },
                16..19 => SearchRequest {
                    places: vec![departement(offer)],
                    sort: SortOrder::Date,
                    limit: 50,
                    ..base.clone()
                },
                _ => {
                    let communes = (0..25)
                        .filter_map(|_| {
                            located[random.random_range(0..located.len())]
                                .location
                                .commune
                                .as_ref()
                        })
                        .map(|c| c.to_string())
                        .collect();
                    SearchRequest {
                        places: vec![Arc::new(PlaceFilter {
                            communes,
                            ..PlaceFilter::default()
                        })],
                        sort: SortOrder::Date,
                        limit: 50,
                        ..base.clone()
                    }
                }
            }
        })
        .collect()
}

fn directory_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the benchmark.
pub fn run(args: &SearchArgs) -> anyhow::Result<ExitCode> {
    if args.http && args.live_seconds == 0 {
        anyhow::bail!("--http serves the store of the live measurement: give --live-seconds > 0");
    }
    let started = Instant::now();
    let offers = generate(args.offers, args.seed);
    let json_bytes: usize = offers
        .par_iter()
        .map(|o| serde_json::to_string(o).map_or(0, |s| s.len()))
        .sum();
    eprintln!(
        "generated {} offers ({:.0} MB of JSON) in {:.1} s",
        offers.len(),
        json_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let queries = query_mix(&offers, args.seed);
    let urls: Vec<String> = queries.iter().map(http::url_of).collect();
    let temporary = tempfile::tempdir()?;
    let dir = args.index_dir.as_deref().unwrap_or(temporary.path());
    let index = OfferIndex::open_or_create(dir)?;
    let count = offers.len();
    // The corpus an index kept by `--index-dir` was built from: reused only for the same one.
    let corpus = format!("offers={count} seed={} one offer per job\n", args.seed);
    let marker = dir.join("relais-bench-corpus");
    let reused = args.index_dir.is_some()
        && std::fs::read_to_string(&marker).is_ok_and(|kept| kept == corpus)
        && index.len() == count as u64;
    let build_seconds = if reused {
        eprintln!("reused the index in {}", dir.display());
        None
    } else {
        let building = Instant::now();
        index.rebuild(offers.iter().cloned())?;
        let seconds = building.elapsed().as_secs_f64();
        std::fs::write(&marker, &corpus)?;
        eprintln!("indexed in {seconds:.1} s");
        Some(seconds)
    };
    let index_bytes = directory_bytes(dir);
    eprintln!(
        "{} segment(s); index {:.0} MB = {:.3} × the JSON",
        index.segment_count(),
        index_bytes as f64 / 1e6,
        index_bytes as f64 / json_bytes as f64
    );

    // One warm-up pass, then the measured pass, one query at a time on one thread.
    let mut hits = 0usize;
    for query in &queries {
        hits += index.search_offers(query, args.summaries)?.total;
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut totals = Vec::with_capacity(queries.len());
    let measuring = Instant::now();
    for query in &queries {
        let start = Instant::now();
        let result = index.search_offers(query, args.summaries)?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        totals.push(result.total);
        std::hint::black_box(result);
    }
    let seconds = measuring.elapsed().as_secs_f64();
    let all_ms: f64 = latencies.iter().sum();
    // Per kind of query (the mix cycles through them every 20 queries), with its share of the
    // mix's time (what the rate at saturation depends on).
    for (name, range) in [
        ("keyword", 0..4),
        ("keyword+departement", 4..7),
        ("keyword+radius", 7..12),
        ("keyword+contract+radius", 12..15),
        ("rome+radius by date", 15..16),
        ("departement feed", 16..19),
        ("25-commune feed", 19..20),
    ] {
        let mut kind: Vec<f64> = latencies
            .iter()
            .zip(&totals)
            .enumerate()
            .filter(|(i, _)| range.contains(&(i % 20)))
            .map(|(_, (l, _))| *l)
            .collect();
        let hits: usize = totals
            .iter()
            .enumerate()
            .filter(|(i, _)| range.contains(&(i % 20)))
            .map(|(_, t)| t)
            .sum();
        kind.sort_by(f64::total_cmp);
        let kind_ms: f64 = kind.iter().sum();
        eprintln!(
            "  {name}: p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms ({:.0} % of the time), {:.0} hits on average",
            kind[kind.len() / 2],
            kind[(kind.len() * 99 / 100).min(kind.len() - 1)],
            kind_ms / kind.len() as f64,
            100.0 * kind_ms / all_ms,
            hits as f64 / kind.len() as f64
        );
    }
    if args.slowest > 0 {
        let mut order: Vec<usize> = (0..latencies.len()).collect();
        order.sort_by(|a, b| latencies[*b].total_cmp(&latencies[*a]));
        for i in order.into_iter().take(args.slowest) {
            eprintln!(
                "  slow: {:.3} ms, {} hits, {}",
                latencies[i], totals[i], urls[i]
            );
        }
    }
    latencies.sort_by(f64::total_cmp);
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    eprintln!(
        "{} queries, {hits} hits in all (exact totals)",
        queries.len()
    );
    let (p50, p99, qps) = (
        percentile(0.50),
        percentile(0.99),
        queries.len() as f64 / seconds,
    );
    drop(index);
    if args.peers {
        let ours_build = build_seconds.map(|seconds| count as f64 / seconds);
        let ours_bytes = index_bytes as f64 / count as f64;
        for peer in [
            peers::sqlite_fts5(temporary.path(), &offers, &queries, &totals)?,
            peers::postgres(&offers, &queries, &totals)?,
        ] {
            let at = |p: f64| {
                peer.latencies_ms[((peer.latencies_ms.len() as f64 * p) as usize)
                    .min(peer.latencies_ms.len() - 1)]
            };
            eprintln!(
                "peer {}: load {:.0} offers/s (ours {} that), {:.0} bytes/offer (ours {:.2}× that), p50 {:.3} ms (ours {:.1}× faster), p99 {:.3} ms (ours {:.1}× faster), same total as ours on {}/{} queries",
                peer.name,
                peer.load_offers_per_second,
                ours_build.map_or("-".to_owned(), |ours| format!(
                    "{:.2}×",
                    ours / peer.load_offers_per_second
                )),
                peer.bytes_per_offer,
                ours_bytes / peer.bytes_per_offer,
                at(0.5),
                at(0.5) / p50,
                at(0.99),
                at(0.99) / p99,
                peer.same_total,
                peer.queries
            );
        }
    }
    let ingest = match (args.live_seconds > 0).then_some(offers) {
        Some(offers) => {
            let measured = live::measure(offers, args.live_rate, args.live_seconds)?;
            let sorted = &measured.latencies_ms;
            let at = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
            eprintln!(
                "live: {} changes at {}/s, commit → searchable p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                measured.changes,
                args.live_rate,
                at(0.5),
                at(0.99),
                sorted.last().copied().unwrap_or(0.0)
            );
            let http = if args.http {
                let figures = http::measure(measured.data_dir.path(), &urls, args.http_seconds)?;
                eprintln!(
                    "http: saturation {:.0} queries/s; p99 {:.1} ms at {:.0} queries/s; the serving role (relais api) resident {:.0} MB page cache aside ({:.0} MB with the index's mapped pages, peak {:.0} MB); the all-in-one relais serve {:.0} MB at rest",
                    figures.saturation_qps,
                    figures.p99_ms_at_rate,
                    figures.rate_qps,
                    figures.rss_mb,
                    figures.rss_with_files_mb,
                    figures.peak_rss_mb,
                    figures.all_in_one_rss_mb
                );
                Some(figures)
            } else {
                None
            };
            if args.keep_data {
                eprintln!(
                    "kept the live measurement's data in {}",
                    measured.data_dir.keep().display()
                );
            }
            (format!("{:.0}", at(0.99)), http)
        }
        None => ("-".to_owned(), None),
    };
    let (ingest, http) = ingest;
    let (http_p99, http_qps, serve_rss) = match http {
        Some(f) => (
            format!("{:.1}", f.p99_ms_at_rate),
            format!("{:.0}", f.saturation_qps),
            format!("{:.0}", f.rss_mb),
        ),
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
    };
    let build = build_seconds.map_or("-".to_owned(), |seconds| {
        format!("{:.0}", count as f64 / seconds)
    });
    println!(
        "search offers={count} build_offers_per_second={build} index_bytes_per_offer={:.0} p50_ms={p50:.3} p99_ms={p99:.3} qps={qps:.0} http_p99_ms_at_200qps={http_p99} http_qps={http_qps} ingest_to_searchable_p99_ms={ingest} serve_rss_mb={serve_rss}",
        index_bytes as f64 / count as f64,
    );
    Ok(ExitCode::SUCCESS)
}
