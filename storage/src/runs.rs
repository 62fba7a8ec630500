//! Runs of a source: what kind, when, how far (cursor), with what outcome.

use chrono::{DateTime, Utc};
use relais_model::SourceId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{StorageError, Store, from_millis, millis};

/// A full sweep or an incremental sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Reads the whole stock; may withdraw what it did not see.
    Full,
    /// Reads what changed since the last run; never withdraws by absence.
    Incremental,
}

impl RunKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Full => "full",
            RunKind::Incremental => "incremental",
        }
    }

    fn parse(value: &str) -> Self {
        if value == "full" {
            RunKind::Full
        } else {
            RunKind::Incremental
        }
    }
}

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Still going, or killed before it could say otherwise.
    Running,
    /// Covered everything it meant to cover.
    Complete,
    /// Some partition or step failed; withdrew nothing.
    Failed,
    /// Read a snapshot that could not be trusted; withdrew nothing.
    Quarantined,
    /// Found `running` by a later run of the same source: its process died.
    Abandoned,
}

impl RunOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Complete => "complete",
            RunOutcome::Failed => "failed",
            RunOutcome::Quarantined => "quarantined",
            RunOutcome::Abandoned => "abandoned",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "complete" => RunOutcome::Complete,
            "failed" => RunOutcome::Failed,
            "quarantined" => RunOutcome::Quarantined,
            "abandoned" => RunOutcome::Abandoned,
            _ => RunOutcome::Running,
        }
    }
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Run id.
    pub id: i64,
    /// Source id.
    pub source: String,
    /// Full or incremental.
    pub kind: RunKind,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The instant the stock is read as of (offers created later belong to the next run).
    pub snapshot_at: DateTime<Utc>,
    /// Last commit of the run.
    pub heartbeat_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Outcome.
    pub outcome: RunOutcome,
    /// Partitions that failed.
    pub failed_partitions: Vec<String>,
    /// Counters.
    pub counts: serde_json::Value,
    /// Progress, committed with the offers it covers.
    pub cursor: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
}

const RUN_COLUMNS: &str = "id, source, kind, started_at, snapshot_at, heartbeat_at, finished_at, outcome, failed_partitions, counts, cursor, error";

fn parse_json(what: &str, text: &str) -> Result<serde_json::Value, StorageError> {
    serde_json::from_str(text).map_err(|source| StorageError::CorruptDocument {
        what: what.to_owned(),
        source,
    })
}

fn run_from_row<R: Row>(row: &R) -> Result<RunRecord, StorageError>
where
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let failed: String = row.try_get("failed_partitions")?;
    let failed_partitions =
        serde_json::from_str(&failed).map_err(|source| StorageError::CorruptDocument {
            what: "runs.failed_partitions".into(),
            source,
        })?;
    let cursor: Option<String> = row.try_get("cursor")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        kind: RunKind::parse(row.try_get("kind")?),
        started_at: from_millis(row.try_get("started_at")?),
        snapshot_at: from_millis(row.try_get("snapshot_at")?),
        heartbeat_at: from_millis(row.try_get("heartbeat_at")?),
        finished_at: row
            .try_get::<Option<i64>, _>("finished_at")?
            .map(from_millis),
        outcome: RunOutcome::parse(row.try_get("outcome")?),
        failed_partitions,
        counts: parse_json("runs.counts", row.try_get("counts")?)?,
        cursor: cursor.map(|c| parse_json("runs.cursor", &c)).transpose()?,
        error: row.try_get("error")?,
    })
}

impl Store {
    /// Records the start of a run and returns its id.
    pub async fn start_run(
        &self,
        source: &SourceId,
        kind: RunKind,
        started_at: DateTime<Utc>,
        snapshot_at: DateTime<Utc>,
    ) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
            "INSERT INTO runs (source, kind, started_at, snapshot_at, heartbeat_at, outcome) VALUES ($1, $2, $3, $4, $3, 'running') RETURNING id",
        )
        .bind(source.as_str())
        .bind(kind.as_str())
        .bind(millis(started_at))
        .bind(millis(snapshot_at))
        .fetch_one(pool)
        .await?;
            Ok(row.try_get("id")?)
        })
    }

    /// Ends a run.
    pub async fn finish_run(
        &self,
        run_id: i64,
        outcome: RunOutcome,
        failed_partitions: &[String],
        counts: &serde_json::Value,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            let now = millis(Utc::now());
            let result = sqlx::query(
            "UPDATE runs SET outcome = $1, failed_partitions = $2, counts = $3, error = $4, finished_at = $5, heartbeat_at = $5 WHERE id = $6",
        )
        .bind(outcome.as_str())
        .bind(serde_json::to_string(failed_partitions).expect("strings serialise"))
        .bind(counts.to_string())
        .bind(error)
        .bind(now)
        .bind(run_id)
        .execute(pool)
        .await?;
            if result.rows_affected() == 0 {
                return Err(StorageError::UnknownRun(run_id));
            }
            Ok(())
        })
    }

    /// Replaces the cursor of a run (for a run whose last step is not a batch commit).
    pub async fn set_run_cursor(
        &self,
        run_id: i64,
        cursor: &serde_json::Value,
    ) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            let result = sqlx::query("UPDATE runs SET cursor = $1 WHERE id = $2")
                .bind(cursor.to_string())
                .bind(run_id)
                .execute(pool)
                .await?;
            if result.rows_affected() == 0 {
                return Err(StorageError::UnknownRun(run_id));
            }
            Ok(())
        })
    }

    /// Marks the source's runs still `running` as abandoned; call it while holding the source's
    /// run lock, when no other run of the source can be alive. Returns the abandoned runs.
    pub async fn abandon_running_runs(
        &self,
        source: &SourceId,
    ) -> Result<Vec<RunRecord>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(&format!(
            "UPDATE runs SET outcome = 'abandoned', finished_at = heartbeat_at WHERE source = $1 AND outcome = 'running' RETURNING {RUN_COLUMNS}"
        ))
        .bind(source.as_str())
        .fetch_all(pool)
        .await?;
            rows.iter().map(run_from_row).collect()
        })
    }

    /// The run with this id.
    pub async fn run(&self, run_id: i64) -> Result<RunRecord, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
                .bind(run_id)
                .fetch_optional(pool)
                .await?
                .ok_or(StorageError::UnknownRun(run_id))?;
            run_from_row(&row)
        })
    }

    /// How many runs each source has had, by outcome (`running`, `complete`…), as
    /// `(source, outcome, runs)`.
    pub async fn run_counts(&self) -> Result<Vec<(String, String, i64)>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT source, outcome, COUNT(*) AS runs FROM runs GROUP BY source, outcome \
             ORDER BY source, outcome",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("source")?,
                        row.try_get("outcome")?,
                        row.try_get("runs")?,
                    ))
                })
                .collect()
        })
    }

    /// The latest run of a source, of any kind when `kind` is `None`, optionally only with the given outcome.
    pub async fn latest_run(
        &self,
        source: &SourceId,
        kind: Option<RunKind>,
        outcome: Option<RunOutcome>,
    ) -> Result<Option<RunRecord>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE source = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR outcome = $3) ORDER BY id DESC LIMIT 1"
        ))
        .bind(source.as_str())
        .bind(kind.map(RunKind::as_str))
        .bind(outcome.map(RunOutcome::as_str))
        .fetch_optional(pool)
        .await?;
            row.as_ref().map(run_from_row).transpose()
        })
    }
}
