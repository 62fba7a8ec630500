//! Settings of deduplication (the `[dedup]` table of the configuration).

use serde::{Deserialize, Serialize};

use crate::error::DedupError;

/// Thresholds and sizes; the defaults are the ones measured in `docs/benchmarks.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupConfig {
    /// Words per shingle.
    pub shingle_words: usize,
    /// LSH bands of the description's MinHash signature.
    pub bands: usize,
    /// Rows (minimums) per band.
    pub rows: usize,
    /// Shingles of the description's start signed separately, so that a teaser finds its full ad.
    pub lead_shingles: usize,
    /// LSH bands of the lead's signature.
    pub lead_bands: usize,
    /// Rows per lead band.
    pub lead_rows: usize,
    /// A sentence found in at least this many offers is boilerplate and is ignored.
    pub boilerplate_min_offers: u32,
    /// A shingle found in at least this many offers is left out of the signatures.
    pub frequent_shingle_min_offers: u32,
    /// The frequency sketch has `2^sketch_bits` one-byte counters.
    pub sketch_bits: u32,
    /// At most this many of a bucket's newest members become candidates.
    pub max_candidates_per_bucket: usize,
    /// Publication dates further apart than this are two vacancies.
    pub window_days: i32,
    /// Minimum similarity of normalised titles (normalised Levenshtein).
    pub title_similarity: f64,
    /// Minimum similarity of normalised employers' names when they are not equal.
    pub employer_similarity: f64,
    /// Minimum Jaccard similarity of two descriptions' shingles.
    pub text_jaccard: f64,
    /// Minimum containment of the shorter description in the longer (truncated copies).
    pub text_containment: f64,
    /// Minimum containment when the employer or the commune is not stated on both sides.
    pub weak_evidence_containment: f64,
    /// The canonical election.
    pub canonical: CanonicalPolicy,
    /// Whether rules 1–5, 6c and 7 apply. Only `relais dedup eval --text-only` turns them off,
    /// to measure the text-only baseline; not a setting of the configuration file.
    #[serde(skip, default = "enabled")]
    pub structural_rules: bool,
}

fn enabled() -> bool {
    true
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            shingle_words: 5,
            bands: 20,
            rows: 3,
            lead_shingles: 24,
            lead_bands: 6,
            lead_rows: 2,
            boilerplate_min_offers: 40,
            frequent_shingle_min_offers: 40,
            sketch_bits: 26,
            max_candidates_per_bucket: 100,
            window_days: 60,
            title_similarity: 0.85,
            employer_similarity: 0.9,
            text_jaccard: 0.8,
            text_containment: 0.9,
            weak_evidence_containment: 0.95,
            canonical: CanonicalPolicy::default(),
            structural_rules: true,
        }
    }
}

impl DedupConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), DedupError> {
        let fraction = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(DedupError::Config(format!(
                    "{name} must be within 0 and 1, not {v}"
                )))
            }
        };
        fraction("title_similarity", self.title_similarity)?;
        fraction("employer_similarity", self.employer_similarity)?;
        fraction("text_jaccard", self.text_jaccard)?;
        fraction("text_containment", self.text_containment)?;
        fraction("weak_evidence_containment", self.weak_evidence_containment)?;
        if self.shingle_words == 0 || self.bands == 0 || self.rows == 0 || self.lead_rows == 0 {
            return Err(DedupError::Config(
                "shingle_words, bands, rows and lead_rows must be at least 1".into(),
            ));
        }
        if !(10..=32).contains(&self.sketch_bits) {
            return Err(DedupError::Config(format!(
                "sketch_bits must be within 10 and 32, not {}",
                self.sketch_bits
            )));
        }
        if self.boilerplate_min_offers < 2 || self.frequent_shingle_min_offers < 2 {
            return Err(DedupError::Config(
                "boilerplate_min_offers and frequent_shingle_min_offers must be at least 2".into(),
            ));
        }
        if self.window_days < 0 || self.max_candidates_per_bucket == 0 {
            return Err(DedupError::Config(
                "window_days must be positive and max_candidates_per_bucket at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The order in which a cluster's members compete to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanonicalCriterion {
    /// The source's trust rank, higher first.
    TrustRank,
    /// The most complete offer (description, salary, commune, employer, link).
    Completeness,
    /// The oldest first-seen offer.
    Age,
}

/// The canonical election: criteria in order, then the offer key for a stable result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanonicalPolicy {
    /// Criteria, most important first.
    pub order: Vec<CanonicalCriterion>,
}

impl Default for CanonicalPolicy {
    fn default() -> Self {
        Self {
            order: vec![
                CanonicalCriterion::TrustRank,
                CanonicalCriterion::Completeness,
                CanonicalCriterion::Age,
            ],
        }
    }
}
