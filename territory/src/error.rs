//! The territory error type.

/// A territory expression that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A radius needs commune centroids, which the shipped data does not carry yet.
    #[error("radius expressions (`{0}`) need commune centroids, which relais does not ship yet")]
    RadiusUnavailable(String),
}
