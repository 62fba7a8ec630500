//! `relais bench dedup`: a full deduplication of a generated benchmark of any size, then single
//! new offers placed one at a time.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use rayon::prelude::*;
use relais_dedup::{DedupConfig, Deduplicator};
use relais_fixtures::DedupBenchmark;
use relais_model::Offer;

use super::peak_rss_mb;
use crate::commands::dedup::OffreSet;

/// Arguments of `relais bench dedup`.
#[derive(Debug, Args)]
pub struct DedupArgs {
    /// Offers deduplicated.
    #[arg(long, default_value_t = 1_000_000)]
    offers: usize,
    /// Benchmark seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// New offers placed one at a time after the full run, for the latency percentiles.
    #[arg(long, default_value_t = 2_000)]
    upserts: usize,
}

/// Units of the generator handled per chunk (a chunk is generated, normalised, then deduplicated).
const UNITS_PER_CHUNK: u64 = 20_000;

/// Generates and normalises the offers of units `range` in parallel (not timed as deduplication).
pub(super) fn chunk(bench: &DedupBenchmark, units: std::ops::Range<u64>) -> (Vec<Offer>, Vec<i32>) {
    let offres: Vec<serde_json::Value> = units
        .into_par_iter()
        .flat_map_iter(|unit| bench.unit(unit).into_iter().map(|r| r.offre))
        .collect();
    normalise(&offres)
}

/// The offers of units `range`, one per job: each job's original, without the copies other
/// boards made of it (what an index holds once the copies are merged).
pub(super) fn originals(bench: &DedupBenchmark, units: std::ops::Range<u64>) -> Vec<Offer> {
    let offres: Vec<serde_json::Value> = units
        .into_par_iter()
        .flat_map_iter(|unit| {
            // A unit gives each job's original first, then its copies.
            let mut seen = std::collections::HashSet::new();
            bench
                .unit(unit)
                .into_iter()
                .filter(move |r| seen.insert(r.job))
                .map(|r| r.offre)
        })
        .collect();
    normalise(&offres).0
}

fn normalise(offres: &[serde_json::Value]) -> (Vec<Offer>, Vec<i32>) {
    let sets: Vec<OffreSet> = offres
        .par_chunks(1_000)
        .map(|part| OffreSet::normalise(part, DedupBenchmark::anchor()).0)
        .collect();
    let mut offers = Vec::new();
    let mut trust = Vec::new();
    for set in sets {
        offers.extend(set.offers);
        trust.extend(set.trust);
    }
    (offers, trust)
}

/// Runs the benchmark.
pub fn run(args: &DedupArgs) -> anyhow::Result<ExitCode> {
    let bench = DedupBenchmark::new(args.seed);
    let mut dedup = Deduplicator::new(DedupConfig::default())?;
    let mut generating = Duration::ZERO;
    let mut deduplicating = Duration::ZERO;

    // Pass 1: learn the frequent text. Pass 2: place every offer. Both passes read the same
    // units; generation is timed apart.
    let mut units = 0u64;
    let mut offers_seen = 0usize;
    while offers_seen < args.offers {
        let started = Instant::now();
        let (offers, _) = chunk(&bench, units..units + UNITS_PER_CHUNK);
        generating += started.elapsed();
        let started = Instant::now();
        let keys: Vec<Vec<u64>> = offers.par_iter().map(|o| dedup.frequency_keys(o)).collect();
        for k in &keys {
            dedup.observe_keys(k);
        }
        deduplicating += started.elapsed();
        let take = offers.len().min(args.offers - offers_seen);
        offers_seen += take;
        units += UNITS_PER_CHUNK;
        eprintln!("observed {offers_seen} offers");
        if take < offers.len() {
            break;
        }
    }
    let mut placed = 0usize;
    let mut unit = 0u64;
    while placed < args.offers {
        let started = Instant::now();
        let (offers, trust) = chunk(&bench, unit..unit + UNITS_PER_CHUNK);
        generating += started.elapsed();
        let take = offers.len().min(args.offers - placed);
        let started = Instant::now();
        let records: Vec<_> = offers[..take]
            .par_iter()
            .zip(&trust[..take])
            .map(|(o, &t)| {
                let record = dedup.extract(o, t);
                let prepared = dedup.prepare(&record);
                (record, prepared)
            })
            .collect();
        drop(offers);
        for (record, prepared) in records {
            dedup.upsert_prepared(record, &prepared);
        }
        deduplicating += started.elapsed();
        placed += take;
        unit += UNITS_PER_CHUNK;
        eprintln!(
            "placed {placed} offers ({:.1} s deduplicating, {} clusters)",
            deduplicating.as_secs_f64(),
            dedup.cluster_count()
        );
    }
    let seconds = deduplicating.as_secs_f64();

    // Single new offers (units never seen), each observed, extracted and placed alone.
    let (fresh, trust) = chunk(&bench, 10_000_000..10_000_000 + args.upserts as u64);
    let mut latencies: Vec<Duration> = fresh
        .iter()
        .zip(&trust)
        .take(args.upserts)
        .map(|(offer, &t)| {
            let started = Instant::now();
            dedup.observe(offer);
            dedup.upsert(offer, t);
            started.elapsed()
        })
        .collect();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    eprintln!(
        "generation and normalisation (not counted): {:.1} s; single upserts p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        generating.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    println!(
        "dedup offers={placed} seconds={seconds:.1} offers_per_second={:.0} peak_rss_mb={:.0} upsert_p99_ms={:.3}",
        placed as f64 / seconds,
        peak_rss_mb(),
        percentile(0.99)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cluster: its members, its canonical member and its links, sorted.
    fn clusters(dedup: &Deduplicator) -> Vec<(Vec<String>, String, Vec<String>)> {
        let mut all: Vec<_> = dedup
            .clusters()
            .map(|c| {
                let mut members: Vec<String> =
                    c.members.iter().map(|m| m.key.to_string()).collect();
                members.sort();
                let mut links: Vec<String> = c
                    .links
                    .iter()
                    .map(|(a, b, reason)| format!("{a} {b} {reason:?}"))
                    .collect();
                links.sort();
                (members, c.canonical.key.to_string(), links)
            })
            .collect();
        all.sort();
        all
    }

    enum Change {
        Upsert(usize),
        Remove(usize),
    }

    #[test]
    fn prepared_placements_give_the_same_clusters_as_one_by_one() {
        let bench = DedupBenchmark::new(7);
        let (mut offers, mut trust) = chunk(&bench, 0..400);
        let count = offers.len();
        // A unit's copies of a job follow each other: the first batch holds every other offer,
        // the second the others, each after its neighbour of the first batch was withdrawn
        // (its slot is reused), changed (a new version at the same slot) or left as it was.
        let first: Vec<usize> = (0..count).step_by(2).collect();
        let mut second = Vec::new();
        for i in (1..count).step_by(2) {
            match i % 3 {
                1 => second.push(Change::Remove(i - 1)),
                0 => {
                    let mut changed = offers[i - 1].clone();
                    changed
                        .description
                        .push_str("\n\nPoste à pourvoir après un entretien sur place.");
                    offers.push(changed);
                    trust.push(trust[i - 1]);
                    second.push(Change::Upsert(offers.len() - 1));
                }
                _ => {}
            }
            second.push(Change::Upsert(i));
        }
        let rank = |i: usize| trust[i];
        let started = || {
            let mut dedup = Deduplicator::new(DedupConfig::default()).unwrap();
            for offer in &offers {
                dedup.observe(offer);
            }
            dedup
        };

        let mut one_by_one = started();
        for &i in &first {
            one_by_one.upsert(&offers[i], rank(i));
        }
        for change in &second {
            match *change {
                Change::Upsert(i) => {
                    one_by_one.upsert(&offers[i], rank(i));
                }
                Change::Remove(i) => {
                    one_by_one.remove(&offers[i].key.to_string());
                }
            }
        }

        let mut prepared = started();
        let batch = |dedup: &Deduplicator, indexes: &[usize]| -> Vec<_> {
            indexes
                .par_iter()
                .map(|&i| {
                    let record = dedup.extract(&offers[i], rank(i));
                    let prepared = dedup.prepare(&record);
                    (record, prepared)
                })
                .collect()
        };
        for (record, ready) in batch(&prepared, &first) {
            prepared.upsert_prepared(record, &ready);
        }
        let upserts: Vec<usize> = second
            .iter()
            .filter_map(|c| match c {
                Change::Upsert(i) => Some(*i),
                Change::Remove(_) => None,
            })
            .collect();
        let mut ready = batch(&prepared, &upserts).into_iter();
        for change in &second {
            match *change {
                Change::Upsert(_) => {
                    let (record, comparisons) = ready.next().unwrap();
                    prepared.upsert_prepared(record, &comparisons);
                }
                Change::Remove(i) => {
                    prepared.remove(&offers[i].key.to_string());
                }
            }
        }

        let expected = clusters(&one_by_one);
        assert!(
            expected.iter().filter(|c| c.0.len() > 1).count() > 20,
            "the corpus has copies to merge"
        );
        let actual = clusters(&prepared);
        let first_difference = expected.iter().zip(&actual).position(|(e, a)| e != a);
        assert!(
            actual == expected,
            "{} clusters against {} one by one; the first that differs: {:?}",
            actual.len(),
            expected.len(),
            first_difference.map(|i| (&actual[i], &expected[i]))
        );
    }
}
