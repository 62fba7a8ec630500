//! Publication: the HTTP interface for consumers (collectivités' websites and apps).
//!
//! Today: `GET /v1/feeds/{feed}/offers` (the offers of a feed's territory as paginated JSON,
//! newest first; the territory expression is compiled once, at start-up),
//! `/healthz` and `/readyz`. Errors use one body shape, `{"error": {"code", "message"}}`,
//! with a stable machine code ([`ApiError`]).
//!
//! Architecture invariant: publish only talks to consumers; it reads the index and never
//! fetches from a source.

mod error;
mod feeds;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use relais_index::OfferIndex;

pub use error::ApiError;
pub use feeds::{FeedDefinition, FeedResponse};
pub use relais_territory::TerritoryError;

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
            inner: Arc::new(Inner { index, feeds }),
        })
    }
}

/// The consumer-facing router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/feeds/{feed}/offers", get(feeds::feed_offers))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(feeds::ready))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
}
