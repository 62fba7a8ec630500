//! Deduplication of arbitrary text: extraction never panics, the comparison is symmetric, and a
//! deduplicator stays consistent through upserts and removals.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_dedup::{DedupConfig, Deduplicator};
use relais_model::{Offer, OfferKey, SourceId};

fn offer(source: &str, text: &str) -> Offer {
    let (title, description) = text.split_once('\n').unwrap_or((text, text));
    let key = OfferKey::new(SourceId::parse(source).unwrap(), "1").unwrap();
    let mut offer = Offer::new(key, title, description, chrono::DateTime::UNIX_EPOCH);
    offer.employer.name = Some(title.chars().rev().collect());
    offer
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let middle = text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i);
    let (left, right) = text.split_at(middle);
    let (a, b) = (offer("a", left), offer("b", right));
    let mut dedup = Deduplicator::new(DedupConfig { sketch_bits: 12, ..DedupConfig::default() }).unwrap();
    dedup.observe(&a);
    dedup.observe(&b);
    let (x, y) = (dedup.extract(&a, 1), dedup.extract(&b, 2));
    assert_eq!(dedup.compare(&x, &y).same_job(), dedup.compare(&y, &x).same_job());
    dedup.upsert(&a, 1);
    dedup.upsert(&b, 2);
    dedup.upsert(&a, 1);
    assert_eq!(dedup.len(), 2);
    assert!(dedup.cluster_count() >= 1 && dedup.cluster_count() <= 2);
    assert!(dedup.remove("a:1"));
    assert_eq!((dedup.len(), dedup.cluster_count()), (1, 1));
    assert_eq!(&*dedup.cluster_of("b:1").unwrap().canonical.key, "b:1");
});
