//! `GET /v1/sources` (public): each source, its last complete run and how old it is, its active
//! offers, its licence and attribution; and the freshness duties (licence art. 5.2): a source not
//! updated for longer than its terms allow (France Travail: 24 hours) raises an alarm, and a
//! source whose stock has not been confirmed for longer than `max_staleness` (default 72 hours)
//! is withheld from every surface until it is again.
//!
//! What the store says is read every few seconds ([`crate::AppState::refresh_sources`]); ages are
//! computed at each request from the server's clock.

use std::sync::RwLock;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use relais_licence::SourceTerms;
use relais_model::SourceId;
use relais_storage::{RunKind, RunOutcome, StorageError, Store};
use serde::Serialize;

use crate::{ApiError, AppState};

/// How long a source's stock may go unconfirmed before it stops being published.
pub const DEFAULT_MAX_STALENESS_HOURS: i64 = 72;

/// What the store says of a source.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    /// Source id.
    pub id: String,
    /// Its active offers.
    pub active: u64,
    /// Its withdrawn offers (kept until the retention period ends).
    pub withdrawn: u64,
    /// Its last complete run, of any kind: the last time it was updated.
    pub last_complete_run: Option<DateTime<Utc>>,
    /// Its last complete run that read its whole stock (a full sweep, a feed's snapshot).
    pub last_confirmed: Option<DateTime<Utc>>,
}

impl SourceInfo {
    /// Reads a source's runs and counts.
    pub async fn read(store: &Store, id: &str) -> Result<Self, StorageError> {
        let mut info = Self {
            id: id.to_owned(),
            ..Self::default()
        };
        let Ok(source) = SourceId::parse(id) else {
            return Ok(info);
        };
        let complete = Some(RunOutcome::Complete);
        let last = store.latest_run(&source, None, complete).await?;
        let full = store
            .latest_run(&source, Some(RunKind::Full), complete)
            .await?;
        let counts = store.source_counts(&source).await?;
        (info.active, info.withdrawn) = (counts.active, counts.withdrawn);
        info.last_complete_run = last.and_then(|run| run.finished_at);
        info.last_confirmed = full.and_then(|run| run.finished_at);
        Ok(info)
    }

    /// Why its offers are withheld at `now`, when its stock was last confirmed longer than
    /// `max_staleness` ago (or never, while it has offers).
    pub fn stale_reason(&self, now: DateTime<Utc>, max_staleness: Duration) -> Option<String> {
        match self.last_confirmed {
            Some(at) if now - at > max_staleness => Some(format!(
                "stock last confirmed {} h ago, more than the {} h allowed",
                (now - at).num_hours(),
                max_staleness.num_hours()
            )),
            None if self.active > 0 => Some("stock never confirmed by a complete run".into()),
            _ => None,
        }
    }

    /// The source's status at `now` under its terms.
    pub fn status(
        &self,
        terms: &SourceTerms,
        now: DateTime<Utc>,
        max_staleness: Duration,
    ) -> SourceStatus {
        let age_hours = self
            .last_complete_run
            .map(|at| ((now - at).num_seconds() as f64 / 3600.0 * 100.0).round() / 100.0);
        let alarm = terms.refresh_hours.and_then(|hours| match age_hours {
            Some(age) if age <= f64::from(hours) => None,
            Some(age) => Some(format!(
                "last complete run {age:.1} h ago: the licence asks for an update at least every {hours} h"
            )),
            None => Some(format!(
                "no complete run yet: the licence asks for an update at least every {hours} h"
            )),
        });
        let withheld_reason = if terms.redistribution {
            self.stale_reason(now, max_staleness)
        } else {
            Some("its terms forbid redistribution".to_owned())
        };
        SourceStatus {
            id: terms.id.clone(),
            name: terms.name.clone(),
            last_complete_run: self.last_complete_run,
            age_hours,
            active: self.active,
            fresh: alarm.is_none(),
            alarm,
            published: withheld_reason.is_none(),
            withheld_reason,
            licence: terms.clone(),
        }
    }
}

/// The sources as last read from the store, and the staleness allowed.
#[derive(Debug)]
pub(crate) struct Sources {
    pub(crate) known: RwLock<Vec<SourceInfo>>,
    /// Offers hidden for an apply link gone (`source:id`).
    pub(crate) hidden: RwLock<std::collections::HashSet<String>>,
    /// Changes whenever `hidden` does: kept feed bodies depend on it.
    pub(crate) hidden_version: std::sync::atomic::AtomicU64,
    pub(crate) max_staleness: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            known: RwLock::default(),
            hidden: RwLock::default(),
            hidden_version: Default::default(),
            max_staleness: Duration::hours(DEFAULT_MAX_STALENESS_HOURS),
        }
    }
}

impl Sources {
    /// Reads each source's runs and counts.
    pub(crate) async fn refresh<'a>(
        &self,
        store: &Store,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<(), StorageError> {
        let mut known = Vec::new();
        for id in ids {
            known.push(SourceInfo::read(store, id).await?);
        }
        *self.known.write().expect("sources lock") = known;
        let hidden: std::collections::HashSet<String> = store
            .hidden_offers()
            .await?
            .into_iter()
            .map(|h| h.key.to_string())
            .collect();
        let mut kept = self.hidden.write().expect("sources lock");
        if *kept != hidden {
            *kept = hidden;
            self.hidden_version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// The sources whose stock was last confirmed longer than `max_staleness` before `now`
    /// (or never, once the store has been read and they have offers), with the reason.
    pub(crate) fn stale(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        self.known
            .read()
            .expect("sources lock")
            .iter()
            .filter_map(|source| {
                source
                    .stale_reason(now, self.max_staleness)
                    .map(|reason| (source.id.clone(), reason))
            })
            .collect()
    }

    pub(crate) fn get(&self, id: &str) -> SourceInfo {
        self.known
            .read()
            .expect("sources lock")
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .unwrap_or_default()
    }
}

/// One source on `/v1/sources`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceStatus {
    /// Source id (`francetravail`, a partner board's id).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The end of its last complete run (RFC 3339), null when none.
    pub last_complete_run: Option<DateTime<Utc>>,
    /// Hours since then, null when none.
    pub age_hours: Option<f64>,
    /// Its active offers in the store.
    pub active: u64,
    /// Whether it was updated within what its terms ask (France Travail: 24 hours).
    pub fresh: bool,
    /// Why it is not, when it is not.
    pub alarm: Option<String>,
    /// Whether its offers are published now.
    pub published: bool,
    /// Why they are not, when they are not.
    pub withheld_reason: Option<String>,
    /// Its terms: attribution, licence, redistribution, link back, maximum age, refresh.
    #[schema(value_type = Object)]
    pub licence: SourceTerms,
}

/// The answer of `GET /v1/sources`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourcesResponse {
    /// Every configured source.
    pub sources: Vec<SourceStatus>,
}

/// Each source: its last complete run and its age, its active offers, its licence and
/// attribution, and whether it is fresh and published.
#[utoipa::path(
    get,
    path = "/v1/sources",
    tag = "sources",
    responses((status = 200, description = "The sources", body = SourcesResponse))
)]
pub(crate) async fn sources(
    State(state): State<AppState>,
) -> Result<Json<SourcesResponse>, ApiError> {
    Ok(Json(SourcesResponse {
        sources: state.source_statuses(),
    }))
}

impl AppState {
    /// Each source's status at the server's "now".
    pub fn source_statuses(&self) -> Vec<SourceStatus> {
        let now = self.now();
        self.inner
            .licence
            .sources()
            .map(|terms| {
                self.inner.sources.get(&terms.id).status(
                    terms,
                    now,
                    self.inner.sources.max_staleness,
                )
            })
            .collect()
    }

    /// Reads each source's runs and counts from the store again; logs an alarm for each source
    /// that is not fresh or not published.
    pub async fn refresh_sources(&self) -> Result<(), StorageError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let ids: Vec<String> = self.inner.licence.sources().map(|t| t.id.clone()).collect();
        self.inner
            .sources
            .refresh(store, ids.iter().map(String::as_str))
            .await
    }
}

#[cfg(test)]
mod tests;
