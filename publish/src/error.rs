//! The one error type of the HTTP boundary, and its one JSON shape:
//! `{"error": {"code": "<stable code>", "message": "<for humans>"}}` (see `docs/api.md`).

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
    /// No offer has this key.
    #[error("offer `{0}` does not exist")]
    OfferNotFound(String),
    /// The offer was withdrawn: its content is no longer published.
    #[error("offer `{0}` was withdrawn and is no longer published")]
    OfferWithdrawn(String),
    /// No route or resource here.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// A query parameter that the endpoint does not know (a typo must not widen a search).
    #[error("unknown parameter `{0}`")]
    UnknownParameter(String),
    /// A single-valued parameter given more than once.
    #[error("parameter `{0}` is given more than once")]
    RepeatedParameter(String),
    /// A query parameter is invalid.
    #[error("{0}")]
    InvalidParameter(String),
    /// The radius asked is over the maximum.
    #[error("`radius_km` must be at most {max} km, not {given}")]
    RadiusTooLarge {
        /// Maximum.
        max: f64,
        /// Given.
        given: f64,
    },
    /// Coordinates out of range.
    #[error("{0}")]
    InvalidCoordinates(String),
    /// A cursor that this endpoint did not make (or made for another sort).
    #[error("`cursor` is not a cursor of this search: start again without it")]
    InvalidCursor,
    /// Search text over the maximum length.
    #[error("`q` must be at most {0} characters")]
    QueryTooLong(usize),
    /// The index is not loaded yet (first start): retry shortly.
    #[error("the index is not ready yet: retry shortly")]
    NotReady,
    /// Something failed inside; the message sent is generic.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The stable machine code and HTTP status.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::FeedNotFound(_) => ("feed_not_found", StatusCode::NOT_FOUND),
            ApiError::OfferNotFound(_) => ("offer_not_found", StatusCode::NOT_FOUND),
            ApiError::OfferWithdrawn(_) => ("offer_withdrawn", StatusCode::GONE),
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            ApiError::UnknownParameter(_) => ("unknown_parameter", StatusCode::BAD_REQUEST),
            ApiError::RepeatedParameter(_) => ("repeated_parameter", StatusCode::BAD_REQUEST),
            ApiError::InvalidParameter(_) => ("invalid_parameter", StatusCode::BAD_REQUEST),
            ApiError::RadiusTooLarge { .. } => ("radius_too_large", StatusCode::BAD_REQUEST),
            ApiError::InvalidCoordinates(_) => ("invalid_coordinates", StatusCode::BAD_REQUEST),
            ApiError::InvalidCursor => ("invalid_cursor", StatusCode::BAD_REQUEST),
            ApiError::QueryTooLong(_) => ("query_too_long", StatusCode::BAD_REQUEST),
            ApiError::NotReady => ("not_ready", StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// Every code, with its status: the list `docs/api.md` documents (a test checks it).
    pub const CODES: &'static [(&'static str, u16)] = &[
        ("feed_not_found", 404),
        ("offer_not_found", 404),
        ("offer_withdrawn", 410),
        ("not_found", 404),
        ("method_not_allowed", 405),
        ("unknown_parameter", 400),
        ("repeated_parameter", 400),
        ("invalid_parameter", 400),
        ("radius_too_large", 400),
        ("invalid_coordinates", 400),
        ("invalid_cursor", 400),
        ("query_too_long", 400),
        ("not_ready", 503),
        ("internal", 500),
    ];
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
