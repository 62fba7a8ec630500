//! Keys on the search API: territory, scopes, revocation, rate, daily cap; and the traffic they
//! and the public surfaces generate, counted exactly and written to the store.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use relais_index::OfferIndex;
use relais_model::{DepartementCode, InseeCode, Offer, OfferKey, SourceId};
use relais_storage::{ApiKeyRecord, IncomingRecord, RunKind, Store};
use serde_json::Value;
use tower::ServiceExt;

use crate::reports::Report;
use crate::{AppState, CollectiviteDefinition, FeedDefinition, IndexStatus, hash_key, router};

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0 Safari/537.36";

/// Today at noon, UTC.
fn noon() -> chrono::DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

fn offer(id: &str, commune: &str) -> Offer {
    let key = OfferKey::new(SourceId::parse("francetravail").unwrap(), id).unwrap();
    let mut offer = Offer::new(key, "Agent d'accueil", "Accueil du public.", Utc::now());
    offer.location.commune = Some(InseeCode::parse(commune).unwrap());
    offer.location.departement = Some(DepartementCode::parse(&commune[..2]).unwrap());
    offer.dates.created_at = Some(Utc::now() - Duration::days(id.len() as i64));
    offer.apply_url = Some(format!("https://recrutement.example.fr/{id}"));
    offer
}

fn key(id: &str, scopes: &[&str], rate: f64, daily_offers: Option<i64>) -> (ApiKeyRecord, String) {
    let secret = format!("relais_{id}_secret");
    (
        ApiKeyRecord {
            id: id.into(),
            collectivite: "cahors".into(),
            secret_hash: hash_key(&secret),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rate_per_second: rate,
            daily_quota: None,
            daily_offers,
            label: None,
            created_at: Utc::now(),
            revoked_at: None,
        },
        format!("Bearer {secret}"),
    )
}

/// Offers in Cahors (1–3), Toulouse (4) and Paris (5); the collectivité `cahors` (commune
/// 46042, feed `cahors`) and the keys given.
async fn state(keys: Vec<ApiKeyRecord>) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .unwrap();
    let offers = vec![
        offer("1", "46042"),
        offer("22", "46042"),
        offer("333", "46042"),
        offer("4", "31555"),
        offer("5", "75056"),
    ];
    let now = Utc::now();
    let run = store
        .start_run(
            &SourceId::parse("francetravail").unwrap(),
            RunKind::Full,
            now,
            now,
        )
        .await
        .unwrap();
    let records: Vec<IncomingRecord> = offers
        .iter()
        .map(|offer| IncomingRecord {
            offer: offer.clone(),
            raw_payload: "{}".into(),
        })
        .collect();
    store
        .commit_batch(run, &records, &serde_json::json!({}), now)
        .await
        .unwrap();
    let index = OfferIndex::in_memory().unwrap();
    index.rebuild(offers).unwrap();
    let status = std::sync::Arc::new(IndexStatus::starting());
    status.set_ready(0);
    let feeds = [FeedDefinition {
        name: "cahors".into(),
        title: "Cahors".into(),
        territory: "commune:46042".into(),
    }];
    let state = AppState::with_store(index, feeds, store.clone(), status)
        .unwrap()
        // Noon, Paris time: the day's counts stay on one day however long the test takes.
        .with_clock(crate::Clock::new(noon))
        .with_collectivites(vec![CollectiviteDefinition {
            id: "cahors".into(),
            name: "Ville de Cahors".into(),
            siren: "214600427".into(),
            territory: "commune:46042".into(),
            feeds: vec!["cahors".into()],
            contact: Some("emploi@cahors.example".into()),
        }])
        .unwrap();
    state.inner.access.reload(Vec::new(), keys);
    (dir, state)
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

async fn get(
    state: &AppState,
    uri: &str,
    bearer: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let headers: Vec<(&str, &str)> = bearer.map(|b| ("authorization", b)).into_iter().collect();
    call(state, "GET", uri, &headers, "").await
}

fn keys_of(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_key_searches_only_within_its_territory_and_scope() {
    let (search, search_bearer) = key("aaaaaaaaaaaa", &["search"], 1000.0, None);
    let (reports, reports_bearer) = key("bbbbbbbbbbbb", &["reports"], 1000.0, None);
    let (mut revoked, revoked_bearer) = key("cccccccccccc", &["search"], 1000.0, None);
    revoked.revoked_at = Some(Utc::now());
    let (_dir, state) = state(vec![search, reports, revoked]).await;

    let (status, headers, body) = get(&state, "/v1/offers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "missing_api_key");
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"relais\"");
    let forged = "Bearer relais_aaaaaaaaaaaa_not-the-secret";
    let (status, _, body) = get(&state, "/v1/offers", Some(forged)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    assert!(
        !body.to_string().contains("not-the-secret"),
        "an error never repeats a key"
    );
    let (status, _, body) = get(&state, "/v1/offers", Some(&revoked_bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("revoked_api_key"))
    );
    let (status, _, body) = get(&state, "/v1/offers", Some(&reports_bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );

    let cahors = ["francetravail:1", "francetravail:22", "francetravail:333"];
    let (status, headers, body) = get(&state, "/v1/offers", Some(&search_bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys_of(&body), cahors);
    assert_eq!(body["total"], 3);
    assert_eq!(headers["ratelimit-limit"], "1000");
    // Asking for elsewhere gets nothing from elsewhere.
    for outside in [
        "departement=75",
        "commune=31555",
        "territory=dep:31",
        "around=31555&radius_km=50",
        "region=11",
    ] {
        let (status, _, body) = get(
            &state,
            &format!("/v1/offers?{outside}"),
            Some(&search_bearer),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{outside}");
        assert_eq!(body["total"], 0, "{outside}: {body}");
    }
    let (_, _, body) = get(
        &state,
        "/v1/offers?territory=dep:46%20%7C%20dep:75",
        Some(&search_bearer),
    )
    .await;
    assert_eq!(keys_of(&body), cahors);
    let (status, _, body) = get(&state, "/v1/offers/francetravail:5", Some(&search_bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("offer_not_found"))
    );
    let (status, _, body) = get(&state, "/v1/offers/francetravail:1", Some(&search_bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["key"], "francetravail:1");
    // The feeds and the widget need no key.
    let (status, _, _) = get(&state, "/v1/feeds/cahors/offers", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn over_its_rate_or_its_daily_offers_a_key_gets_429_with_retry_after() {
    let (slow, slow_bearer) = key("dddddddddddd", &["search"], 2.0, None);
    let (capped, capped_bearer) = key("eeeeeeeeeeee", &["search"], 1000.0, Some(3));
    let (_dir, state) = state(vec![slow, capped]).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..3 {
        let (status, headers, body) = get(&state, "/v1/offers?limit=1", Some(&slow_bearer)).await;
        statuses.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((headers, body));
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let (headers, body) = limited.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["ratelimit-remaining"], "0");

    let (_, _, first) = get(&state, "/v1/offers?limit=2&sort=date", Some(&capped_bearer)).await;
    assert_eq!(first["offers"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, _, second) = get(
        &state,
        &format!("/v1/offers?limit=2&sort=date&cursor={cursor}"),
        Some(&capped_bearer),
    )
    .await;
    assert_eq!(
        second["offers"].as_array().unwrap().len(),
        1,
        "shortened to what is left of the day"
    );
    let (status, headers, body) = get(&state, "/v1/offers?limit=2", Some(&capped_bearer)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "daily_offers_exceeded");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=25 * 3600).contains(&wait), "{wait}");
}

#[tokio::test]
async fn traffic_is_counted_exactly_per_channel_without_robots_and_reported() {
    let (search, bearer) = key("ffffffffffff", &["search", "reports"], 1000.0, None);
    let (_dir, state) = state(vec![search]).await;
    let browser = [("user-agent", BROWSER)];
    let robot = [(
        "user-agent",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    )];
    // A feed page (3 offers) read by a browser, twice by a robot, once with no user agent.
    call(&state, "GET", "/v1/feeds/cahors/offers", &browser, "").await;
    call(&state, "GET", "/v1/feeds/cahors/rss", &robot, "").await;
    call(&state, "GET", "/v1/feeds/cahors/offers", &robot, "").await;
    call(&state, "GET", "/v1/feeds/cahors/offers", &[], "").await;
    // The iframe widget (3 offers), and the web component's JSON, reported by its beacon.
    call(&state, "GET", "/widget/cahors", &browser, "").await;
    let (_, _, view) = call(&state, "GET", "/widget/cahors/offres", &browser, "").await;
    let token = view["beacon"].as_str().unwrap();
    let (status, _, _) = call(&state, "POST", "/v1/traffic/impressions", &browser, token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&state, "POST", "/v1/traffic/impressions", &browser, token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a token counts once");
    let (status, _, _) = call(
        &state,
        "POST",
        "/v1/traffic/impressions",
        &browser,
        "forged.token",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Two views of an offer's page from the widget, one from nowhere, one by a robot; one click.
    for _ in 0..2 {
        call(
            &state,
            "GET",
            "/offres/francetravail:1?via=cahors",
            &browser,
            "",
        )
        .await;
    }
    call(&state, "GET", "/offres/francetravail:1", &browser, "").await;
    call(
        &state,
        "GET",
        "/offres/francetravail:1?via=cahors",
        &robot,
        "",
    )
    .await;
    let (status, _, _) = call(&state, "GET", "/r/francetravail:1?via=cahors", &browser, "").await;
    assert_eq!(status, StatusCode::FOUND);
    // The app: one search (3 offers), one detail.
    get(&state, "/v1/offers", Some(&bearer)).await;
    get(&state, "/v1/offers/francetravail:22", Some(&bearer)).await;

    assert!(state.flush_traffic().await.unwrap() > 0);
    assert_eq!(state.flush_traffic().await.unwrap(), 0, "written once");
    let store = state.inner.store.clone().unwrap();
    let today = crate::traffic::paris_day(noon());
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
    let cahors = CollectiviteDefinition {
        id: "cahors".into(),
        name: "Ville de Cahors".into(),
        siren: "214600427".into(),
        territory: "commune:46042".into(),
        feeds: vec![],
        contact: None,
    };
    let report = Report::build(&store, &cahors, day, day).await.unwrap();
    let channel = |name: &str| {
        let t = report.per_channel.get(name).copied().unwrap_or_default();
        (t.impressions, t.views, t.apply_clicks)
    };
    assert_eq!(channel("feed"), (3, 0, 0));
    assert_eq!(channel("widget"), (6, 0, 0));
    assert_eq!(channel("page"), (0, 2, 1));
    assert_eq!(channel("api"), (3, 1, 0));
    assert_eq!(
        (
            report.totals.impressions,
            report.totals.views,
            report.totals.apply_clicks
        ),
        (12, 3, 1)
    );
    assert_eq!(report.top_offers[0].key, "francetravail:1");
    assert_eq!(
        report.top_offers[0].title.as_deref(),
        Some("Agent d'accueil")
    );
    // The view from nowhere belongs to no collectivité.
    let unattributed = store.traffic("", &today, &today).await.unwrap();
    assert_eq!(unattributed.iter().map(|r| r.views).sum::<i64>(), 1);

    // The same through the API, with the key's scope.
    let (status, _, body) = get(
        &state,
        &format!("/v1/reports?from={today}&to={today}"),
        Some(&bearer),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totals"]["impressions"], 12);
    assert_eq!(body["collectivite"], "cahors");
    assert!(
        !body.to_string().contains("emploi@cahors.example"),
        "no contact data in a report"
    );
    let (status, _, body) = get(
        &state,
        &format!("/v1/reports?from={today}&to=2000-01-01"),
        Some(&bearer),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn metrics_report_routes_refusals_sources_and_the_index_with_bounded_labels() {
    let (slow, slow_bearer) = key("dddddddddddd", &["search"], 2.0, None);
    let (_dir, state) = state(vec![slow]).await;
    state.refresh_sources().await.unwrap();
    for _ in 0..3 {
        get(&state, "/v1/offers?limit=1", Some(&slow_bearer)).await;
    }
    get(&state, "/v1/feeds/cahors/offers", None).await;
    // The source has no complete run yet: its offers are withheld, the page is not found.
    let (status, _, _) = get(&state, "/offres/francetravail:22", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    get(&state, "/nowhere/francetravail:333", None).await;

    let response = router(state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        response.headers()
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    for line in [
        r#"relais_http_request_duration_seconds_count{route="/v1/offers",status="2xx"} 2"#,
        r#"relais_http_request_duration_seconds_count{route="/v1/offers",status="4xx"} 1"#,
        r#"relais_http_request_duration_seconds_count{route="/v1/feeds/{feed}/offers",status="2xx"} 1"#,
        r#"relais_http_request_duration_seconds_count{route="/offres/{key}",status="4xx"} 1"#,
        r#"relais_http_request_duration_seconds_count{route="unmatched",status="4xx"} 1"#,
        r#"relais_api_rejections_total{reason="rate_limited"} 1"#,
        r#"relais_source_offers{source="francetravail",status="active"} 5"#,
        r#"relais_source_offers{source="francetravail",status="withdrawn"} 0"#,
        r#"relais_sync_runs{source="francetravail",outcome="running"} 1"#,
        // No complete run yet: the licence's freshness alarm, and no age to give.
        r#"relais_source_freshness_alarm{source="francetravail"} 1"#,
        r#"relais_source_withheld{source="francetravail"} 1"#,
        "relais_index_ready 1",
        "relais_index_lag_changes 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(!text.contains("relais_source_last_complete_run_age_seconds{"));
    // Paths never become labels: one series per route, whatever the offers asked.
    for path in ["francetravail:22", "francetravail:333", "nowhere"] {
        assert!(!text.contains(path), "{path} in:\n{text}");
    }
}
