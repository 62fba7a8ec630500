//! The official French geography and collectivités' territories.
//!
//! The reference data (COG 2026 from `@etalab/decoupage-administratif`, see `territory/data/SOURCE.md`)
//! is compiled into the binary and parsed once, on first use ([`geography`]). A territory
//! expression (`epci:200023737`, `dep:46 | dep:12 - commune:46042`, `dep:69D`...) compiles to a
//! [`Territory`]: a bit set over the current communes, so membership is one bit test.
//!
//! Architecture invariant: no IO at run time and no IO crate; everything is in memory.

mod error;
mod expression;
mod geo;
mod geography;
mod names;
mod resolve;

pub use error::TerritoryError;
pub use expression::{Territory, parse_territory};
pub use geo::{Disc, Point, PointMethod, commune_at};
pub use geography::{Commune, CommuneKind, Geography, geography};
pub use names::normalise_place_name;
pub use resolve::{LocationQuery, Resolution, ResolutionMethod, resolve_location};
