use thiserror::Error;

/// Errors of deduplication: only a configuration can be wrong (offers never fail).
#[derive(Debug, Error)]
pub enum DedupError {
    /// A setting is out of range.
    #[error("dedup configuration: {0}")]
    Config(String),
}
