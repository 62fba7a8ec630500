//! The API's wire formats: search parameters, `Content-Range`, the search envelope.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Most results in one call.
pub const PAGE_SIZE: u64 = 150;
/// Highest first index the API accepts.
pub const MAX_START: u64 = 3_000;
/// So at most this many offers can be read from one distinct query.
pub const QUERY_CAP: u64 = MAX_START + PAGE_SIZE;

/// The search parameters relais uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// First and last index, inclusive.
    pub range: (u64, u64),
    /// `sort=1`: creation date, newest first.
    pub newest_first: bool,
    /// `departement`, up to five codes.
    pub departements: Vec<String>,
    /// `minCreationDate`, inclusive, to the second.
    pub min_creation: Option<DateTime<Utc>>,
    /// `maxCreationDate`, inclusive, to the second.
    pub max_creation: Option<DateTime<Utc>>,
    /// `origineOffre`: 1 France Travail, 2 partner.
    pub origin: Option<u8>,
}

impl SearchQuery {
    /// The query string pairs.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("range", format!("{}-{}", self.range.0, self.range.1))];
        if self.newest_first {
            params.push(("sort", "1".into()));
        }
        if !self.departements.is_empty() {
            params.push(("departement", self.departements.join(",")));
        }
        if let Some(min) = self.min_creation {
            params.push(("minCreationDate", api_date(min)));
        }
        if let Some(max) = self.max_creation {
            params.push(("maxCreationDate", api_date(max)));
        }
        if let Some(origin) = self.origin {
            params.push(("origineOffre", origin.to_string()));
        }
        params
    }

    /// The same query for another range.
    pub fn with_range(&self, start: u64, end: u64) -> Self {
        Self {
            range: (start, end),
            ..self.clone()
        }
    }
}

/// The API's date format: `yyyy-MM-dd'T'hh:mm:ss'Z'`.
pub fn api_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `Content-Range: offres p-d/t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// First index returned.
    pub start: u64,
    /// Last index returned.
    pub end: u64,
    /// Results of the query in all.
    pub total: u64,
}

impl ContentRange {
    /// Parses `offres 0-149/3150`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let invalid = || format!("invalid content-range `{value}`");
        let rest = value.trim().strip_prefix("offres ").ok_or_else(invalid)?;
        let (span, total) = rest.split_once('/').ok_or_else(invalid)?;
        let (start, end) = span.split_once('-').ok_or_else(invalid)?;
        Ok(Self {
            start: start.parse().map_err(|_| invalid())?,
            end: end.parse().map_err(|_| invalid())?,
            total: total.parse().map_err(|_| invalid())?,
        })
    }

    /// The total of a 204 answer: `offres */0` (or `*/0`).
    pub fn total_of_empty(value: &str) -> Option<u64> {
        value
            .rsplit_once('/')
            .and_then(|(_, total)| total.trim().parse().ok())
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    resultats: Vec<Box<RawValue>>,
}

/// One page of search results, each offer kept as the exact JSON text received.
#[derive(Debug)]
pub struct SearchPage {
    /// The offers, verbatim.
    pub offers: Vec<Box<RawValue>>,
    /// Results of the query in all.
    pub total: u64,
}

impl SearchPage {
    pub(crate) fn empty(total: Option<u64>) -> Self {
        Self {
            offers: Vec::new(),
            total: total.unwrap_or(0),
        }
    }

    pub(crate) fn parse(body: &str, range: Option<ContentRange>) -> Result<Self, String> {
        let envelope: Envelope =
            serde_json::from_str(body).map_err(|e| format!("search body: {e}"))?;
        let total = match range {
            Some(range) => range.total,
            None => envelope.resultats.len() as u64,
        };
        Ok(Self {
            offers: envelope.resultats,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            ContentRange::parse("offres 0-149/3150").unwrap(),
            ContentRange {
                start: 0,
                end: 149,
                total: 3150
            }
        );
        assert!(ContentRange::parse("items 0-1/2").is_err());
        assert!(ContentRange::parse("offres 0-x/2").is_err());
        assert_eq!(ContentRange::total_of_empty("offres */0"), Some(0));
        assert_eq!(ContentRange::total_of_empty("*/0"), Some(0));
    }

    #[test]
    fn query_parameters_use_the_api_date_format() {
        let query = SearchQuery {
            range: (150, 299),
            newest_first: true,
            departements: vec!["46".into(), "2A".into()],
            max_creation: Some("2026-11-23T10:11:12.345Z".parse().unwrap()),
            ..SearchQuery::default()
        };
        let params = query.to_params();
        assert!(params.contains(&("range", "150-299".into())));
        assert!(params.contains(&("departement", "46,2A".into())));
        assert!(params.contains(&("maxCreationDate", "2026-11-23T10:11:12Z".into())));
        assert!(params.contains(&("sort", "1".into())));
    }
}
