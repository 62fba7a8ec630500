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
pub(crate) struct SourceInfo {
    id: String,
    active: u64,
    /// Its last complete run, of any kind: the last time it was updated.
    last_complete_run: Option<DateTime<Utc>>,
    /// Its last complete run that read its whole stock (a full sweep, a feed's snapshot).
    last_confirmed: Option<DateTime<Utc>>,
}

/// The sources as last read from the store, and the staleness allowed.
#[derive(Debug)]
pub(crate) struct Sources {
    pub(crate) known: RwLock<Vec<SourceInfo>>,
    pub(crate) max_staleness: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            known: RwLock::default(),
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
            let Ok(source) = SourceId::parse(id) else {
                continue;
            };
            let complete = Some(RunOutcome::Complete);
            let last = store.latest_run(&source, None, complete).await?;
            let full = store
                .latest_run(&source, Some(RunKind::Full), complete)
                .await?;
            known.push(SourceInfo {
                id: id.to_owned(),
                active: store.source_counts(&source).await?.active,
                last_complete_run: last.and_then(|run| run.finished_at),
                last_confirmed: full.and_then(|run| run.finished_at),
            });
        }
        *self.known.write().expect("sources lock") = known;
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
                let reason = match source.last_confirmed {
                    Some(at) if now - at > self.max_staleness => format!(
                        "stock last confirmed {} h ago, more than the {} h allowed",
                        (now - at).num_hours(),
                        self.max_staleness.num_hours()
                    ),
                    None if source.active > 0 => "stock never confirmed by a complete run".into(),
                    _ => return None,
                };
                Some((source.id.clone(), reason))
            })
            .collect()
    }

    fn get(&self, id: &str) -> SourceInfo {
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
        let stale = self.inner.sources.stale(now);
        self.inner
            .licence
            .sources()
            .map(|terms| {
                let info = self.inner.sources.get(&terms.id);
                let age_hours = info
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
                let withheld_reason = if !terms.redistribution {
                    Some("its terms forbid redistribution".to_owned())
                } else {
                    stale
                        .iter()
                        .find(|(id, _)| *id == terms.id)
                        .map(|(_, reason)| reason.clone())
                };
                SourceStatus {
                    id: terms.id.clone(),
                    name: terms.name.clone(),
                    last_complete_run: info.last_complete_run,
                    age_hours,
                    active: info.active,
                    fresh: alarm.is_none(),
                    alarm,
                    published: withheld_reason.is_none(),
                    withheld_reason,
                    licence: terms.clone(),
                }
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
