use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use relais_index::OfferIndex;
use relais_model::{DepartementCode, InseeCode, Offer, OfferKey, SourceId};
use tower::ServiceExt;

use crate::{AppState, FeedDefinition, router};

fn state() -> AppState {
    let index = OfferIndex::in_memory().unwrap();
    let offers = (0..45).map(|i| {
        let key = OfferKey::new(
            SourceId::parse("francetravail").unwrap(),
            &format!("{i:03}AAAA"),
        )
        .unwrap();
        let mut offer = Offer::new(key, &format!("Offre {i}"), "Texte", Utc::now());
        let (departement, commune) = if i % 3 == 0 {
            ("46", "46042")
        } else {
            ("75", "75056")
        };
        offer.location.departement = Some(DepartementCode::parse(departement).unwrap());
        offer.location.commune = Some(InseeCode::parse(commune).unwrap());
        offer
    });
    index.rebuild(offers).unwrap();
    let feeds = [
        FeedDefinition {
            name: "lot".into(),
            title: "Offres du Lot".into(),
            territory: "dep:46".into(),
        },
        FeedDefinition {
            name: "grand-cahors".into(),
            title: "Grand Cahors".into(),
            territory: "epci:200023737".into(),
        },
        FeedDefinition {
            name: "paris".into(),
            title: "Paris".into(),
            territory: "commune:75056".into(),
        },
    ];
    AppState::new(index, feeds).unwrap()
}

#[test]
fn a_feed_whose_territory_does_not_compile_is_refused_at_start() {
    let index = OfferIndex::in_memory().unwrap();
    let bad = FeedDefinition {
        name: "x".into(),
        title: "x".into(),
        territory: "dep:99".into(),
    };
    assert!(AppState::new(index, [bad]).is_err());
}

#[tokio::test]
async fn feeds_by_epci_and_by_commune() {
    let (_, cahors) = get("/v1/feeds/grand-cahors/offers?per_page=100").await;
    assert_eq!(cahors["total"], 15);
    let (_, paris) = get("/v1/feeds/paris/offers?per_page=100").await;
    assert_eq!(paris["total"], 30);
    assert!(
        paris["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["commune"] == "75056")
    );
}

async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
    let response = router(state())
        .oneshot(
            Request::get(uri)
                .header("authorization", crate::testing::TEST_BEARER)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn a_feed_serves_only_its_territory_paginated() {
    let (status, body) = get("/v1/feeds/lot/offers?per_page=10&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 15);
    assert_eq!(body["pages"], 2);
    assert_eq!(body["offers"].as_array().unwrap().len(), 5);
    assert!(
        body["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["departement"] == "46")
    );
    assert_eq!(body["attribution"]["sources"][0]["name"], "France Travail");
    assert!(
        body["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["attribution"]["name"] == "France Travail")
    );
}

#[tokio::test]
async fn errors_have_a_stable_code() {
    let (status, body) = get("/v1/feeds/nowhere/offers").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("feed_not_found"))
    );
    let (status, body) = get("/v1/feeds/lot/offers?per_page=1000").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
    let (status, body) = get("/v1/feeds/lot/offers?page=abc").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
}

/// A request without a key, as a town's site makes it.
async fn get_public(
    state: AppState,
    uri: &str,
    host: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router(state)
        .oneshot(
            Request::get(uri)
                .header("host", host)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 22).await.unwrap();
    (parts.status, parts.headers, body.to_vec())
}

#[tokio::test]
async fn the_feed_list_gives_every_feed_and_addresses_that_answer() {
    let state = state().with_public_url("https://emplois.example.fr/");
    let (status, headers, body) = get_public(state.clone(), "/v1/feeds", "ignored.example").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let list: crate::FeedsResponse = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = list.feeds.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["grand-cahors", "lot", "paris"]);
    let lot = &list.feeds[1];
    assert_eq!(
        (lot.title.as_str(), lot.territory.as_str()),
        ("Offres du Lot", "dep:46")
    );
    assert!(lot.communes > 300, "the Lot has over 300 communes");
    assert!(lot.population > 150_000);
    let paris = &list.feeds[2];
    assert_eq!(paris.communes, 1);
    let links = &lot.links;
    assert_eq!(
        links.offers,
        "https://emplois.example.fr/v1/feeds/lot/offers"
    );
    assert_eq!(links.sitemap, "https://emplois.example.fr/sitemaps/lot.xml");
    // Each address answers, without a key (what a site embeds is public).
    for url in [
        &links.offers,
        &links.rss,
        &links.atom,
        &links.widget,
        &links.widget_script,
        &links.example,
        &links.sitemap,
    ] {
        let path = url.strip_prefix("https://emplois.example.fr").unwrap();
        let (status, _, _) = get_public(state.clone(), path, "emplois.example.fr").await;
        assert_eq!(status, StatusCode::OK, "{url}");
    }
}

#[tokio::test]
async fn without_a_public_url_the_feed_list_uses_the_host_asked() {
    let (_, _, body) = get_public(state(), "/v1/feeds", "127.0.0.1:8080").await;
    let list: crate::FeedsResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        list.feeds[0].links.rss,
        "http://127.0.0.1:8080/v1/feeds/grand-cahors/rss"
    );
    // A `Host` that is not a plain name or address is not echoed.
    let (_, _, body) = get_public(state(), "/v1/feeds", "x\"><script>").await;
    let list: crate::FeedsResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.feeds[0].links.rss, "/v1/feeds/grand-cahors/rss");
}
