//! The storage error type.

/// What can go wrong talking to the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON document could not be read back.
    #[error("stored document `{what}` is not valid JSON: {source}")]
    CorruptDocument {
        /// Which document.
        what: String,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// A stored value that relais cannot have written.
    #[error("corrupt value in {what}: `{value}`")]
    CorruptValue {
        /// Which column.
        what: String,
        /// The value.
        value: String,
    },
    /// The database directory could not be created.
    #[error("cannot create `{path}`: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A run that should exist does not.
    #[error("run `{0}` does not exist")]
    UnknownRun(i64),
    /// A lease was lost (its PostgreSQL session ended): another process may hold it now.
    #[error("the lease `{0}` was lost (its database session ended)")]
    LeaseLost(String),
    /// The store's URL cannot be read (it is not repeated: it may hold a password).
    #[error(
        "the store URL is not a valid PostgreSQL URL (postgres://user:password@host:port/database)"
    )]
    InvalidUrl,
    /// What this backend does not do (the operation says what to use instead).
    #[error("{0}")]
    Unsupported(&'static str),
}
