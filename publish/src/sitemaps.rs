//! `/sitemaps/{feed}.xml`: the pages of a feed's offers for search engines (at most 50 000, the
//! protocol's limit), kept per index version like the feed bodies.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use relais_index::FeedQuery;
use relais_licence::Surface;

use crate::cached::{FEED_MAX_AGE_SECONDS, Rendered};
use crate::syndication::offer_url;
use crate::{ApiError, AppState};

/// URLs in one sitemap (sitemaps.org).
const MAX_URLS: usize = 50_000;

/// Offers read per index search.
const PAGE: usize = 1_000;

#[derive(Template)]
#[template(path = "sitemap.xml")]
struct Sitemap {
    entries: Vec<(String, Option<String>)>,
}

/// `GET /sitemaps/{feed}.xml`.
pub(crate) async fn sitemap(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(file) = file.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let name = file
        .strip_suffix(".xml")
        .ok_or_else(|| ApiError::FeedNotFound(file.clone()))?;
    let feed = state
        .inner
        .feeds
        .get(name)
        .ok_or_else(|| ApiError::FeedNotFound(name.to_owned()))?;
    let key = format!("sitemap|{name}");
    let version = state.inner.index.version();
    if let Some(body) = state.inner.bodies.get(version, &key) {
        return Ok(body.respond(&headers, FEED_MAX_AGE_SECONDS));
    }
    let now = state.now();
    let mut entries = Vec::new();
    let mut read_version = None;
    let mut latest = None;
    while entries.len() < MAX_URLS {
        let query = FeedQuery {
            places: Some(feed.places.clone()),
            text: None,
            offset: entries.len(),
            limit: PAGE.min(MAX_URLS - entries.len()),
            withheld: state.withheld(now),
        };
        let page = state.on_index(move |index| index.search(&query)).await?;
        // Pages of one sitemap come from one index version, or it is read again.
        if read_version.is_some_and(|v| v != page.version) {
            entries.clear();
            read_version = None;
            continue;
        }
        read_version = Some(page.version);
        let count = page.offers.len();
        let licensed = state
            .inner
            .licence
            .license_all(page.offers, Surface::Sitemap, now);
        for item in licensed.items {
            let updated = item.credit().updated_at;
            latest = latest.max(updated);
            entries.push((
                offer_url(state.base_url(), &item.value().key),
                updated.map(|d| d.format("%Y-%m-%d").to_string()),
            ));
        }
        if count < PAGE {
            break;
        }
    }
    let body = Sitemap { entries }
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let rendered = Arc::new(Rendered::new(
        body,
        "application/xml; charset=utf-8",
        latest,
    ));
    state
        .inner
        .bodies
        .put(read_version.unwrap_or(version), key, rendered.clone());
    Ok(rendered.respond(&headers, FEED_MAX_AGE_SECONDS))
}
