//! Publication: the HTTP interface for consumers (collectivités' websites and apps).
//!
//! Today: `GET /v1/feeds/{feed}/offers` (the offers of a feed's territory as paginated JSON,
//! newest first; the territory expression is compiled once, at start-up), the search API
//! `GET /v1/offers` and `GET /v1/offers/{key}` (see `docs/api.md`),
//! `/healthz` and `/readyz`. Errors use one body shape, `{"error": {"code", "message"}}`,
//! with a stable machine code ([`ApiError`]).
//!
//! Architecture invariant: publish only talks to consumers; it reads the index and never
//! fetches from a source.

mod cached;
mod error;
mod feeds;
mod openapi;
mod pages;
mod search;
mod sitemaps;
mod status;
mod syndication;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use relais_index::OfferIndex;
use relais_storage::Store;

pub use error::ApiError;
pub use feeds::{FeedDefinition, FeedDetails, FeedOffer, FeedResponse};
pub use openapi::document as openapi_document;
pub use relais_licence::{ChannelCredit, Credit, Licence};
pub use relais_territory::TerritoryError;
pub use search::params::{MAX_LIMIT, MAX_QUERY_CHARS, MAX_RADIUS_KM, parameter_names};
pub use search::{FacetCount, OfferDetail, OfferSummary, SearchResponse};
pub use status::{IndexStatus, Readiness};

use feeds::CompiledFeed;

/// What the router serves from.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    index: OfferIndex,
    feeds: BTreeMap<String, CompiledFeed>,
    /// Where `GET /v1/offers/{key}` reads the whole offer.
    store: Option<Store>,
    /// What `/readyz` says.
    status: Arc<IndexStatus>,
    /// The sources' terms: every offer served goes through them.
    licence: Licence,
    /// Feed bodies rendered from the current index version.
    bodies: cached::BodyCache,
    /// Where this server is reached (`https://emplois.example.fr`), for the links in feeds.
    base_url: String,
}

impl AppState {
    /// State over an index and the configured feeds; fails on a feed whose territory does not compile.
    pub fn new(
        index: OfferIndex,
        feeds: impl IntoIterator<Item = FeedDefinition>,
    ) -> Result<Self, TerritoryError> {
        let feeds = feeds
            .into_iter()
            .map(|definition| Ok((definition.name.clone(), CompiledFeed::compile(definition)?)))
            .collect::<Result<_, TerritoryError>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                index,
                feeds,
                store: None,
                status: Arc::new(ready_now()),
                licence: Licence::default(),
                bodies: cached::BodyCache::default(),
                base_url: String::new(),
            }),
        })
    }

    /// State over an index, the feeds and the store `GET /v1/offers/{key}` reads whole offers
    /// from; `/readyz` answers from `status`, which the index's follower updates.
    pub fn with_store(
        index: OfferIndex,
        feeds: impl IntoIterator<Item = FeedDefinition>,
        store: Store,
        status: Arc<IndexStatus>,
    ) -> Result<Self, TerritoryError> {
        let state = Self::new(index, feeds)?;
        let inner = Arc::into_inner(state.inner).expect("the state is not shared while built");
        Ok(Self {
            inner: Arc::new(Inner {
                store: Some(store),
                status,
                ..inner
            }),
        })
    }
}

impl AppState {
    /// The same state under these sources' terms (France Travail's alone by default).
    pub fn with_licence(self, licence: Licence) -> Self {
        let inner = Arc::into_inner(self.inner).expect("the state is not shared while built");
        Self {
            inner: Arc::new(Inner { licence, ..inner }),
        }
    }

    /// The same state reached at `url` (`https://emplois.example.fr`): the links of feeds,
    /// sitemaps and offer pages are absolute.
    pub fn with_public_url(self, url: &str) -> Self {
        let inner = Arc::into_inner(self.inner).expect("the state is not shared while built");
        Self {
            inner: Arc::new(Inner {
                base_url: url.trim_end_matches('/').to_owned(),
                ..inner
            }),
        }
    }

    /// Where this server is reached, without a trailing `/`.
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The filters of what the sources' terms withhold, at `now`.
    pub(crate) fn withheld(&self, now: chrono::DateTime<chrono::Utc>) -> relais_index::Withheld {
        let licence = &self.inner.licence;
        relais_index::Withheld {
            sources: licence.unpublishable_sources(),
            created_before: licence
                .oldest_allowed(now)
                .into_iter()
                .map(|(source, oldest)| (source, oldest.timestamp_millis()))
                .collect(),
        }
    }
}

/// An offer key as one path segment: a partner's id may hold `/`, `?`, `#` or spaces
/// (`hellowork:1792883/10218731 MESMEO`); `:` and the rest stay as they are.
pub(crate) fn path_segment(key: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    utf8_percent_encode(key, SEGMENT).to_string()
}

/// The status of an index served as it is (no follower).
fn ready_now() -> IndexStatus {
    let status = IndexStatus::starting();
    status.set_ready(0);
    status
}

#[cfg(test)]
mod tests;

/// The consumer-facing router: gzip or brotli when the client accepts them, and CORS for the
/// sites that call the JSON from the browser (preflight included; no credentials: nothing in a
/// page is secret).
pub fn router(state: AppState) -> Router {
    use axum::http::{Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
        ])
        .expose_headers([header::ETAG, header::LAST_MODIFIED])
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        .route("/v1/feeds/{feed}/offers", get(feeds::feed_offers))
        .route("/v1/feeds/{feed}/rss", get(feeds::feed_rss))
        .route("/v1/feeds/{feed}/atom", get(feeds::feed_atom))
        .route("/v1/offers", get(search::search))
        .route("/v1/offers.rss", get(search::search_rss))
        .route("/v1/offers.atom", get(search::search_atom))
        .route("/v1/offers/{key}", get(search::offer))
        .route("/methode", get(pages::method))
        .route("/offres/{key}", get(pages::offer_page))
        .route("/r/{key}", get(pages::apply_redirect))
        .route("/sitemaps/{file}", get(sitemaps::sitemap))
        .route("/widget/{feed}", get(pages::widget_page))
        .route("/widget/{feed}/offres", get(pages::widget_offers))
        .route("/widget.js", get(pages::widget_script))
        .route("/exemple/{feed}", get(pages::example_page))
        .route("/healthz", get(openapi::healthz))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/readyz", get(status::ready))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(cors)
        .with_state(state)
}
