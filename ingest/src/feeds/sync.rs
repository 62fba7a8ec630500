//! A run of a partner feed, with snapshot semantics: the feed is the board's complete list.
//!
//! 1. fetch, conditionally on the validators of the last good snapshot (unchanged: done);
//! 2. read and normalise the records on a blocking thread, streaming batches to the store (each
//!    batch committed with the run's progress);
//! 3. judge the snapshot: cut or malformed, or more than `max_shrink` smaller than the last good
//!    one → **quarantined**: nothing is withdrawn, the last good offers stay; otherwise
//!    **complete**: the offers of the source this run did not see are withdrawn (reversibly).
//!
//! A dry run reads and judges the same way but writes nothing; its counts say what a run would do.
//! The caller must hold the source's run lock.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use relais_model::{ContractKind, Offer, SourceId, WarningKind};
use relais_storage::{BatchOutcome, IncomingRecord, RunKind, RunOutcome, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::config::{FeedFormat, FeedSourceConfig};
use super::fetch::{Fetched, Validators, fetch};
use super::input::with_feed_reader;
use super::jsonld::JsonLdReader;
use super::normalise::{NormaliseOptions, Rejection, contract_kind_named, normalise_record};
use super::partner_csv::{self, PartnerCsvReader};
use super::record::RecordReader;
use super::record::{FeedError, ParsedItem};
use super::xml::XmlReaderSpec;
use crate::{IngestError, RunReport, RunReportOutcome};

/// Records per committed batch: each commit writes again the pages of the keys' B-trees it
/// touched, so larger batches write fewer bytes per offer (500: 10 800 offers/s into SQLite,
/// 2 000: 12 500–15 400/s, `relais bench feed --size-mb 250`); the reading thread keeps up
/// to two batches ahead (memory: issue 4's 1 GB feed must stay under 200 MB).
const BATCH_SIZE: usize = 2_000;

/// Rejections logged one by one per run; the rest are only counted.
const LOGGED_REJECTIONS: u64 = 20;

/// Everything needed to turn a feed file into offers, without the store: cheap to clone into a
/// blocking thread, and used alone by the benchmark.
#[derive(Debug, Clone)]
pub struct FeedReader {
    records: Arc<dyn RecordReader>,
    options: NormaliseOptions,
    encoding: Option<&'static encoding_rs::Encoding>,
    max_feed_bytes: u64,
}

/// One item read from a feed.
#[derive(Debug)]
pub enum ReadItem {
    /// A normalised offer and its raw payload.
    Offer(Box<Offer>, String),
    /// A record that cannot be an offer.
    Rejected(String),
    /// A remark on the whole feed (not a record).
    Notice(String),
}

impl FeedReader {
    /// The reader of a source's configuration.
    pub fn new(config: &FeedSourceConfig) -> Result<Self, IngestError> {
        config.validate_settings()?;
        let source = SourceId::parse(&config.id)
            .map_err(|e| IngestError::Config(format!("source `{}`: {e}", config.id)))?;
        let mut options = NormaliseOptions::new(source);
        options.max_description_bytes = config.limits.max_description_kb * 1024;
        let records = match &config.format {
            FeedFormat::Xml { .. } | FeedFormat::Rss { .. } => {
                let spec = XmlReaderSpec::from_format(&config.format)
                    .map_err(|e| IngestError::Config(format!("source `{}`: {e}", config.id)))?;
                let mapping = &spec.mapping;
                options.date_formats = mapping.date_formats.clone().unwrap_or_default();
                if let Some(zone) = &mapping.timezone {
                    options.timezone = zone.parse().map_err(|_| {
                        IngestError::Config(format!("source `{}`: unknown time zone", config.id))
                    })?;
                }
                options.contract_values = mapping
                    .contract_values
                    .iter()
                    .flatten()
                    .filter_map(|(label, family)| {
                        Some((label.to_lowercase(), contract_kind_named(family)?))
                    })
                    .collect();
                options.default_contract = mapping
                    .default_contract
                    .as_deref()
                    .and_then(contract_kind_named);
                Arc::new(spec) as Arc<dyn RecordReader>
            }
            FeedFormat::JsonLd => Arc::new(JsonLdReader),
            FeedFormat::FranceTravailPartner => {
                options.date_formats = vec![partner_csv::DATE_FORMAT.to_owned()];
                options.contract_values = BTreeMap::from([(
                    "cdd apprentissage".to_owned(),
                    ContractKind::Apprenticeship,
                )]);
                Arc::new(PartnerCsvReader)
            }
        };
        Ok(Self {
            records,
            options,
            encoding: config
                .encoding
                .as_deref()
                .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes())),
            max_feed_bytes: config.limits.max_feed_mb * 1024 * 1024,
        })
    }

    /// Reads and normalises every record of the feed file at `path`, as seen at `now`.
    pub fn read(
        &self,
        path: &Path,
        now: DateTime<Utc>,
        sink: &mut dyn FnMut(ReadItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        with_feed_reader(path, self.encoding, self.max_feed_bytes, |input| {
            self.read_stream(input, now, sink)
        })
    }

    /// Reads and normalises every record of an already decompressed UTF-8 stream.
    pub fn read_stream(
        &self,
        input: &mut dyn std::io::BufRead,
        now: DateTime<Utc>,
        sink: &mut dyn FnMut(ReadItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        let mut emit = |item: ParsedItem| match item {
            ParsedItem::Record(record) => match normalise_record(*record, &self.options, now) {
                Ok((offer, raw)) => sink(ReadItem::Offer(Box::new(offer), raw)),
                Err(Rejection { message }) => sink(ReadItem::Rejected(message)),
            },
            ParsedItem::Skipped { reason } => sink(ReadItem::Rejected(reason)),
            ParsedItem::Notice { message } => sink(ReadItem::Notice(message)),
        };
        self.records.read_records(input, &mut emit)
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedRunOptions {
    /// Write nothing; report what a run would do.
    pub dry_run: bool,
    /// Accept a snapshot that shrank more than `max_shrink` (the operator checked the board).
    pub accept_shrink: bool,
}

/// What a complete snapshot leaves for the next run, in the run's cursor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FeedCursor {
    validators: Validators,
    /// Records read so far.
    records: u64,
    /// Distinct offers of the snapshot, once it is judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offers: Option<u64>,
}

/// A partner feed bound to a store.
#[derive(Debug)]
pub struct FeedSource {
    config: FeedSourceConfig,
    reader: FeedReader,
    store: Store,
    source: SourceId,
    work_dir: PathBuf,
}

/// A batch on its way from the reading thread to the store.
#[derive(Debug, Default)]
struct Batch {
    records: Vec<IncomingRecord>,
    read: u64,
}

/// Counters of a run in progress.
#[derive(Debug, Default)]
struct Progress {
    fetched: u64,
    rejected: u64,
    outcome: BatchOutcome,
    warnings: BTreeMap<String, u64>,
    seen: HashSet<String>,
}

impl FeedSource {
    /// A source; downloads go to `work_dir`.
    pub fn new(
        config: FeedSourceConfig,
        store: Store,
        work_dir: PathBuf,
    ) -> Result<Self, IngestError> {
        let reader = FeedReader::new(&config)?;
        let source = SourceId::parse(&config.id)
            .map_err(|e| IngestError::Config(format!("source `{}`: {e}", config.id)))?;
        Ok(Self {
            config,
            reader,
            store,
            source,
            work_dir,
        })
    }

    /// Runs the source once, its logs in a `run` span (source, kind), as France Travail's runs.
    pub async fn run(&self, options: FeedRunOptions) -> Result<RunReport, IngestError> {
        use tracing::Instrument;
        let span = tracing::info_span!("run", source = %self.source, kind = "feed", dry_run = options.dry_run);
        self.run_once(options).instrument(span).await
    }

    async fn run_once(&self, options: FeedRunOptions) -> Result<RunReport, IngestError> {
        let clock = Instant::now();
        let started_at = Utc::now();
        let last_good = self
            .store
            .latest_run(
                &self.source,
                Some(RunKind::Full),
                Some(RunOutcome::Complete),
            )
            .await?;
        let last_cursor: Option<FeedCursor> = last_good
            .as_ref()
            .and_then(|run| run.cursor.clone())
            .and_then(|c| serde_json::from_value(c).ok());
        // After a quarantined snapshot, the store holds offers of a version newer than the last
        // good one: read the feed again even if it went back to that version.
        let last_quarantined = self
            .store
            .latest_run(&self.source, None, Some(RunOutcome::Quarantined))
            .await?;
        let quarantined_since = last_quarantined
            .as_ref()
            .is_some_and(|run| last_good.as_ref().is_none_or(|good| run.id > good.id));
        let previous_validators = last_cursor
            .as_ref()
            .filter(|_| !quarantined_since)
            .map(|c| c.validators.clone())
            .unwrap_or_default();
        let last_good_offers = last_cursor.as_ref().and_then(|c| c.offers);
        let run_id = if options.dry_run {
            0
        } else {
            self.store.abandon_running_runs(&self.source).await?;
            self.store
                .start_run(&self.source, RunKind::Full, started_at, started_at)
                .await?
        };
        let mut report = RunReport {
            notices: Vec::new(),
            source: self.config.id.clone(),
            kind: RunKind::Full.as_str().into(),
            run_id,
            resumed_from: None,
            outcome: RunReportOutcome::Failed,
            fetched: 0,
            new: 0,
            changed: 0,
            unchanged: 0,
            reactivated: 0,
            withdrawn: 0,
            rejected: 0,
            duplicates: 0,
            expected: None,
            warnings: BTreeMap::new(),
            failed_partitions: Vec::new(),
            error: None,
            quarantine_reason: None,
            offers: None,
            last_good_offers,
            not_modified: false,
            dry_run: options.dry_run,
            requests: 0,
            seconds: 0.0,
        };
        let limits = &self.config.limits;
        let fetched = fetch(
            &self.config.url,
            &previous_validators,
            &self.work_dir,
            Duration::from_secs(limits.timeout_seconds),
            limits.max_download_mb * 1024 * 1024,
        )
        .await;
        report.requests = u64::from(self.config.url.starts_with("http"));
        let cursor = match fetched {
            Err(error) => {
                report.error = Some(error.to_string());
                None
            }
            Ok(Fetched::NotModified) => {
                report.outcome = RunReportOutcome::Complete;
                report.not_modified = true;
                report.offers = last_good_offers;
                report.unchanged = last_good_offers.unwrap_or_default();
                last_cursor
            }
            Ok(Fetched::Feed(feed)) => {
                tracing::debug!(source = %self.source, bytes = feed.bytes, "feed fetched");
                let cursor = self
                    .read_snapshot(
                        &feed.path,
                        feed.validators.clone(),
                        run_id,
                        options,
                        &mut report,
                    )
                    .await;
                match cursor {
                    Ok(cursor) => cursor,
                    Err(error) => {
                        report.outcome = RunReportOutcome::Failed;
                        report.error = Some(error.to_string());
                        None
                    }
                }
            }
        };
        report.seconds = clock.elapsed().as_secs_f64();
        if !options.dry_run {
            if let Some(cursor) = &cursor {
                self.store
                    .set_run_cursor(
                        run_id,
                        &serde_json::to_value(cursor).expect("cursor serialises"),
                    )
                    .await?;
            }
            let stored = match report.outcome {
                RunReportOutcome::Complete => RunOutcome::Complete,
                RunReportOutcome::Quarantined => RunOutcome::Quarantined,
                RunReportOutcome::Failed => RunOutcome::Failed,
            };
            let counts = serde_json::to_value(&report).expect("report serialises");
            let why = report
                .error
                .as_deref()
                .or(report.quarantine_reason.as_deref());
            self.store
                .finish_run(run_id, stored, &[], &counts, why)
                .await?;
        }
        match report.outcome {
            RunReportOutcome::Complete => {
                tracing::info!(source = %self.source, fetched = report.fetched, new = report.new, changed = report.changed, withdrawn = report.withdrawn, not_modified = report.not_modified, "feed run complete")
            }
            RunReportOutcome::Quarantined => {
                tracing::warn!(source = %self.source, reason = report.quarantine_reason.as_deref().unwrap_or_default(), "feed snapshot quarantined: nothing withdrawn")
            }
            RunReportOutcome::Failed => {
                tracing::warn!(source = %self.source, error = report.error.as_deref().unwrap_or_default(), "feed run failed: nothing withdrawn")
            }
        }
        Ok(report)
    }

    /// Reads the snapshot at `path` into the store and judges it. Returns the cursor to keep when
    /// the snapshot is complete.
    async fn read_snapshot(
        &self,
        path: &Path,
        validators: Validators,
        run_id: i64,
        options: FeedRunOptions,
        report: &mut RunReport,
    ) -> Result<Option<FeedCursor>, IngestError> {
        let (sender, mut receiver) = mpsc::channel::<Batch>(2);
        let reading = {
            let reader = self.reader.clone();
            let path = path.to_owned();
            let source = self.source.clone();
            tokio::task::spawn_blocking(move || {
                let now = Utc::now();
                let mut batch = Batch::default();
                let mut rejected = 0_u64;
                let mut notices = Vec::new();
                let result = reader.read(&path, now, &mut |item| {
                    if let ReadItem::Notice(message) = item {
                        tracing::warn!(%source, %message, "feed mapping");
                        notices.push(message);
                        return Ok(());
                    }
                    batch.read += 1;
                    match item {
                        ReadItem::Offer(offer, raw_payload) => batch.records.push(IncomingRecord {
                            offer: *offer,
                            raw_payload,
                        }),
                        ReadItem::Rejected(reason) => {
                            rejected += 1;
                            if rejected <= LOGGED_REJECTIONS {
                                tracing::warn!(%source, %reason, "record rejected");
                            }
                        }
                        ReadItem::Notice(_) => {}
                    }
                    if batch.records.len() >= BATCH_SIZE {
                        sender
                            .blocking_send(std::mem::take(&mut batch))
                            .map_err(|_| FeedError::Stopped)?;
                    }
                    Ok(())
                });
                if !batch.records.is_empty() || batch.read > 0 {
                    // A closed channel means the store failed; that error is reported instead.
                    let _ = sender.blocking_send(batch);
                }
                (result, rejected, notices)
            })
        };
        let mut progress = Progress::default();
        let mut cursor = FeedCursor {
            validators,
            ..FeedCursor::default()
        };
        let mut store_error = None;
        while let Some(batch) = receiver.recv().await {
            progress.fetched += batch.read;
            for record in &batch.records {
                for warning in &record.offer.warnings {
                    *progress
                        .warnings
                        .entry(warning.kind.as_str().to_owned())
                        .or_default() += 1;
                }
                if options.dry_run {
                    progress
                        .seen
                        .insert(record.offer.key.source_offer_id().to_owned());
                }
            }
            cursor.records = progress.fetched;
            let outcome = if options.dry_run {
                self.store.preview_batch(&batch.records).await
            } else {
                let value = serde_json::to_value(&cursor).expect("cursor serialises");
                self.store
                    .commit_batch(run_id, &batch.records, &value, Utc::now())
                    .await
            };
            match outcome {
                Ok(outcome) => progress.outcome.add(outcome),
                Err(error) => {
                    store_error = Some(error);
                    break;
                }
            }
        }
        drop(receiver);
        let (result, rejected, notices) = reading
            .await
            .map_err(|e| IngestError::Client(format!("feed reading thread: {e}")))?;
        report.notices = notices;
        if let Some(error) = store_error {
            return Err(error.into());
        }
        progress.rejected = rejected;
        if rejected > 0 {
            progress
                .warnings
                .insert(WarningKind::RejectedRecord.as_str().to_owned(), rejected);
        }
        let offers = if options.dry_run {
            progress.seen.len() as u64
        } else {
            self.store
                .count_offers_seen_by_run(&self.source, run_id)
                .await?
        };
        report.fetched = progress.fetched;
        report.new = progress.outcome.new;
        report.changed = progress.outcome.changed;
        report.unchanged = progress.outcome.unchanged;
        report.reactivated = progress.outcome.reactivated;
        report.rejected = progress.rejected;
        report.duplicates = (progress.fetched - progress.rejected).saturating_sub(offers);
        report.warnings = progress.warnings;
        report.offers = Some(offers);

        let quarantine = match result {
            Err(error) => Some(error.to_string()),
            Ok(()) => self.shrink_verdict(offers, report.last_good_offers, options),
        };
        if let Some(reason) = quarantine {
            report.outcome = RunReportOutcome::Quarantined;
            report.quarantine_reason = Some(reason);
            return Ok(None);
        }
        report.outcome = RunReportOutcome::Complete;
        report.withdrawn = if options.dry_run {
            let active = self.store.active_offer_ids(&self.source).await?;
            active
                .iter()
                .filter(|id| !progress.seen.contains(*id))
                .count() as u64
        } else {
            let started = self.store.run(run_id).await?.started_at;
            self.store
                .withdraw_offers_missing_from_complete_sweep(
                    &self.source,
                    run_id,
                    started,
                    Utc::now(),
                )
                .await?
                .len() as u64
        };
        cursor.offers = Some(offers);
        Ok(Some(cursor))
    }

    /// Why a snapshot of `offers` offers cannot be trusted after a good one of `last_good`.
    fn shrink_verdict(
        &self,
        offers: u64,
        last_good: Option<u64>,
        options: FeedRunOptions,
    ) -> Option<String> {
        let last_good = last_good.filter(|n| *n > 0)?;
        let floor = (1.0 - self.config.max_shrink) * last_good as f64;
        if options.accept_shrink || offers as f64 >= floor {
            return None;
        }
        Some(format!(
            "the snapshot has {offers} offers against {last_good} in the last good one (−{:.0} %, more than the {:.0} % allowed); run with --accept-shrink if the board really shrank",
            100.0 * (1.0 - offers as f64 / last_good as f64),
            100.0 * self.config.max_shrink
        ))
    }
}
