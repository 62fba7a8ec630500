//! Peers measured by `relais dedup eval` in the same run: rules taken from practice rather than
//! relais's own rules switched off.
//!
//! - [`postal_code_and_title`]: the rule a public job board publishes for its own
//!   deduplication: the same postal code and titles whose Sørensen–Dice coefficient (character
//!   bigrams) is at least 0.8;
//! - [`minhash_jaccard`]: plain near-duplicate detection: MinHash of the word 5-shingles of title
//!   and description, LSH candidates, estimated Jaccard at least 0.8.
//!
//! Both return a cluster id per offer (the offers linked by the rule, transitively).

use relais_model::Offer;
use rustc_hash::FxHashMap;

use crate::minhash::{MinHasher, band_keys};
use crate::normalise::{strip_html, words};
use crate::sketch::{sequence_hash, word_hash};

/// Clusters of offers with the same postal code and titles at least `threshold` alike.
pub fn postal_code_and_title(offers: &[Offer], threshold: f64) -> Vec<u64> {
    let mut clusters = UnionFind::new(offers.len());
    let mut by_postal_code: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, offer) in offers.iter().enumerate() {
        if let Some(code) = offer.location.postal_code.as_deref() {
            by_postal_code.entry(code).or_default().push(i);
        }
    }
    let titles: Vec<String> = offers.iter().map(|o| o.title.to_lowercase()).collect();
    for members in by_postal_code.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if strsim::sorensen_dice(&titles[i], &titles[j]) >= threshold {
                    clusters.union(i, j);
                }
            }
        }
    }
    clusters.ids()
}

const SIGNATURE: usize = 128;
const ROWS: usize = 4;

/// Clusters of offers whose title and description's word 5-shingles have an estimated Jaccard
/// similarity of at least `threshold`.
pub fn minhash_jaccard(offers: &[Offer], threshold: f64) -> Vec<u64> {
    let hasher = MinHasher::new(SIGNATURE, 0x9ee4_5eed);
    let signatures: Vec<Vec<u32>> = offers
        .iter()
        .map(|offer| {
            let text = format!("{}\n{}", offer.title, strip_html(&offer.description));
            let hashes: Vec<u64> = words(&text).iter().map(|w| word_hash(w)).collect();
            let width = 5.min(hashes.len()).max(1);
            let shingles: Vec<u32> = hashes
                .windows(width)
                .map(|window| (sequence_hash(window, 0x5419) >> 32) as u32)
                .collect();
            hasher.signature(shingles.iter().copied())
        })
        .collect();
    let mut buckets: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    let mut keys = Vec::new();
    for (i, signature) in signatures.iter().enumerate() {
        keys.clear();
        band_keys(signature, ROWS, 0x9ee4, &mut keys);
        for &key in &keys {
            buckets.entry(key).or_default().push(i);
        }
    }
    let mut clusters = UnionFind::new(offers.len());
    for members in buckets.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let (a, b) = (&signatures[i], &signatures[j]);
                let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
                if equal as f64 >= threshold * SIGNATURE as f64 {
                    clusters.union(i, j);
                }
            }
        }
    }
    clusters.ids()
}

/// Disjoint sets with path halving.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(size: usize) -> Self {
        Self {
            parent: (0..size).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }

    fn ids(mut self) -> Vec<u64> {
        (0..self.parent.len())
            .map(|i| self.find(i) as u64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use relais_model::{OfferKey, SourceId};

    fn offer(id: &str, title: &str, postal_code: Option<&str>, description: &str) -> Offer {
        let key = OfferKey::new(SourceId::parse("test").unwrap(), id).unwrap();
        let mut offer = Offer::new(key, title, description, Utc::now());
        offer.location.postal_code = postal_code.map(Into::into);
        offer
    }

    #[test]
    fn the_postal_code_rule_links_alike_titles_of_one_postal_code_only() {
        let offers = [
            offer("1", "Agent d'entretien H/F", Some("46000"), ""),
            offer("2", "AGENT D'ENTRETIEN (H/F)", Some("46000"), ""),
            offer("3", "Agent d'entretien H/F", Some("46100"), ""),
            offer("4", "Agent d'entretien H/F", None, ""),
            offer("5", "Secrétaire de mairie", Some("46000"), ""),
        ];
        let ids = postal_code_and_title(&offers, 0.8);
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        assert_ne!(ids[0], ids[3]);
        assert_ne!(ids[0], ids[4]);
    }

    #[test]
    fn minhash_links_near_identical_texts_only() {
        let text = "Vous assurez l'entretien des locaux de l'école et du restaurant scolaire. \
                    Vous travaillez en équipe avec les agents du service et les enseignants. \
                    Poste à temps complet, horaires du lundi au vendredi, permis B souhaité.";
        let offers = [
            offer("1", "Agent d'entretien", None, text),
            offer("2", "Agent d'entretien", None, &format!("<p>{text}</p>")),
            offer(
                "3",
                "Agent d'entretien",
                None,
                "Vous accueillez le public à la médiathèque.",
            ),
        ];
        let ids = minhash_jaccard(&offers, 0.8);
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
    }
}
