//! Partner job boards: any feed onboarded by configuration, streamed, and never trusted.
//!
//! ```text
//!  config.rs       [[sources]]: url, format (xml mapping | rss | json_ld | france_travail_partner),
//!                  schedule, limits, max_shrink, licence terms, trust rank; shipped presets/*.toml
//!  fetch.rs        HTTP(S) with ETag / Last-Modified, time-out, size limit; local files
//!  input.rs        gzip / zip by magic bytes, decompressed-size limit, transcoding to UTF-8
//!  xml.rs          streaming XML and RSS reader driven by a mapping (no DTD, no entity expansion)
//!  jsonld.rs       schema.org JobPosting from JSON (streamed arrays) or HTML pages
//!  partner_csv.rs  France Travail's pipe-delimited partner flux
//!  record.rs       FeedRecord (the fields of one record as text, its raw payload, its
//!                  warnings) and RecordReader, the trait each format family implements
//!  normalise.rs    FeedRecord → Offer: location resolution, contract family, salary, dates
//!  sanitise.rs     descriptions: ammonia allow-list, size cap, plain text
//!  sync.rs         a run: fetch → read → commit batches → judge the snapshot → withdraw
//! ```

mod config;
mod fetch;
mod input;
mod jsonld;
mod normalise;
mod partner_csv;
mod probe;
mod record;
mod sanitise;
mod sync;
mod xml;

#[cfg(test)]
mod tests;

pub use config::{FeedFormat, FeedLimits, FeedSourceConfig, Field, Paths, XmlMapping, preset};
pub use fetch::Validators;
pub use jsonld::JsonLdReader;
pub use normalise::{NormaliseOptions, classify_contract, normalise_record, parse_date};
pub use partner_csv::PartnerCsvReader;
pub use probe::{FeedProbe, probe_feed};
pub use record::{FeedError, FeedRecord, ParsedItem, RecordReader};
pub use sanitise::{CleanDescription, clean_description};
pub use sync::{FeedReader, FeedRunOptions, FeedSource, ReadItem};
pub use xml::XmlReaderSpec;
