//! Feeds: the offers of a collectivité's territory, as paginated JSON, RSS and Atom; and the
//! list of the configured feeds.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use relais_index::{FeedQuery, IndexedOffer, PlaceFilter};
use relais_licence::{ChannelCredit, Credit, Licensed, Surface};
use relais_model::OfferKey;
use relais_territory::{TerritoryError, parse_territory};
use serde::{Deserialize, Serialize};

use crate::cached::{FEED_MAX_AGE_SECONDS, Rendered};
use crate::syndication::{self, Channel, Item};
use crate::{ApiError, AppState};

/// Most offers on one page.
pub const MAX_PER_PAGE: usize = 100;

/// A configured feed: a name, a title and a territory expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedDefinition {
    /// URL name, e.g. `grand-cahors`.
    pub name: String,
    /// Human title, e.g. `Offres d'emploi du Grand Cahors`.
    pub title: String,
    /// The territory, e.g. `epci:200023737` or `dep:46 | dep:12` (see `relais territory show`).
    pub territory: String,
}

/// A feed with its territory compiled to the places the index filters on.
#[derive(Debug)]
pub(crate) struct CompiledFeed {
    pub(crate) definition: FeedDefinition,
    /// Shared with every query of the feed: a région lists thousands of communes.
    pub(crate) places: Arc<PlaceFilter>,
    /// Communes of the territory, and their population (for `GET /v1/feeds`).
    pub(crate) communes: usize,
    pub(crate) population: u64,
}

impl CompiledFeed {
    pub(crate) fn compile(definition: FeedDefinition) -> Result<Self, TerritoryError> {
        let territory = parse_territory(&definition.territory)?;
        let places = PlaceFilter::from(&territory);
        Ok(Self {
            definition,
            places: Arc::new(places),
            communes: territory.len(),
            population: territory.population(),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageParams {
    page: Option<String>,
    per_page: Option<String>,
    q: Option<String>,
}

/// The JSON of a feed page.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedResponse {
    /// Feed name.
    pub feed: String,
    /// Feed title.
    pub title: String,
    /// Matching offers in all.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Offers per page.
    pub per_page: usize,
    /// Pages in all.
    pub pages: usize,
    /// The offers, newest first.
    pub offers: Vec<FeedOffer>,
    /// The credit of the page: the sources of its offers, their last update, the licence links
    /// and the page that says what relais changes in the offers.
    pub attribution: ChannelCredit,
}

/// An offer of a feed page: its summary from the index and what a site shows of it, from the
/// store.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedOffer {
    /// The summary.
    #[serde(flatten)]
    pub summary: IndexedOffer,
    /// The rest of what a site shows (absent only from a server without a store).
    #[serde(flatten)]
    pub details: FeedDetails,
    /// The offer's page on this server (`/offres/{key}`).
    pub page_url: String,
    /// The credit of the offer's own source, its last update and the licence link: show it
    /// with the offer.
    pub attribution: Credit,
}

fn number(raw: Option<&str>, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::InvalidParameter(format!(
            "`{name}` must be a whole number from 1 to {max}, not `{raw}`"
        ))),
    }
}

/// The forms of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedFormat {
    Json,
    Rss,
    Atom,
}

impl FeedFormat {
    fn surface(self) -> Surface {
        match self {
            FeedFormat::Json => Surface::FeedJson,
            FeedFormat::Rss => Surface::Rss,
            FeedFormat::Atom => Surface::Atom,
        }
    }

    pub(crate) fn suffix(self) -> &'static str {
        match self {
            FeedFormat::Json => "offers",
            FeedFormat::Rss => "rss",
            FeedFormat::Atom => "atom",
        }
    }
}

/// A page of a configured feed: the offers of its territory, newest first.
#[utoipa::path(
    get,
    path = "/v1/feeds/{feed}/offers",
    tag = "feeds",
    params(
        ("feed" = String, Path, description = "The feed's name, as configured (`grand-cahors`)"),
        ("page" = Option<u32>, Query, description = "Page, from 1", minimum = 1, maximum = 10000),
        ("per_page" = Option<u32>, Query, description = "Offers per page (default 20)", minimum = 1, maximum = 100),
        ("q" = Option<String>, Query, description = "Plain words, as in `GET /v1/offers`", max_length = 500),
    ),
    responses(
        (status = 200, description = "A page of the feed", body = FeedResponse,
            headers(("ETag" = String, description = "Strong validator of the body"), ("Last-Modified" = String, description = "Last update among its offers"))),
        (status = 304, description = "The client's copy is current (`If-None-Match`, `If-Modified-Since`)"),
        (status = 400, description = "`invalid_parameter`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`feed_not_found`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn feed_offers(
    state: State<AppState>,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    feed_response(state, name, params, headers, FeedFormat::Json).await
}

/// A page of a configured feed as RSS 2.0.
#[utoipa::path(
    get,
    path = "/v1/feeds/{feed}/rss",
    tag = "feeds",
    params(
        ("feed" = String, Path, description = "The feed's name, as configured (`grand-cahors`)"),
        ("page" = Option<u32>, Query, description = "Page, from 1", minimum = 1, maximum = 10000),
        ("per_page" = Option<u32>, Query, description = "Offers per page (default 20)", minimum = 1, maximum = 100),
        ("q" = Option<String>, Query, description = "Plain words, as in `GET /v1/offers`", max_length = 500),
    ),
    responses(
        (status = 200, description = "RSS 2.0", content_type = "application/rss+xml"),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid_parameter`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`feed_not_found`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn feed_rss(
    state: State<AppState>,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    feed_response(state, name, params, headers, FeedFormat::Rss).await
}

/// A page of a configured feed as Atom 1.0.
#[utoipa::path(
    get,
    path = "/v1/feeds/{feed}/atom",
    tag = "feeds",
    params(
        ("feed" = String, Path, description = "The feed's name, as configured (`grand-cahors`)"),
        ("page" = Option<u32>, Query, description = "Page, from 1", minimum = 1, maximum = 10000),
        ("per_page" = Option<u32>, Query, description = "Offers per page (default 20)", minimum = 1, maximum = 100),
        ("q" = Option<String>, Query, description = "Plain words, as in `GET /v1/offers`", max_length = 500),
    ),
    responses(
        (status = 200, description = "Atom 1.0", content_type = "application/atom+xml"),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid_parameter`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`feed_not_found`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn feed_atom(
    state: State<AppState>,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    feed_response(state, name, params, headers, FeedFormat::Atom).await
}

/// A feed page in `format`: kept per index version when it has no words to match (the pages
/// sites embed), rendered otherwise.
async fn feed_response(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
    headers: HeaderMap,
    format: FeedFormat,
) -> Result<Response, ApiError> {
    // The framework's rejections use the API's error shape too.
    let Path(name) = name.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let Query(params) = params.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let feed = state
        .inner
        .feeds
        .get(&name)
        .ok_or_else(|| ApiError::FeedNotFound(name.clone()))?;
    let page = number(params.page.as_deref(), "page", 1, 10_000)?;
    let per_page = number(params.per_page.as_deref(), "per_page", 20, MAX_PER_PAGE)?;
    let cache_key = params.q.is_none().then(|| {
        // A source withheld as stale, an offer hidden for its link, change the page as much as
        // a new index version.
        let stale: Vec<String> = state
            .inner
            .sources
            .stale(state.now())
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let hidden = state
            .inner
            .sources
            .hidden_version
            .load(std::sync::atomic::Ordering::Relaxed);
        format!(
            "feed|{name}|{}|{page}|{per_page}|{}|{hidden}",
            format.suffix(),
            stale.join(",")
        )
    });
    let version = state.inner.index.version();
    if let Some(body) = cache_key
        .as_deref()
        .and_then(|key| state.inner.bodies.get(version, key))
    {
        return Ok(send_counted(&state, &name, &body, &headers));
    }
    let (response, version) = feed_page(&state, feed, page, per_page, params.q, format).await?;
    let updated = response.attribution.updated_at;
    let shown = response
        .offers
        .iter()
        .map(|o| o.summary.key.clone())
        .collect();
    let rendered = Arc::new(
        match format {
            FeedFormat::Json => Rendered::new(
                serde_json::to_vec(&response).map_err(|e| ApiError::Internal(e.to_string()))?,
                "application/json",
                updated,
            ),
            FeedFormat::Rss | FeedFormat::Atom => {
                let base = state.base_url();
                let self_url = format!("{base}/v1/feeds/{name}/{}", format.suffix());
                // The page people read the same offers on: the widget.
                let link = format!("{base}/widget/{name}");
                let channel = Channel {
                    title: &response.title,
                    self_url: &self_url,
                    link: &link,
                    base_url: base,
                    credit: &response.attribution,
                    via: Some(&name),
                };
                let items: Vec<Item> = response
                    .offers
                    .into_iter()
                    .map(FeedOffer::into_item)
                    .collect();
                if format == FeedFormat::Rss {
                    Rendered::new(syndication::rss(&channel, &items), RSS_TYPE, updated)
                } else {
                    Rendered::new(syndication::atom(&channel, &items), ATOM_TYPE, updated)
                }
            }
        }
        .showing(shown),
    );
    if let Some(key) = cache_key {
        state.inner.bodies.put(version, key, rendered.clone());
    }
    Ok(send_counted(&state, &name, &rendered, &headers))
}

/// The answer with `body`; its offers count as shown when the body is sent (not on a 304: the
/// reader shows what it already had, counted then).
fn send_counted(state: &AppState, feed: &str, body: &Rendered, headers: &HeaderMap) -> Response {
    let answer = body.respond(headers, FEED_MAX_AGE_SECONDS);
    if answer.status() == axum::http::StatusCode::OK {
        state.count_for_feed(
            headers,
            feed,
            crate::traffic::Channel::Feed,
            crate::traffic::Event::Impression,
            body.shown(),
        );
    }
    answer
}

/// The content types of the syndication formats.
pub(crate) const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
pub(crate) const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";

/// A page of a feed, licensed for `format`, with the index version it was read from.
async fn feed_page(
    state: &AppState,
    feed: &CompiledFeed,
    page: usize,
    per_page: usize,
    text: Option<String>,
    format: FeedFormat,
) -> Result<(FeedResponse, u64), ApiError> {
    let now = state.now();
    let query = FeedQuery {
        places: Some(feed.places.clone()),
        text,
        offset: (page - 1) * per_page,
        limit: per_page,
        withheld: state.withheld(now),
    };
    let result = state.on_index(move |index| index.search(&query)).await?;
    let licensed = state
        .inner
        .licence
        .license_all(result.offers, format.surface(), now);
    if let Some(refusal) = &licensed.first_refusal {
        // The search filters withhold what the terms forbid: a refusal here is a filter gap.
        tracing::warn!(feed = %feed.definition.name, refused = licensed.refused, %refusal, "offers left out of a feed page");
    }
    let offers = with_descriptions(
        state,
        licensed.items,
        format.surface(),
        &feed.definition.name,
    )
    .await?;
    let response = FeedResponse {
        feed: feed.definition.name.clone(),
        title: feed.definition.title.clone(),
        total: result.total,
        page,
        per_page,
        pages: result.total.div_ceil(per_page),
        offers,
        attribution: licensed.channel,
    };
    Ok((response, result.version))
}

/// What a site needs to show an offer without a second call.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedDetails {
    /// Full description as plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The description's formatting when the source gives HTML, sanitised (formatting tags only).
    #[serde(default)]
    pub description_html: Option<String>,
    /// The commune's official name.
    #[serde(default)]
    pub commune_name: Option<String>,
    /// The offer's point: its own coordinates, else its commune's.
    #[serde(default)]
    pub latitude: Option<f64>,
    /// See `latitude`.
    #[serde(default)]
    pub longitude: Option<f64>,
    /// The contract family's French name (`CDI`, `CDD`, `Intérim`, `Alternance`…).
    #[serde(default)]
    pub contract_name: Option<String>,
    /// Work-study (alternance), whatever the contract.
    #[serde(default)]
    pub work_study: bool,
    /// Lowest pay, in euros per `salary_period`, when the source gives it.
    #[serde(default)]
    pub salary_min: Option<f64>,
    /// Highest pay.
    #[serde(default)]
    pub salary_max: Option<f64>,
    /// `hour`, `month`, `year` or `engagement`.
    #[serde(default)]
    pub salary_period: Option<relais_model::SalaryPeriod>,
    /// The employer's logo.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Where to apply (the offer's page at its source when it gives no other).
    #[serde(default)]
    pub apply_url: Option<String>,
    /// When the source says the offer ends.
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

impl FeedOffer {
    fn into_item(self) -> Item {
        Item {
            key: self.summary.key,
            title: self.summary.title,
            employer: self.summary.employer,
            place: self.summary.location,
            contract: self.summary.contract_kind,
            created_at: self.summary.created_at,
            description: self.details.description,
            credit: self.attribution,
        }
    }
}

/// The page's offers with what a site needs to show each one without a second call, read from
/// the store in one query (the index keeps summaries only), each through the licence again.
async fn with_descriptions(
    state: &AppState,
    summaries: Vec<Licensed<IndexedOffer>>,
    surface: Surface,
    feed: &str,
) -> Result<Vec<FeedOffer>, ApiError> {
    let mut details: HashMap<String, FeedDetails> = HashMap::new();
    if let Some(store) = &state.inner.store {
        let keys: Vec<OfferKey> = summaries
            .iter()
            .filter_map(|s| OfferKey::parse(&s.value().key).ok())
            .collect();
        let offers = store
            .offers(&keys)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let now = state.now();
        for offer in offers {
            if let Ok(licensed) = state.inner.licence.license(offer, surface, now) {
                let offer = licensed.value();
                details.insert(offer.key.to_string(), FeedDetails::of(offer));
            }
        }
    }
    Ok(summaries
        .into_iter()
        .map(|licensed| {
            let (summary, attribution) = licensed.into_parts();
            let details = details.remove(&summary.key).unwrap_or_default();
            FeedOffer {
                page_url: crate::syndication::offer_link(
                    state.base_url(),
                    &summary.key,
                    Some(feed),
                ),
                summary,
                details,
                attribution,
            }
        })
        .collect())
}

impl FeedDetails {
    fn of(offer: &relais_model::Offer) -> Self {
        let geography = relais_territory::geography();
        let commune_name = offer
            .location
            .commune
            .as_ref()
            .and_then(|code| geography.current_commune(code.as_str()))
            .map(|id| geography.commune(id).name.to_owned());
        let point = relais_index::offer_point(offer);
        let salary = offer.salary.as_ref();
        Self {
            description: Some(offer.description.clone()),
            // Sanitised when stored; cleaned again, as sites insert it into their pages.
            description_html: offer.description_html.as_deref().map(ammonia::clean),
            commune_name,
            latitude: point.map(|p| p.latitude),
            longitude: point.map(|p| p.longitude),
            contract_name: Some(
                crate::syndication::contract_name(relais_index::contract_name(offer.contract.kind))
                    .to_owned(),
            ),
            work_study: offer.contract.work_study,
            salary_min: salary.and_then(|s| s.min),
            salary_max: salary.and_then(|s| s.max),
            salary_period: salary.and_then(|s| s.period),
            logo_url: offer.employer.logo_url.clone(),
            apply_url: offer.apply_url.clone().or_else(|| offer.offer_url.clone()),
            expires_at: offer.dates.expires_at,
        }
    }
}

pub(crate) mod list;
pub(crate) use list::list;
pub use list::{FeedLinks, FeedListing, FeedsResponse};

#[cfg(test)]
mod tests;
