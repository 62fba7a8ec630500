use chrono::{Duration, Utc};
use relais_model::{DepartementCode, Offer, OfferKey, SourceId};

use super::*;

fn offer(id: &str, title: &str, description: &str, departement: &str, age_days: i64) -> Offer {
    let key = OfferKey::new(SourceId::parse("francetravail").unwrap(), id).unwrap();
    let mut offer = Offer::new(key, title, description, Utc::now());
    offer.location.departement = Some(DepartementCode::parse(departement).unwrap());
    offer.dates.created_at = Some(Utc::now() - Duration::days(age_days));
    offer
}

fn index() -> OfferIndex {
    let index = OfferIndex::in_memory().unwrap();
    index
        .rebuild([
            offer(
                "1",
                "Agent d'entretien (H/F)",
                "Nettoyage des écoles de la commune",
                "46",
                3,
            ),
            offer("2", "Infirmière de nuit", "Soins aux résidents", "46", 1),
            offer("3", "Boulanger", "Fabrication du pain", "75", 2),
            offer(
                "4",
                "Agents d'entretien des espaces verts",
                "Tonte et élagage",
                "12",
                5,
            ),
        ])
        .unwrap();
    index
}

fn keys(page: &FeedPage) -> Vec<&str> {
    page.offers.iter().map(|o| o.key.as_str()).collect()
}

#[test]
fn filters_by_departement_newest_first() {
    let page = index()
        .search(&FeedQuery {
            departements: vec!["46".into()],
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(keys(&page), ["francetravail:2", "francetravail:1"]);
}

#[test]
fn french_stemming_and_accent_folding_match_variants() {
    let index = index();
    let page = index
        .search(&FeedQuery {
            text: Some("agents entretien".into()),
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(keys(&page), ["francetravail:1", "francetravail:4"]);
    let page = index
        .search(&FeedQuery {
            text: Some("ecole".into()),
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(keys(&page), ["francetravail:1"]);
    let page = index
        .search(&FeedQuery {
            text: Some("INFIRMIERE".into()),
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(keys(&page), ["francetravail:2"]);
}

#[test]
fn pagination_and_upserts_and_removals() {
    let index = index();
    let page = index
        .search(&FeedQuery {
            offset: 1,
            limit: 2,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(
        (page.total, keys(&page)),
        (4, vec!["francetravail:3", "francetravail:1"])
    );
    let removed = OfferKey::parse("francetravail:3").unwrap();
    index
        .apply(
            &[offer("5", "Nouveau poste", "Tout neuf", "75", 0)],
            std::slice::from_ref(&removed),
        )
        .unwrap();
    assert!(!index.contains(&removed));
    let page = index
        .search(&FeedQuery {
            departements: vec!["75".into()],
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(keys(&page), ["francetravail:5"]);
    assert_eq!(index.len(), 4);
}

#[test]
fn concurrent_writers_take_turns_instead_of_failing() {
    let index = index();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let index = index.clone();
            std::thread::spawn(move || {
                index.rebuild([offer(&format!("w{i}"), "Poste", "Texte", "46", 0)])
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap().unwrap(), 1);
    }
    assert_eq!(index.len(), 1);
}
