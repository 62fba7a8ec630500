//! `relais dedup ...`: evaluate deduplication against ground truth, explain a pair, write the
//! generated benchmark to files.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use relais_dedup::metrics::{Evaluation, Labelled, Scores, evaluate};
use relais_dedup::{DedupConfig, Deduplicator, Outcome, peers};
use relais_fixtures::DedupBenchmark;
use relais_ingest::francetravail::{SOURCE_ID, normalise_offer};
use relais_model::{Offer, OfferKey, SourceId};
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::pipeline;

/// The trust rank of France Travail's own offers in evaluations (partner boards: 50).
const FRANCE_TRAVAIL_TRUST: i32 = 100;
const PARTNER_TRUST: i32 = 50;

/// `relais dedup` subcommands.
#[derive(Debug, Subcommand)]
pub enum DedupCommand {
    /// Scores deduplication against ground truth: the generated benchmark, or a labelled set.
    Eval(EvalArgs),
    /// Says why two offers are or are not the same job, rule by rule.
    Explain(ExplainArgs),
    /// Writes the generated benchmark as `offres.jsonl` and `truth.tsv`.
    Generate(GenerateArgs),
    /// Writes offers given as `Offre` lines (real ones, say) with a copy of each per copy
    /// operator of the benchmark, as `offres.jsonl` and `truth.tsv` for `dedup eval`.
    Reshape(ReshapeArgs),
    /// Lists the jobs published by several offers of the store: the copy shown, the others, and
    /// why each link was made.
    Clusters {
        /// Prints one JSON object per cluster.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `relais dedup eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Records of the generated benchmark (at least; whole families are kept).
    #[arg(long, default_value_t = 20_000, conflicts_with = "offres")]
    records: usize,
    /// Seed of the generated benchmark.
    #[arg(long, default_value_t = 1, conflicts_with = "offres")]
    seed: u64,
    /// A labelled set: one France Travail `Offre` JSON object per line.
    #[arg(long, requires = "truth")]
    offres: Option<PathBuf>,
    /// Its truth: `id<TAB>job` per line (optional third to fifth columns: family, lookalike
    /// group, copy operator, `original` for the ad its copies are scored against).
    #[arg(long, requires = "offres")]
    truth: Option<PathBuf>,
    /// Prints JSON.
    #[arg(long)]
    json: bool,
    /// Measures the text-only baseline: titles and descriptions alone decide (no employer,
    /// commune, contract, working-time, grade, date or detail rule).
    #[arg(long)]
    text_only: bool,
    /// Also prints up to this many missed pairs and false merges, with the rule that decided.
    #[arg(long, default_value_t = 0)]
    show_errors: usize,
}

/// Arguments of `relais dedup explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// First offer: a key `source:id` of the store, or an `id` of `--offres`.
    a: String,
    /// Second offer.
    b: String,
    /// Reads the offers from this JSON-lines file of `Offre` objects instead of the store.
    #[arg(long)]
    offres: Option<PathBuf>,
    /// Prints JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `relais dedup generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Records (at least).
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory to write `offres.jsonl` and `truth.tsv` into.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `relais dedup reshape`.
#[derive(Debug, Args)]
pub struct ReshapeArgs {
    /// The offers: one France Travail `Offre` JSON object per line, each a distinct job.
    #[arg(long)]
    offres: PathBuf,
    /// Seed of the reshaping.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory to write `offres.jsonl` and `truth.tsv` into.
    #[arg(long)]
    out: PathBuf,
}

/// Runs a `relais dedup` subcommand.
pub async fn run(config_path: Option<&Path>, command: DedupCommand) -> anyhow::Result<ExitCode> {
    match command {
        DedupCommand::Eval(args) => eval(config_path, args),
        DedupCommand::Explain(args) => explain(config_path, args).await,
        DedupCommand::Generate(args) => generate(args),
        DedupCommand::Reshape(args) => reshape(args),
        DedupCommand::Clusters { json } => clusters(config_path, json).await,
    }
}

/// The ground truth of one record.
#[derive(Debug, Clone)]
struct Truth {
    job: u64,
    family: String,
    lookalike_group: Option<u64>,
    operator: String,
}

/// The order in which offers are placed: clustering is incremental, so it may depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As the offers were published (creation date, then key): the order quality is scored in.
    CreationDate,
    /// As production reads them from the store: by source, then id.
    SourceThenId,
}

/// The minimum similarity of the peers' rules (see `relais_dedup::peers`).
const PEER_THRESHOLD: f64 = 0.8;

/// What `relais dedup eval --json` prints: the scores in publication order, the overall scores
/// in both orders, and the peers' scores on the same records.
#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    evaluation: Evaluation,
    orders: BTreeMap<&'static str, Scores>,
    peers: BTreeMap<&'static str, Evaluation>,
}

/// Offers read from `Offre` objects, with their sources' trust ranks.
#[derive(Debug, Default)]
pub struct OffreSet {
    /// The normalised offers.
    pub offers: Vec<Offer>,
    /// Each offer's trust rank.
    pub trust: Vec<i32>,
}

/// The source of an `Offre`: its partner board when it has one, else France Travail.
fn source_of(offre: &Value) -> (SourceId, i32) {
    let partner = offre["origineOffre"]["partenaires"][0]["nom"]
        .as_str()
        .map(|name| {
            name.to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        })
        .and_then(|name| SourceId::parse(&name).ok());
    match partner {
        Some(source) => (source, PARTNER_TRUST),
        None => (
            SourceId::parse(SOURCE_ID).expect("valid source id"),
            FRANCE_TRAVAIL_TRUST,
        ),
    }
}

impl OffreSet {
    /// Normalises `Offre` objects as the France Travail source would, seen at `seen_at`.
    /// A record that cannot be normalised is left out and returned with its position and why.
    pub fn normalise<'a>(
        offres: impl IntoIterator<Item = &'a Value>,
        seen_at: DateTime<Utc>,
    ) -> (Self, Vec<(usize, String)>) {
        let mut set = Self::default();
        let mut rejected = Vec::new();
        for (position, offre) in offres.into_iter().enumerate() {
            let (source, trust) = source_of(offre);
            match normalise_offer(&source, &offre.to_string(), seen_at) {
                Ok(offer) => {
                    set.offers.push(offer);
                    set.trust.push(trust);
                }
                Err(rejection) => rejected.push((
                    position,
                    format!(
                        "{}: {}",
                        offre["id"].as_str().unwrap_or("(no id)"),
                        rejection.reason
                    ),
                )),
            }
        }
        (set, rejected)
    }

    /// Deduplicates the set in `order`, after learning its frequent text; with `jobs` (each
    /// offer's true job), logs the candidate pairs of each job for the blocking figure.
    pub fn deduplicate(
        &self,
        config: DedupConfig,
        jobs: Option<&[u64]>,
        order: Order,
    ) -> anyhow::Result<Deduplicator> {
        let mut dedup = Deduplicator::new(config)?;
        if let Some(jobs) = jobs {
            // Blocking is judged on the pairs of one true job.
            dedup.log_candidates_within(
                self.offers
                    .iter()
                    .zip(jobs)
                    .map(|(offer, &job)| (offer.key.to_string().into_boxed_str(), job))
                    .collect(),
            );
        }
        for offer in &self.offers {
            dedup.observe(offer);
        }
        for i in self.placing_order(order) {
            dedup.upsert(&self.offers[i], self.trust[i]);
        }
        Ok(dedup)
    }

    fn placing_order(&self, order: Order) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..self.offers.len()).collect();
        let key = |i: usize| self.offers[i].key.to_string();
        match order {
            Order::CreationDate => indices.sort_by_cached_key(|&i| {
                let offer = &self.offers[i];
                (
                    offer.dates.created_at.unwrap_or(offer.first_seen_at),
                    key(i),
                )
            }),
            Order::SourceThenId => indices.sort_by_cached_key(|&i| key(i)),
        }
        indices
    }
}

fn eval(config_path: Option<&Path>, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config_path)?.dedup;
    config.structural_rules = !args.text_only;
    let (offres, truths): (Vec<Value>, Vec<Truth>) = match (&args.offres, &args.truth) {
        (Some(offres), Some(truth)) => read_labelled(offres, truth)?,
        _ => DedupBenchmark::new(args.seed)
            .records(args.records)
            .into_iter()
            .map(|r| {
                let truth = Truth {
                    job: r.job,
                    family: r.family.to_owned(),
                    lookalike_group: r.lookalike_group,
                    operator: r.operator.to_owned(),
                };
                (r.offre, truth)
            })
            .unzip(),
    };
    let seen_at = if args.offres.is_some() {
        Utc::now()
    } else {
        DedupBenchmark::anchor()
    };
    let (set, rejected) = OffreSet::normalise(&offres, seen_at);
    for (_, why) in &rejected {
        eprintln!("warning: record left out: {why}");
    }
    let left_out: std::collections::HashSet<usize> = rejected.iter().map(|(i, _)| *i).collect();
    let kept_truths: Vec<Truth> = truths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !left_out.contains(i))
        .map(|(_, truth)| truth)
        .collect();

    let jobs: Vec<u64> = kept_truths.iter().map(|t| t.job).collect();
    let keys: Vec<String> = set.offers.iter().map(|o| o.key.to_string()).collect();
    let labelled = |predicted: &dyn Fn(usize) -> u64| -> Vec<Labelled> {
        kept_truths
            .iter()
            .enumerate()
            .map(|(i, truth)| Labelled {
                predicted: predicted(i),
                job: truth.job,
                family: truth.family.clone(),
                lookalike_group: truth.lookalike_group,
                operator: truth.operator.clone(),
            })
            .collect()
    };
    let started = std::time::Instant::now();
    let dedup = set.deduplicate(config.clone(), Some(&jobs), Order::CreationDate)?;
    let seconds = started.elapsed().as_secs_f64();
    let cluster_of = |dedup: &Deduplicator, i: usize| {
        u64::from(dedup.cluster_id(&keys[i]).expect("every offer is placed"))
    };
    let by_date = labelled(&|i| cluster_of(&dedup, i));
    let evaluation = evaluate(&by_date, &|i, j| dedup.was_candidate(&keys[i], &keys[j]));

    let by_source = set.deduplicate(config, Some(&jobs), Order::SourceThenId)?;
    let mut orders = BTreeMap::new();
    orders.insert("creation_date", evaluation.overall.clone());
    orders.insert(
        "source_then_id",
        evaluate(&labelled(&|i| cluster_of(&by_source, i)), &|i, j| {
            by_source.was_candidate(&keys[i], &keys[j])
        })
        .overall,
    );
    drop(by_source);

    let mut peers = BTreeMap::new();
    let all_proposed = |_: usize, _: usize| true;
    let ids = peers::postal_code_and_title(&set.offers, PEER_THRESHOLD);
    peers.insert(
        "postal_code_title_dice",
        evaluate(&labelled(&|i| ids[i]), &all_proposed),
    );
    let ids = peers::minhash_jaccard(&set.offers, PEER_THRESHOLD);
    peers.insert(
        "minhash_jaccard",
        evaluate(&labelled(&|i| ids[i]), &all_proposed),
    );

    let report = Report {
        evaluation,
        orders,
        peers,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, seconds);
        print_errors(&dedup, &keys, &by_date, args.show_errors);
    }
    Ok(ExitCode::SUCCESS)
}

/// Missed pairs (same job, two clusters) counted by the rule that separates them, and false
/// merges (two jobs, one cluster), with examples.
fn print_errors(dedup: &Deduplicator, keys: &[String], labelled: &[Labelled], examples: usize) {
    if examples == 0 {
        return;
    }
    let mut by_job: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut by_cluster: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, l) in labelled.iter().enumerate() {
        by_job.entry(l.job).or_default().push(i);
        by_cluster.entry(l.predicted).or_default().push(i);
    }
    let describe = |i: usize, j: usize| {
        let (a, b) = (
            dedup.record(&keys[i]).expect("held"),
            dedup.record(&keys[j]).expect("held"),
        );
        let comparison = dedup.compare(a, b);
        let rule = comparison
            .failed_rule()
            .map_or_else(|| "none".to_owned(), |r| r.to_string());
        let lines: Vec<String> = comparison
            .explain(a, b)
            .into_iter()
            .map(|(rule, outcome, detail)| format!("      {rule}: {outcome:?}: {detail}"))
            .collect();
        (
            rule,
            format!(
                "  {} / {} [{}; {} / {}]\n{}",
                keys[i],
                keys[j],
                labelled[i].family,
                labelled[i].operator,
                labelled[j].operator,
                lines.join("\n")
            ),
        )
    };
    let mut missed: std::collections::BTreeMap<String, (usize, Vec<String>)> = Default::default();
    for members in by_job.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let unproposed = !dedup.was_candidate(&keys[i], &keys[j]);
                let apart = labelled[i].predicted != labelled[j].predicted;
                if !unproposed && !apart {
                    continue;
                }
                let (rule, text) = describe(i, j);
                let mut count = |category: String| {
                    let entry = missed.entry(category).or_default();
                    entry.0 += 1;
                    if entry.1.len() < examples {
                        entry.1.push(text.clone());
                    }
                };
                if unproposed {
                    count("never proposed by blocking".into());
                }
                if apart {
                    count(rule);
                }
            }
        }
    }
    println!("\nmissed pairs by deciding rule (and true pairs blocking never proposed):");
    for (rule, (count, texts)) in &missed {
        println!("- {rule}: {count}");
        for text in texts {
            println!("{text}");
        }
    }
    println!("\nfalse merges:");
    let mut shown = 0;
    for members in by_cluster.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if labelled[i].job != labelled[j].job && shown < examples {
                    shown += 1;
                    println!("{}", describe(i, j).1);
                }
            }
        }
    }
}

fn read_labelled(offres: &Path, truth: &Path) -> anyhow::Result<(Vec<Value>, Vec<Truth>)> {
    let mut by_id: HashMap<String, Truth> = HashMap::new();
    let mut jobs: HashMap<String, u64> = HashMap::new();
    let mut groups: HashMap<String, u64> = HashMap::new();
    let file = File::open(truth).with_context(|| format!("cannot read `{}`", truth.display()))?;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, job, ref rest @ ..] = fields[..] else {
            bail!(
                "{}:{}: expected `id<TAB>job`, found `{line}`",
                truth.display(),
                n + 1
            );
        };
        let next = jobs.len() as u64;
        let job = *jobs.entry(job.to_owned()).or_insert(next);
        let family = rest.first().copied().unwrap_or_default().to_owned();
        let lookalike_group = rest.get(1).filter(|g| !g.is_empty()).map(|g| {
            let next = groups.len() as u64;
            *groups.entry((*g).to_owned()).or_insert(next)
        });
        let operator = rest.get(2).copied().unwrap_or_default().to_owned();
        by_id.insert(
            id.to_owned(),
            Truth {
                job,
                family,
                lookalike_group,
                operator,
            },
        );
    }
    let mut records = Vec::new();
    let mut truths = Vec::new();
    for (line, offre) in read_offres(offres)? {
        let id = offre["id"].as_str().unwrap_or_default().to_owned();
        let Some(truth) = by_id.get(&id) else {
            eprintln!(
                "warning: `{id}` ({}:{line}) has no truth: left out",
                offres.display()
            );
            continue;
        };
        truths.push(truth.clone());
        records.push(offre);
    }
    Ok((records, truths))
}

/// The `Offre` objects of a JSON-lines file, each with its line number (blank lines skipped).
fn read_offres(path: &Path) -> anyhow::Result<Vec<(usize, Value)>> {
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut offres = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let offre: Value = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a JSON object", path.display(), n + 1))?;
        offres.push((n + 1, offre));
    }
    Ok(offres)
}

fn print_report(report: &Report, seconds: f64) {
    let evaluation = &report.evaluation;
    let o = &evaluation.overall;
    println!(
        "{} records, {} true jobs, {} clusters (deduplicated in {seconds:.2} s)",
        o.records, o.true_jobs, o.predicted_clusters
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11}",
        "",
        "pair P",
        "pair R",
        "pair F1",
        "B³ P",
        "B³ R",
        "B³ F1",
        "lookalike",
        "blocking",
        "jobs error"
    );
    let row = |name: &str, s: &Scores| {
        println!(
            "{name:<22} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>10.4} {:>9.4} {:>+11.4}",
            s.pairwise_precision,
            s.pairwise_recall,
            s.pairwise_f1,
            s.bcubed_precision,
            s.bcubed_recall,
            s.bcubed_f1,
            s.lookalike_false_merge_rate,
            s.blocking_pair_completeness,
            s.distinct_jobs_error
        )
    };
    row("overall", o);
    for (family, scores) in &evaluation.families {
        row(family, scores);
    }
    println!("\nby placing order (overall):");
    for (order, scores) in &report.orders {
        row(order, scores);
    }
    println!("\npeers (overall, the same records):");
    for (peer, peer_evaluation) in &report.peers {
        row(peer, &peer_evaluation.overall);
    }
    if evaluation.operators.is_empty() {
        return;
    }
    let names: Vec<&str> = report.peers.keys().copied().collect();
    println!(
        "\ncopies found in their original's cluster, by copy operator: all, then copies of jobs \
         with no lookalike (relais), then all ({}):",
        names.join(", ")
    );
    for (operator, recall) in &evaluation.operators {
        let peers: Vec<String> = report
            .peers
            .values()
            .map(|p| {
                p.operators
                    .get(operator)
                    .map_or_else(|| "-".into(), |r| format!("{:.4}", r.recall))
            })
            .collect();
        println!(
            "{operator:<18} {:>6} copies {:>9.4} {:>6} copies {:>9.4} {}",
            recall.copies,
            recall.recall,
            recall.unambiguous_copies,
            recall.unambiguous_recall,
            peers.iter().map(|p| format!("{p:>9}")).collect::<String>()
        );
    }
}

async fn explain(config_path: Option<&Path>, args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let mut dedup = Deduplicator::new(config.dedup.clone())?;
    let (a, b, trust) = match &args.offres {
        Some(path) => {
            let offres: Vec<Value> = read_offres(path)?.into_iter().map(|(_, o)| o).collect();
            let (set, _) = OffreSet::normalise(&offres, Utc::now());
            for offer in &set.offers {
                dedup.observe(offer);
            }
            let find = |id: &str| {
                set.offers
                    .iter()
                    .position(|o| o.key.source_offer_id() == id || o.key.to_string() == id)
                    .with_context(|| format!("no offer `{id}` in `{}`", path.display()))
            };
            let (i, j) = (find(&args.a)?, find(&args.b)?);
            (
                set.offers[i].clone(),
                set.offers[j].clone(),
                (set.trust[i], set.trust[j]),
            )
        }
        None => {
            let (store, _) = pipeline::open(&config).await?;
            let load = |key: String| {
                let store = &store;
                async move {
                    let parsed = OfferKey::parse(&key)
                        .with_context(|| format!("`{key}` is not an offer key `source:id`"))?;
                    store
                        .offer(&parsed)
                        .await?
                        .with_context(|| format!("no offer `{key}` in the store"))
                }
            };
            let a = load(args.a.clone()).await?;
            let b = load(args.b.clone()).await?;
            store
                .for_each_active_offer(|offer| dedup.observe(&offer))
                .await?;
            store.close().await;
            let rank = |o: &Offer| config.trust_rank(o.key.source());
            let trust = (rank(&a), rank(&b));
            (a, b, trust)
        }
    };
    let (x, y) = (dedup.extract(&a, trust.0), dedup.extract(&b, trust.1));
    let comparison = dedup.compare(&x, &y);
    let same = comparison.same_job();
    if args.json {
        let report = serde_json::json!({
            "a": a.key.to_string(),
            "b": b.key.to_string(),
            "same_job": same,
            "failed_rule": comparison.failed_rule().map(|r| r.to_string()),
            "comparison": comparison,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("A {}: {}", a.key, a.title);
    println!("B {}: {}", b.key, b.title);
    for (rule, outcome, detail) in comparison.explain(&x, &y) {
        let mark = match outcome {
            Outcome::Same => "same",
            Outcome::Unknown => "unknown",
            Outcome::Different => "DIFFERENT",
        };
        println!("  {:<13} {mark:<9} {detail}", rule.to_string());
    }
    match comparison.failed_rule() {
        None if same => println!("=> the same job"),
        Some(rule) => println!("=> two jobs: rule `{rule}` says they differ"),
        None => println!("=> two jobs"),
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create `{}`", args.out.display()))?;
    let mut offres = BufWriter::new(File::create(args.out.join("offres.jsonl"))?);
    let mut truth = BufWriter::new(File::create(args.out.join("truth.tsv"))?);
    DedupBenchmark::new(args.seed).write(args.records, &mut offres, &mut truth)?;
    offres.flush()?;
    truth.flush()?;
    println!(
        "wrote {} and {}",
        args.out.join("offres.jsonl").display(),
        args.out.join("truth.tsv").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn reshape(args: ReshapeArgs) -> anyhow::Result<ExitCode> {
    let mut offres = Vec::new();
    for (line, offre) in read_offres(&args.offres)? {
        if offre["id"].as_str().is_none() {
            bail!(
                "{}:{line}: an `Offre` needs a string `id`",
                args.offres.display()
            );
        }
        offres.push(offre);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create `{}`", args.out.display()))?;
    let mut out = BufWriter::new(File::create(args.out.join("offres.jsonl"))?);
    let mut truth = BufWriter::new(File::create(args.out.join("truth.tsv"))?);
    let written = relais_fixtures::write_reshaped(&offres, args.seed, &mut out, &mut truth)?;
    out.flush()?;
    truth.flush()?;
    println!(
        "wrote {written} records of {} jobs to {} and {}",
        offres.len(),
        args.out.join("offres.jsonl").display(),
        args.out.join("truth.tsv").display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn clusters(config_path: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let (store, _) = pipeline::open(&config).await?;
    let dedup = pipeline::deduplicate(&config, &store).await?;
    store.close().await;
    let mut shown = 0;
    for cluster in dedup.clusters().filter(|c| c.members.len() > 1) {
        shown += 1;
        let others: Vec<&str> = cluster
            .members
            .iter()
            .map(|m| &*m.key)
            .filter(|key| *key != &*cluster.canonical.key)
            .collect();
        if json {
            let links: Vec<Value> = cluster
                .links
                .iter()
                .map(|(a, b, reason)| {
                    serde_json::json!({
                        "a": a,
                        "b": b,
                        "employer": reason.employer,
                        "place": reason.place,
                        "title_similarity": reason.title_similarity,
                        "jaccard": reason.jaccard,
                        "containment": reason.containment,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "canonical": &*cluster.canonical.key,
                    "also_published_on": others,
                    "links": links,
                })
            );
        } else {
            println!("{} (shown)", cluster.canonical.key);
            for (a, b, reason) in &cluster.links {
                println!(
                    "  {a} = {b}: employer {:?}, place {:?}, title {:.2}, Jaccard {:.2}, containment {:.2}",
                    reason.employer,
                    reason.place,
                    reason.title_similarity,
                    reason.jaccard,
                    reason.containment
                );
            }
        }
    }
    if !json {
        println!(
            "{shown} jobs published more than once, {} offers, {} jobs",
            dedup.len(),
            dedup.cluster_count()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
