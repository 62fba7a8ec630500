//! `/offres/{key}`: an offer's page, server-rendered in French and readable without JavaScript:
//! the whole content its source gives (licence art. 5.3), its credit, "Postuler" through
//! `/r/{key}`, the other boards that carry it, a schema.org `JobPosting` in JSON-LD, a canonical
//! URL and Open Graph tags. A withdrawn offer answers 410 with none of its content; an unknown
//! one 404. `/r/{key}` redirects to that offer's own apply URL, and nowhere else.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use relais_index::AlsoPublishedOn;
use relais_licence::{Credit, Licensed, Refusal, Surface};
use relais_model::{Offer, OfferKey, SalaryPeriod};
use relais_territory::geography;

use super::html;
use super::jsonld::job_posting;
use crate::AppState;
use crate::syndication::contract_name;
use crate::traffic::Event;

/// Seconds a browser or a proxy may keep an offer's page: none, so that every view reaches the
/// server and is counted (the page costs well under a millisecond to render).
const PAGE_MAX_AGE_SECONDS: u32 = 0;

/// The `via` parameter: the feed or collectivité a visit counts for.
fn via(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "via")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty() && value.len() <= 64)
}

#[derive(Template)]
#[template(path = "offer.html")]
struct OfferPage<'a> {
    offer: &'a Offer,
    credit: &'a Credit,
    canonical: String,
    apply_path: Option<String>,
    place: String,
    contract: String,
    working_time: Option<String>,
    salary: Option<String>,
    experience: Option<String>,
    /// The sanitised HTML description, or the text split into paragraphs.
    description_html: Option<String>,
    paragraphs: Vec<String>,
    summary: String,
    also_published_on: Vec<AlsoPublishedOn>,
    json_ld: String,
    method_url: &'a str,
}

#[derive(Template)]
#[template(path = "gone.html")]
struct GonePage<'a> {
    heading: &'a str,
    message: &'a str,
    method_url: &'a str,
}

fn date(date: Option<DateTime<Utc>>) -> Option<String> {
    date.map(|d| d.format("%d/%m/%Y").to_string())
}

/// A short French page with no content of the offer.
fn gone(state: &AppState, status: StatusCode, heading: &str, message: &str) -> Response {
    let page = GonePage {
        heading,
        message,
        method_url: state.inner.licence.method_url(),
    };
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(_) => status.into_response(),
    }
}

fn not_found(state: &AppState) -> Response {
    gone(
        state,
        StatusCode::NOT_FOUND,
        "Offre introuvable",
        "Aucune offre ne porte cette adresse.",
    )
}

fn withdrawn(state: &AppState) -> Response {
    gone(
        state,
        StatusCode::GONE,
        "Cette offre n'est plus disponible",
        "Elle a été retirée par sa source ou pourvue. Les autres offres du territoire restent consultables.",
    )
}

/// The offer of `key`, licensed for `surface`, or the page that says why not.
async fn licensed_offer(
    state: &AppState,
    key: &str,
    surface: Surface,
) -> Result<Licensed<Offer>, Response> {
    let Ok(parsed) = OfferKey::parse(key) else {
        return Err(not_found(state));
    };
    let Some(store) = &state.inner.store else {
        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    let offer = match store.offer(&parsed).await {
        Ok(Some(offer)) => offer,
        Ok(None) => return Err(not_found(state)),
        Err(error) => {
            tracing::error!(%error, "reading an offer for its page");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    if state.is_withheld(&offer.key) {
        return Err(not_found(state));
    }
    match state.inner.licence.license(offer, surface, state.now()) {
        Ok(licensed) => Ok(licensed),
        Err(Refusal::Withdrawn | Refusal::TooOld { .. }) => Err(withdrawn(state)),
        Err(Refusal::NotRedistributable { .. } | Refusal::UnknownSource { .. }) => {
            Err(not_found(state))
        }
    }
}

fn salary_text(offer: &Offer) -> Option<String> {
    let salary = offer.salary.as_ref()?;
    if let Some(label) = &salary.label {
        return Some(label.clone());
    }
    let period = match salary.period? {
        SalaryPeriod::Hour => "de l'heure",
        SalaryPeriod::Month => "par mois",
        SalaryPeriod::Year => "par an",
        SalaryPeriod::Engagement => "par cachet",
    };
    let euros = |v: f64| format!("{v:.0} €");
    match (salary.min, salary.max) {
        (Some(min), Some(max)) if min < max => {
            Some(format!("De {} à {} {period}", euros(min), euros(max)))
        }
        (Some(value), _) | (None, Some(value)) => Some(format!("{} {period}", euros(value))),
        (None, None) => None,
    }
}

/// The commune's official name and postal code, else the label the source gives.
fn place_text(offer: &Offer) -> String {
    let geography = geography();
    let commune = offer
        .location
        .commune
        .as_ref()
        .and_then(|code| geography.current_commune(code.as_str()))
        .map(|id| geography.commune(id));
    match (commune, offer.location.label.as_deref()) {
        (Some(commune), _) => {
            let postal = offer
                .location
                .postal_code
                .as_deref()
                .or(commune.postal_codes.first().copied());
            match postal {
                Some(postal) => format!("{} ({postal})", commune.name),
                None => commune.name.to_owned(),
            }
        }
        (None, Some(label)) => label.to_owned(),
        (None, None) => "Lieu non précisé".to_owned(),
    }
}

/// `GET /offres/{key}`.
pub(crate) async fn offer_page(
    State(state): State<AppState>,
    key: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(key)) = key else {
        return not_found(&state);
    };
    let licensed = match licensed_offer(&state, &key, Surface::Page).await {
        Ok(licensed) => licensed,
        Err(response) => return response,
    };
    let via = via(query.as_deref());
    state.count_via(&headers, via.as_deref(), Event::View, &key);
    let lookup = key.clone();
    let also_published_on = state
        .on_index(move |index| index.summary(&lookup))
        .await
        .ok()
        .flatten()
        .map(|summary| summary.also_published_on)
        .unwrap_or_default()
        .into_iter()
        // Shown by the board's name (`HelloWork`), not its id.
        .map(|mut copy| {
            if let Some(terms) = state.inner.licence.terms(&copy.source) {
                copy.source = terms.name.clone();
            }
            copy
        })
        .collect();
    let offer = licensed.value();
    let credit = licensed.credit();
    let canonical = crate::syndication::offer_url(state.base_url(), &offer.key.to_string());
    let description_html = offer
        .description_html
        .as_deref()
        // Sanitised when stored; cleaned again here, as the page is where a script would run.
        .map(ammonia::clean)
        .filter(|html| !html.trim().is_empty());
    let paragraphs = offer
        .description
        .split("\n\n")
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let summary: String = offer
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    let apply_path = (offer.apply_url.is_some() || offer.offer_url.is_some()).then(|| {
        let path = format!("/r/{}", crate::path_segment(&offer.key.to_string()));
        match &via {
            Some(via) => format!(
                "{path}?via={}",
                form_urlencoded::byte_serialize(via.as_bytes()).collect::<String>()
            ),
            None => path,
        }
    });
    let place = place_text(offer);
    let json_ld = job_posting(
        offer,
        &canonical,
        description_html.as_deref().unwrap_or(&offer.description),
    );
    let page = OfferPage {
        offer,
        credit,
        json_ld,
        canonical,
        apply_path,
        place,
        contract: offer.contract.label.clone().unwrap_or_else(|| {
            contract_name(relais_index::contract_name(offer.contract.kind)).to_owned()
        }),
        working_time: offer.working_time.label.clone().or_else(|| {
            match relais_index::working_time_name(offer.working_time.kind) {
                "full_time" => Some("Temps plein".to_owned()),
                "part_time" => Some("Temps partiel".to_owned()),
                _ => None,
            }
        }),
        salary: salary_text(offer),
        experience: offer.experience.label.clone(),
        description_html,
        paragraphs,
        summary,
        also_published_on,
        method_url: state.inner.licence.method_url(),
    };
    match page.render() {
        Ok(body) => html(body, PAGE_MAX_AGE_SECONDS),
        Err(error) => {
            tracing::error!(%error, "rendering an offer's page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /r/{key}`: to the offer's own apply URL (its page at the source when it gives none);
/// never to an address taken from the request.
pub(crate) async fn apply_redirect(
    State(state): State<AppState>,
    key: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(key)) = key else {
        return not_found(&state);
    };
    let licensed = match licensed_offer(&state, &key, Surface::Page).await {
        Ok(licensed) => licensed,
        Err(response) => return response,
    };
    let offer = licensed.value();
    let target = offer
        .apply_url
        .as_deref()
        .or(offer.offer_url.as_deref())
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"));
    if target.is_some() {
        state.count_via(
            &headers,
            via(query.as_deref()).as_deref(),
            Event::ApplyClick,
            &key,
        );
    }
    match target {
        Some(url) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, url.to_owned()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response(),
        None => not_found(&state),
    }
}

/// The French dates of the page.
impl OfferPage<'_> {
    fn published(&self) -> Option<String> {
        date(self.offer.dates.created_at)
    }

    fn updated(&self) -> Option<String> {
        date(self.credit.updated_at)
    }

    fn expires(&self) -> Option<String> {
        date(self.offer.dates.expires_at)
    }

    fn title_with_place(&self) -> String {
        format!("{} – {}", self.offer.title, self.place)
    }
}
