//! Rendered bodies with their validators: a strong `ETag` (a hash of the bytes), a
//! `Last-Modified` (the last update among the offers), `Cache-Control`, and 304 answers to
//! conditional requests. Bodies of configured feeds are kept per index version: rendered once
//! after the index changes, not per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Seconds a client or a proxy may keep a feed before asking again.
pub(crate) const FEED_MAX_AGE_SECONDS: u32 = 300;

/// Bodies kept at most (a feed × format × page each): beyond, the cache starts afresh.
const MAX_BODIES: usize = 2_000;

/// A rendered body and its validators.
#[derive(Debug)]
pub(crate) struct Rendered {
    bytes: Bytes,
    content_type: &'static str,
    etag: String,
    last_modified: Option<SystemTime>,
    /// The validators as header values, made once.
    etag_header: HeaderValue,
    last_modified_header: Option<HeaderValue>,
    /// A kept body is rendered again after this long even when the index has not changed: a
    /// partner offer may have passed its source's maximum age meanwhile.
    rendered_at: Instant,
    /// The keys of the offers the body lists: its impressions when it is sent.
    shown: Vec<String>,
}

impl Rendered {
    /// The same body, listing these offers.
    pub(crate) fn showing(mut self, keys: Vec<String>) -> Self {
        self.shown = keys;
        self
    }

    /// The keys of the offers the body lists.
    pub(crate) fn shown(&self) -> impl Iterator<Item = &str> {
        self.shown.iter().map(String::as_str)
    }

    pub(crate) fn new(
        body: impl Into<Bytes>,
        content_type: &'static str,
        last_modified: Option<DateTime<Utc>>,
    ) -> Self {
        let bytes = body.into();
        let digest = Sha256::digest(&bytes);
        let etag = format!(
            "\"{}\"",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        // HTTP dates have whole seconds.
        let last_modified = last_modified
            .and_then(|d| DateTime::from_timestamp(d.timestamp(), 0))
            .map(SystemTime::from);
        Self {
            bytes,
            content_type,
            etag_header: HeaderValue::from_str(&etag).expect("hex"),
            etag,
            last_modified_header: last_modified.map(|modified| {
                HeaderValue::from_str(&httpdate::fmt_http_date(modified)).expect("ASCII")
            }),
            last_modified,
            rendered_at: Instant::now(),
            shown: Vec::new(),
        }
    }

    /// The answer to a request with these headers: 304 when the client's copy is current.
    pub(crate) fn respond(&self, request: &HeaderMap, max_age_seconds: u32) -> Response {
        let mut headers = HeaderMap::with_capacity(4);
        let cache_control = if max_age_seconds == FEED_MAX_AGE_SECONDS {
            HeaderValue::from_static("public, max-age=300")
        } else {
            HeaderValue::from_str(&format!("public, max-age={max_age_seconds}")).expect("ASCII")
        };
        headers.insert(header::CACHE_CONTROL, cache_control);
        headers.insert(header::ETAG, self.etag_header.clone());
        if let Some(modified) = &self.last_modified_header {
            headers.insert(header::LAST_MODIFIED, modified.clone());
        }
        if self.not_modified(request) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        (headers, self.bytes.clone()).into_response()
    }

    /// RFC 9110 §13.1: `If-None-Match` decides when present; else `If-Modified-Since`.
    fn not_modified(&self, request: &HeaderMap) -> bool {
        if let Some(tags) = request.get(header::IF_NONE_MATCH) {
            let Ok(tags) = tags.to_str() else {
                return false;
            };
            return tags
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.etag);
        }
        match (self.last_modified, request.get(header::IF_MODIFIED_SINCE)) {
            (Some(modified), Some(since)) => since
                .to_str()
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
                .is_some_and(|since| modified <= since),
            _ => false,
        }
    }
}

/// Bodies rendered from one index version.
#[derive(Debug, Default)]
pub(crate) struct BodyCache {
    inner: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    version: u64,
    bodies: HashMap<String, Arc<Rendered>>,
}

impl BodyCache {
    /// The body kept for `key` if it was rendered from index version `version`.
    pub(crate) fn get(&self, version: u64, key: &str) -> Option<Arc<Rendered>> {
        let kept = self.inner.lock().expect("cache lock");
        let fresh = Duration::from_secs(u64::from(FEED_MAX_AGE_SECONDS));
        (kept.version == version)
            .then(|| kept.bodies.get(key).cloned())
            .flatten()
            .filter(|body| body.rendered_at.elapsed() < fresh)
    }

    /// Keeps a body rendered from index version `version` (older versions are dropped).
    pub(crate) fn put(&self, version: u64, key: String, body: Arc<Rendered>) {
        let mut kept = self.inner.lock().expect("cache lock");
        if version > kept.version || kept.bodies.len() >= MAX_BODIES {
            kept.bodies.clear();
            kept.version = kept.version.max(version);
        }
        if version == kept.version {
            kept.bodies.insert(key, body);
        }
    }
}
