//! Runs of the France Travail source against the store.
//!
//! A **full sweep** reads the stock as of a snapshot second in three steps:
//!
//! 1. national creation-date windows ([`super::harvest`]), each committed with the cursor of the
//!    next window, so that a killed sweep resumes where it stopped (same snapshot);
//! 2. a check by département: for each group of five départements the API's count is compared
//!    with the offers the sweep saw there; a group short of offers is read again as a partition
//!    of its own; a group whose calls fail is split to name the failing département;
//! 3. a coverage check: the offers seen must account for the national total.
//!
//! Only a sweep where every step succeeded withdraws the offers it did not see. An **incremental
//! sync** reads the windows created since the last complete run, with an overlap, and never
//! withdraws. A **detail check** withdraws the offers whose detail answers 204.
//!
//! The caller must hold the source's run lock: runs found `running` are taken as dead.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use relais_model::{OfferKey, SourceId};
use relais_storage::{BatchOutcome, IncomingRecord, RunKind, RunOutcome, Store};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{Notify, mpsc};
use tracing::Instrument;

use super::client::FranceTravailClient;
use super::harvest::{WindowError, WindowReader, departement_groups, offer_id, to_second};
use super::normalise::normalise_offer;
use super::wire::{SearchQuery, api_date};
use crate::{IngestError, RunReport, RunReportOutcome};

/// The id of this source.
pub const SOURCE_ID: &str = "francetravail";

/// Earliest creation date a full sweep asks for.
const FULL_SWEEP_FLOOR: &str = "2000-01-01T00:00:00Z";

/// Tunables of the runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// A killed full sweep younger than this is resumed rather than restarted.
    pub resume_within: Duration,
    /// An incremental sync re-reads this much before the last complete run's snapshot.
    pub incremental_overlap: Duration,
    /// Without any complete run, an incremental sync reads this far back.
    pub incremental_initial: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            resume_within: Duration::from_secs(6 * 3600),
            incremental_overlap: Duration::from_secs(3600),
            incremental_initial: Duration::from_secs(24 * 3600),
        }
    }
}

/// Where a run stands; committed with the offers it covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum SweepCursor {
    /// Reading creation-date windows; the next one ends at `window_max`.
    Windows {
        window_max: DateTime<Utc>,
        expected: Option<u64>,
    },
    /// All windows read; checking by département.
    Check { expected: Option<u64> },
}

/// The cursor as committed: where the run stands, and since when the sweep has been reading (a
/// resumed sweep keeps the start of the sweep it continues). "Seen by this sweep" means "seen
/// since `since`": runs of a source never overlap (the caller holds its lock).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CommittedCursor {
    since: DateTime<Utc>,
    #[serde(flatten)]
    position: SweepCursor,
}

fn cursor_value(since: DateTime<Utc>, position: &SweepCursor) -> serde_json::Value {
    let committed = CommittedCursor {
        since,
        position: position.clone(),
    };
    serde_json::to_value(committed).expect("cursor serialises")
}

/// The France Travail source bound to a store.
#[derive(Debug)]
pub struct FranceTravailSource {
    client: Arc<FranceTravailClient>,
    store: Store,
    source: SourceId,
    options: SyncOptions,
}

/// What committing batches produced.
#[derive(Debug, Default)]
struct CommitStats {
    batches: BatchOutcome,
    rejected: u64,
    warnings: BTreeMap<String, u64>,
}

impl CommitStats {
    fn add(&mut self, other: CommitStats) {
        self.batches.add(other.batches);
        self.rejected += other.rejected;
        for (kind, n) in other.warnings {
            *self.warnings.entry(kind).or_default() += n;
        }
    }
}

/// Where `read_windows` hands what it reads.
struct WindowsOut<'a> {
    /// Stores each window read, with the cursor of the next one.
    committer: &'a Committer,
    /// Told when the pages of what should be the last window are sent (the sweep's counts go
    /// out right behind them).
    last_window: Arc<Notify>,
}

/// Counters of a run in progress.
#[derive(Debug, Default)]
struct Progress {
    committed: CommitStats,
    fetched: u64,
    duplicates: u64,
    withdrawn: u64,
    failed_partitions: Vec<String>,
    errors: Vec<String>,
    accepted: HashSet<String>,
}

impl Progress {
    /// Keeps the offers not accepted before; counts the others as duplicates when asked.
    fn accept(&mut self, offers: Vec<Box<RawValue>>, count_duplicates: bool) -> Vec<Box<RawValue>> {
        self.fetched += offers.len() as u64;
        let mut unique = Vec::with_capacity(offers.len());
        for offer in offers {
            if self.accepted.insert(offer_id(&offer)) {
                unique.push(offer);
            } else if count_duplicates {
                self.duplicates += 1;
            }
        }
        unique
    }

    fn fail(&mut self, partition: String, error: impl std::fmt::Display) {
        tracing::warn!(%partition, %error, "partition failed");
        self.errors.push(format!("{partition}: {error}"));
        self.failed_partitions.push(partition);
    }
}

impl FranceTravailSource {
    /// Binds a client to a store.
    pub fn new(client: FranceTravailClient, store: Store, options: SyncOptions) -> Self {
        Self {
            client: Arc::new(client),
            store,
            source: SourceId::parse(SOURCE_ID).expect("valid id"),
            options,
        }
    }

    fn requests_sent(&self) -> u64 {
        self.client
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The client, for its counters.
    pub fn client(&self) -> &FranceTravailClient {
        &self.client
    }

    /// Reads the whole stock and, if every part of the sweep succeeded, withdraws what it did not see.
    pub async fn run_full_sweep(&self) -> Result<RunReport, IngestError> {
        let span = tracing::info_span!("run", source = SOURCE_ID, kind = "full");
        self.full_sweep().instrument(span).await
    }

    /// Reads the offers created since the last complete run (with an overlap); withdraws nothing.
    pub async fn run_incremental_sync(&self) -> Result<RunReport, IngestError> {
        let span = tracing::info_span!("run", source = SOURCE_ID, kind = "incremental");
        self.incremental_sync().instrument(span).await
    }

    async fn full_sweep(&self) -> Result<RunReport, IngestError> {
        let started = Instant::now();
        let requests_before = self.requests_sent();
        let now = Utc::now();
        let abandoned = self.store.abandon_running_runs(&self.source).await?;
        let resumable = abandoned
            .into_iter()
            .filter(|run| run.kind == RunKind::Full && run.cursor.is_some())
            .filter(|run| {
                (now - run.snapshot_at)
                    .to_std()
                    .is_ok_and(|age| age < self.options.resume_within)
            })
            .max_by_key(|run| run.id);
        let (snapshot, since, cursor_start, resumed_from) = match resumable {
            Some(run) => {
                tracing::info!(run = run.id, "resuming an interrupted full sweep");
                let committed: Option<CommittedCursor> = run
                    .cursor
                    .clone()
                    .and_then(|c| serde_json::from_value(c).ok());
                let from_start = SweepCursor::Windows {
                    window_max: run.snapshot_at,
                    expected: None,
                };
                match committed {
                    Some(c) => (run.snapshot_at, c.since, c.position, Some(run.id)),
                    None => (run.snapshot_at, run.started_at, from_start, Some(run.id)),
                }
            }
            None => {
                let snapshot = to_second(now);
                (
                    snapshot,
                    now,
                    SweepCursor::Windows {
                        window_max: snapshot,
                        expected: None,
                    },
                    None,
                )
            }
        };
        let run_id = self
            .store
            .start_run(&self.source, RunKind::Full, now, snapshot)
            .await?;
        let mut progress = Progress::default();
        let floor: DateTime<Utc> = FULL_SWEEP_FLOOR.parse().expect("constant date");

        let committer = Committer::spawn(self.store.clone(), self.source.clone(), run_id);
        let base = SearchQuery {
            min_creation: Some(floor),
            ..SearchQuery::default()
        };
        // The counts that check the sweep go out right behind the last window's pages (the
        // client sends calls in order), so that their latency overlaps the window's.
        let last_window = Arc::new(Notify::new());
        let windows = async {
            let expected = match cursor_start {
                SweepCursor::Windows {
                    window_max,
                    expected,
                } => {
                    self.read_windows(
                        &base,
                        window_max,
                        expected,
                        since,
                        WindowsOut {
                            committer: &committer,
                            last_window: Arc::clone(&last_window),
                        },
                        &mut progress,
                    )
                    .await
                }
                SweepCursor::Check { expected } => expected,
            };
            last_window.notify_one();
            expected
        };
        let groups = departement_groups();
        let counts = async {
            last_window.notified().await;
            futures::join!(
                futures::future::join_all(
                    groups
                        .iter()
                        .map(|group| self.count(group, floor, snapshot))
                ),
                self.count(&[], floor, snapshot),
            )
        };
        let (expected, (group_counts, national)) = futures::join!(windows, counts);
        progress.committed.add(committer.finish().await?);
        if progress.failed_partitions.is_empty() {
            let counted = groups.into_iter().zip(group_counts).collect();
            self.check_by_departement(run_id, counted, snapshot, since, floor, &mut progress)
                .await?;
            if progress.failed_partitions.is_empty() {
                self.check_coverage(national, snapshot, since, floor, &mut progress)
                    .await?;
            }
        }
        if progress.failed_partitions.is_empty() {
            let withdrawn = self
                .store
                .withdraw_offers_missing_from_complete_sweep(
                    &self.source,
                    run_id,
                    since,
                    Utc::now(),
                )
                .await?;
            progress.withdrawn = withdrawn.len() as u64;
            tracing::info!(
                withdrawn = withdrawn.len(),
                "complete sweep applied withdrawals"
            );
        } else {
            tracing::warn!(failed = ?progress.failed_partitions, "incomplete sweep: nothing withdrawn");
        }
        self.finish(
            run_id,
            RunKind::Full,
            resumed_from,
            expected,
            progress,
            started,
            requests_before,
        )
        .await
    }

    async fn incremental_sync(&self) -> Result<RunReport, IngestError> {
        let started = Instant::now();
        let requests_before = self.requests_sent();
        let now = Utc::now();
        self.store.abandon_running_runs(&self.source).await?;
        let last_complete = self
            .store
            .latest_run(&self.source, None, Some(RunOutcome::Complete))
            .await?;
        let min = match &last_complete {
            Some(run) => {
                run.snapshot_at
                    - TimeDelta::from_std(self.options.incremental_overlap).unwrap_or_default()
            }
            None => now - TimeDelta::from_std(self.options.incremental_initial).unwrap_or_default(),
        };
        let snapshot = to_second(now);
        let run_id = self
            .store
            .start_run(&self.source, RunKind::Incremental, now, snapshot)
            .await?;
        let mut progress = Progress::default();
        let base = SearchQuery {
            min_creation: Some(to_second(min)),
            ..SearchQuery::default()
        };
        let committer = Committer::spawn(self.store.clone(), self.source.clone(), run_id);
        let last_window = Arc::new(Notify::new());
        self.read_windows(
            &base,
            snapshot,
            None,
            now,
            WindowsOut {
                committer: &committer,
                last_window,
            },
            &mut progress,
        )
        .await;
        progress.committed.add(committer.finish().await?);
        self.finish(
            run_id,
            RunKind::Incremental,
            None,
            None,
            progress,
            started,
            requests_before,
        )
        .await
    }

    /// Reads the windows of `base` from `window_max` down to its floor, handing each to the
    /// committer with the cursor of the next one; stops at the first window that fails (named in
    /// `progress`). Returns the total announced by the first window when `expected` was unknown.
    async fn read_windows(
        &self,
        base: &SearchQuery,
        mut window_max: DateTime<Utc>,
        mut expected: Option<u64>,
        since: DateTime<Utc>,
        out: WindowsOut<'_>,
        progress: &mut Progress,
    ) -> Option<u64> {
        let WindowsOut {
            committer,
            last_window,
        } = out;
        let mut reader = WindowReader::new(Arc::clone(&self.client)).signalling(last_window);
        loop {
            let read = match reader.read(base, window_max).await {
                Ok(read) => read,
                Err(error) => {
                    progress.fail(
                        format!("window maxCreationDate={}", api_date(window_max)),
                        error,
                    );
                    return expected;
                }
            };
            expected = expected.or(Some(read.total));
            let cursor = match read.next_max {
                Some(next) => SweepCursor::Windows {
                    window_max: next,
                    expected,
                },
                None => SweepCursor::Check { expected },
            };
            let offers = progress.accept(read.offers, true);
            // A committer that stopped reports its error from `finish`.
            if !committer.send(offers, cursor_value(since, &cursor)).await {
                return expected;
            }
            match read.next_max {
                Some(next) => window_max = next,
                None => return expected,
            }
        }
    }

    /// Asks the detail endpoint for each offer: refreshes those that exist, withdraws those
    /// that answer 204 (gone at the source).
    pub async fn check_offers(&self, ids: &[String]) -> Result<RunReport, IngestError> {
        let started = Instant::now();
        let requests_before = self.requests_sent();
        let now = Utc::now();
        let run_id = self
            .store
            .start_run(&self.source, RunKind::Incremental, now, to_second(now))
            .await?;
        let mut progress = Progress::default();
        for id in ids {
            let Ok(key) = OfferKey::new(self.source.clone(), id) else {
                progress.committed.rejected += 1;
                continue;
            };
            match self.client.offer_detail(id).await {
                Ok(Some(raw)) => {
                    progress.fetched += 1;
                    let cursor = cursor_value(now, &SweepCursor::Check { expected: None });
                    progress
                        .committed
                        .add(commit(&self.store, &self.source, run_id, vec![raw], cursor).await?);
                }
                Ok(None) => {
                    if self
                        .store
                        .withdraw_offer_gone_at_source(&key, Utc::now())
                        .await?
                    {
                        progress.withdrawn += 1;
                    }
                }
                Err(error) => progress.fail(format!("offer={id}"), error),
            }
        }
        self.finish(
            run_id,
            RunKind::Incremental,
            None,
            None,
            progress,
            started,
            requests_before,
        )
        .await
    }

    /// Compares the API's count of each département group with the offers seen there; reads a
    /// group again when it is short; isolates the départements whose calls fail.
    async fn check_by_departement(
        &self,
        run_id: i64,
        counted: Vec<(Vec<String>, Result<u64, IngestError>)>,
        snapshot: DateTime<Utc>,
        since: DateTime<Utc>,
        floor: DateTime<Utc>,
        progress: &mut Progress,
    ) -> Result<(), IngestError> {
        let seen = self.seen_by_departement(snapshot, since).await?;
        for (group, count) in counted {
            let seen_in = |codes: &[String]| {
                codes
                    .iter()
                    .map(|c| seen.get(&Some(c.clone())).copied().unwrap_or(0))
                    .sum::<u64>()
            };
            let mut to_read = Vec::new();
            let count = self
                .confirmed_count(count, seen_in(&group), &group, floor, snapshot)
                .await;
            match count {
                Ok(count) if count > seen_in(&group) => to_read.push(group.clone()),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(group = ?group, %error, "département group failed; checking its départements one by one");
                    for code in &group {
                        let single = vec![code.clone()];
                        match self.count(&single, floor, snapshot).await {
                            Ok(count) if count > seen_in(&single) => to_read.push(single),
                            Ok(_) => {}
                            Err(error) => progress.fail(format!("departement={code}"), error),
                        }
                    }
                }
            }
            for codes in to_read {
                tracing::warn!(departements = ?codes, "the sweep saw fewer offers than the api counts; reading them as a partition");
                if let Err(error) = self
                    .read_partition(run_id, &codes, floor, snapshot, since, progress)
                    .await
                {
                    progress.fail(format!("departement={}", codes.join(",")), error);
                }
            }
        }
        Ok(())
    }

    async fn read_partition(
        &self,
        run_id: i64,
        departements: &[String],
        floor: DateTime<Utc>,
        snapshot: DateTime<Utc>,
        since: DateTime<Utc>,
        progress: &mut Progress,
    ) -> Result<(), WindowError> {
        let base = SearchQuery {
            departements: departements.to_vec(),
            min_creation: Some(floor),
            ..SearchQuery::default()
        };
        let mut window_max = Some(snapshot);
        let mut reader = WindowReader::new(Arc::clone(&self.client));
        while let Some(max) = window_max {
            let read = reader.read(&base, max).await?;
            window_max = read.next_max;
            let fresh = progress.accept(read.offers, false);
            let cursor = cursor_value(since, &SweepCursor::Check { expected: None });
            let stats = commit(&self.store, &self.source, run_id, fresh, cursor)
                .await
                .map_err(WindowError::Call)?;
            progress.committed.add(stats);
        }
        Ok(())
    }

    /// Compares the API's national count (confirmed: [`Self::confirmed_count`]) with the offers
    /// the sweep saw.
    async fn check_coverage(
        &self,
        national: Result<u64, IngestError>,
        snapshot: DateTime<Utc>,
        since: DateTime<Utc>,
        floor: DateTime<Utc>,
        progress: &mut Progress,
    ) -> Result<(), IngestError> {
        let seen: u64 = self
            .seen_by_departement(snapshot, since)
            .await?
            .values()
            .sum();
        let national = self
            .confirmed_count(national, seen, &[], floor, snapshot)
            .await;
        match national {
            Ok(national) => {
                if seen < national {
                    progress.fail(
                        "coverage".into(),
                        format!("the sweep saw {seen} offers but the api counts {national} for the snapshot"),
                    );
                }
            }
            Err(error) => progress.fail("coverage".into(), error),
        }
        Ok(())
    }

    /// Offers seen by this sweep (since `since`) and created up to its snapshot second, by département.
    async fn seen_by_departement(
        &self,
        snapshot: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<Option<String>, u64>, IngestError> {
        Ok(self
            .store
            .count_offers_seen_since_by_departement(
                &self.source,
                since,
                snapshot + TimeDelta::seconds(1),
            )
            .await?)
    }

    /// A count taken while the sweep's last window was read (the counts go out right behind
    /// its pages: `WindowsOut::last_window`), confirmed: when it is above what the sweep saw, an
    /// offer of that window may have been withdrawn before its page was read, so it is taken
    /// once more before the sweep reads the partition again or fails its coverage.
    async fn confirmed_count(
        &self,
        early: Result<u64, IngestError>,
        seen: u64,
        departements: &[String],
        floor: DateTime<Utc>,
        snapshot: DateTime<Utc>,
    ) -> Result<u64, IngestError> {
        match early {
            Ok(count) if count > seen => self.count(departements, floor, snapshot).await,
            early => early,
        }
    }

    async fn count(
        &self,
        departements: &[String],
        floor: DateTime<Utc>,
        snapshot: DateTime<Utc>,
    ) -> Result<u64, IngestError> {
        let query = SearchQuery {
            range: (0, 0),
            departements: departements.to_vec(),
            min_creation: Some(floor),
            max_creation: Some(snapshot),
            ..SearchQuery::default()
        };
        Ok(self.client.search(&query).await?.total)
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        run_id: i64,
        kind: RunKind,
        resumed_from: Option<i64>,
        expected: Option<u64>,
        progress: Progress,
        started: Instant,
        requests_before: u64,
    ) -> Result<RunReport, IngestError> {
        let outcome = if progress.failed_partitions.is_empty() {
            RunReportOutcome::Complete
        } else {
            RunReportOutcome::Failed
        };
        let error = (!progress.errors.is_empty()).then(|| progress.errors.join("; "));
        let report = RunReport {
            notices: Vec::new(),
            source: SOURCE_ID.into(),
            kind: kind.as_str().into(),
            run_id,
            resumed_from,
            outcome,
            fetched: progress.fetched,
            new: progress.committed.batches.new,
            changed: progress.committed.batches.changed,
            unchanged: progress.committed.batches.unchanged,
            reactivated: progress.committed.batches.reactivated,
            withdrawn: progress.withdrawn,
            rejected: progress.committed.rejected,
            duplicates: progress.duplicates,
            expected,
            warnings: progress.committed.warnings,
            failed_partitions: progress.failed_partitions,
            error,
            quarantine_reason: None,
            offers: None,
            last_good_offers: None,
            not_modified: false,
            dry_run: false,
            requests: self.requests_sent() - requests_before,
            seconds: started.elapsed().as_secs_f64(),
        };
        let stored_outcome = match outcome {
            RunReportOutcome::Complete => RunOutcome::Complete,
            RunReportOutcome::Failed | RunReportOutcome::Quarantined => RunOutcome::Failed,
        };
        let counts = serde_json::to_value(&report).expect("report serialises");
        self.store
            .finish_run(
                run_id,
                stored_outcome,
                &report.failed_partitions,
                &counts,
                report.error.as_deref(),
            )
            .await?;
        tracing::info!(
            run_id,
            outcome = ?report.outcome, fetched = report.fetched, new = report.new, changed = report.changed,
            withdrawn = report.withdrawn, requests = report.requests, seconds = report.seconds, "run finished"
        );
        Ok(report)
    }
}

/// Commits windows in order on a task of its own, so that reading the next window overlaps
/// normalising and storing this one.
struct Committer {
    sender: mpsc::Sender<(Vec<Box<RawValue>>, serde_json::Value)>,
    task: tokio::task::JoinHandle<Result<CommitStats, IngestError>>,
}

impl Committer {
    fn spawn(store: Store, source: SourceId, run_id: i64) -> Self {
        let (sender, mut receiver) = mpsc::channel::<(Vec<Box<RawValue>>, serde_json::Value)>(2);
        let task = tokio::spawn(async move {
            let mut stats = CommitStats::default();
            while let Some((offers, cursor)) = receiver.recv().await {
                stats.add(commit(&store, &source, run_id, offers, cursor).await?);
            }
            Ok(stats)
        });
        Self { sender, task }
    }

    /// Queues a batch; `false` when the committer stopped (its error comes out of `finish`).
    async fn send(&self, offers: Vec<Box<RawValue>>, cursor: serde_json::Value) -> bool {
        self.sender.send((offers, cursor)).await.is_ok()
    }

    async fn finish(self) -> Result<CommitStats, IngestError> {
        drop(self.sender);
        self.task.await.expect("committer does not panic")
    }
}

/// Normalises raw offers off the async runtime and commits them with `cursor` in one transaction.
async fn commit(
    store: &Store,
    source: &SourceId,
    run_id: i64,
    offers: Vec<Box<RawValue>>,
    cursor: serde_json::Value,
) -> Result<CommitStats, IngestError> {
    let source = source.clone();
    let seen_at = Utc::now();
    let normalising = Instant::now();
    let (records, rejected) = tokio::task::spawn_blocking(move || {
        let mut records = Vec::with_capacity(offers.len());
        let mut rejected = Vec::new();
        for raw in offers {
            match normalise_offer(&source, raw.get(), seen_at) {
                Ok(offer) => records.push(IncomingRecord {
                    offer,
                    raw_payload: raw.get().to_owned(),
                }),
                Err(rejection) => rejected.push(rejection.reason),
            }
        }
        (records, rejected)
    })
    .await
    .expect("normalisation does not panic");
    let mut stats = CommitStats::default();
    for reason in rejected {
        tracing::warn!(error_code = "rejected_record", %reason, "skipping a record that cannot be keyed");
        stats.rejected += 1;
    }
    for record in &records {
        for warning in &record.offer.warnings {
            *stats
                .warnings
                .entry(warning.kind.as_str().to_owned())
                .or_default() += 1;
        }
    }
    let started = Instant::now();
    stats.batches = store
        .commit_batch(run_id, &records, &cursor, seen_at)
        .await?;
    tracing::debug!(
        offers = records.len(),
        store_ms = started.elapsed().as_millis() as u64,
        normalise_ms = (started - normalising).as_millis() as u64,
        "batch committed"
    );
    Ok(stats)
}
