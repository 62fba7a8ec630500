//! The licence on every surface: each offer credited to its own source, a closed source on
//! none, an offer past its source's maximum age on none, totals that agree.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use relais_index::OfferIndex;
use relais_licence::{Licence, PartnerTerms, SourceTerms};
use relais_model::{DepartementCode, InseeCode, Offer, OfferKey, SourceId};
use relais_storage::{IncomingRecord, RunKind, Store};
use serde_json::Value;
use tower::ServiceExt;

use crate::{AppState, FeedDefinition, IndexStatus, router};

fn offer(source: &str, id: &str, age_days: i64) -> Offer {
    let key = OfferKey::new(SourceId::parse(source).unwrap(), id).unwrap();
    let mut offer = Offer::new(key, "Agent d'accueil", "Accueil du public.", Utc::now());
    offer.location.commune = Some(InseeCode::parse("46042").unwrap());
    offer.location.departement = Some(DepartementCode::parse("46").unwrap());
    offer.dates.created_at = Some(Utc::now() - Duration::days(age_days));
    offer.offer_url = Some(format!("https://{source}.example/{id}"));
    offer.contact.email = Some("recrutement@example.fr".into());
    offer
}

/// A France Travail offer whose description carries a script, a handler and an apply URL.
fn hostile() -> Offer {
    let mut offer = offer("francetravail", "9", 1);
    offer.title = "Animateur périscolaire".into();
    offer.description = "Encadrer les enfants.\n\nHoraires du soir.".into();
    offer.description_html = Some(
        r#"<p>Encadrer les enfants.</p><script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2"><p>Horaires du soir.</p>"#
            .into(),
    );
    offer.apply_url = Some("https://recrutement.example.fr/postuler/9".into());
    offer.employer.name = Some("Mairie de Cahors".into());
    offer
}

fn licence() -> Licence {
    Licence::new(
        [
            SourceTerms::france_travail("https://francetravail.io/licence"),
            SourceTerms::partner(
                "hellowork",
                "HelloWork",
                &PartnerTerms {
                    max_age_days: Some(30),
                    licence_url: Some("https://hellowork.example/cgu".into()),
                    ..PartnerTerms::default()
                },
            ),
            SourceTerms::partner(
                "closed",
                "Closed",
                &PartnerTerms {
                    redistribution: false,
                    ..PartnerTerms::default()
                },
            ),
        ],
        "/methode",
    )
}

/// Three France Travail offers, two fresh HelloWork ones, one past HelloWork's maximum age,
/// two of a closed board; all in Cahors.
async fn app() -> (tempfile::TempDir, axum::Router) {
    app_with(default_offers()).await
}

fn default_offers() -> Vec<Offer> {
    vec![
        offer("francetravail", "1", 1),
        offer("francetravail", "2", 2),
        offer("francetravail", "3", 400),
        offer("hellowork", "4", 3),
        offer("hellowork", "5", 4),
        offer("hellowork", "6", 45),
        offer("closed", "7", 1),
        offer("closed", "8", 2),
        hostile(),
        offer("francetravail", "10", 1),
    ]
}

/// The router over `offers` (`francetravail:10` withdrawn), with the feed `cahors`.
async fn app_with(offers: Vec<Offer>) -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .unwrap();
    for source in ["francetravail", "hellowork", "closed"] {
        let now = Utc::now();
        let source_id = SourceId::parse(source).unwrap();
        let run = store
            .start_run(&source_id, RunKind::Incremental, now, now)
            .await
            .unwrap();
        let records: Vec<IncomingRecord> = offers
            .iter()
            .filter(|o| o.key.source() == &source_id)
            .map(|offer| IncomingRecord {
                offer: offer.clone(),
                raw_payload: serde_json::to_string(offer).unwrap(),
            })
            .collect();
        store
            .commit_batch(run, &records, &serde_json::json!({}), now)
            .await
            .unwrap();
    }
    store
        .withdraw_offer_gone_at_source(&OfferKey::parse("francetravail:10").unwrap(), Utc::now())
        .await
        .unwrap();
    let index = OfferIndex::in_memory().unwrap();
    index
        .rebuild(
            offers
                .into_iter()
                .filter(|o| o.key.source_offer_id() != "10"),
        )
        .unwrap();
    let status = std::sync::Arc::new(IndexStatus::starting());
    status.set_ready(0);
    let feeds = [FeedDefinition {
        name: "cahors".into(),
        title: "Cahors".into(),
        territory: "commune:46042".into(),
    }];
    let state = AppState::with_store(index, feeds, store, status)
        .unwrap()
        .with_licence(licence());
    let state = crate::testing::with_test_key(state, crate::testing::ALL_FRANCE);
    (dir, router(state))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("authorization", crate::testing::TEST_BEARER)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

const PUBLISHED: [&str; 6] = [
    "francetravail:1",
    "francetravail:2",
    "francetravail:3",
    "francetravail:9",
    "hellowork:4",
    "hellowork:5",
];

/// Each offer of a list carries its own source's credit, update date and licence link; the
/// list credits its sources and links the method page.
fn assert_credited(body: &Value) {
    for offer in body["offers"].as_array().unwrap() {
        let credit = &offer["attribution"];
        let key = offer["key"].as_str().unwrap();
        let (name, licence) = if key.starts_with("hellowork:") {
            ("HelloWork", "https://hellowork.example/cgu")
        } else {
            ("France Travail", "https://francetravail.io/licence")
        };
        assert_eq!(credit["name"], name, "{key}");
        assert_eq!(credit["licence_url"], licence, "{key}");
        assert!(credit["updated_at"].is_string(), "{key}: {credit}");
        assert!(credit["link_back"].is_string(), "{key}: {credit}");
        assert!(
            offer.get("contact").is_none(),
            "{key}: no contact data in a list"
        );
    }
    let channel = &body["attribution"];
    let sources: Vec<&str> = channel["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["francetravail", "hellowork"]);
    assert_eq!(channel["method_url"], "/methode");
}

#[tokio::test]
async fn the_search_api_shows_what_the_terms_allow_each_credited_to_its_source() {
    let (_dir, app) = app().await;
    let (status, body) = get(&app, "/v1/offers?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), PUBLISHED);
    assert_eq!(body["total"], 6, "the total agrees with the offers shown");
    assert_credited(&body);
    let (_, body) = get(&app, "/v1/offers?source=closed").await;
    assert_eq!(
        body["total"], 0,
        "a closed source is withheld even when asked for"
    );
    let (_, body) = get(&app, "/v1/offers?q=accueil&facets=source&limit=100").await;
    assert_eq!(
        body["total"], 5,
        "the five published offers about « accueil »"
    );
    let facet: Vec<(String, u64)> = body["facets"]["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(facet.contains(&("hellowork".into(), 2)), "{facet:?}");
    assert!(
        !facet.iter().any(|(source, _)| source == "closed"),
        "{facet:?}"
    );
}

#[tokio::test]
async fn a_feed_shows_what_the_terms_allow_each_credited_to_its_source() {
    let (_dir, app) = app().await;
    let (status, body) = get(&app, "/v1/feeds/cahors/offers?per_page=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), PUBLISHED);
    assert_eq!(body["total"], 6);
    assert_credited(&body);
    // What a site shows without a second call.
    let hostile = body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "francetravail:9")
        .unwrap();
    assert_eq!(hostile["commune_name"], "Cahors");
    assert_eq!(hostile["commune"], "46042");
    assert!(
        hostile["latitude"]
            .as_f64()
            .is_some_and(|l| (44.0..45.0).contains(&l))
    );
    assert!(
        hostile["longitude"]
            .as_f64()
            .is_some_and(|l| (1.0..2.0).contains(&l))
    );
    assert_eq!(hostile["contract_name"], "Autre contrat");
    // `via` counts the visit for the feed's collectivité.
    assert_eq!(hostile["page_url"], "/offres/francetravail:9?via=cahors");
    assert_eq!(
        hostile["apply_url"],
        "https://recrutement.example.fr/postuler/9"
    );
    assert!(
        hostile["description_html"]
            .as_str()
            .unwrap()
            .contains("<p>")
    );
    assert_eq!(
        hostile["description"],
        "Encadrer les enfants.\n\nHoraires du soir."
    );
    assert!(hostile.get("contact").is_none());
    assert!(
        !body.to_string().contains("pwned"),
        "no script reaches a site"
    );
}

#[tokio::test]
async fn the_whole_offer_is_credited_and_withheld_ones_are_not_served() {
    let (_dir, app) = app().await;
    let (status, body) = get(&app, "/v1/offers/hellowork:4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["attribution"]["name"], "HelloWork");
    assert_eq!(body["attribution"]["text"], "Offre publiée sur HelloWork");
    assert_eq!(
        body["contact"]["email"],
        Value::Null,
        "contact data stays out of the API"
    );
    let (status, body) = get(&app, "/v1/offers/francetravail:9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["description_html"]
            .as_str()
            .unwrap()
            .contains("Horaires du soir.")
    );
    assert!(
        !body.to_string().contains("pwned"),
        "no script reaches an app"
    );
    let (status, body) = get(&app, "/v1/offers/closed:7").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("offer_not_found"))
    );
    let (status, body) = get(&app, "/v1/offers/hellowork:6").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::GONE, Some("offer_withdrawn")),
        "past its source's maximum age"
    );
}

#[tokio::test]
async fn the_method_page_lists_the_sources_their_licences_and_the_reference_data() {
    let (_dir, app) = app().await;
    let response = app
        .clone()
        .oneshot(Request::get("/methode").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let page = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(page.contains(r#"<html lang="fr">"#));
    for expected in [
        "France Travail",
        r#"href="https://francetravail.io/licence""#,
        "HelloWork",
        r#"href="https://hellowork.example/cgu""#,
        "offres de moins de 30 jours",
        "Non : aucune de ses offres n'est diffusée",
        "Déduplication",
        "Filtrage territorial",
        "Nettoyage",
        "Normalisation",
        "GeoNames",
        "Licence Ouverte",
    ] {
        assert!(page.contains(expected), "/methode lacks {expected}");
    }
}

async fn page(app: &axum::Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("authorization", crate::testing::TEST_BEARER)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The JSON-LD of a page.
fn json_ld(page: &str) -> Value {
    let start = page
        .find(r#"<script type="application/ld+json">"#)
        .expect("a JSON-LD block")
        + r#"<script type="application/ld+json">"#.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end].replace("<\\/", "</")).unwrap()
}

#[tokio::test]
async fn an_offer_page_shows_the_whole_offer_credited_with_its_job_posting() {
    let (_dir, app) = app().await;
    let (status, headers, html) = page(&app, "/offres/francetravail:9").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    for expected in [
        r#"<html lang="fr">"#,
        "<h1>Animateur périscolaire</h1>",
        "Mairie de Cahors",
        "Cahors (46000)",
        "Encadrer les enfants.",
        "Horaires du soir.",
        r#"href="/r/francetravail:9""#,
        "Offre France Travail",
        r#"href="https://francetravail.io/licence""#,
        r#"<link rel="canonical" href="/offres/francetravail:9">"#,
        r#"<meta property="og:title""#,
        "recrutement@example.fr",
    ] {
        assert!(html.contains(expected), "the page lacks {expected}");
    }
    assert!(
        !html.contains("pwned"),
        "no script or handler of the source survives"
    );
    assert!(!html.contains("onerror"));
    let posting = json_ld(&html);
    assert_eq!(posting["@type"], "JobPosting");
    for property in [
        "title",
        "description",
        "datePosted",
        "hiringOrganization",
        "jobLocation",
        "employmentType",
        "identifier",
    ] {
        assert!(!posting[property].is_null(), "JobPosting lacks {property}");
    }
    assert_eq!(posting["jobLocation"]["address"]["@type"], "PostalAddress");
    assert_eq!(
        posting["jobLocation"]["address"]["addressLocality"],
        "Cahors"
    );
    assert_eq!(posting["jobLocation"]["address"]["postalCode"], "46000");
    assert_eq!(
        posting["jobLocation"]["address"]["addressRegion"],
        "Occitanie"
    );
    assert_eq!(posting["jobLocation"]["address"]["addressCountry"], "FR");
    assert_eq!(posting["hiringOrganization"]["name"], "Mairie de Cahors");
    assert!(!posting["description"].as_str().unwrap().contains("pwned"));
}

#[tokio::test]
async fn withdrawn_withheld_and_unknown_offers_have_no_page() {
    let (_dir, app) = app().await;
    for (uri, status) in [
        ("/offres/francetravail:10", StatusCode::GONE),
        ("/offres/hellowork:6", StatusCode::GONE),
        ("/offres/closed:7", StatusCode::NOT_FOUND),
        ("/offres/francetravail:404", StatusCode::NOT_FOUND),
        ("/offres/not-a-key", StatusCode::NOT_FOUND),
        ("/r/francetravail:10", StatusCode::GONE),
        ("/r/closed:7", StatusCode::NOT_FOUND),
    ] {
        let (got, headers, html) = page(&app, uri).await;
        assert_eq!(got, status, "{uri}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{uri}");
        assert!(html.contains(r#"<html lang="fr">"#), "{uri}: a French page");
        assert!(
            !html.contains("Agent d'accueil") && !html.contains("Accueil du public"),
            "{uri}: none of the offer's content"
        );
    }
}

#[tokio::test]
async fn apply_redirects_to_the_offers_own_url_only() {
    let (_dir, app) = app().await;
    let (status, headers, _) = page(&app, "/r/francetravail:9").await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        headers["location"],
        "https://recrutement.example.fr/postuler/9"
    );
    let (status, headers, _) = page(&app, "/r/francetravail:1").await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        headers["location"], "https://francetravail.example/1",
        "without an apply URL, its page at the source"
    );
    let (_, headers, _) = page(&app, "/r/francetravail:1?to=https://evil.example").await;
    assert_eq!(headers["location"], "https://francetravail.example/1");
}

#[tokio::test]
async fn a_feeds_sitemap_lists_the_pages_of_its_published_offers() {
    let (_dir, app) = app().await;
    let (status, headers, xml) = page(&app, "/sitemaps/cahors.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    let mut listed: Vec<&str> = xml
        .split("<loc>")
        .skip(1)
        .map(|rest| rest.split("</loc>").next().unwrap())
        .map(|loc| loc.trim_start_matches("/offres/"))
        .collect();
    listed.sort();
    assert_eq!(listed, PUBLISHED);
    assert!(xml.contains("<lastmod>"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let response = app
        .clone()
        .oneshot(
            Request::get("/sitemaps/cahors.xml")
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let (status, _, _) = page(&app, "/sitemaps/nowhere.xml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_surface_credits_its_offers_and_none_shows_a_withheld_one() {
    let (_dir, app) = app().await;
    for uri in [
        "/v1/feeds/cahors/offers?per_page=100",
        "/v1/feeds/cahors/rss?per_page=100",
        "/v1/feeds/cahors/atom?per_page=100",
        "/v1/offers.rss?limit=100",
        "/v1/offers.atom?limit=100",
        "/sitemaps/cahors.xml",
    ] {
        let (status, _, text) = page(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        for key in PUBLISHED {
            assert!(text.contains(key), "{uri} lacks {key}");
        }
        for withheld in ["closed:7", "closed:8", "hellowork:6", "francetravail:10"] {
            assert!(!text.contains(withheld), "{uri} shows {withheld}");
        }
        if !uri.starts_with("/sitemaps/") {
            // Each item its own source's credit and licence link, the channel its sources.
            for credit in [
                "Offre France Travail",
                "Offre publiée sur HelloWork",
                "https://francetravail.io/licence",
                "https://hellowork.example/cgu",
            ] {
                assert!(text.contains(credit), "{uri} lacks {credit}");
            }
        }
    }
    let (_, _, html) = page(&app, "/offres/hellowork:4").await;
    assert!(html.contains("Offre publiée sur HelloWork"));
    assert!(html.contains(r#"href="https://hellowork.example/cgu""#));
    assert!(html.contains("mise à jour le"));
}

#[tokio::test]
async fn the_iframe_widget_searches_filters_and_credits_without_javascript() {
    let (_dir, app) = app().await;
    let (status, headers, html) = page(&app, "/widget/cahors").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(html.contains(r#"<html lang="fr">"#));
    assert!(
        html.contains(r#"role="status" aria-live="polite">6 offres</p>"#),
        "{html}"
    );
    for key in PUBLISHED {
        assert!(
            html.contains(&format!(r#"href="/offres/{key}?via=cahors" target="_top""#)),
            "the widget lacks {key}"
        );
    }
    assert!(!html.contains("closed:") && !html.contains("hellowork:6"));
    assert!(html.contains("Offre publiée sur HelloWork") && html.contains("Offre France Travail"));
    assert!(html.contains(r#"<label for="q">"#) && html.contains(r#"<label for="commune">"#));
    assert!(
        html.contains(r#"<option value="46042">Cahors</option>"#),
        "the feed's communes"
    );
    assert!(
        html.contains("relais-hauteur"),
        "tells the host page its height"
    );

    let (_, _, searched) = page(&app, "/widget/cahors?q=accueil").await;
    assert!(searched.contains(">5 offres</p>"), "{searched}");
    let (_, _, filtered) = page(&app, "/widget/cahors?contrat=permanent").await;
    assert!(filtered.contains("Aucune offre ne correspond à votre recherche."));
    let (_, _, by_commune) = page(&app, "/widget/cahors?commune=46042&contrat=other").await;
    assert!(by_commune.contains(">6 offres</p>"));
    assert!(by_commune.contains(r#"<option value="46042" selected>Cahors</option>"#));
    let (status, _, outside) = page(&app, "/widget/cahors?commune=75056").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        outside.contains("pas dans le territoire de ce flux"),
        "never wider than the feed"
    );
    assert!(!outside.contains("/offres/"));

    let (_, _, themed) = page(
        &app,
        "/widget/cahors?accent=%23aa3300&rayon=12&police=Atkinson%20Hyperlegible&fond=red%3B%7D%20body%7Bdisplay%3Anone",
    )
    .await;
    assert!(themed.contains("--relais-couleur-accent: #aa3300;"));
    assert!(themed.contains("--relais-rayon: 12px;"));
    assert!(themed.contains(r#"--relais-police: "Atkinson Hyperlegible""#));
    assert!(
        !themed.contains("display:none"),
        "a theme value cannot break out of CSS"
    );

    let (status, _, _) = page(&app, "/widget/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_web_component_reads_the_iframes_view_as_json() {
    let (_dir, app) = app().await;
    let (status, view) = get(&app, "/widget/cahors/offres").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["total"], 6);
    assert_eq!(keys(&view), PUBLISHED, "the same offers as every surface");
    for offer in view["offers"].as_array().unwrap() {
        assert!(offer["page_url"].as_str().unwrap().starts_with("/offres/"));
        assert!(
            offer["credit"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Offre")
        );
        assert!(offer["credit"]["licence_url"].is_string());
        assert!(offer["credit"]["updated_at"].is_string(), "the last update");
        assert!(offer.get("contact").is_none() && offer.get("description_html").is_none());
    }
    assert_eq!(view["communes"][0]["value"], "46042");
    assert_eq!(view["communes"][0]["label"], "Cahors");
    assert!(view["credits"].as_array().unwrap().len() >= 2);
    assert_eq!(view["method_url"], "/methode");
    assert!(view["error"].is_null());

    let (_, searched) = get(&app, "/widget/cahors/offres?q=accueil").await;
    assert_eq!(searched["total"], 5);
    let (status, outside) = get(&app, "/widget/cahors/offres?commune=75056").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        outside["error"]
            .as_str()
            .unwrap()
            .contains("pas dans le territoire de ce flux")
    );
    assert!(outside["offers"].as_array().unwrap().is_empty());
    let (status, unknown) = get(&app, "/widget/nowhere/offres").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["error"], "Aucun flux d'offres ne porte ce nom.");
}

#[tokio::test]
async fn the_widget_script_is_small_cached_and_the_sample_page_embeds_both_forms() {
    let (_dir, app) = app().await;
    let response = app
        .clone()
        .oneshot(
            Request::get("/widget.js")
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["cache-control"], "public, max-age=3600");
    let gzipped = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    assert!(
        gzipped.len() <= 30 * 1024,
        "widget.js is {} bytes gzipped",
        gzipped.len()
    );
    let again = app
        .clone()
        .oneshot(
            Request::get("/widget.js")
                .header("if-none-match", headers["etag"].clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let (status, _, script) = page(&app, "/widget.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains(r#"customElements.define("relais-offres""#));
    assert!(script.contains("attachShadow"));
    assert!(
        !script.contains("innerHTML"),
        "the component writes text, never HTML"
    );

    let response = app
        .clone()
        .oneshot(
            Request::get("/exemple/cahors")
                .header("host", "emplois.example.fr")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    let html = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(html.contains(r#"<html lang="fr">"#));
    assert!(html.contains(r#"<relais-offres feed="cahors"></relais-offres>"#));
    assert!(html.contains(r#"<iframe src="http://emplois.example.fr/widget/cahors""#));
    assert!(html.contains(r#"<script src="http://emplois.example.fr/widget.js" defer></script>"#));
    assert!(
        html.contains("&#60;relais-offres feed=&#34;cahors&#34;&#62;"),
        "the snippet to copy"
    );
    let response = app
        .clone()
        .oneshot(
            Request::get("/exemple/cahors")
                .header("host", "x\"><script>")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("x\"><script>"),
        "a forged Host never reaches the page"
    );
    let (status, _, _) = page(&app, "/exemple/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_offer_id_with_slashes_spaces_and_marks_has_working_links_everywhere() {
    let id = "1792883/10218731 MESMEO?94V#x";
    let mut offers = default_offers();
    offers.push(offer("hellowork", id, 1));
    let (_dir, app) = app_with(offers).await;
    let encoded = "/offres/hellowork:1792883%2F10218731%20MESMEO%3F94V%23x";
    let (_, feed) = get(&app, "/v1/feeds/cahors/offers?per_page=100").await;
    let urls: Vec<&str> = feed["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["page_url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&format!("{encoded}?via=cahors").as_str()),
        "{urls:?}"
    );
    let (_, widget) = get(&app, "/widget/cahors/offres").await;
    assert!(widget.to_string().contains(encoded));
    for surface in [
        "/v1/feeds/cahors/rss",
        "/sitemaps/cahors.xml",
        "/widget/cahors",
    ] {
        let (_, _, body) = page(&app, surface).await;
        assert!(body.contains(encoded), "{surface}");
    }
    let (status, _, html) = page(&app, encoded).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"<link rel="canonical" href="{encoded}">"#)));
    let apply = "/r/hellowork:1792883%2F10218731%20MESMEO%3F94V%23x";
    assert!(html.contains(&format!(r#"href="{apply}""#)), "Postuler");
    let response = app
        .clone()
        .oneshot(Request::get(apply).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}
