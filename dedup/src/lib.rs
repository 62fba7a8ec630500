//! Deduplication: one job, one offer.
//!
//! The same job reaches relais from several sources with a new id, a reformatted title, an HTML
//! or truncated description, a postal code instead of an INSEE code. This crate decides which
//! offers are the same job, following the written definition of `docs/dedup.md`:
//!
//! 1. [`normalise`]: titles, employers and descriptions folded (case, accents, gender tags,
//!    site suffixes, legal forms, HTML), descriptions split in sentences;
//! 2. [`features`]: boilerplate sentences (frequent in the corpus) removed, word 5-shingles,
//!    MinHash signatures of the text and of its lead, cut into LSH bands, frequent shingles left
//!    out so that buckets stay small at national scale;
//! 3. [`verify`]: each candidate pair checked rule by rule (employer, commune, contract, working
//!    time, grade, dates vetoes; title similarity; Jaccard or containment of the texts; details
//!    that differ on both sides);
//! 4. [`Deduplicator`]: incremental clusters that offers join, leave and split, with the reason
//!    of every link and a canonical member elected by a configurable policy;
//! 5. [`metrics`]: pairwise and B-cubed scores against ground truth, and per copy operator;
//!    [`peers`]: the rules of practice it is measured against.
//!
//! Architecture invariant: no IO and no clock; the same offers upserted and removed in the same
//! order give the same clusters.

mod clusters;
mod config;
mod error;
pub mod features;
pub mod grade;
pub mod metrics;
mod minhash;
pub mod normalise;
pub mod peers;
mod sketch;
mod slots;
pub mod verify;

pub use clusters::{ClusterView, Deduplicator, HeapUsage, LinkReason, Placement, Prepared};
pub use config::{CanonicalCriterion, CanonicalPolicy, DedupConfig};
pub use error::DedupError;
pub use features::Record;
pub use verify::{Comparison, Outcome, Rule};
