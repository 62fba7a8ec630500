//! The territory error type.

/// A territory expression that cannot be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TerritoryError {
    /// The expression does not follow the grammar.
    #[error("invalid territory expression `{expression}`: {reason}")]
    Syntax {
        /// The expression.
        expression: String,
        /// What is wrong.
        reason: String,
    },
    /// A code names nothing in the reference data.
    #[error("unknown {kind} `{code}`")]
    Unknown {
        /// What was looked up: commune, EPCI, département, région.
        kind: &'static str,
        /// The code.
        code: String,
    },
    /// The commune of a radius has no known point.
    #[error("commune `{0}` has no known point: a radius cannot be drawn around it")]
    NoPoint(String),
    /// Coordinates out of range (latitude −90..90, longitude −180..180) or not numbers.
    #[error(
        "coordinates ({latitude}, {longitude}) are out of range: latitude −90 to 90, longitude −180 to 180"
    )]
    InvalidCoordinates {
        /// Latitude given.
        latitude: f64,
        /// Longitude given.
        longitude: f64,
    },
    /// Coordinates in the sea or abroad: no commune point is near enough.
    #[error("({latitude}, {longitude}) is not in a French commune{}", match nearest {
        Some((code, km)) => format!(" (the nearest commune point, {code}, is {km:.0} km away)"),
        None => " (no French commune within 300 km)".to_owned(),
    })]
    OutsideFrance {
        /// Latitude given.
        latitude: f64,
        /// Longitude given.
        longitude: f64,
        /// The nearest commune within 300 km and its distance in km.
        nearest: Option<(String, f64)>,
    },
}
