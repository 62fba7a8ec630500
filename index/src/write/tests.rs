use chrono::Utc;
use relais_model::{DepartementCode, Offer, OfferKey, SourceId};

use super::*;

fn offer(n: usize) -> Offer {
    let key = OfferKey::new(SourceId::parse("board").unwrap(), &format!("J{n}")).unwrap();
    let mut offer = Offer::new(key, &format!("Offre {n}"), "Description", Utc::now());
    offer.location.departement = Some(DepartementCode::parse("46").unwrap());
    offer
}

/// A rebuild keeps every offer given, whatever the writer did before: tantivy's
/// `delete_all_documents` numbers the next operations from where the writer started, below
/// the deletes of its earlier commits, which a new segment may still read (found when a
/// follower rebuilt after the log was pruned, and lost offers it had removed once).
#[test]
fn a_rebuild_after_removals_keeps_every_offer() {
    let index = OfferIndex::in_memory().unwrap();
    let offers: Vec<Offer> = (0..10).map(offer).collect();
    index.rebuild(offers.clone()).unwrap();
    index.apply(&[], &[offers[1].key.clone()]).unwrap();
    assert_eq!(index.published_summaries().unwrap().len(), 9);

    assert_eq!(index.rebuild(offers.clone()).unwrap(), 10);
    assert_eq!(index.published_summaries().unwrap().len(), 10);
    // And the commits after it keep them.
    index.apply(&[offer(10)], &[]).unwrap();
    assert_eq!(index.published_summaries().unwrap().len(), 11);
}
