//! The France Travail "Offres d'emploi v2" source.
//!
//! ```text
//!  client.rs     OAuth2 token (cached, refreshed early and once on 401), rate limiter, retries
//!  wire.rs       search parameters, Content-Range, the search envelope
//!  harvest.rs    creation-date windows read newest first under the 3 150-offer cap
//!  sync.rs       full sweep (windows → département check → withdrawals), incremental sync,
//!                detail checks; every batch committed with its cursor
//!  normalise.rs  Offre JSON → Offer, with warnings
//! ```

mod client;
mod harvest;
mod normalise;
mod sync;
mod wire;

pub use client::{ClientStats, FranceTravailClient, FranceTravailConfig};
pub use normalise::{Rejection, normalise_offer};
pub use sync::{FranceTravailSource, SOURCE_ID, SyncOptions};
pub use wire::{ContentRange, PAGE_SIZE, QUERY_CAP, SearchPage, SearchQuery, api_date};
