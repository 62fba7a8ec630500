use chrono::{Duration, Utc};
use relais_model::{ContractKind, DepartementCode, InseeCode, Offer, OfferKey, SourceId};

use super::*;
use crate::Radius;

/// An offer in the département's first commune (`46001`, `75001`...), or known only by its
/// département when the id ends with `d`.
fn offer(id: &str, title: &str, description: &str, departement: &str, age_days: i64) -> Offer {
    let key = OfferKey::new(SourceId::parse("francetravail").unwrap(), id).unwrap();
    let mut offer = Offer::new(key, title, description, Utc::now());
    offer.location.departement = Some(DepartementCode::parse(departement).unwrap());
    if !id.ends_with('d') {
        offer.location.commune = Some(InseeCode::parse(&format!("{departement}001")).unwrap());
    }
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

fn places(communes: &[&str], whole_departements: &[&str]) -> Option<std::sync::Arc<PlaceFilter>> {
    Some(std::sync::Arc::new(PlaceFilter {
        communes: communes.iter().map(|c| c.to_string()).collect(),
        whole_departements: whole_departements.iter().map(|d| d.to_string()).collect(),
        whole_regions: Vec::new(),
    }))
}

fn search(index: &OfferIndex, places: Option<std::sync::Arc<PlaceFilter>>) -> Vec<String> {
    let page = index
        .search(&FeedQuery {
            places,
            limit: 10,
            ..FeedQuery::default()
        })
        .unwrap();
    page.offers.into_iter().map(|o| o.key).collect()
}

#[test]
fn filters_by_communes_newest_first() {
    assert_eq!(
        search(&index(), places(&["46001"], &[])),
        ["francetravail:2", "francetravail:1"]
    );
}

#[test]
fn offers_known_only_by_their_departement_belong_to_feeds_covering_it_whole() {
    let index = index();
    index
        .apply(
            &[offer(
                "6d",
                "Poste quelque part dans le Lot",
                "Texte",
                "46",
                0,
            )],
            &[],
        )
        .unwrap();
    assert!(!search(&index, places(&["46001"], &[])).contains(&"francetravail:6d".to_owned()));
    assert_eq!(
        search(&index, places(&["46001"], &["46"])),
        ["francetravail:6d", "francetravail:2", "francetravail:1"]
    );
    // A département covered whole is one term: every offer of the Lot belongs, at whatever
    // level it is known, beside the communes listed outside it.
    assert_eq!(
        search(&index, places(&["12001"], &["46"])),
        [
            "francetravail:6d",
            "francetravail:2",
            "francetravail:1",
            "francetravail:4"
        ]
    );
    let lot = relais_territory::parse_territory("dep:46").unwrap();
    let filter = PlaceFilter::from(&lot);
    assert!(filter.communes.is_empty(), "{filter:?}");
    assert_eq!(filter.whole_departements, ["46"]);
    assert_eq!(
        search(&index, Some(std::sync::Arc::new(filter))),
        ["francetravail:6d", "francetravail:2", "francetravail:1"]
    );
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
    assert_eq!(search(&index, places(&["75001"], &[])), ["francetravail:5"]);
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

#[test]
fn an_index_of_an_older_schema_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("old", tantivy::schema::STRING);
    tantivy::Index::create_in_dir(dir.path(), builder.build()).unwrap();
    let index = OfferIndex::open_or_create(dir.path()).unwrap();
    assert!(index.is_empty());
    index
        .rebuild([offer("1", "Boulanger", "Pain", "46", 1)])
        .unwrap();
    assert_eq!(OfferIndex::open_or_create(dir.path()).unwrap().len(), 1);
}

#[test]
fn an_offer_hidden_by_key_is_left_out() {
    let index = index();
    let all = search(&index, places(&["46001"], &[]));
    let hidden = all[0].clone();
    let page = index
        .search(&FeedQuery {
            places: places(&["46001"], &[]),
            limit: 100,
            withheld: crate::Withheld {
                keys: vec![hidden.clone()],
                ..Default::default()
            },
            ..FeedQuery::default()
        })
        .unwrap();
    assert_eq!(page.total, all.len() - 1);
    assert!(page.offers.iter().all(|o| o.key != hidden));
}

/// A pseudo-random corpus: titles and texts of a few job words repeated unevenly (so that
/// scores spread and tie), four départements, creation times a few seconds or days apart.
fn corpus(count: u64, seed: u64) -> Vec<Offer> {
    const WORDS: [&str; 8] = [
        "agent",
        "chargé",
        "infirmier",
        "technicien",
        "entretien",
        "accueil",
        "mairie",
        "école",
    ];
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    (0..count)
        .map(|i| {
            let title = format!("{} {}", WORDS[next(8) as usize], WORDS[next(8) as usize]);
            let length = 3 + next(40);
            let text: Vec<&str> = (0..length).map(|_| WORDS[next(8) as usize]).collect();
            let departement = ["46", "75", "12", "31"][next(4) as usize];
            let mut offer = offer(
                &format!("{seed}-{i}"),
                &title,
                &text.join(" "),
                departement,
                0,
            );
            offer.dates.created_at = Some(
                chrono::DateTime::from_timestamp(1_790_000_000 + next(20) as i64 * 86_400, 0)
                    .unwrap(),
            );
            offer
        })
        .collect()
}

/// Every page of a search, following the cursor: the keys in order and the totals.
fn walk(
    index: &OfferIndex,
    request: &SearchRequest,
    scoring: Scoring,
) -> (Vec<String>, Vec<usize>) {
    let (mut keys, mut totals) = (Vec::new(), Vec::new());
    let mut request = request.clone();
    loop {
        let page = index
            .search_offers_scoring(&request, false, scoring)
            .unwrap();
        keys.extend(page.hits.into_iter().map(|hit| hit.key));
        totals.push(page.total);
        match page.next_cursor {
            Some(cursor) => request.after = Some(cursor),
            None => return (keys, totals),
        }
    }
}

/// [`corpus`] with contracts (a third fixed-term, the rest permanent), and a few hundred more
/// offers in one commune of the Ariège: a radius there holds a small share of a word's offers.
fn corpus_with_contracts(count: u64, seed: u64) -> Vec<Offer> {
    let ariege = corpus(count / 15, seed + 100).into_iter().map(|mut offer| {
        offer.location.departement = Some(DepartementCode::parse("09").unwrap());
        offer.location.commune = Some(InseeCode::parse("09001").unwrap());
        offer
    });
    let mut offers: Vec<Offer> = corpus(count, seed).into_iter().chain(ariege).collect();
    for (i, offer) in offers.iter_mut().enumerate() {
        offer.contract.kind = match i % 3 {
            0 => ContractKind::FixedTerm,
            _ => ContractKind::Permanent,
        };
    }
    offers
}

/// A word beside filters skips scoring the blocks that cannot reach the page: it pages exactly
/// as scoring every match does (the same offers in the same order, the same totals), on one
/// segment and on several with deletions; with places, a radius holding many or few of the
/// word's offers (a bit set looked up, or leapfrogged), and a contract beside either. A word
/// alone pages as tantivy's block-max WAND does.
#[test]
fn a_word_with_filters_pages_as_scoring_every_match_does() {
    let index = OfferIndex::in_memory().unwrap();
    let offers = corpus_with_contracts(6_000, 1);
    let point_of = |commune: &str| {
        let offer = offers
            .iter()
            .find(|o| {
                o.location
                    .commune
                    .as_ref()
                    .is_some_and(|c| c.as_str() == commune)
            })
            .unwrap();
        crate::schema::offer_point(offer).unwrap()
    };
    let (lot, ariege) = (point_of("46001"), point_of("09001"));
    index.rebuild(offers.clone()).unwrap();
    let requests: Vec<SearchRequest> = ["agent", "chargée", "école"]
        .into_iter()
        .flat_map(|word| {
            let by_place = [
                places(&[], &["75"]),
                places(&["46001", "12001"], &[]),
                places(&[], &["31", "12"]),
            ]
            .into_iter()
            .map(move |places| SearchRequest {
                text: Some(word.to_owned()),
                places: places.into_iter().collect(),
                limit: 50,
                ..SearchRequest::default()
            });
            let by_radius = [
                (lot, vec![]),
                (ariege, vec![]),
                (lot, vec!["permanent"]),
                (ariege, vec!["fixed_term"]),
            ]
            .into_iter()
            .map(move |(center, contracts)| SearchRequest {
                text: Some(word.to_owned()),
                radius: Some(Radius { center, km: 5.0 }),
                contracts: contracts.into_iter().map(str::to_owned).collect(),
                limit: 20,
                ..SearchRequest::default()
            });
            // Alone, the word is ranked over its title's postings first (MaxScore), against
            // tantivy's block-max WAND.
            let alone = [7, 20, 100].map(move |limit| SearchRequest {
                text: Some(word.to_owned()),
                limit,
                ..SearchRequest::default()
            });
            by_place.chain(by_radius).chain(alone)
        })
        .collect();
    let check = |index: &OfferIndex| {
        for request in &requests {
            let (keys, totals) = walk(index, request, Scoring::BoundedByBlocks);
            let (every_keys, every_totals) = walk(index, request, Scoring::EveryMatch);
            assert!(
                keys.len() > 60,
                "{} matches of {:?}",
                keys.len(),
                request.text
            );
            assert_eq!(totals, every_totals);
            assert_eq!(keys, every_keys, "{:?}", request.text);
            let distinct: std::collections::HashSet<&String> = keys.iter().collect();
            assert_eq!(distinct.len(), keys.len(), "no offer twice");
            assert_eq!(keys.len(), totals[0], "every match once");
        }
    };
    check(&index);
    // A second segment of other lengths, and deletions in the first.
    let removed: Vec<OfferKey> = offers
        .into_iter()
        .step_by(7)
        .map(|offer| offer.key)
        .collect();
    index
        .apply(&corpus_with_contracts(2_000, 2), &removed)
        .unwrap();
    assert!(index.segment_count() > 1);
    check(&index);
}

/// A key's territory that holds every indexed offer changes nothing and is left out; once an
/// offer lies outside it (here, one with no place at all), it filters again.
#[test]
fn a_territory_holding_every_offer_filters_nothing_and_one_that_does_not_filters() {
    let index = index();
    let france = std::sync::Arc::new(PlaceFilter::from(
        &relais_territory::parse_territory("pays:FR").unwrap(),
    ));
    let request = |within: Option<std::sync::Arc<PlaceFilter>>| SearchRequest {
        text: Some("agent".to_owned()),
        within,
        limit: 10,
        ..SearchRequest::default()
    };
    let total = |request: &SearchRequest| index.search_offers(request, false).unwrap().total;
    assert_eq!(total(&request(Some(france.clone()))), 2);
    assert_eq!(total(&request(None)), 2);
    let mut nowhere = offer("9", "Agent polyvalent", "Sans lieu", "46", 1);
    nowhere.location = Default::default();
    index.apply(&[nowhere], &[]).unwrap();
    assert_eq!(total(&request(None)), 3);
    assert_eq!(
        total(&request(Some(france.clone()))),
        2,
        "the offer with no place is outside the territory"
    );
    let lot = std::sync::Arc::new(PlaceFilter::from(
        &relais_territory::parse_territory("dep:46").unwrap(),
    ));
    assert_eq!(total(&request(Some(lot))), 1);
}

/// A feed's numbered pages, on several segments with deletions: together they are exactly its
/// offers, newest first, each once, with the exact total on every page; a page past the end is
/// empty. The same with a word.
#[test]
fn numbered_feed_pages_hold_every_offer_once_newest_first() {
    let index = OfferIndex::in_memory().unwrap();
    let offers = corpus(3_000, 7);
    index.rebuild(offers[..2_000].to_vec()).unwrap();
    // A second segment, and deletions in the first.
    let removed: Vec<OfferKey> = offers[..300].iter().map(|o| o.key.clone()).collect();
    index.apply(&offers[2_000..], &removed).unwrap();
    assert!(index.segment_count() > 1, "several segments");
    let kept: Vec<&Offer> = offers[300..].iter().collect();
    for (places, text) in [
        (places(&[], &["46", "12"]), None),
        (places(&["75001"], &[]), Some("agent")),
        (None, None),
    ] {
        let expected: Vec<&Offer> = kept
            .iter()
            .copied()
            .filter(|o| {
                places.as_ref().is_none_or(|p| {
                    let departement = o.location.departement.as_ref().unwrap().as_str();
                    let commune = o.location.commune.as_ref().unwrap().as_str();
                    p.whole_departements.iter().any(|d| d == departement)
                        || p.communes.iter().any(|c| c == commune)
                })
            })
            .filter(|o| {
                text.is_none_or(|word| o.title.contains(word) || o.description.contains(word))
            })
            .collect();
        let mut seen = Vec::new();
        for page in 1.. {
            let got = index
                .search(&FeedQuery {
                    places: places.clone(),
                    text: text.map(str::to_owned),
                    offset: (page - 1) * 70,
                    limit: 70,
                    ..FeedQuery::default()
                })
                .unwrap();
            assert_eq!(got.total, expected.len(), "page {page}");
            if got.offers.is_empty() {
                break;
            }
            seen.extend(got.offers);
        }
        let keys: Vec<&str> = seen.iter().map(|o| o.key.as_str()).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "each offer once");
        let mut wanted: Vec<String> = expected.iter().map(|o| o.key.to_string()).collect();
        wanted.sort_unstable();
        assert_eq!(unique, wanted, "exactly the feed's offers");
        let created: Vec<_> = seen.iter().map(|o| o.created_at).collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    }
}
