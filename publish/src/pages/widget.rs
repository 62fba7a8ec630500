//! The widget's offers, in its two forms.
//!
//! `/widget/{feed}`: the iframe page, for CMSs that forbid scripts. Server-rendered and usable
//! without JavaScript: a search box and filters (contract, commune, working time) in a plain GET
//! form, the feed's offers, the next page by cursor, the attribution; loading, empty and error
//! states in French. A few lines of script only tell the host page its height (`postMessage`),
//! so that the iframe fits its content. Themeable by query parameters that set its CSS custom
//! properties (`accent`, `texte`, `fond` as `#rgb` or `#rrggbb`, `rayon` in px, `police` as a
//! font family name).
//!
//! `/widget/{feed}/offres`: the same view as JSON, which the web component (`/widget.js`) reads
//! with the same parameters: both forms show the same offers, choices and messages.

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais_index::{CONTRACT_NAMES, Cursor, FacetName, PlaceFilter, SearchRequest, SortOrder};
use relais_licence::{Credit, Surface};
use relais_territory::geography;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::syndication::contract_name;
use crate::traffic::{Channel, Event};

/// Offers per page of the widget.
const PER_PAGE: usize = 10;

/// The form's fields and the theme.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WidgetParams {
    q: Option<String>,
    contrat: Option<String>,
    commune: Option<String>,
    temps: Option<String>,
    suite: Option<String>,
    accent: Option<String>,
    texte: Option<String>,
    fond: Option<String>,
    rayon: Option<String>,
    police: Option<String>,
}

/// An offer of the list.
#[derive(Serialize)]
struct Card {
    key: String,
    title: String,
    employer: Option<String>,
    place: String,
    contract: &'static str,
    published: Option<String>,
    /// The last update at the source, when it is not the publication day.
    updated: Option<String>,
    page_url: String,
    credit: Credit,
}

/// A choice of a filter.
#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    #[serde(skip)]
    selected: bool,
}

/// What both forms show for a request: the offers, the filters' choices, the messages.
#[derive(Serialize)]
struct WidgetView {
    feed: String,
    title: String,
    total: usize,
    offers: Vec<Card>,
    /// The cursor of the next page (`suite`), when there is one.
    next: Option<String>,
    contracts: Vec<Choice>,
    communes: Vec<Choice>,
    working_times: Vec<Choice>,
    /// Why the request cannot be answered, in French.
    error: Option<String>,
    /// The index could not answer (a 503), as opposed to a wrong parameter (a 400).
    #[serde(skip)]
    unavailable: bool,
    credits: Vec<relais_licence::SourceCredit>,
    method_url: String,
}

impl WidgetView {
    fn status(&self) -> StatusCode {
        match (&self.error, self.unavailable) {
            (_, true) => StatusCode::SERVICE_UNAVAILABLE,
            (Some(_), false) => StatusCode::BAD_REQUEST,
            (None, false) => StatusCode::OK,
        }
    }
}

#[derive(Template)]
#[template(path = "widget.html")]
struct WidgetPage {
    view: WidgetView,
    q: String,
    next_url: Option<String>,
    first_url: String,
    theme: String,
}

fn colour(value: Option<&str>) -> Option<&str> {
    let value = value?;
    let hex = value.strip_prefix('#')?;
    (matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(value)
}

/// The theme's custom properties from the query: only values that cannot break out of CSS.
fn theme(params: &WidgetParams) -> String {
    let mut css = String::new();
    for (property, value) in [
        ("--relais-couleur-accent", colour(params.accent.as_deref())),
        ("--relais-couleur-texte", colour(params.texte.as_deref())),
        ("--relais-couleur-fond", colour(params.fond.as_deref())),
    ] {
        if let Some(value) = value {
            css.push_str(&format!("{property}: {value}; "));
        }
    }
    if let Some(radius) = params
        .rayon
        .as_deref()
        .and_then(|r| r.parse::<u8>().ok())
        .filter(|r| *r <= 40)
    {
        css.push_str(&format!("--relais-rayon: {radius}px; "));
    }
    if let Some(font) = params.police.as_deref().filter(|f| {
        !f.is_empty()
            && f.len() <= 60
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    }) {
        css.push_str(&format!(
            "--relais-police: \"{font}\", system-ui, sans-serif; "
        ));
    }
    css
}

fn working_time_label(value: &str) -> &'static str {
    match value {
        "full_time" => "Temps plein",
        "part_time" => "Temps partiel",
        _ => "Non précisé",
    }
}

fn commune_label(code: &str) -> String {
    let geography = geography();
    geography
        .current_commune(code)
        .map(|id| geography.commune(id).name.to_owned())
        .unwrap_or_else(|| code.to_owned())
}

/// The form's query string with `suite` set (the theme kept).
fn url_with(feed: &str, params: &WidgetParams, next: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("q", &params.q),
        ("contrat", &params.contrat),
        ("commune", &params.commune),
        ("temps", &params.temps),
        ("accent", &params.accent),
        ("texte", &params.texte),
        ("fond", &params.fond),
        ("rayon", &params.rayon),
        ("police", &params.police),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    if let Some(next) = next {
        query.append_pair("suite", next);
    }
    format!("/widget/{feed}?{}", query.finish())
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

/// The answer for an unknown feed.
pub(super) fn unknown_feed() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Flux inconnu</title><p>Aucun flux d'offres ne porte ce nom.</p></html>"
            .to_owned(),
    )
}

/// The feed's name and the form's fields (an unreadable query reads as an empty form).
fn form(
    feed: Result<Path<String>, PathRejection>,
    params: Result<Query<WidgetParams>, QueryRejection>,
) -> Option<(String, WidgetParams)> {
    let Path(name) = feed.ok()?;
    Some((name, params.map(|Query(p)| p).unwrap_or_default()))
}

/// `GET /widget/{feed}`: the iframe page.
pub(crate) async fn widget_page(
    State(state): State<AppState>,
    feed: Result<Path<String>, PathRejection>,
    params: Result<Query<WidgetParams>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Some((name, params)) = form(feed, params) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(view) = widget_view(&state, &name, &params).await else {
        return unknown_feed();
    };
    let status = view.status();
    // The iframe's list is on screen once served: its impressions are counted here (the web
    // component reports its own with a beacon).
    if status == StatusCode::OK {
        state.count_for_feed(
            &headers,
            &name,
            Channel::Widget,
            Event::Impression,
            view.offers.iter().map(|o| o.key.as_str()),
        );
    }
    let theme_only = WidgetParams {
        accent: params.accent.clone(),
        texte: params.texte.clone(),
        fond: params.fond.clone(),
        rayon: params.rayon.clone(),
        police: params.police.clone(),
        ..WidgetParams::default()
    };
    let page = WidgetPage {
        next_url: view
            .next
            .as_deref()
            .map(|next| url_with(&name, &params, Some(next))),
        first_url: url_with(&name, &theme_only, None),
        q: params.q.clone().unwrap_or_default(),
        theme: theme(&params),
        view,
    };
    match page.render() {
        // Not kept by the browser: each display is an impression, counted when served.
        Ok(body) => {
            let mut answer = html_response(status, body);
            answer.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-cache"),
            );
            answer
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /widget/{feed}/offres`: the same view as JSON, for the web component.
pub(crate) async fn widget_offers(
    State(state): State<AppState>,
    feed: Result<Path<String>, PathRejection>,
    params: Result<Query<WidgetParams>, QueryRejection>,
) -> Response {
    let Some((name, params)) = form(feed, params) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(view) = widget_view(&state, &name, &params).await else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "public, max-age=60")],
            axum::Json(serde_json::json!({ "error": "Aucun flux d'offres ne porte ce nom." })),
        )
            .into_response();
    };
    let status = view.status();
    let token = state.inner.beacon.token(
        &name,
        view.offers.iter().map(|o| o.key.clone()).collect(),
        state.now(),
    );
    let mut body = serde_json::to_value(&view).unwrap_or_default();
    if let Some(object) = body.as_object_mut() {
        // Sent back by the web component once these offers are on screen.
        object.insert("beacon".into(), serde_json::Value::String(token));
    }
    (
        status,
        // Not kept: its token counts the one display of these offers (sent twice, it counts once).
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// `POST /v1/traffic/impressions`: the web component's beacon. The body is the `beacon` token of
/// a page of `/widget/{feed}/offres` once its offers are on screen.
#[utoipa::path(
    post,
    path = "/v1/traffic/impressions",
    tag = "feeds",
    request_body(content = String, content_type = "text/plain", description = "The `beacon` token of a page of `/widget/{feed}/offres`"),
    responses(
        (status = 204, description = "Counted (unless the user agent is a known robot)"),
        (status = 400, description = "Not a token this server signed in the last hours"),
    )
)]
pub(crate) async fn widget_beacon(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let Some(shown) =
        state
            .inner
            .beacon
            .verify_once(body.trim(), state.now(), &state.inner.beacons_counted)
    else {
        return StatusCode::BAD_REQUEST;
    };
    state.count_for_feed(
        &headers,
        &shown.feed,
        Channel::Widget,
        Event::Impression,
        shown.keys.iter().map(String::as_str),
    );
    StatusCode::NO_CONTENT
}

/// Whether `code` is a commune of the feed's territory: the filter narrows, never widens.
fn commune_inside(places: &PlaceFilter, code: &str) -> bool {
    places.communes.iter().any(|c| c == code)
        || geography().current_commune(code).is_some_and(|id| {
            let commune = geography().commune(id);
            places
                .whole_departements
                .iter()
                .any(|d| d == commune.departement)
                || places.whole_regions.iter().any(|r| r == commune.region)
        })
}

/// The view of feed `name` for `params`; `None` for an unknown feed.
async fn widget_view(state: &AppState, name: &str, params: &WidgetParams) -> Option<WidgetView> {
    let feed = state.inner.feeds.get(name)?;
    let mut error = None;
    let mut unavailable = false;
    let now = state.now();
    let base = SearchRequest {
        places: vec![feed.places.clone()],
        limit: PER_PAGE,
        now_ms: now.timestamp_millis(),
        withheld: state.withheld(now),
        sort: SortOrder::Date,
        ..SearchRequest::default()
    };
    let q = params.q.as_deref().unwrap_or_default().trim();
    let mut request = SearchRequest {
        text: Some(q.to_owned()).filter(|q| !q.is_empty()),
        ..base.clone()
    };
    if request.text.is_some() {
        request.sort = SortOrder::Relevance;
    }
    if q.chars().count() > crate::MAX_QUERY_CHARS {
        error = Some("La recherche est trop longue.".to_owned());
    }
    if let Some(contract) = params.contrat.as_deref().filter(|c| !c.is_empty()) {
        if CONTRACT_NAMES.contains(&contract) {
            request.contracts = vec![contract.to_owned()];
        } else {
            error = Some("Ce type de contrat n'existe pas.".to_owned());
        }
    }
    if let Some(time) = params.temps.as_deref().filter(|t| !t.is_empty()) {
        if matches!(time, "full_time" | "part_time") {
            request.working_times = vec![time.to_owned()];
        } else {
            error = Some("Ce temps de travail n'existe pas.".to_owned());
        }
    }
    if let Some(code) = params.commune.as_deref().filter(|c| !c.is_empty()) {
        if commune_inside(&feed.places, code) {
            request.places = vec![std::sync::Arc::new(PlaceFilter {
                communes: vec![code.to_owned()],
                ..PlaceFilter::default()
            })];
        } else {
            error = Some("Cette commune n'est pas dans le territoire de ce flux.".to_owned());
        }
    }
    if let Some(token) = params.suite.as_deref().filter(|s| !s.is_empty()) {
        match Cursor::parse(token, request.sort) {
            Some(cursor) => request.after = Some(cursor),
            None => error = Some("Ce lien de page n'est plus valable.".to_owned()),
        }
    }
    let sort = request.sort;
    // The filters' choices: the feed's values, whatever the current filters.
    let choices = SearchRequest {
        limit: 1,
        facets: vec![
            FacetName::Contract,
            FacetName::Commune,
            FacetName::WorkingTime,
        ],
        ..base
    };
    let searched = if error.is_none() {
        state
            .on_index(move |index| {
                let page = index.search_offers(&request, true)?;
                let choices = index.search_offers(&choices, false)?;
                Ok((page, choices))
            })
            .await
            .ok()
    } else {
        None
    };
    let mut view = WidgetView {
        feed: name.to_owned(),
        title: feed.definition.title.clone(),
        total: 0,
        offers: Vec::new(),
        next: None,
        contracts: Vec::new(),
        communes: Vec::new(),
        working_times: Vec::new(),
        error: None,
        unavailable: false,
        credits: Vec::new(),
        method_url: String::new(),
    };
    let mut credits_of = Vec::new();
    match searched {
        Some((page, facets)) => {
            view.total = page.total;
            view.next = page.next_cursor.map(|c| c.token(sort));
            for hit in page.hits {
                let Some(summary) = hit.summary else { continue };
                let Ok(licensed) = state.inner.licence.license(summary, Surface::Widget, now)
                else {
                    continue;
                };
                let (summary, credit) = licensed.into_parts();
                credits_of.push(credit.clone());
                view.offers.push(Card {
                    page_url: crate::syndication::offer_link(
                        state.base_url(),
                        &summary.key,
                        Some(name),
                    ),
                    place: summary
                        .commune
                        .as_deref()
                        .map(commune_label)
                        .or(summary.location.clone())
                        .unwrap_or_else(|| "Lieu non précisé".to_owned()),
                    contract: contract_name(&summary.contract_kind),
                    published: summary.created_at.map(|d| d.format("%d/%m/%Y").to_string()),
                    updated: credit
                        .updated_at
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .filter(|updated| {
                            summary
                                .created_at
                                .map(|d| d.format("%d/%m/%Y").to_string())
                                .as_ref()
                                != Some(updated)
                        }),
                    key: summary.key.to_string(),
                    title: summary.title,
                    employer: summary.employer,
                    credit,
                });
            }
            fill_choices(&mut view, params, facets.facets);
        }
        None if error.is_none() => {
            unavailable = true;
            error = Some(
                "Les offres ne peuvent pas être affichées pour le moment. Réessayez dans quelques instants."
                    .to_owned(),
            );
        }
        None => {}
    }
    let channel = state.inner.licence.channel(credits_of.iter());
    view.error = error;
    view.unavailable = unavailable;
    view.credits = channel.sources;
    view.method_url = format!("{}{}", state.base_url(), channel.method_url);
    Some(view)
}

/// The filters' choices from the feed's facets, the current ones selected.
fn fill_choices(
    view: &mut WidgetView,
    params: &WidgetParams,
    facets: std::collections::BTreeMap<FacetName, Vec<(String, u64)>>,
) {
    let selected = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    for (facet, values) in facets {
        for (value, _) in values {
            let choice = |label: String| Choice {
                selected: match facet {
                    FacetName::Contract => selected(&params.contrat, &value),
                    FacetName::Commune => selected(&params.commune, &value),
                    _ => selected(&params.temps, &value),
                },
                value: value.clone(),
                label,
            };
            match facet {
                FacetName::Contract => view
                    .contracts
                    .push(choice(contract_name(&value).to_owned())),
                FacetName::Commune => view.communes.push(choice(commune_label(&value))),
                FacetName::WorkingTime if value != "unknown" => view
                    .working_times
                    .push(choice(working_time_label(&value).to_owned())),
                _ => {}
            }
        }
    }
    view.communes.sort_by(|a, b| a.label.cmp(&b.label));
}
