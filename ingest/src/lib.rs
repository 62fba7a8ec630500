//! Ingestion: the only crate that talks to sources.
//!
//! Two kinds of sources: partner job boards' feeds ([`feeds`]: XML through a declarative
//! mapping, RSS, JSON-LD, France Travail's partner CSV), read as complete snapshots; and the
//! France Travail "Offres d'emploi v2" API ([`francetravail`]): an OAuth2
//! client with a rate limiter and retries, a full sweep that reads the whole national stock under
//! the API's 3 150-offers-per-query cap, an incremental sync, and the normalisation of the API's
//! `Offre` into [`relais_model::Offer`]. And the background check of partner offers' apply
//! links ([`links`]).
//!
//! Architecture invariant: a run's cursor is committed in the same transaction as the offers it
//! covers ([`relais_storage::Store::commit_batch`]); a run that failed anywhere withdraws nothing.

mod error;
pub mod feeds;
pub mod francetravail;
pub mod links;
mod report;

pub use error::IngestError;
pub use report::{RunReport, RunReportOutcome};
