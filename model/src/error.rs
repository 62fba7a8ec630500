//! The error type of the model: only parsing of identifiers can fail.

/// A value that does not have the shape its type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The string is not a valid value of the named identifier type.
    #[error("`{value}` is not a valid {kind}")]
    InvalidIdentifier {
        /// The identifier type, e.g. `INSEE code`.
        kind: &'static str,
        /// The rejected input.
        value: String,
    },
}

impl ModelError {
    pub(crate) fn invalid(kind: &'static str, value: &str) -> Self {
        ModelError::InvalidIdentifier {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}
