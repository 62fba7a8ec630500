//! Traffic reports for France Travail: per day and per source the impressions, views and apply
//! clicks with their click-through rates, per channel, and the top offers, for one
//! collectivité over a period. The same report as JSON, CSV or HTML (what France Travail reads:
//! SVG charts drawn here, no script or font from elsewhere, printable on A4), from
//! `relais report` and from `GET /v1/reports` with a key of scope `reports`.
//!
//! A report holds counts and offer titles only: no contact data (licence art. 8), nothing about
//! the visitors.

mod charts;
mod render;

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use relais_model::OfferKey;
use relais_storage::{StorageError, Store, TrafficRow};
use serde::Serialize;

pub use render::{csv, html};

use crate::access::CollectiviteDefinition;
use crate::{ApiError, AppState};

/// Longest period of one report, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// Offers in the top list.
const TOP_OFFERS: usize = 10;

/// Impressions, views and apply clicks, with their rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    /// Times offers were listed.
    pub impressions: i64,
    /// Times an offer's page or detail was opened.
    pub views: i64,
    /// Times "Postuler" was followed.
    pub apply_clicks: i64,
    /// Views per impression (null without impressions).
    pub view_rate: Option<f64>,
    /// Apply clicks per view (null without views).
    pub apply_rate: Option<f64>,
}

impl Totals {
    fn add(&mut self, row: &TrafficRow) {
        self.impressions += row.impressions;
        self.views += row.views;
        self.apply_clicks += row.apply_clicks;
    }

    fn with_rates(mut self) -> Self {
        let rate = |part: i64, whole: i64| {
            (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
        };
        self.view_rate = rate(self.views, self.impressions);
        self.apply_rate = rate(self.apply_clicks, self.views);
        self
    }
}

/// One day × source × channel.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayRow {
    /// The day (Europe/Paris).
    pub date: String,
    /// The offers' source.
    pub source: String,
    /// `widget`, `feed`, `api` or `page`.
    pub channel: String,
    /// Times offers were listed.
    pub impressions: i64,
    /// Times an offer's page or detail was opened.
    pub views: i64,
    /// Times "Postuler" was followed.
    pub apply_clicks: i64,
}

/// An offer among the most viewed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopOffer {
    /// `source:id`.
    pub key: String,
    /// Its title (kept after the offer is withdrawn and anonymised).
    pub title: Option<String>,
    /// Its counts over the period.
    #[serde(flatten)]
    pub totals: Totals,
}

/// A collectivité's traffic over a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The collectivité's id.
    pub collectivite: String,
    /// Its name.
    pub name: String,
    /// Its SIREN.
    pub siren: String,
    /// First day (included).
    pub from: String,
    /// Last day (included).
    pub to: String,
    /// Per day, source and channel (rows with counts only).
    pub days: Vec<DayRow>,
    /// The whole period.
    pub totals: Totals,
    /// Per day, all sources and channels (every day of the period).
    pub per_day: BTreeMap<String, Totals>,
    /// Per source.
    pub per_source: BTreeMap<String, Totals>,
    /// Per channel.
    pub per_channel: BTreeMap<String, Totals>,
    /// The most viewed offers (then the most applied to, then the most shown).
    pub top_offers: Vec<TopOffer>,
}

impl Report {
    /// The report of `collectivite` from `from` to `to` (both included), from the store.
    pub async fn build(
        store: &Store,
        collectivite: &CollectiviteDefinition,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Self, StorageError> {
        let (from_day, to_day) = (from.to_string(), to.to_string());
        let rows = store.traffic(&collectivite.id, &from_day, &to_day).await?;
        let mut days: BTreeMap<(String, String, String), DayRow> = BTreeMap::new();
        let mut totals = Totals::default();
        let mut per_day: BTreeMap<String, Totals> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| (d.to_string(), Totals::default()))
            .collect();
        let mut per_source: BTreeMap<String, Totals> = BTreeMap::new();
        let mut per_channel: BTreeMap<String, Totals> = BTreeMap::new();
        let mut per_offer: BTreeMap<String, Totals> = BTreeMap::new();
        for row in &rows {
            let day = days
                .entry((row.day.clone(), row.source.clone(), row.channel.clone()))
                .or_insert_with(|| DayRow {
                    date: row.day.clone(),
                    source: row.source.clone(),
                    channel: row.channel.clone(),
                    impressions: 0,
                    views: 0,
                    apply_clicks: 0,
                });
            day.impressions += row.impressions;
            day.views += row.views;
            day.apply_clicks += row.apply_clicks;
            totals.add(row);
            per_day.entry(row.day.clone()).or_default().add(row);
            per_source.entry(row.source.clone()).or_default().add(row);
            per_channel.entry(row.channel.clone()).or_default().add(row);
            per_offer
                .entry(format!("{}:{}", row.source, row.source_offer_id))
                .or_default()
                .add(row);
        }
        let mut top: Vec<(String, Totals)> = per_offer.into_iter().collect();
        top.sort_by(|(a_key, a), (b_key, b)| {
            (b.views, b.apply_clicks, b.impressions)
                .cmp(&(a.views, a.apply_clicks, a.impressions))
                .then_with(|| a_key.cmp(b_key))
        });
        top.truncate(TOP_OFFERS);
        let keys: Vec<OfferKey> = top
            .iter()
            .filter_map(|(key, _)| OfferKey::parse(key).ok())
            .collect();
        let titles: BTreeMap<String, String> = store
            .offers(&keys)
            .await?
            .into_iter()
            .map(|offer| (offer.key.to_string(), offer.title))
            .collect();
        let rated = |map: BTreeMap<String, Totals>| {
            map.into_iter()
                .map(|(k, t)| (k, t.with_rates()))
                .collect::<BTreeMap<_, _>>()
        };
        Ok(Self {
            collectivite: collectivite.id.clone(),
            name: collectivite.name.clone(),
            siren: collectivite.siren.clone(),
            from: from_day,
            to: to_day,
            days: days.into_values().collect(),
            totals: totals.with_rates(),
            per_day: rated(per_day),
            per_source: rated(per_source),
            per_channel: rated(per_channel),
            top_offers: top
                .into_iter()
                .map(|(key, totals)| TopOffer {
                    title: titles.get(&key).cloned(),
                    key,
                    totals: totals.with_rates(),
                })
                .collect(),
        })
    }
}

/// Today in France, `YYYY-MM-DD`: the day traffic is counted for now.
pub fn today() -> String {
    crate::traffic::paris_day(chrono::Utc::now())
}

/// Reads `YYYY-MM-DD` and checks the period.
pub fn period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let day = |name: &str, value: &str| {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("`{name}` must be a date YYYY-MM-DD, not `{value}`"))
    };
    let (from, to) = (day("from", from)?, day("to", to)?);
    if to < from {
        return Err(format!("the period ends ({to}) before it starts ({from})"));
    }
    if (to - from).num_days() >= MAX_REPORT_DAYS {
        return Err(format!("a report covers at most {MAX_REPORT_DAYS} days"));
    }
    Ok((from, to))
}

/// `GET /v1/reports?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=json|csv|html]`: the report of the
/// key's collectivité.
#[utoipa::path(
    get,
    path = "/v1/reports",
    tag = "reports",
    params(
        ("from" = String, Query, format = Date, description = "First day, YYYY-MM-DD (Europe/Paris)"),
        ("to" = String, Query, format = Date, description = "Last day, YYYY-MM-DD, included"),
        ("format" = Option<crate::openapi::ReportFormat>, Query, description = "`json` (default), `csv` or `html`"),
    ),
    responses(
        (status = 200, description = "The report of the key's collectivité", content(
            (Report = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        (status = 400, description = "`invalid_parameter` or `unknown_parameter`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`missing_api_key`, `invalid_api_key` or `revoked_api_key`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`insufficient_scope`: the key has no `reports` scope", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited`, `daily_quota_exceeded`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn reports(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state
        .inner
        .access
        .authorize(&headers, "reports", state.now())?;
    let mut from = None;
    let mut to = None;
    let mut format = "json".to_owned();
    for (name, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "from" => from = Some(value.into_owned()),
            "to" => to = Some(value.into_owned()),
            "format" => format = value.into_owned(),
            other => return Err(ApiError::UnknownParameter(other.to_owned())),
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::InvalidParameter(
            "`from` and `to` are required (YYYY-MM-DD)".into(),
        ));
    };
    let (from, to) = period(&from, &to).map_err(ApiError::InvalidParameter)?;
    let Some(store) = &state.inner.store else {
        return Err(ApiError::Internal("no store behind the API".into()));
    };
    let report = Report::build(store, &caller.collectivite.definition, from, to)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (body, content_type) = match format.as_str() {
        "json" => (
            serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))?,
            "application/json",
        ),
        "csv" => (csv(&report), "text/csv; charset=utf-8"),
        "html" => (
            html(
                &report,
                &state.inner.licence,
                &format!("{}{}", state.base_url(), state.inner.licence.method_url()),
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?,
            "text/html; charset=utf-8",
        ),
        other => {
            return Err(ApiError::InvalidParameter(format!(
                "`format` must be `json`, `csv` or `html`, not `{other}`"
            )));
        }
    };
    let mut answer = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response();
    caller.decorate(&mut answer);
    Ok(answer)
}
