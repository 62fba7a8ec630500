//! Prometheus metrics at `GET /metrics`, in the OpenMetrics text format. Names follow
//! `relais_<stage>_<noun>_<unit>`; every label is bounded: route templates (never a path with
//! an offer key in it), status classes, the configured sources' ids, fixed codes and outcomes.
//!
//! Requests are measured as they pass (a middleware); what the store and the index know (the
//! sources' offers and runs, the index's lag behind the change log) is read when scraped.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfferLabels {
    source: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    source: String,
    outcome: String,
}

/// The metrics of one process.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    http_duration: Family<HttpLabels, Histogram>,
    rejections: Family<ReasonLabels, Counter>,
    offers: Family<OfferLabels, Gauge>,
    runs: Family<RunLabels, Gauge>,
    run_age: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    freshness_alarm: Family<SourceLabels, Gauge>,
    withheld: Family<SourceLabels, Gauge>,
    index_lag: Gauge,
    index_ready: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms to 3.3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let metrics = Self {
            registry: Registry::default(),
            http_duration,
            rejections: Family::default(),
            offers: Family::default(),
            runs: Family::default(),
            run_age: Family::default(),
            freshness_alarm: Family::default(),
            withheld: Family::default(),
            index_lag: Gauge::default(),
            index_ready: Gauge::default(),
        };
        let mut registry = Registry::default();
        registry.register_with_unit(
            "relais_http_request_duration",
            "Time to answer a request, by route template and status class",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        registry.register(
            "relais_api_rejections",
            "Requests refused for a key's limits: rate_limited, daily_quota_exceeded, daily_offers_exceeded",
            metrics.rejections.clone(),
        );
        registry.register(
            "relais_source_offers",
            "Offers of each source in the store, active or withdrawn (read every few seconds)",
            metrics.offers.clone(),
        );
        registry.register(
            "relais_sync_runs",
            "Runs of each source recorded in the store, by outcome",
            metrics.runs.clone(),
        );
        registry.register_with_unit(
            "relais_source_last_complete_run_age",
            "Time since each source's last complete run (absent: none yet)",
            Unit::Seconds,
            metrics.run_age.clone(),
        );
        registry.register(
            "relais_source_freshness_alarm",
            "1 when a source was not updated within what its terms ask (France Travail: 24 h, licence art. 5.2)",
            metrics.freshness_alarm.clone(),
        );
        registry.register(
            "relais_source_withheld",
            "1 when a source's offers are not published (stock unconfirmed too long, or terms that forbid it)",
            metrics.withheld.clone(),
        );
        registry.register(
            "relais_index_lag_changes",
            "Publications of the store's log the local index has not applied yet",
            metrics.index_lag.clone(),
        );
        registry.register(
            "relais_index_ready",
            "1 once the local index can be served",
            metrics.index_ready.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

/// `2xx`, `3xx`, `4xx`, `5xx`.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Measures each request: its duration by route template and status class, and the refusals
/// for a key's limits.
pub(crate) async fn measure(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    // The template (`/offres/{key}`), never the path: one series per route.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let metrics = &state.inner.metrics;
    metrics
        .http_duration
        .get_or_create(&HttpLabels {
            route,
            status: status_class(response.status()),
        })
        .observe(start.elapsed().as_secs_f64());
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>()
    {
        metrics
            .rejections
            .get_or_create(&ReasonLabels { reason: code })
            .inc();
    }
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let metrics = &state.inner.metrics;
    let now = state.now();
    for status in state.source_statuses() {
        let info = state.inner.sources.get(&status.id);
        let source = || SourceLabels {
            source: status.id.clone(),
        };
        for (label, count) in [("active", info.active), ("withdrawn", info.withdrawn)] {
            metrics
                .offers
                .get_or_create(&OfferLabels {
                    source: status.id.clone(),
                    status: label,
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        match info.last_complete_run {
            Some(at) => {
                metrics
                    .run_age
                    .get_or_create(&source())
                    .set((now - at).num_milliseconds() as f64 / 1e3);
            }
            None => {
                metrics.run_age.remove(&source());
            }
        }
        metrics
            .freshness_alarm
            .get_or_create(&source())
            .set(i64::from(!status.fresh));
        metrics
            .withheld
            .get_or_create(&source())
            .set(i64::from(!status.published));
    }
    if let Some(store) = &state.inner.store {
        let counts = store
            .run_counts()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        for (source, outcome, runs) in counts {
            metrics
                .runs
                .get_or_create(&RunLabels { source, outcome })
                .set(runs);
        }
    }
    let readiness = state.inner.status.readiness();
    metrics.index_lag.set(readiness.lag);
    metrics
        .index_ready
        .set(i64::from(readiness.status == "ready"));
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &metrics.registry)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}
