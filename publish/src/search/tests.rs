use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use relais_index::OfferIndex;
use relais_model::{
    ContractKind, Coordinates, DepartementCode, InseeCode, Offer, OfferKey, SourceId,
};
use serde_json::Value;
use tower::ServiceExt;

use crate::{ApiError, AppState, router};

fn offer(id: &str, title: &str, commune: &str, contract: ContractKind, age_days: i64) -> Offer {
    let key = OfferKey::new(SourceId::parse("francetravail").unwrap(), id).unwrap();
    let mut offer = Offer::new(
        key,
        title,
        &format!("{title}. Poste à pourvoir."),
        Utc::now(),
    );
    offer.location.commune = Some(InseeCode::parse(commune).unwrap());
    offer.location.departement = Some(DepartementCode::parse(&commune[..2]).unwrap());
    offer.contract.kind = contract;
    offer.dates.created_at = Some(Utc::now() - Duration::days(age_days));
    offer
}

/// The job titles a job seeker types, and offers written in the other gender.
fn job_search_corpus() -> Vec<Offer> {
    use ContractKind::*;
    let mut offers = vec![
        offer("1", "Infirmier de nuit (H/F)", "46042", Permanent, 1),
        offer("2", "Infirmière coordinatrice", "31555", FixedTerm, 2),
        offer("3", "Développeur Rust", "75056", Permanent, 3),
        offer("4", "Développeuse web", "33063", Temporary, 4),
        offer("5", "Vendeur en boulangerie", "46042", Seasonal, 5),
        offer("6", "Vendeuse prêt-à-porter", "69123", FixedTerm, 6),
        offer("7", "Aide-soignant en EHPAD", "46042", Permanent, 7),
        offer("8", "Aide-soignante de nuit", "12202", Temporary, 8),
        offer("9", "Serveur / serveuse", "46042", Seasonal, 9),
        offer("10", "Serveuse en brasserie", "31555", FixedTerm, 10),
        offer("11", "Chef de rang title:boulanger", "46042", Permanent, 11),
        offer(
            "12",
            "Agent d'entretien des espaces verts",
            "46007",
            Apprenticeship,
            12,
        ),
    ];
    let mut undated = offer("13", "Infirmier libéral remplaçant", "46042", Permanent, 0);
    undated.dates.created_at = None;
    offers.push(undated);
    // Known only by its département: never in a radius.
    let mut departement_only = offer("14", "Infirmier scolaire", "46042", Permanent, 0);
    departement_only.location.commune = None;
    offers.push(departement_only);
    offers
}

fn app(offers: Vec<Offer>) -> (OfferIndex, axum::Router) {
    let index = OfferIndex::in_memory().unwrap();
    index.rebuild(offers).unwrap();
    let state = AppState::new(index.clone(), []).unwrap();
    let state = crate::testing::with_test_key(state, crate::testing::ALL_FRANCE);
    (index, router(state))
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
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{uri}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

fn ids(body: &Value) -> Vec<String> {
    body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["key"]
                .as_str()
                .unwrap()
                .trim_start_matches("francetravail:")
                .to_owned()
        })
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| id.parse::<u32>().unwrap());
    ids
}

#[tokio::test]
async fn french_job_search_as_a_job_seeker_types_it() {
    let (_, app) = app(job_search_corpus());
    // (query, the offers it must find, exactly)
    let cases: &[(&str, &[&str])] = &[
        ("infirmière", &["1", "2", "13", "14"]),
        ("infirmier", &["1", "2", "13", "14"]),
        ("INFIRMIERE", &["1", "2", "13", "14"]),
        ("développeuse", &["3", "4"]),
        ("developpeur", &["3", "4"]),
        ("vendeuse", &["5", "6"]),
        ("aide-soignante", &["7", "8"]),
        ("aide soignant", &["7", "8"]),
        ("serveuse", &["9", "10"]),
        ("infirmier CDI", &["1", "13", "14"]),
        ("CDD", &["2", "6", "10"]),
        ("intérim", &["4", "8"]),
        ("alternance", &["12"]),
        ("infirmier -nuit", &["2", "13", "14"]),
        ("\"de nuit\"", &["1", "8"]),
        ("serveuse -CDD", &["9"]),
        ("title:boulanger", &["11"]),
        ("agent d'entretien", &["12"]),
    ];
    for (query, expected) in cases {
        let uri = format!("/v1/offers?q={}&limit=100", urlencoding::encode(query));
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(sorted(ids(&body)), expected, "q={query}");
        assert_eq!(body["total"], expected.len(), "q={query}");
    }
    // Index syntax is text: a star or a field name is no error and widens nothing.
    for query in ["*", "title:", "AND OR", "(", "\"", "-"] {
        let uri = format!("/v1/offers?q={}", urlencoding::encode(query));
        assert_eq!(get(&app, &uri).await.0, StatusCode::OK, "{query}");
    }
}

#[tokio::test]
async fn the_title_weighs_more_and_undated_offers_are_never_newest() {
    let mut offers = job_search_corpus();
    let mut in_text_only = offer("20", "Chef de rang", "46042", ContractKind::Permanent, 0);
    in_text_only.description = "Travail avec un infirmier référent.".into();
    offers.push(in_text_only);
    let (_, app) = app(offers);
    let (_, body) = get(&app, "/v1/offers?q=infirmier&limit=100").await;
    let found = ids(&body);
    assert_eq!(found.last().map(String::as_str), Some("20"), "{found:?}");
    let (_, body) = get(&app, "/v1/offers?sort=date&limit=100").await;
    let found = ids(&body);
    assert_eq!(
        found.last().map(String::as_str),
        Some("13"),
        "undated last: {found:?}"
    );
    let (_, body) = get(&app, "/v1/offers?published_since=3&limit=100").await;
    assert!(!ids(&body).contains(&"13".to_owned()));
    assert_eq!(sorted(ids(&body)), ["1", "2", "14", "20"]);
}

#[tokio::test]
async fn radius_search_sorted_by_distance_around_cahors() {
    let (_, app) = app(job_search_corpus());
    let (status, body) = get(
        &app,
        "/v1/offers?around=46042&radius_km=20&sort=distance&limit=100",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let distances: Vec<f64> = body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["distance_km"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(distances.iter().all(|&d| d <= 20.0));
    let found = ids(&body);
    assert!(
        found.contains(&"12".to_owned()),
        "Arcambal (46007) is 10 km from Cahors"
    );
    assert!(
        !found.contains(&"14".to_owned()),
        "known only by its département"
    );
    assert!(!found.contains(&"2".to_owned()), "Toulouse is 90 km away");
    // Own coordinates win over the commune's point.
    let mut far = offer("30", "Infirmier", "46042", ContractKind::Permanent, 1);
    far.location.coordinates = Some(Coordinates {
        latitude: 43.6045,
        longitude: 1.4440,
    });
    let (_, app) = self::app(vec![far]);
    let (_, body) = get(&app, "/v1/offers?around=46042&radius_km=20").await;
    assert_eq!(body["total"], 0);
    let (_, body) = get(&app, "/v1/offers?lat=43.6&lon=1.44&radius_km=5").await;
    assert_eq!(body["total"], 1);
    // A point in the sea is a valid search with no result.
    let (status, body) = get(&app, "/v1/offers?lat=45&lon=-5&radius_km=50").await;
    assert_eq!((status, body["total"].as_u64()), (StatusCode::OK, Some(0)));
}

#[tokio::test]
async fn filters_and_facets_count_the_whole_result_set() {
    let (_, app) = app(job_search_corpus());
    let (_, body) = get(
        &app,
        "/v1/offers?facets=contract,departement,commune,published,source,rome_domain,working_time&limit=1",
    )
    .await;
    assert_eq!(body["total"], 14);
    for facet in [
        "contract",
        "departement",
        "published",
        "source",
        "working_time",
    ] {
        let sum: u64 = body["facets"][facet]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["count"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, 14, "{facet}");
    }
    assert_eq!(body["facets"]["contract"][0]["value"], "permanent");
    assert_eq!(body["facets"]["contract"][0]["count"], 6);
    let (_, body) = get(
        &app,
        "/v1/offers?departement=46&contract=seasonal&contract=permanent",
    )
    .await;
    assert_eq!(sorted(ids(&body)), ["1", "5", "7", "9", "11", "13", "14"]);
    let (_, body) = get(&app, "/v1/offers?territory=epci:200023737&commune=75056").await;
    assert_eq!(body["total"], 8, "Grand Cahors or Paris: {body}");
    let (_, body) = get(&app, "/v1/offers?region=76&q=serveuse").await;
    assert_eq!(sorted(ids(&body)), ["9", "10"]);
}

#[tokio::test]
async fn every_rejection_is_json_with_a_stable_code() {
    let (_, app) = app(job_search_corpus());
    let long = "a".repeat(10_000);
    let cases = [
        ("/v1/offers?contrat=permanent", "unknown_parameter", 400),
        (
            "/v1/offers?around=46042&radius_km=250",
            "radius_too_large",
            400,
        ),
        ("/v1/offers?cursor=t0000", "invalid_cursor", 400),
        (
            &format!("/v1/offers?q={long}") as &str,
            "query_too_long",
            400,
        ),
        ("/v1/offers?lat=91&lon=2", "invalid_coordinates", 400),
        (
            "/v1/offers?lat=45&lon=200&radius_km=3",
            "invalid_coordinates",
            400,
        ),
        ("/v1/offers?contract=cdi", "invalid_parameter", 400),
        ("/v1/offers?limit=1&limit=2", "repeated_parameter", 400),
        ("/v1/offers?q=a&q=b", "repeated_parameter", 400),
        ("/v1/offers?limit=0", "invalid_parameter", 400),
        ("/v1/offers?limit=abc", "invalid_parameter", 400),
        ("/v1/offers?lat=45", "invalid_parameter", 400),
        ("/v1/offers?radius_km=5", "invalid_parameter", 400),
        ("/v1/offers?sort=distance", "invalid_parameter", 400),
        ("/v1/offers?territory=dep:99", "invalid_parameter", 400),
        ("/v1/offers?facets=salary", "invalid_parameter", 400),
        ("/v1/offers?rome=Z9", "invalid_parameter", 400),
        ("/v1/offers?commune=99999", "invalid_parameter", 400),
        ("/v1/offers?published_since=-1", "invalid_parameter", 400),
        ("/v1/offers/%FF%FE", "invalid_parameter", 400),
        ("/v1/nothing", "not_found", 404),
        ("/v1/offers?%ZZ=1", "unknown_parameter", 400),
    ];
    for (uri, code, status) in cases {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A cursor of another sort order is refused, not misread.
    let (_, body) = get(&app, "/v1/offers?sort=date&limit=2").await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (status, body) = get(
        &app,
        &format!("/v1/offers?around=46042&sort=distance&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
}

#[test]
fn docs_list_every_error_code() {
    let docs = include_str!("../../../docs/api.md");
    for (code, status) in ApiError::CODES {
        assert!(
            docs.contains(&format!("| `{code}` | {status} |")),
            "docs/api.md lacks `{code}`"
        );
    }
    for name in crate::parameter_names() {
        assert!(
            docs.contains(&format!("| `{name}` |")),
            "docs/api.md lacks parameter `{name}`"
        );
    }
}

#[tokio::test]
async fn paging_while_the_index_changes_neither_skips_nor_repeats() {
    // 5 000 offers in the Lot, several per creation second, so that ties are common.
    let now = Utc::now();
    let corpus: Vec<Offer> = (0..5_000)
        .map(|i| {
            let mut o = offer(
                &format!("{i}"),
                "Agent polyvalent",
                "46042",
                ContractKind::Permanent,
                0,
            );
            o.dates.created_at = Some(now - Duration::seconds(i64::from(i / 7)));
            o
        })
        .collect();
    let (index, app) = app(corpus.clone());
    let mut seen: HashSet<String> = HashSet::new();
    let mut touched: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut page = 0;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/v1/offers?departement=46&sort=date&limit=100&cursor={c}"),
            None => "/v1/offers?departement=46&sort=date&limit=100".to_owned(),
        };
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for id in ids(&body) {
            assert!(
                seen.insert(id.clone()),
                "offer {id} seen twice (page {page})"
            );
        }
        // Between pages, 20 offers change (10 edited, 10 withdrawn), spread over the whole list:
        // 1 000 in all over the 50 pages.
        let mut edited = Vec::new();
        let mut withdrawn = Vec::new();
        for j in 0..20 {
            let n = (page * 97 + j * 251) % 5_000;
            let id = format!("{n}");
            if !touched.insert(id.clone()) {
                continue;
            }
            let key = corpus[n].key.clone();
            if j % 2 == 0 {
                let mut changed = corpus[n].clone();
                changed.title = "Agent polyvalent (poste modifié)".into();
                edited.push(changed);
            } else {
                withdrawn.push(key);
            }
        }
        index.apply(&edited, &withdrawn).unwrap();
        page += 1;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(
        touched.len() >= 900,
        "{} offers changed during the walk",
        touched.len()
    );
    let missed: Vec<String> = (0..5_000)
        .map(|i| i.to_string())
        .filter(|id| !touched.contains(id) && !seen.contains(id))
        .collect();
    assert!(
        missed.is_empty(),
        "{} untouched offers missed: {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
}

/// Walks every page of `query` with `limit` offers a page, and returns the ids in order.
async fn walk(app: &axum::Router, query: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/v1/offers?{query}&limit={limit}&cursor={c}"),
            None => format!("/v1/offers?{query}&limit={limit}"),
        };
        let (status, body) = get(app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        found.extend(ids(&body));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
}

#[tokio::test]
async fn pruned_top_k_pages_exactly_as_the_exhaustive_collection() {
    // Several segments, scores spread by repeated words and title hits, creation dates with ties.
    let now = Utc::now();
    let words = ["cuisinier", "plongeur", "serveur", "commis", "chef"];
    let mut corpus: Vec<Offer> = (0..3_000usize)
        .map(|i| {
            let title = format!("{} {}", words[i % 5], words[(i / 5) % 5]);
            let mut o = offer(&format!("{i}"), &title, "46042", ContractKind::Permanent, 0);
            o.description = format!("{} {}", "cuisinier ".repeat(i % 7), words[i % 3]);
            o.dates.created_at = Some(now - Duration::seconds((i / 3) as i64));
            o
        })
        .collect();
    // Identical offers of the same instant: their order is the tie-breaker's alone, and the
    // pruned pass must still find the ones it puts first wherever they are in the segment.
    corpus.extend((3_000..3_600).map(|i| {
        let mut o = offer(
            &format!("{i}"),
            "Pâtissier",
            "46042",
            ContractKind::Permanent,
            0,
        );
        o.description = "Pâtissier en boutique.".into();
        o.dates.created_at = Some(now - Duration::days(3));
        o
    }));
    let index = OfferIndex::in_memory().unwrap();
    for chunk in corpus.chunks(700) {
        index.apply(chunk, &[]).unwrap();
    }
    let app = router(crate::testing::with_test_key(
        AppState::new(index, []).unwrap(),
        crate::testing::ALL_FRANCE,
    ));
    for query in [
        "q=patissier",
        "q=cuisinier",
        "q=cuisinier%20chef",
        "q=cuisinier&departement=46",
        "sort=date",
        "sort=date&departement=46",
        "sort=date&q=serveur",
    ] {
        // Facets force the exhaustive collection; without them the top-k is pruned.
        let exhaustive = walk(&app, &format!("{query}&facets=source"), 100).await;
        assert!(exhaustive.len() >= 600, "{query}: {}", exhaustive.len());
        assert_eq!(walk(&app, query, 100).await, exhaustive, "{query}");
        assert_eq!(
            walk(&app, query, 7).await[..600],
            exhaustive[..600],
            "{query}"
        );
        let (_, first) = get(&app, &format!("/v1/offers?{query}&limit=1")).await;
        assert_eq!(first["total"], exhaustive.len(), "{query}");
    }
}
