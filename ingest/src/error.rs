//! The ingestion error type.

/// What can stop a call to a source or a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The token endpoint refused the credentials or the scope.
    #[error("authentication refused by `{url}`: {message}")]
    Authentication {
        /// Token URL.
        url: String,
        /// What the endpoint said (never the secret).
        message: String,
    },
    /// The API refused the request as malformed (HTTP 400); not retried.
    #[error("request refused by the api (400): {message}")]
    BadRequest {
        /// The API's `message`.
        message: String,
    },
    /// The API answered a status the contract does not allow here.
    #[error("unexpected http status `{status}` from `{url}`")]
    UnexpectedStatus {
        /// The status.
        status: u16,
        /// The URL, without credentials.
        url: String,
    },
    /// Retries ran out on server errors, time-outs or unreadable bodies.
    #[error("gave up after {attempts} attempts on `{url}`: {last_error}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The URL.
        url: String,
        /// The last failure.
        last_error: String,
    },
    /// A header or body did not follow the contract.
    #[error("invalid response from `{url}`: {message}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(String),
    /// A feed could not be downloaded or opened.
    #[error("cannot fetch `{url}`: {message}")]
    Fetch {
        /// The URL or path.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A feed was downloaded but cannot be read (truncated, malformed, too large).
    #[error("cannot read `{url}`: {message}")]
    Unreadable {
        /// The feed's address, without its query string.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A source's configuration is invalid.
    #[error("invalid source configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] relais_storage::StorageError),
}
