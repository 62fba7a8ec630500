//! The one error type of the HTTP boundary.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a consumer. Internal details are logged, never sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No feed has this name.
    #[error("feed `{0}` does not exist")]
    FeedNotFound(String),
    /// No route or resource here.
    #[error("{0}")]
    NotFound(String),
    /// A query parameter is invalid.
    #[error("{0}")]
    InvalidParameter(String),
    /// Something failed inside; the message sent is generic.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The stable machine code and HTTP status.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::FeedNotFound(_) => ("feed_not_found", StatusCode::NOT_FOUND),
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::InvalidParameter(_) => ("invalid_parameter", StatusCode::BAD_REQUEST),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error_code = code, %detail, "request failed");
        }
        (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response()
    }
}
