//! Server-rendered HTML pages, in French: `/methode` (what relais changes in the offers, the
//! sources and their licences, the reference data credits) and each offer's page (`offer`).
//!
//! Templates live in `publish/templates/` (askama: compiled in, every value escaped unless a
//! template marks it safe).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use relais_licence::SourceTerms;

use crate::{ApiError, AppState};

mod example;
mod jsonld;
mod offer;
mod widget;

pub(crate) use example::{example_page, widget_script};
pub(crate) use offer::{apply_redirect, offer_page};
pub(crate) use widget::{__path_widget_beacon, widget_beacon};
pub(crate) use widget::{widget_offers, widget_page};

/// `/methode`.
#[derive(Template)]
#[template(path = "methode.html")]
struct MethodPage<'a> {
    sources: Vec<&'a SourceTerms>,
    method_url: &'a str,
}

/// An HTML answer that caches can keep for a while.
pub(crate) fn html(body: String, max_age_seconds: u32) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={max_age_seconds}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /methode`: what relais changes in the offers, the sources with their licences, and the
/// reference data credits (licence art. 4).
pub(crate) async fn method(State(state): State<AppState>) -> Result<Response, ApiError> {
    let licence = &state.inner.licence;
    let page = MethodPage {
        sources: licence.sources().collect(),
        method_url: licence.method_url(),
    };
    let body = page
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(html(body, 3_600))
}
