//! The index error type.

/// What can go wrong with the index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// tantivy failed.
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index directory could not be opened or created.
    #[error("cannot open the index at `{path}`: {message}")]
    Open {
        /// The directory.
        path: String,
        /// Why.
        message: String,
    },
    /// A free-text query could not be parsed.
    #[error("invalid search text: {0}")]
    InvalidQuery(String),
    /// Another process writes the index (one writer at a time).
    #[error(
        "the index is being written by another process (a running `relais serve`?): stop it first"
    )]
    Locked,
    /// A stored summary could not be read back.
    #[error("stored summary is not valid: {0}")]
    CorruptSummary(String),
}
