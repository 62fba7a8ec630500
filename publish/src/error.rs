//! The one error type of the HTTP boundary, and its one JSON shape:
//! `{"error": {"code": "<stable code>", "message": "<for humans>"}}` (see `docs/api.md`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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
    /// No `Authorization: Bearer` header.
    #[error("this endpoint needs an API key: send it as `Authorization: Bearer <key>`")]
    MissingApiKey,
    /// A key that this server did not issue (the key itself is never repeated).
    #[error("the API key is not valid")]
    InvalidApiKey,
    /// A key that was revoked.
    #[error("the API key was revoked")]
    RevokedApiKey,
    /// The key does not have the scope the endpoint needs.
    #[error("the API key does not have the `{0}` scope")]
    InsufficientScope(String),
    /// Over the key's rate.
    #[error("too many requests: at most {limit} a second with this key")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
        /// Requests a second allowed.
        limit: u32,
    },
    /// The key's requests of the day are used up.
    #[error("the API key's daily quota of requests is used up: it resets at midnight (Paris)")]
    DailyQuotaExceeded {
        /// Seconds to the reset.
        retry_after: u64,
    },
    /// The key has been given as many offers as it may be today (licence art. 3: no bulk
    /// extraction).
    #[error(
        "the API key has paged through as many offers as it may today: it resets at midnight (Paris)"
    )]
    DailyOffersExceeded {
        /// Seconds to the reset.
        retry_after: u64,
    },
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
            ApiError::MissingApiKey => ("missing_api_key", StatusCode::UNAUTHORIZED),
            ApiError::InvalidApiKey => ("invalid_api_key", StatusCode::UNAUTHORIZED),
            ApiError::RevokedApiKey => ("revoked_api_key", StatusCode::UNAUTHORIZED),
            ApiError::InsufficientScope(_) => ("insufficient_scope", StatusCode::FORBIDDEN),
            ApiError::RateLimited { .. } => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ApiError::DailyQuotaExceeded { .. } => {
                ("daily_quota_exceeded", StatusCode::TOO_MANY_REQUESTS)
            }
            ApiError::DailyOffersExceeded { .. } => {
                ("daily_offers_exceeded", StatusCode::TOO_MANY_REQUESTS)
            }
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
        ("missing_api_key", 401),
        ("invalid_api_key", 401),
        ("revoked_api_key", 401),
        ("insufficient_scope", 403),
        ("rate_limited", 429),
        ("daily_quota_exceeded", 429),
        ("daily_offers_exceeded", 429),
        ("internal", 500),
    ];
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error_code = code, %detail, "request failed");
        }
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::MissingApiKey | ApiError::InvalidApiKey | ApiError::RevokedApiKey => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"relais\""),
                );
            }
            ApiError::RateLimited { retry_after, limit } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
                crate::access::rate_headers(headers, *limit, 0, *retry_after);
            }
            ApiError::DailyQuotaExceeded { retry_after }
            | ApiError::DailyOffersExceeded { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        // For `/metrics`: which refusal this was, by its stable code.
        response.extensions_mut().insert(ErrorCode(code));
        response
    }
}

/// The stable code of an error answer, kept in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub(crate) &'static str);
