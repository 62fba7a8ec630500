//! What a parser hands to normalisation: the fields of one record as text, the record as the
//! source sent it, and the problems met while reading it.

use relais_model::{OfferWarning, WarningKind};

use super::config::Field;

/// Number of [`Field`] variants.
const FIELD_COUNT: usize = Field::Sector as usize + 1;

/// One record of a feed, before normalisation.
#[derive(Debug, Clone)]
pub struct FeedRecord {
    values: Vec<Option<String>>,
    /// Further values of a field given several times in one record (a repeated element: a job
    /// listed as both `CDI` and `Alternance`, several places), after the first.
    others: Vec<(Field, String)>,
    /// The record exactly as the source sent it (an XML element, a JSON object, a CSV row).
    pub raw_payload: String,
    /// Problems met while reading the record.
    pub warnings: Vec<OfferWarning>,
}

impl Default for FeedRecord {
    fn default() -> Self {
        Self {
            values: vec![None; FIELD_COUNT],
            others: Vec::new(),
            raw_payload: String::new(),
            warnings: Vec::new(),
        }
    }
}

impl FeedRecord {
    /// The value of a field, trimmed, `None` when empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize]
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Sets a field unless it already holds a non-empty value (the first path that gives one wins).
    pub fn offer(&mut self, field: Field, value: impl Into<String>) {
        if self.get(field).is_none() {
            self.values[field as usize] = Some(value.into());
        }
    }

    /// Sets a field, replacing any value.
    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        self.values[field as usize] = Some(value.into());
    }

    /// Adds a further value of a field given several times (kept after the first).
    pub fn add_other(&mut self, field: Field, value: impl Into<String>) {
        let value = value.into();
        let value = value.trim();
        if !value.is_empty()
            && self.get(field) != Some(value)
            && !self.others.iter().any(|(f, v)| *f == field && v == value)
        {
            self.others.push((field, value.to_owned()));
        }
    }

    /// The further values of a field given several times, after the first.
    pub fn others(&self, field: Field) -> impl Iterator<Item = &str> {
        self.others
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    /// Records a problem met while reading.
    pub fn warn(&mut self, kind: WarningKind, field: &str, message: String) {
        self.warnings.push(OfferWarning {
            kind,
            field: field.to_owned(),
            message,
        });
    }
}

/// What a parser yields for each record.
#[derive(Debug)]
pub enum ParsedItem {
    /// A record to normalise.
    Record(Box<FeedRecord>),
    /// Something that looked like a record but cannot be one (e.g. a JSON-LD object of another type).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Something to tell the operator about the whole feed, at its end (a mapped path that
    /// matched no record).
    Notice {
        /// What.
        message: String,
    },
}

/// A format family: reads the records of a decoded (UTF-8) feed and hands each to `emit`. One
/// implementation per family: [`super::XmlReaderSpec`] (XML and RSS, through a mapping),
/// [`super::JsonLdReader`], [`super::PartnerCsvReader`]; normalisation is the same for all.
pub trait RecordReader: std::fmt::Debug + Send + Sync {
    /// Reads every record. Fails on a document that is cut or malformed, after the records read
    /// before the fault were handed over.
    fn read_records(
        &self,
        input: &mut dyn std::io::BufRead,
        emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError>;
}

/// Why a feed could not be read to its end. Records read before the error were yielded.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file could not be read or decompressed, or it exceeds the size limit.
    #[error("cannot read the feed: {0}")]
    Io(#[from] std::io::Error),
    /// The document stops before its end.
    #[error("the feed is truncated: {0}")]
    Truncated(String),
    /// The document is not well-formed.
    #[error("the feed is malformed: {0}")]
    Malformed(String),
    /// The consumer stopped reading (the run is shutting down).
    #[error("reading was stopped")]
    Stopped,
}
