//! The search index of active offers, built with tantivy.
//!
//! Titles and descriptions are analysed for French (lowercase, accents folded, Snowball French
//! stemmer); the commune, département and région are raw terms for filtering, with the finest
//! level the location is known at (a feed covers an offer known only by its département when it
//! covers the whole département); the creation date is a fast field, and every segment keeps its
//! offers newest first; a compact public summary of each offer (without its description, which
//! the store keeps) is stored so that a list is served from the index.
//!
//! Architecture invariant: the index is derived data. `relais reindex` rebuilds it from the
//! store; nothing is only in the index.

mod analysis;
mod any_term;
mod collect;
mod columns;
mod error;
mod geo;
mod query;
mod schema;
mod search;
mod write;

pub use collect::MAX_FACET_VALUES;
pub use error::IndexError;
pub use query::{Cursor, FacetName, Radius, SearchRequest, SortOrder, Withheld};
pub use schema::{
    AlsoPublishedOn, CONTRACT_NAMES, EXPERIENCE_NAMES, IndexedOffer, WORKING_TIME_NAMES,
    contract_name, offer_point, tiebreak, working_time_name,
};
pub use search::{FeedPage, FeedQuery, OfferIndex, PlaceFilter, SearchHit, SearchResult};
