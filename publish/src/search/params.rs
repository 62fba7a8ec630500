//! The query string of `GET /v1/offers`, read strictly: an unknown parameter, a repeated
//! single-valued one or a value out of range is a 400 with a stable code, never ignored
//! (a typo must not silently widen a search).

use std::sync::Arc;

use chrono::Utc;
use relais_index::{
    CONTRACT_NAMES, Cursor, EXPERIENCE_NAMES, FacetName, PlaceFilter, Radius, SearchRequest,
    SortOrder, WORKING_TIME_NAMES,
};
use relais_territory::{Point, Territory, geography, parse_territory};

use crate::ApiError;

/// Largest radius, in km.
pub const MAX_RADIUS_KM: f64 = 200.0;
/// Longest `q`, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most offers on one page.
pub const MAX_LIMIT: usize = 100;
/// Offers on a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;

/// Parameters that may be given several times (any of the values matches).
const REPEATABLE: &[&str] = &[
    "commune",
    "departement",
    "region",
    "contract",
    "working_time",
    "rome",
    "experience",
    "source",
];
/// Parameters given at most once.
const SINGLE: &[&str] = &[
    "q",
    "territory",
    "lat",
    "lon",
    "around",
    "radius_km",
    "published_since",
    "employer",
    "sort",
    "facets",
    "limit",
    "cursor",
];

/// Every parameter of `GET /v1/offers`.
pub fn parameter_names() -> impl Iterator<Item = &'static str> {
    SINGLE.iter().chain(REPEATABLE).copied()
}

struct Raw {
    pairs: Vec<(String, String)>,
}

impl Raw {
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::InvalidParameter(message)
}

fn number<T: std::str::FromStr>(raw: &Raw, name: &str) -> Result<Option<T>, ApiError> {
    raw.one(name)
        .map(|value| {
            value
                .trim()
                .parse::<T>()
                .map_err(|_| invalid(format!("`{name}` must be a number, not `{value}`")))
        })
        .transpose()
}

fn named_values(raw: &Raw, name: &str, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    raw.all(name)
        .map(|value| {
            allowed
                .contains(&value)
                .then(|| value.to_owned())
                .ok_or_else(|| {
                    invalid(format!(
                        "`{name}` must be one of {}, not `{value}`",
                        allowed.join(", ")
                    ))
                })
        })
        .collect()
}

fn rome_value(value: &str) -> Result<String, ApiError> {
    let upper = value.trim().to_ascii_uppercase();
    let mut chars = upper.chars();
    let valid = chars.next().is_some_and(|c| ('A'..='N').contains(&c))
        && upper.len() <= 5
        && chars.all(|c| c.is_ascii_digit());
    valid.then_some(upper).ok_or_else(|| {
        invalid(format!(
            "`rome` must be a ROME code (`M1805`), a prefix (`M18`) or a domain letter (`M`), not `{value}`"
        ))
    })
}

/// Reads the query string of a search.
pub fn parse(query: Option<&str>) -> Result<SearchRequest, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (index, (name, _)) in pairs.iter().enumerate() {
        if SINGLE.contains(&name.as_str()) {
            if pairs[..index].iter().any(|(k, _)| k == name) {
                return Err(ApiError::RepeatedParameter(name.clone()));
            }
        } else if !REPEATABLE.contains(&name.as_str()) {
            return Err(ApiError::UnknownParameter(name.clone()));
        }
    }
    let raw = Raw { pairs };

    let text = raw.one("q").map(str::to_owned);
    if let Some(text) = &text
        && text.chars().count() > MAX_QUERY_CHARS
    {
        return Err(ApiError::QueryTooLong(MAX_QUERY_CHARS));
    }

    let point =
        match (
            number::<f64>(&raw, "lat")?,
            number::<f64>(&raw, "lon")?,
            raw.one("around"),
        ) {
            (Some(_), Some(_), Some(_)) => {
                return Err(invalid(
                    "give `lat` and `lon`, or `around`, not both".into(),
                ));
            }
            (Some(lat), Some(lon), None) => Some(
                Point::new(lat, lon).map_err(|e| ApiError::InvalidCoordinates(e.to_string()))?,
            ),
            (None, None, Some(code)) => {
                let geography = geography();
                let id = geography
                    .current_commune_of(code.trim())
                    .ok_or_else(|| invalid(format!("`around`: unknown commune `{code}`")))?;
                Some(geography.commune_point(id).0.ok_or_else(|| {
                    invalid(format!("`around`: commune `{code}` has no known point"))
                })?)
            }
            (None, None, None) => None,
            _ => return Err(invalid("`lat` and `lon` go together".into())),
        };
    let radius = match number::<f64>(&raw, "radius_km")? {
        Some(km) if km.is_nan() || km <= 0.0 => {
            return Err(invalid(format!("`radius_km` must be above 0, not {km}")));
        }
        Some(km) if km > MAX_RADIUS_KM => {
            return Err(ApiError::RadiusTooLarge {
                max: MAX_RADIUS_KM,
                given: km,
            });
        }
        Some(km) => Some(Radius {
            center: point.ok_or_else(|| {
                invalid("`radius_km` needs a point: `lat` and `lon`, or `around`".into())
            })?,
            km,
        }),
        None => None,
    };

    let sort = match raw.one("sort") {
        None | Some("relevance") => SortOrder::Relevance,
        Some("date") => SortOrder::Date,
        Some("distance") if point.is_some() => SortOrder::Distance,
        Some("distance") => {
            return Err(invalid(
                "`sort=distance` needs a point: `lat` and `lon`, or `around`".into(),
            ));
        }
        Some(other) => {
            return Err(invalid(format!(
                "`sort` must be relevance, date or distance, not `{other}`"
            )));
        }
    };

    let mut places = Vec::new();
    let mut expressions: Vec<String> = Vec::new();
    for (name, kind) in [
        ("commune", "commune"),
        ("departement", "dep"),
        ("region", "region"),
    ] {
        for value in raw.all(name) {
            let value = value.trim();
            let known = match kind {
                "commune" => geography().current_commune_of(value).is_some(),
                "dep" => geography().departement(value).is_some(),
                _ => geography().region_communes(value).is_some(),
            };
            if !known || value.contains(char::is_whitespace) {
                return Err(invalid(format!("`{name}`: unknown code `{value}`")));
            }
            expressions.push(format!("{kind}:{value}"));
        }
    }
    if let Some(territory) = raw.one("territory") {
        expressions.push(territory.trim().to_owned());
    }
    // Any of the places matches: one filter of their union (a search naming 25 communes
    // reads one set of terms, not a union of 25 filters).
    let mut territories = Vec::with_capacity(expressions.len());
    for expression in expressions {
        territories
            .push(parse_territory(&expression).map_err(|e| invalid(format!("`territory`: {e}")))?);
    }
    if let Some(territory) = Territory::union_of(territories) {
        places.push(Arc::new(PlaceFilter::from(&territory)));
    }

    let now = Utc::now();
    let created_since_ms = match number::<u32>(&raw, "published_since")? {
        Some(days) if days > 3_650 => {
            return Err(invalid(
                "`published_since` is a number of days, at most 3650".into(),
            ));
        }
        Some(days) => Some(now.timestamp_millis() - i64::from(days) * 86_400_000),
        None => None,
    };

    let facets = match raw.one("facets") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|name| {
                FacetName::parse(name).ok_or_else(|| {
                    invalid(format!(
                        "`facets`: unknown facet `{name}` (contract, working_time, rome_domain, departement, commune, source, published)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };

    let limit = match number::<usize>(&raw, "limit")? {
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(invalid(format!(
                "`limit` must be from 1 to {MAX_LIMIT}, not {n}"
            )));
        }
        None => DEFAULT_LIMIT,
    };
    let after = raw
        .one("cursor")
        .map(|token| Cursor::parse(token, sort).ok_or(ApiError::InvalidCursor))
        .transpose()?;

    let sources: Vec<String> = raw
        .all("source")
        .map(|s| {
            let valid = !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            valid
                .then(|| s.to_owned())
                .ok_or_else(|| invalid(format!("`source`: `{s}` is not a source id")))
        })
        .collect::<Result<_, _>>()?;
    let employer = raw.one("employer").map(str::to_owned);
    if employer
        .as_ref()
        .is_some_and(|e| e.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(invalid(format!(
            "`employer` must be at most {MAX_QUERY_CHARS} characters"
        )));
    }

    Ok(SearchRequest {
        within: None,
        text,
        places,
        radius,
        point,
        contracts: named_values(&raw, "contract", CONTRACT_NAMES)?,
        working_times: named_values(&raw, "working_time", WORKING_TIME_NAMES)?,
        rome: raw.all("rome").map(rome_value).collect::<Result<_, _>>()?,
        experience: named_values(&raw, "experience", EXPERIENCE_NAMES)?,
        created_since_ms,
        sources,
        employer,
        sort,
        facets,
        limit,
        after,
        // The search API pages by cursor only.
        skip: 0,
        now_ms: now.timestamp_millis(),
        // The handler sets it from the sources' terms.
        withheld: Default::default(),
    })
}
