//! The configuration of one partner feed: where it is, its format (with the field mapping of an
//! XML board), its schedule, its licence terms and its trust rank.

use std::collections::BTreeMap;

use relais_licence::PartnerTerms;
use serde::{Deserialize, Serialize};

use crate::IngestError;

/// One partner source, as written in `[[sources]]` of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSourceConfig {
    /// Source id: lowercase letters, digits, `-` and `_` (e.g. `hellowork`).
    pub id: String,
    /// Name shown to people (e.g. `HelloWork`).
    #[serde(default)]
    pub name: Option<String>,
    /// Whether `relais serve` schedules it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `https://…`, `http://…`, `file:///…` or a local path.
    pub url: String,
    /// The format family and, for XML, how records are shaped.
    pub format: FeedFormat,
    /// Cron expression (with seconds) of its runs.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Up to this many seconds are added at random to each scheduled run.
    #[serde(default = "default_jitter")]
    pub jitter_seconds: u64,
    /// Limits on fetching and reading.
    #[serde(default)]
    pub limits: FeedLimits,
    /// A snapshot with fewer offers than `(1 − max_shrink) ×` the last good one is quarantined.
    #[serde(default = "default_max_shrink")]
    pub max_shrink: f64,
    /// The encoding to assume, overriding what the feed declares (`windows-1252`, `iso-8859-1`…).
    #[serde(default)]
    pub encoding: Option<String>,
    /// What the board's licence allows.
    #[serde(default)]
    pub licence: PartnerTerms,
    /// Higher wins when several copies of one job must elect the one to show.
    #[serde(default = "default_trust_rank")]
    pub trust_rank: u32,
}

/// Limits on fetching and reading a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedLimits {
    /// Time-out of the whole download, in seconds.
    pub timeout_seconds: u64,
    /// Largest download accepted (compressed bytes), in megabytes.
    pub max_download_mb: u64,
    /// Largest feed accepted once decompressed, in megabytes.
    pub max_feed_mb: u64,
    /// Longest description kept, in kilobytes; longer ones are cut with a warning.
    pub max_description_kb: usize,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            timeout_seconds: 600,
            max_download_mb: 1024,
            max_feed_mb: 8192,
            max_description_kb: 64,
        }
    }
}

/// The format families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeedFormat {
    /// Any XML feed, read through a field mapping: a shipped one (`preset`), one written in the
    /// configuration (`mapping`), or a preset with some fields overridden.
    Xml {
        /// A shipped mapping: `hellowork`, `hellowork_buddi`, `jooble`, `apec`, `jobteaser`, `indeed`.
        #[serde(default)]
        preset: Option<String>,
        /// The mapping, or the fields that override the preset's.
        #[serde(default)]
        mapping: Option<XmlMapping>,
    },
    /// RSS 2.0 with Dublin Core; `mapping` overrides the standard RSS fields.
    Rss {
        /// A shipped mapping: `pass`.
        #[serde(default)]
        preset: Option<String>,
        /// Fields that override the RSS defaults.
        #[serde(default)]
        mapping: Option<XmlMapping>,
    },
    /// schema.org `JobPosting` in JSON-LD: a JSON document (one posting, an array, an `ItemList`
    /// or a `@graph`) or an HTML page embedding `<script type="application/ld+json">`.
    JsonLd,
    /// France Travail's partner flux: pipe-delimited CSV with the columns of its XSD, header first.
    FranceTravailPartner,
}

/// Where each field of an offer is in an XML record. Paths are relative to the record element,
/// `/`-separated, with an optional final `@attribute` (`Lieu/COG_lieu`, `salary/@currency`,
/// `dc:coverage`). A field given several paths takes the first that is not empty, except
/// `description`, which joins them all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XmlMapping {
    /// Path of the record element from the root (`jobs/job`), or its name alone (`job`).
    pub record: Option<String>,
    /// chrono formats of naive dates, tried in order; RFC 3339 and RFC 2822 are always tried first.
    pub date_formats: Option<Vec<String>>,
    /// Time zone of dates given without an offset (default `Europe/Paris`).
    pub timezone: Option<String>,
    /// Contract labels mapped to a family (`permanent`, `fixed_term`, `temporary`, `seasonal`,
    /// `self_employed`, `apprenticeship`, `other`), before the built-in rules apply.
    pub contract_values: Option<BTreeMap<String, String>>,
    /// Contract family of records that give no contract (a board of apprenticeships only, say).
    pub default_contract: Option<String>,
    /// The fields.
    #[serde(flatten)]
    pub fields: BTreeMap<Field, Paths>,
}

/// One or several paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    /// A single path.
    One(String),
    /// Several paths.
    Many(Vec<String>),
    /// The same value for every record, read from no path (`salary_period = { constant =
    /// "year" }` for a board that gives yearly amounts).
    Constant {
        /// The value.
        constant: String,
    },
}

impl Paths {
    /// The paths, in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Paths::One(path) => std::slice::from_ref(path),
            Paths::Many(paths) => paths,
            Paths::Constant { .. } => &[],
        }
    }

    /// The constant value, when the mapping gives one instead of paths.
    pub fn constant(&self) -> Option<&str> {
        match self {
            Paths::Constant { constant } => Some(constant),
            _ => None,
        }
    }
}

/// The fields a mapping can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The board's id of the offer (required).
    Id,
    /// Title (required).
    Title,
    /// Description, text or HTML; several paths are joined.
    Description,
    /// Employer name.
    Employer,
    /// SIRET (14 digits) or SIREN (9 digits).
    Siret,
    /// Employer logo URL.
    EmployerLogo,
    /// Employer website.
    EmployerUrl,
    /// Employer description.
    EmployerDescription,
    /// Town name.
    City,
    /// Postal code.
    PostalCode,
    /// INSEE commune code.
    Insee,
    /// Département code or name.
    Departement,
    /// Région name.
    Region,
    /// Country code or name.
    Country,
    /// A free location text (`Lot (46)`, `46000 Cahors`).
    Location,
    /// Latitude.
    Latitude,
    /// Longitude.
    Longitude,
    /// `lat,lon` in one value.
    Geoloc,
    /// Contract label.
    Contract,
    /// The contract's duration: `12 mois`, `6` (months), `3 semaines`, `du 01/03/2025 au 31/08/2025`.
    ContractDuration,
    /// Working-time label (`Full time`, `Temps partiel`).
    WorkingTime,
    /// Salary as a label.
    Salary,
    /// Lower salary bound.
    SalaryMin,
    /// Upper salary bound.
    SalaryMax,
    /// Salary period (`MONTHLY`, `yearly`, `heure`…).
    SalaryPeriod,
    /// Publication date.
    PublishedAt,
    /// Last update date.
    UpdatedAt,
    /// Expiry date.
    ExpiresAt,
    /// The offer's page on the board.
    Url,
    /// Where candidates apply, when different.
    ApplyUrl,
    /// Application e-mail.
    ApplyEmail,
    /// ROME code.
    RomeCode,
    /// Number of positions.
    Positions,
    /// Qualification label.
    Qualification,
    /// Experience label.
    Experience,
    /// Business sector label.
    Sector,
}

impl Field {
    /// The name used in configurations and warnings.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

fn yes() -> bool {
    true
}
fn default_schedule() -> String {
    "0 0 */2 * * *".into()
}
fn default_jitter() -> u64 {
    300
}
fn default_max_shrink() -> f64 {
    0.30
}
fn default_trust_rank() -> u32 {
    50
}

/// The shipped mappings: the same TOML a user would write in `[sources.format.mapping]`.
const PRESETS: &[(&str, &str)] = &[
    ("hellowork", include_str!("presets/hellowork.toml")),
    (
        "hellowork_buddi",
        include_str!("presets/hellowork_buddi.toml"),
    ),
    ("jooble", include_str!("presets/jooble.toml")),
    ("apec", include_str!("presets/apec.toml")),
    ("jobteaser", include_str!("presets/jobteaser.toml")),
    ("indeed", include_str!("presets/indeed.toml")),
    ("rss", include_str!("presets/rss.toml")),
    ("pass", include_str!("presets/pass.toml")),
];

/// A shipped mapping by name.
pub fn preset(name: &str) -> Result<XmlMapping, IngestError> {
    let (_, text) = PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .ok_or_else(|| IngestError::Config(format!("unknown preset `{name}`")))?;
    toml::from_str(text).map_err(|e| IngestError::Config(format!("preset `{name}`: {e}")))
}

impl XmlMapping {
    /// This mapping with `overrides` laid over it.
    pub fn overlaid(mut self, overrides: &XmlMapping) -> XmlMapping {
        if overrides.record.is_some() {
            self.record.clone_from(&overrides.record);
        }
        if overrides.date_formats.is_some() {
            self.date_formats.clone_from(&overrides.date_formats);
        }
        if overrides.timezone.is_some() {
            self.timezone.clone_from(&overrides.timezone);
        }
        if overrides.default_contract.is_some() {
            self.default_contract
                .clone_from(&overrides.default_contract);
        }
        if let Some(values) = &overrides.contract_values {
            self.contract_values
                .get_or_insert_with(BTreeMap::new)
                .extend(values.clone());
        }
        for (field, paths) in &overrides.fields {
            self.fields.insert(*field, paths.clone());
        }
        self
    }
}

impl FeedSourceConfig {
    /// Checks what can be checked before a run: the id, the shrink share, the encoding, and that
    /// the format (with its mapping) compiles into a reader.
    pub fn validate(&self) -> Result<(), IngestError> {
        crate::feeds::FeedReader::new(self).map(drop)
    }

    /// The checks of [`Self::validate`] that do not involve the format.
    pub(crate) fn validate_settings(&self) -> Result<(), IngestError> {
        relais_model::SourceId::parse(&self.id)
            .map_err(|e| IngestError::Config(format!("source `{}`: {e}", self.id)))?;
        if self.id == crate::francetravail::SOURCE_ID {
            return Err(IngestError::Config(format!(
                "source id `{}` is reserved for the France Travail API",
                self.id
            )));
        }
        if !(0.0..=1.0).contains(&self.max_shrink) {
            return Err(IngestError::Config(format!(
                "source `{}`: max_shrink must be between 0 and 1",
                self.id
            )));
        }
        if let Some(encoding) = &self.encoding
            && encoding_rs::Encoding::for_label(encoding.as_bytes()).is_none()
        {
            return Err(IngestError::Config(format!(
                "source `{}`: unknown encoding `{encoding}`",
                self.id
            )));
        }
        Ok(())
    }
}
