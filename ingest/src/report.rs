//! The report of one run of a source, as `relais sync --json` prints it.

use std::collections::BTreeMap;

use serde::Serialize;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunReportOutcome {
    /// Everything was read; withdrawals (for a full sweep) were applied.
    Complete,
    /// The snapshot was read but cannot be trusted (cut, malformed, or shrunk too much): nothing
    /// was withdrawn and the last good offers stay.
    Quarantined,
    /// Something failed; nothing was withdrawn.
    Failed,
}

/// Counters and outcome of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Source id.
    pub source: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// Stored run id.
    pub run_id: i64,
    /// Run resumed, when this run continued an interrupted one.
    pub resumed_from: Option<i64>,
    /// Outcome.
    pub outcome: RunReportOutcome,
    /// Records received.
    pub fetched: u64,
    /// New offers.
    pub new: u64,
    /// Offers whose content changed.
    pub changed: u64,
    /// Offers seen again unchanged.
    pub unchanged: u64,
    /// Withdrawn offers seen again.
    pub reactivated: u64,
    /// Offers withdrawn by this run.
    pub withdrawn: u64,
    /// Records that could not be keyed (no id) and were skipped.
    pub rejected: u64,
    /// The same offer accepted by two partitions of one sweep (partitions should be disjoint).
    pub duplicates: u64,
    /// The stock the source announced for the snapshot, when known.
    pub expected: Option<u64>,
    /// Data-quality warnings by kind.
    pub warnings: BTreeMap<String, u64>,
    /// Remarks on the whole feed (a mapped path that matched no record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Partitions that failed.
    pub failed_partitions: Vec<String>,
    /// Why the run failed.
    pub error: Option<String>,
    /// Why the snapshot was quarantined.
    pub quarantine_reason: Option<String>,
    /// Distinct offers in the snapshot (partner feeds).
    pub offers: Option<u64>,
    /// Distinct offers in the last good snapshot (partner feeds).
    pub last_good_offers: Option<u64>,
    /// The source said its feed had not changed since the last good snapshot.
    pub not_modified: bool,
    /// Nothing was written: the counts say what a real run would have done.
    pub dry_run: bool,
    /// HTTP calls made to the source (token calls excluded).
    pub requests: u64,
    /// Wall-clock duration.
    pub seconds: f64,
}
