//! Publication: the HTTP interface for consumers (collectivités' websites and apps).
//!
//! The configured feeds (`GET /v1/feeds`; each feed's territory compiled once, at start-up) as
//! JSON, RSS and Atom, the search API (`GET /v1/offers`, `GET /v1/offers/{key}`, its RSS and
//! Atom forms; see `docs/api.md`), offer pages, sitemaps, the widget, `/methode`, the sources,
//! the traffic reports, `/openapi.json`, `/healthz`, `/readyz` and `/metrics` ([`router`]).
//! Errors use one body shape, `{"error": {"code", "message"}}`, with a stable machine code
//! ([`ApiError`]).
//!
//! Architecture invariant: publish only talks to consumers; it reads the index and never
//! fetches from a source.

mod access;
mod cached;
mod error;
mod feeds;
mod metrics;
mod openapi;
mod pages;
pub mod reports;
mod search;
mod search_pool;
mod sitemaps;
mod sources;
mod status;
mod syndication;
mod traffic;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use relais_index::OfferIndex;
use relais_storage::Store;

pub use access::{CollectiviteDefinition, IssuedKey, SCOPES, hash_key, issue_key};
pub use error::ApiError;
pub use feeds::{
    FeedDefinition, FeedDetails, FeedLinks, FeedListing, FeedOffer, FeedResponse, FeedsResponse,
};
pub use openapi::document as openapi_document;
pub use relais_licence::{ChannelCredit, Credit, Licence};
pub use relais_territory::TerritoryError;
pub use search::params::{MAX_LIMIT, MAX_QUERY_CHARS, MAX_RADIUS_KM, parameter_names};
pub use search::{FacetCount, OfferDetail, OfferSummary, SearchResponse};
pub use sources::{DEFAULT_MAX_STALENESS_HOURS, SourceInfo, SourceStatus, SourcesResponse};
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
    /// Collectivités and API keys.
    access: access::Access,
    /// Traffic counted and not yet written.
    traffic: traffic::TrafficCounter,
    /// Signs the widget's beacon tokens.
    beacon: traffic::beacon::BeaconKey,
    /// The beacon tokens already counted.
    beacons_counted: traffic::beacon::Counted,
    /// "Now" (a test sets its own).
    clock: Clock,
    /// What the store says of each source: `/v1/sources` and the freshness duties.
    sources: sources::Sources,
    /// What `/metrics` reports.
    metrics: metrics::Metrics,
}

/// Where the server reads the time: `Utc::now` unless a test sets its own.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>);

impl Clock {
    /// A clock that reads `now`.
    pub fn new(now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new(chrono::Utc::now)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
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
                access: access::Access::default(),
                traffic: traffic::TrafficCounter::default(),
                beacon: traffic::beacon::BeaconKey::default(),
                beacons_counted: traffic::beacon::Counted::default(),
                clock: Clock::default(),
                sources: sources::Sources::default(),
                metrics: metrics::Metrics::default(),
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

    /// The same state with these collectivités (those of the configuration file: they win
    /// over stored ones with the same id); fails on a territory that does not compile.
    pub fn with_collectivites(
        self,
        collectivites: Vec<CollectiviteDefinition>,
    ) -> Result<Self, TerritoryError> {
        let inner = Arc::into_inner(self.inner).expect("the state is not shared while built");
        Ok(Self {
            inner: Arc::new(Inner {
                access: access::Access::new(collectivites)?,
                ..inner
            }),
        })
    }

    /// The same state reading the time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        let inner = Arc::into_inner(self.inner).expect("the state is not shared while built");
        Self {
            inner: Arc::new(Inner { clock, ..inner }),
        }
    }

    /// The same state withholding a source whose stock has not been confirmed for longer than
    /// `hours` (default 72).
    pub fn with_max_staleness_hours(self, hours: i64) -> Self {
        let inner = Arc::into_inner(self.inner).expect("the state is not shared while built");
        let sources = sources::Sources {
            max_staleness: chrono::Duration::hours(hours),
            ..sources::Sources::default()
        };
        Self {
            inner: Arc::new(Inner { sources, ..inner }),
        }
    }

    /// Runs `work` on the index on the search threads (a search holds its thread for up to
    /// milliseconds; see `search_pool`).
    pub(crate) async fn on_index<T: Send + 'static>(
        &self,
        work: impl FnOnce(&OfferIndex) -> Result<T, relais_index::IndexError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let index = self.inner.index.clone();
        search_pool::run(move || work(&index))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// "Now".
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.inner.clock.0)()
    }

    /// Where this server is reached, without a trailing `/`.
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Where this server is reached: the configured public URL, else `http://` and the `Host`
    /// the client asked (when it is a plain host name or address), else empty (relative links).
    pub(crate) fn server_url(&self, headers: &axum::http::HeaderMap) -> String {
        if !self.base_url().is_empty() {
            return self.base_url().to_owned();
        }
        headers
            .get(axum::http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .filter(|host| {
                host.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map(|host| format!("http://{host}"))
            .unwrap_or_default()
    }

    /// Whether an offer is withheld now: its source's stock has gone unconfirmed for too long,
    /// or its apply link is gone.
    pub(crate) fn is_withheld(&self, key: &relais_model::OfferKey) -> bool {
        let sources = &self.inner.sources;
        sources
            .hidden
            .read()
            .expect("sources lock")
            .contains(&key.to_string())
            || sources
                .stale(self.now())
                .iter()
                .any(|(id, _)| id == key.source().as_str())
    }

    /// The filters of what the sources' terms withhold, at `now`.
    pub(crate) fn withheld(&self, now: chrono::DateTime<chrono::Utc>) -> relais_index::Withheld {
        let licence = &self.inner.licence;
        let mut withheld_sources = licence.unpublishable_sources();
        for (source, _) in self.inner.sources.stale(now) {
            if !withheld_sources.contains(&source) {
                withheld_sources.push(source);
            }
        }
        let mut hidden: Vec<String> = self
            .inner
            .sources
            .hidden
            .read()
            .expect("sources lock")
            .iter()
            .cloned()
            .collect();
        hidden.sort();
        relais_index::Withheld {
            keys: hidden,
            sources: withheld_sources,
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
mod testing;
#[cfg(test)]
mod tests;

/// The consumer-facing router: gzip or brotli when the client accepts them, and CORS for the
/// sites that call the JSON from the browser (preflight included; no credentials: nothing in a
/// page is secret).
pub fn router(state: AppState) -> Router {
    use axum::http::{Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::CONTENT_TYPE,
        ])
        .expose_headers([
            header::ETAG,
            header::LAST_MODIFIED,
            header::RETRY_AFTER,
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
            header::HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
        // Every answer is the same whatever the `Origin` and the preflight's method and
        // headers (`*`, fixed lists): nothing for caches to keep apart, and no header to
        // build per request.
        .vary::<[header::HeaderName; 0]>([]);
    Router::new()
        .route("/v1/feeds", get(feeds::list))
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
        .route("/v1/traffic/impressions", post(pages::widget_beacon))
        .route("/v1/reports", get(reports::reports))
        .route("/v1/sources", get(sources::sources))
        .route("/exemple/{feed}", get(pages::example_page))
        .route("/healthz", get(openapi::healthz))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/readyz", get(status::ready))
        .route("/metrics", get(metrics::metrics))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::measure,
        ))
        .with_state(state)
}
