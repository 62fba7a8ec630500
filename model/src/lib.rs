//! The canonical job offer and the small types it is made of.
//!
//! Every source (the France Travail API today, partner boards later) is normalised into [`Offer`];
//! everything downstream (storage, index, publication) reads only this shape. Identifiers are
//! newtypes parsed at the boundary ([`OfferKey`], [`SourceId`], [`InseeCode`], [`RomeCode`],
//! [`Siret`], [`DepartementCode`]) so that a raw string never travels further than `ingest`.
//!
//! Architecture invariant: this crate does no IO and depends on no IO crate.

mod error;
mod ids;
mod offer;

pub use error::ModelError;
pub use ids::{DepartementCode, InseeCode, OfferKey, RomeCode, Siret, SourceId};
pub use offer::{
    Contact, Contract, ContractDuration, ContractKind, Coordinates, DurationUnit, Employer,
    Experience, ExperienceRequirement, Job, Location, LocationResolution, Offer, OfferStatus,
    OfferWarning, OriginKind, PartnerOrigin, Requirement, Salary, SalaryPeriod, SourceDates,
    WarningKind, WithdrawalReason, WorkingTime, WorkingTimeKind,
};
