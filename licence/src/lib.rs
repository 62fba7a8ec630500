//! The licence engine: the terms under which each source lets its offers be shown, and a
//! verdict per offer and per surface.
//!
//! ```text
//!  SourceTerms (France Travail built in, partners from their configuration)
//!        │
//!  Licence::license(offer, surface, now) ──► Licensed<offer> (its credit, its fields redacted)
//!                                       └──► Refusal (withdrawn, not redistributable, too old…)
//! ```
//!
//! `publish` renders only [`Licensed`] values, and only this crate constructs them: an offer
//! reaches a page, a feed or an API answer with the credit of its own source (name, the date of
//! its last update, the licence link) or not at all.
//!
//! Architecture invariant: no IO and no clock (the caller passes "now"); verdicts, not errors.

mod engine;
mod terms;

pub use engine::{
    ChannelCredit, Credit, Licence, Licensable, Licensed, LicensedList, OfferFacts, Refusal,
    SourceCredit, Surface,
};
pub use terms::{FRANCE_TRAVAIL, FRANCE_TRAVAIL_LICENCE_URL, PartnerTerms, SourceTerms};
