//! `GET /v1/feeds` (public): the configured feeds, each with its territory and the addresses of
//! everything a collectivité's web team pastes into its site.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::{AppState, path_segment};

/// One configured feed.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedListing {
    /// URL name, e.g. `grand-cahors`.
    pub name: String,
    /// Human title.
    pub title: String,
    /// The territory expression (`epci:200023737`, `dep:46 | dep:12`).
    pub territory: String,
    /// Communes of the territory.
    pub communes: usize,
    /// Their population (latest census in the reference data).
    pub population: u64,
    /// Where its offers are served.
    pub links: FeedLinks,
}

/// The absolute addresses of a feed's forms.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedLinks {
    /// Paginated JSON (`/v1/feeds/{feed}/offers`).
    pub offers: String,
    /// RSS 2.0.
    pub rss: String,
    /// Atom 1.0.
    pub atom: String,
    /// The widget as an iframe (`/widget/{feed}`).
    pub widget: String,
    /// The web component's script, for `<relais-offres feed="{feed}">`.
    pub widget_script: String,
    /// A sample page embedding both forms of the widget, with the snippets to paste.
    pub example: String,
    /// The sitemap of its offer pages.
    pub sitemap: String,
}

/// The answer of `GET /v1/feeds`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedsResponse {
    /// Every configured feed, by name.
    pub feeds: Vec<FeedListing>,
}

/// The configured feeds: name, title, territory, and the addresses of their JSON, RSS, Atom,
/// widget, sample page and sitemap.
#[utoipa::path(
    get,
    path = "/v1/feeds",
    tag = "feeds",
    responses((status = 200, description = "The configured feeds", body = FeedsResponse))
)]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let server = state.server_url(&headers);
    let feeds = state
        .inner
        .feeds
        .values()
        .map(|feed| {
            let definition = &feed.definition;
            let name = path_segment(&definition.name);
            FeedListing {
                name: definition.name.clone(),
                title: definition.title.clone(),
                territory: definition.territory.clone(),
                communes: feed.communes,
                population: feed.population,
                links: FeedLinks {
                    offers: format!("{server}/v1/feeds/{name}/offers"),
                    rss: format!("{server}/v1/feeds/{name}/rss"),
                    atom: format!("{server}/v1/feeds/{name}/atom"),
                    widget: format!("{server}/widget/{name}"),
                    widget_script: format!("{server}/widget.js"),
                    example: format!("{server}/exemple/{name}"),
                    sitemap: format!("{server}/sitemaps/{name}.xml"),
                },
            }
        })
        .collect();
    let mut response = Json(FeedsResponse { feeds }).into_response();
    // Changes only with the configuration, at a restart.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
