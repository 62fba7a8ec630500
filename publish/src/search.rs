//! The search API for mobile apps and websites: `GET /v1/offers` and `GET /v1/offers/{key}`.

pub(crate) mod params;

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use relais_index::{AlsoPublishedOn, IndexedOffer, SearchHit};
use relais_model::OfferKey;
use serde::{Deserialize, Serialize};

use relais_licence::{ChannelCredit, Credit, Refusal, Surface};

use crate::access::Caller;
use crate::cached::{FEED_MAX_AGE_SECONDS, Rendered};
use crate::feeds::{ATOM_TYPE, FeedFormat, RSS_TYPE};
use crate::syndication::{self, Item};
use crate::traffic::{Channel, Event};
use crate::{ApiError, AppState};

/// An offer in a list of results.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferSummary {
    /// `source:id`: the key of `GET /v1/offers/{key}`.
    pub key: String,
    /// Title as published.
    pub title: String,
    /// Employer, when public.
    pub employer: Option<String>,
    /// INSEE code of the commune, or null when only the département or région is known.
    pub commune: Option<String>,
    /// Location label as the source gives it.
    pub location: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Contract family: `permanent`, `fixed_term`, `temporary`, `seasonal`, `self_employed`,
    /// `apprenticeship`, `other`.
    pub contract: String,
    /// Contract label as the source gives it (`CDD - 6 Mois`).
    pub contract_label: Option<String>,
    /// `full_time`, `part_time` or `unknown`.
    pub working_time: String,
    /// Salary label, as given.
    pub salary: Option<String>,
    /// ROME code.
    pub rome: Option<String>,
    /// Creation at the source; null when the source gives no date.
    pub published_at: Option<DateTime<Utc>>,
    /// Last update at the source.
    pub updated_at: Option<DateTime<Utc>>,
    /// The offer's page at its source.
    pub url: Option<String>,
    /// The source (`francetravail` or a partner board's id).
    pub source: String,
    /// Distance in km from the point searched around (its own coordinates, else its commune's
    /// point); present only when the search gives a point.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub distance_km: Option<f64>,
    /// The same job on other sources.
    pub also_published_on: Vec<AlsoPublishedOn>,
    /// The credit of the offer's own source, its last update and the licence link: show it
    /// with the offer.
    pub attribution: Credit,
}

impl OfferSummary {
    fn of(summary: IndexedOffer, distance_km: Option<f64>, attribution: Credit) -> Self {
        let IndexedOffer {
            key,
            title,
            employer,
            location,
            commune,
            departement,
            source,
            contract,
            contract_kind,
            working_time_kind,
            salary,
            rome_code,
            created_at,
            updated_at,
            url,
            also_published_on,
            ..
        } = summary;
        Self {
            key,
            title,
            employer,
            commune,
            location,
            departement,
            contract: contract_kind,
            contract_label: contract,
            working_time: working_time_kind,
            salary,
            rome: rome_code,
            published_at: created_at,
            updated_at,
            url,
            source,
            distance_km: distance_km.map(|d| (d * 100.0).round() / 100.0),
            also_published_on,
            attribution,
        }
    }
}

/// A count of one facet value.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetCount {
    /// The value (`permanent`, `46`, `46042`, `M`, `this_week`...).
    pub value: String,
    /// Matching offers with it.
    pub count: u64,
}

/// The answer of `GET /v1/offers`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// This page.
    pub offers: Vec<OfferSummary>,
    /// Matching offers in all, exact.
    pub total: usize,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// The facets asked for, with counts over the whole result set.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
    /// The credit of the page: the sources of its offers, their last update, the licence links
    /// and the page that says what relais changes in the offers.
    pub attribution: ChannelCredit,
}

/// Searches the offers: words, places, radius, filters, sort, facets and a cursor.
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "search",
    params(
        ("q" = Option<String>, Query, description = "What the user typed: plain words, `\"a phrase\"`, `-word`; `CDI`, `CDD`, `intérim`... act on the contract. Never query syntax.", max_length = 500),
        ("territory" = Option<String>, Query, description = "A territory expression (`epci:200023737`, `commune:46042+20km`, `dep:46 | dep:12`)"),
        ("commune" = Option<Vec<String>>, Query, description = "INSEE codes (any of them matches)"),
        ("departement" = Option<Vec<String>>, Query, description = "Département codes (`46`, `2A`, `974`)"),
        ("region" = Option<Vec<String>>, Query, description = "Région codes (`76`)"),
        ("lat" = Option<f64>, Query, description = "Latitude of the point, with `lon`", minimum = -90, maximum = 90),
        ("lon" = Option<f64>, Query, description = "Longitude of the point, with `lat`", minimum = -180, maximum = 180),
        ("around" = Option<String>, Query, description = "An INSEE code: the commune's point, instead of `lat`/`lon`"),
        ("radius_km" = Option<f64>, Query, description = "Keep offers within this distance of the point (needs a point)", exclusive_minimum = 0, maximum = 200),
        ("contract" = Option<Vec<relais_model::ContractKind>>, Query, description = "Contract families (any of them matches)"),
        ("working_time" = Option<Vec<relais_model::WorkingTimeKind>>, Query, description = "Working-time families"),
        ("rome" = Option<Vec<String>>, Query, description = "A ROME code (`M1805`), a prefix (`M18`) or a domain letter (`M`)"),
        ("experience" = Option<Vec<crate::openapi::ExperienceParam>>, Query, description = "Experience asked for"),
        ("published_since" = Option<u32>, Query, description = "Created at the source in the last N days", minimum = 0, maximum = 3650),
        ("source" = Option<Vec<String>>, Query, description = "Source ids (`francetravail`, a partner board's id)"),
        ("employer" = Option<String>, Query, description = "Words that must all be in the employer's name"),
        ("sort" = Option<crate::openapi::SortParam>, Query, description = "`relevance` (default), `date` (newest first) or `distance` (needs a point)"),
        ("facets" = Option<String>, Query, description = "Comma-separated facets: `contract`, `working_time`, `rome_domain`, `departement`, `commune`, `source`, `published`"),
        ("limit" = Option<u32>, Query, description = "Offers per page (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of results", body = SearchResponse),
        (status = 400, description = "`unknown_parameter`, `repeated_parameter`, `invalid_parameter`, `radius_too_large`, `invalid_coordinates`, `invalid_cursor` or `query_too_long`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`missing_api_key`, `invalid_api_key` or `revoked_api_key`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`insufficient_scope`: the key has no `search` scope", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`), `daily_quota_exceeded` or `daily_offers_exceeded`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state
        .inner
        .access
        .authorize(&headers, "search", state.now())?;
    let response = run_search(&state, query.as_deref(), Surface::Search, &caller).await?;
    state.count_for_caller(
        &caller,
        Channel::Api,
        Event::Impression,
        response.offers.iter().map(|o| o.key.as_str()),
    );
    let mut answer = Json(response).into_response();
    caller.decorate(&mut answer);
    Ok(answer)
}

/// A search, licensed for `surface`.
async fn run_search(
    state: &AppState,
    query: Option<&str>,
    surface: Surface,
    caller: &Caller,
) -> Result<SearchResponse, ApiError> {
    let mut request = params::parse(query)?;
    let now = state.now();
    request.withheld = state.withheld(now);
    // The key's territory bounds every search made with it.
    request.within = Some(caller.collectivite.places.clone());
    if let Some(left) = caller.offers_left() {
        request.limit = request.limit.min(left.max(1));
    }
    let sort = request.sort;
    let result = state
        .on_index(move |index| index.search_offers(&request, true))
        .await?;
    let licence = &state.inner.licence;
    let mut offers = Vec::with_capacity(result.hits.len());
    for SearchHit {
        summary,
        distance_km,
        ..
    } in result.hits
    {
        let Some(summary) = summary else { continue };
        match licence.license(summary, surface, now) {
            Ok(licensed) => {
                let (summary, credit) = licensed.into_parts();
                offers.push(OfferSummary::of(summary, distance_km, credit));
            }
            // The search filters withhold what the terms forbid: a refusal is a filter gap.
            Err(refusal) => tracing::warn!(%refusal, "an offer left out of a search page"),
        }
    }
    let attribution = licence.channel(offers.iter().map(|o| &o.attribution));
    state
        .inner
        .access
        .count_offers(&caller.key_id, offers.len(), now);
    Ok(SearchResponse {
        offers,
        total: result.total,
        next_cursor: result.next_cursor.map(|c| c.token(sort)),
        facets: result
            .facets
            .into_iter()
            .map(|(facet, values)| {
                let counts = values
                    .into_iter()
                    .map(|(value, count)| FacetCount { value, count })
                    .collect();
                (facet.name().to_owned(), counts)
            })
            .collect(),
        attribution,
    })
}

/// A search as RSS 2.0: the search API's parameters, each offer linking to its page.
#[utoipa::path(
    get,
    path = "/v1/offers.rss",
    tag = "feeds",
    responses(
        (status = 200, description = "RSS 2.0 of the search's first page (same parameters as `GET /v1/offers`)", content_type = "application/rss+xml"),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "As `GET /v1/offers`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`missing_api_key`, `invalid_api_key` or `revoked_api_key`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`insufficient_scope`: the key has no `search` scope", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`), `daily_quota_exceeded` or `daily_offers_exceeded`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn search_rss(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    search_feed(&state, query.as_deref(), &headers, FeedFormat::Rss).await
}

/// A search as Atom 1.0: the search API's parameters, each offer linking to its page.
#[utoipa::path(
    get,
    path = "/v1/offers.atom",
    tag = "feeds",
    responses(
        (status = 200, description = "Atom 1.0 of the search's first page (same parameters as `GET /v1/offers`)", content_type = "application/atom+xml"),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "As `GET /v1/offers`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`missing_api_key`, `invalid_api_key` or `revoked_api_key`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`insufficient_scope`: the key has no `search` scope", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`), `daily_quota_exceeded` or `daily_offers_exceeded`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn search_atom(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    search_feed(&state, query.as_deref(), &headers, FeedFormat::Atom).await
}

async fn search_feed(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    format: FeedFormat,
) -> Result<Response, ApiError> {
    let caller = state
        .inner
        .access
        .authorize(headers, "search", state.now())?;
    let surface = if format == FeedFormat::Rss {
        Surface::Rss
    } else {
        Surface::Atom
    };
    let response = run_search(state, query, surface, &caller).await?;
    state.count_for_caller(
        &caller,
        Channel::Feed,
        Event::Impression,
        response.offers.iter().map(|o| o.key.as_str()),
    );
    let keys: Vec<OfferKey> = response
        .offers
        .iter()
        .filter_map(|o| OfferKey::parse(&o.key).ok())
        .collect();
    let mut descriptions: std::collections::HashMap<String, String> = match &state.inner.store {
        Some(store) => store
            .offers(&keys)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .into_iter()
            .map(|offer| (offer.key.to_string(), offer.description))
            .collect(),
        None => Default::default(),
    };
    let base = state.base_url();
    let query = query.unwrap_or("");
    let self_url = format!("{base}/v1/offers.{}?{query}", format.suffix());
    let link = format!("{base}/v1/offers?{query}");
    let title = "Offres d'emploi : recherche";
    let updated = response.attribution.updated_at;
    let channel = syndication::Channel {
        title,
        self_url: &self_url,
        link: &link,
        base_url: base,
        credit: &response.attribution,
        via: Some(&caller.collectivite.definition.id),
    };
    let items: Vec<Item> = response
        .offers
        .into_iter()
        .map(|offer| Item {
            description: descriptions.remove(&offer.key),
            key: offer.key,
            title: offer.title,
            employer: offer.employer,
            place: offer.location,
            contract: offer.contract,
            created_at: offer.published_at,
            credit: offer.attribution,
        })
        .collect();
    let rendered = if format == FeedFormat::Rss {
        Rendered::new(syndication::rss(&channel, &items), RSS_TYPE, updated)
    } else {
        Rendered::new(syndication::atom(&channel, &items), ATOM_TYPE, updated)
    };
    let mut answer = rendered.respond(headers, FEED_MAX_AGE_SECONDS);
    caller.decorate(&mut answer);
    Ok(answer)
}

/// The answer of `GET /v1/offers/{key}`: the whole offer, the other copies of its job, and the
/// credit to its source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfferDetail {
    /// The offer as its source gave it, normalised.
    #[serde(flatten)]
    pub offer: relais_model::Offer,
    /// The same job on other sources.
    pub also_published_on: Vec<AlsoPublishedOn>,
    /// The credit of its source, its last update and the licence link: show it with the offer.
    pub attribution: Credit,
}

/// `GET /v1/offers/{key}`: the whole offer as its source gave it, with the attribution; the
/// other copies of the job when the index publishes it.
#[utoipa::path(
    get,
    path = "/v1/offers/{key}",
    tag = "search",
    params(("key" = String, Path, description = "The offer's key, `source:id` (`francetravail:201ZXKD`)")),
    responses(
        (status = 200, description = "The whole offer", body = OfferDetail),
        (status = 404, description = "`offer_not_found`", body = crate::openapi::ErrorBody),
        (status = 410, description = "`offer_withdrawn`: nothing of it is published", body = crate::openapi::ErrorBody),
        (status = 401, description = "`missing_api_key`, `invalid_api_key` or `revoked_api_key`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`insufficient_scope`: the key has no `search` scope", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`), `daily_quota_exceeded` or `daily_offers_exceeded`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`internal`", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn offer(
    State(state): State<AppState>,
    key: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state
        .inner
        .access
        .authorize(&headers, "search", state.now())?;
    let Path(key) = key.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let parsed = OfferKey::parse(&key).map_err(|_| ApiError::OfferNotFound(key.clone()))?;
    let Some(store) = &state.inner.store else {
        return Err(ApiError::Internal("no store behind the API".into()));
    };
    let offer = store
        .offer(&parsed)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::OfferNotFound(key.clone()))?;
    // Outside the key's territory, or from a source withheld as stale, an offer does not exist
    // for it.
    let place = &offer.location;
    if state.is_withheld(&offer.key)
        || !caller.collectivite.covers(
            place.commune.as_ref().map(|c| c.as_str()),
            place.departement.as_ref().map(|d| d.as_str()),
            place.region.as_deref(),
        )
    {
        return Err(ApiError::OfferNotFound(key));
    }
    let licensed = match state
        .inner
        .licence
        .license(offer, Surface::Detail, state.now())
    {
        Ok(licensed) => licensed,
        // Licence art. 7: nothing of a withdrawn offer is published.
        Err(Refusal::Withdrawn | Refusal::TooOld { .. }) => {
            return Err(ApiError::OfferWithdrawn(key));
        }
        Err(Refusal::NotRedistributable { .. } | Refusal::UnknownSource { .. }) => {
            return Err(ApiError::OfferNotFound(key));
        }
    };
    let published = state.on_index(move |index| index.summary(&key)).await?;
    let (mut offer, attribution) = licensed.into_parts();
    // Sanitised when stored; cleaned again, as apps and sites insert it into their pages.
    offer.description_html = offer.description_html.as_deref().map(ammonia::clean);
    let key = offer.key.to_string();
    let detail = OfferDetail {
        offer,
        also_published_on: published.map(|p| p.also_published_on).unwrap_or_default(),
        attribution,
    };
    let mut body = serde_json::to_value(&detail).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(object) = body.as_object_mut() {
        // Cleared by the licence (internal bookkeeping, not content of the offer).
        object.remove("warnings");
        // The key as consumers use it (`source:id`), not the store's pair.
        object.insert("key".into(), serde_json::Value::String(key.clone()));
    }
    state.count_for_caller(&caller, Channel::Api, Event::View, [key.as_str()]);
    let mut answer = Json(body).into_response();
    caller.decorate(&mut answer);
    Ok(answer)
}

#[cfg(test)]
mod tests;
