//! `/widget.js`, the web component, and `/exemple/{feed}`, a sample collectivité page that
//! embeds both forms of the widget and shows the snippets to copy.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::cached::Rendered;

/// The web component's source, compiled in.
const WIDGET_SCRIPT: &str = include_str!("../../assets/widget.js");

/// Browsers keep the script an hour: a new version reaches every site within that time.
const SCRIPT_MAX_AGE_SECONDS: u32 = 3_600;

static RENDERED_SCRIPT: LazyLock<Rendered> =
    LazyLock::new(|| Rendered::new(WIDGET_SCRIPT, "text/javascript; charset=utf-8", None));

/// `GET /widget.js`.
pub(crate) async fn widget_script(headers: HeaderMap) -> Response {
    RENDERED_SCRIPT.respond(&headers, SCRIPT_MAX_AGE_SECONDS)
}

#[derive(Template)]
#[template(path = "exemple.html")]
struct ExamplePage {
    feed: String,
    title: String,
    /// This server's address as the page's visitor reached it.
    server: String,
    component_snippet: String,
    iframe_snippet: String,
}

/// This server's address: the configured public URL, else the `Host` the request came to.
/// `GET /exemple/{feed}`.
pub(crate) async fn example_page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(feed) = state.inner.feeds.get(&name) else {
        return super::widget::unknown_feed();
    };
    let server = state.server_url(&headers);
    let title = feed.definition.title.clone();
    let page = ExamplePage {
        component_snippet: format!(
            "<script src=\"{server}/widget.js\" defer></script>\n<relais-offres feed=\"{name}\"></relais-offres>"
        ),
        iframe_snippet: format!(
            "<iframe src=\"{server}/widget/{name}\" title=\"{title}\"\n        style=\"width: 100%; border: 0; min-height: 40rem\"></iframe>\n\
             <script>\naddEventListener(\"message\", function (e) {{\n  if (e.origin !== \"{server}\" || !e.data || e.data.type !== \"relais-hauteur\") return;\n  \
             document.querySelector('iframe[src$=\"/widget/' + e.data.flux + '\"]').style.height = e.data.hauteur + \"px\";\n}});\n</script>"
        ),
        feed: name,
        title,
        server,
    };
    match page.render() {
        Ok(body) => crate::pages::html(body, 300),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
