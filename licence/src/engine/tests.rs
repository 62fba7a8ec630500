use chrono::{DateTime, Duration, Utc};
use relais_model::{Offer, OfferKey, OfferStatus, SourceId, WithdrawalReason};

use super::*;
use crate::terms::{PartnerTerms, SourceTerms};

fn now() -> DateTime<Utc> {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn offer(source: &str, id: &str, age_days: i64) -> Offer {
    let key = OfferKey::new(SourceId::parse(source).unwrap(), id).unwrap();
    let mut offer = Offer::new(key, "Agent d'accueil", "Accueil du public.", now());
    offer.dates.created_at = Some(now() - Duration::days(age_days));
    offer.offer_url = Some(format!("https://{source}.example/{id}"));
    offer.contact.email = Some("recrutement@example.fr".into());
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
                    logo_url: Some("https://hellowork.example/logo.svg".into()),
                    ..PartnerTerms::default()
                },
            ),
            SourceTerms::partner(
                "closed",
                "Closed Board",
                &PartnerTerms {
                    redistribution: false,
                    ..PartnerTerms::default()
                },
            ),
        ],
        "/methode",
    )
}

#[test]
fn each_offer_is_credited_to_its_own_source_with_its_update_and_the_licence_link() {
    let licence = licence();
    let mut france_travail = offer("francetravail", "1", 2);
    france_travail.dates.updated_at = Some(now() - Duration::hours(5));
    let licensed = licence
        .license(france_travail, Surface::FeedJson, now())
        .unwrap();
    let credit = licensed.credit();
    assert_eq!(credit.source.name, "France Travail");
    assert_eq!(
        credit.source.licence_url.as_deref(),
        Some("https://francetravail.io/licence")
    );
    assert_eq!(credit.updated_at, Some(now() - Duration::hours(5)));
    assert_eq!(
        credit.link_back.as_deref(),
        Some("https://francetravail.example/1")
    );

    let partner = licence
        .license(offer("hellowork", "9", 2), Surface::Rss, now())
        .unwrap();
    assert_eq!(partner.credit().source.name, "HelloWork");
    assert_eq!(partner.credit().source.text, "Offre publiée sur HelloWork");
    assert_eq!(
        partner.credit().updated_at,
        Some(now() - Duration::days(2)),
        "without an update date, the publication date"
    );
}

#[test]
fn refusals_say_why() {
    let licence = licence();
    let refuse = |offer: Offer| licence.license(offer, Surface::Page, now()).unwrap_err();
    assert_eq!(
        refuse(offer("closed", "1", 1)),
        Refusal::NotRedistributable {
            source: "closed".into()
        }
    );
    assert_eq!(
        refuse(offer("unknown", "1", 1)),
        Refusal::UnknownSource {
            source: "unknown".into()
        }
    );
    assert!(matches!(
        refuse(offer("hellowork", "1", 31)),
        Refusal::TooOld {
            max_age_days: 30,
            ..
        }
    ));
    assert!(
        licence
            .license(offer("hellowork", "2", 29), Surface::Page, now())
            .is_ok()
    );
    assert!(
        licence
            .license(offer("francetravail", "3", 400), Surface::Page, now())
            .is_ok(),
        "France Travail sets no maximum age: an available offer is shown"
    );
    let mut withdrawn = offer("francetravail", "4", 1);
    withdrawn.status = OfferStatus::Withdrawn {
        reason: WithdrawalReason::MissingFromCompleteSweep,
        at: now(),
    };
    assert_eq!(refuse(withdrawn), Refusal::Withdrawn);
}

#[test]
fn contact_data_reaches_only_the_offer_page() {
    let licence = licence();
    for surface in [
        Surface::FeedJson,
        Surface::Rss,
        Surface::Atom,
        Surface::Widget,
        Surface::Search,
        Surface::Detail,
        Surface::Sitemap,
    ] {
        let licensed = licence
            .license(offer("francetravail", "1", 1), surface, now())
            .unwrap();
        assert_eq!(licensed.value().contact.email, None, "{surface:?}");
    }
    let page = licence
        .license(offer("francetravail", "1", 1), Surface::Page, now())
        .unwrap();
    assert!(page.value().contact.email.is_some());
}

#[test]
fn a_list_keeps_the_order_drops_the_refused_and_credits_its_sources() {
    let licence = licence();
    let list = licence.license_all(
        [
            offer("hellowork", "1", 1),
            offer("closed", "2", 1),
            offer("francetravail", "3", 1),
            offer("hellowork", "4", 90),
        ],
        Surface::Widget,
        now(),
    );
    let keys: Vec<String> = list
        .items
        .iter()
        .map(|i| i.value().key.to_string())
        .collect();
    assert_eq!(keys, ["hellowork:1", "francetravail:3"]);
    assert_eq!(list.refused, 2);
    let sources: Vec<&str> = list
        .channel
        .sources
        .iter()
        .map(|s| s.source.as_str())
        .collect();
    assert_eq!(sources, ["francetravail", "hellowork"]);
    assert_eq!(list.channel.method_url, "/methode");

    let empty = licence.license_all(Vec::<Offer>::new(), Surface::Rss, now());
    assert_eq!(
        empty.channel.sources.len(),
        2,
        "an empty list credits every publishable source, not the closed one"
    );
}

#[test]
fn the_search_filters_agree_with_the_verdicts() {
    let licence = licence();
    assert_eq!(licence.unpublishable_sources(), ["closed"]);
    let limits = licence.oldest_allowed(now());
    assert_eq!(
        limits,
        [("hellowork".to_owned(), now() - Duration::days(30))]
    );
    let (_, oldest) = &limits[0];
    let at_limit = |published: DateTime<Utc>| {
        let mut o = offer("hellowork", "1", 0);
        o.dates.created_at = Some(published);
        licence.license(o, Surface::Search, now()).is_ok()
    };
    assert!(at_limit(*oldest), "the limit itself is allowed");
    assert!(!at_limit(*oldest - Duration::milliseconds(1)));
}
