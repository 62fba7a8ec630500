//! Freshness over time, with the server's clock moved forward (no sleeping): past 24 hours the
//! alarm shows; past `max_staleness` the source's offers leave every surface.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use relais_index::OfferIndex;
use relais_model::{DepartementCode, InseeCode, Offer, OfferKey, SourceId};
use relais_storage::{IncomingRecord, RunKind, RunOutcome, Store};
use serde_json::Value;
use tower::ServiceExt;

use crate::{AppState, Clock, FeedDefinition, IndexStatus, router};

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let response = router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn past_24_hours_the_alarm_shows_and_past_max_staleness_the_offers_leave_the_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .unwrap();
    let source = SourceId::parse("francetravail").unwrap();
    let now = Utc::now();
    let run = store
        .start_run(&source, RunKind::Full, now, now)
        .await
        .unwrap();
    let mut offer = Offer::new(
        OfferKey::new(source.clone(), "1").unwrap(),
        "Agent d'accueil",
        "Accueil du public.",
        now,
    );
    offer.location.commune = Some(InseeCode::parse("46042").unwrap());
    offer.location.departement = Some(DepartementCode::parse("46").unwrap());
    offer.dates.created_at = Some(now);
    store
        .commit_batch(
            run,
            &[IncomingRecord {
                offer: offer.clone(),
                raw_payload: "{}".into(),
            }],
            &serde_json::json!({}),
            now,
        )
        .await
        .unwrap();
    store
        .finish_run(run, RunOutcome::Complete, &[], &serde_json::json!({}), None)
        .await
        .unwrap();
    let index = OfferIndex::in_memory().unwrap();
    index.rebuild([offer]).unwrap();
    let status = Arc::new(IndexStatus::starting());
    status.set_ready(0);
    let feeds = [FeedDefinition {
        name: "cahors".into(),
        title: "Cahors".into(),
        territory: "commune:46042".into(),
    }];
    let hours_ahead = Arc::new(AtomicI64::new(0));
    let ahead = hours_ahead.clone();
    let state = AppState::with_store(index, feeds, store, status)
        .unwrap()
        .with_max_staleness_hours(72)
        .with_clock(Clock::new(move || {
            Utc::now() + Duration::hours(ahead.load(Ordering::Relaxed))
        }));
    state.refresh_sources().await.unwrap();
    let france_travail = |body: &Value| {
        body["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "francetravail")
            .cloned()
            .unwrap()
    };

    let (_, body) = get(&state, "/v1/sources").await;
    let ft = france_travail(&body);
    assert_eq!(
        (ft["fresh"].clone(), ft["published"].clone()),
        (true.into(), true.into()),
        "{ft}"
    );
    assert_eq!(ft["active"], 1);
    assert!(ft["age_hours"].as_f64().unwrap() < 0.1);
    assert!(ft["last_complete_run"].is_string());
    assert_eq!(ft["licence"]["refresh_hours"], 24);

    hours_ahead.store(25, Ordering::Relaxed);
    let (_, body) = get(&state, "/v1/sources").await;
    let ft = france_travail(&body);
    assert_eq!(ft["fresh"], false);
    assert!(ft["alarm"].as_str().unwrap().contains("24 h"), "{ft}");
    assert_eq!(ft["published"], true, "late, not yet stale: {ft}");
    let (_, feed) = get(&state, "/v1/feeds/cahors/offers").await;
    assert_eq!(feed["total"], 1);

    hours_ahead.store(73, Ordering::Relaxed);
    let (_, body) = get(&state, "/v1/sources").await;
    let ft = france_travail(&body);
    assert_eq!(ft["published"], false);
    assert!(
        ft["withheld_reason"].as_str().unwrap().contains("72 h"),
        "{ft}"
    );
    // The body kept from before does not outlive the verdict.
    let (_, feed) = get(&state, "/v1/feeds/cahors/offers").await;
    assert_eq!(feed["total"], 0, "{feed}");
    let (status, _) = get(&state, "/offres/francetravail:1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Fresh again, then its apply link gone twice: hidden from the feed and its page.
    hours_ahead.store(0, Ordering::Relaxed);
    let (_, feed) = get(&state, "/v1/feeds/cahors/offers").await;
    assert_eq!(feed["total"], 1);
    let store = state.inner.store.clone().unwrap();
    let key = OfferKey::parse("francetravail:1").unwrap();
    for _ in 0..2 {
        store
            .record_link_check(&key, "https://example.fr/1", Some(404), Utc::now())
            .await
            .unwrap();
    }
    assert_eq!(store.hidden_offers().await.unwrap().len(), 1);
    state.refresh_sources().await.unwrap();
    let (_, feed) = get(&state, "/v1/feeds/cahors/offers").await;
    assert_eq!(feed["total"], 0, "{feed}");
    let (status, _) = get(&state, "/offres/francetravail:1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
