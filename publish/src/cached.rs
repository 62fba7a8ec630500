//! Rendered bodies with their validators: a strong `ETag` (a hash of the bytes), a
//! `Last-Modified` (the last update among the offers), `Cache-Control`, and 304 answers to
//! conditional requests. Bodies of configured feeds are kept per index version: rendered once
//! after the index changes, not per request, and compressed once per encoding a client asks
//! (brotli or gzip), not per request either.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
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

/// Bodies shorter than this are sent as they are: compressing them saves less than it costs.
const MIN_COMPRESSED_LEN: usize = 256;

/// The encodings a body is sent in (RFC 9110 §8.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The encoding the request prefers among brotli and gzip, by `Accept-Encoding` and its
    /// weights (RFC 9110 §12.5.3); brotli on a tie (smaller); identity when it accepts neither.
    fn negotiate(request: &HeaderMap) -> Self {
        let (mut brotli, mut gzip, mut any) = (None, None, None);
        for value in request.get_all(header::ACCEPT_ENCODING) {
            for item in value.to_str().unwrap_or_default().split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let weight = parts
                    .find_map(|part| part.trim().strip_prefix("q="))
                    .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
                if name.eq_ignore_ascii_case("br") {
                    brotli = Some(weight);
                } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(weight);
                } else if name == "*" {
                    any = Some(weight);
                }
            }
        }
        let (brotli, gzip) = (brotli.or(any).unwrap_or(0.0), gzip.or(any).unwrap_or(0.0));
        if brotli > 0.0 && brotli >= gzip {
            Self::Brotli
        } else if gzip > 0.0 {
            Self::Gzip
        } else {
            Self::Identity
        }
    }

    /// `bytes` in this encoding.
    fn encode(self, bytes: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(bytes.len() / 4);
        match self {
            Self::Identity => out.extend_from_slice(bytes),
            Self::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
                encoder.write_all(bytes).expect("writing to memory");
                encoder.finish().expect("writing to memory");
            }
            Self::Brotli => {
                // Quality 5, paid once per body: a 44 KB feed page to 4.8 KB (the compression
                // layer's quality 4, paid per request, gave 5.2 KB).
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 5,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
                    .expect("writing to memory");
            }
        }
        out.into()
    }

    /// The `Content-Encoding` and the suffix of the strong `ETag` (each encoding of a body is
    /// a representation of its own, RFC 9110 §8.8.3.3).
    fn names(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some(("gzip", "-gz")),
            Self::Brotli => Some(("br", "-br")),
        }
    }
}

/// A body in one encoding, made on first demand; `None` when it would not be smaller.
#[derive(Debug, Default)]
struct Encoded {
    body: OnceLock<Option<(Bytes, HeaderValue)>>,
}

/// A rendered body and its validators.
#[derive(Debug)]
pub(crate) struct Rendered {
    bytes: Bytes,
    content_type: &'static str,
    /// The digest of the bytes in hex, the identity's `ETag` between quotes.
    digest: String,
    last_modified: Option<SystemTime>,
    /// The validators as header values, made once.
    etag_header: HeaderValue,
    last_modified_header: Option<HeaderValue>,
    gzip: Encoded,
    brotli: Encoded,
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
        let digest: String = Sha256::digest(&bytes)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // HTTP dates have whole seconds.
        let last_modified = last_modified
            .and_then(|d| DateTime::from_timestamp(d.timestamp(), 0))
            .map(SystemTime::from);
        Self {
            bytes,
            content_type,
            etag_header: HeaderValue::from_str(&format!("\"{digest}\"")).expect("hex"),
            digest,
            last_modified_header: last_modified.map(|modified| {
                HeaderValue::from_str(&httpdate::fmt_http_date(modified)).expect("ASCII")
            }),
            last_modified,
            rendered_at: Instant::now(),
            shown: Vec::new(),
            gzip: Encoded::default(),
            brotli: Encoded::default(),
        }
    }

    /// The body in `encoding` with its `Content-Encoding` and `ETag`, compressed on first
    /// demand and kept; `None` for identity, or when compressing would not make it smaller.
    fn encoded(&self, encoding: Encoding) -> Option<(&'static str, &Bytes, &HeaderValue)> {
        let (name, suffix) = encoding.names()?;
        let slot = if encoding == Encoding::Brotli {
            &self.brotli
        } else {
            &self.gzip
        };
        let (bytes, etag) = slot
            .body
            .get_or_init(|| {
                let encoded = (self.bytes.len() >= MIN_COMPRESSED_LEN)
                    .then(|| encoding.encode(&self.bytes))
                    .filter(|encoded| encoded.len() < self.bytes.len())?;
                let etag = format!("\"{}{suffix}\"", self.digest);
                Some((encoded, HeaderValue::from_str(&etag).expect("hex")))
            })
            .as_ref()?;
        Some((name, bytes, etag))
    }

    /// The answer to a request with these headers, in the encoding it prefers: 304 when the
    /// client's copy is current.
    pub(crate) fn respond(&self, request: &HeaderMap, max_age_seconds: u32) -> Response {
        let encoded = self.encoded(Encoding::negotiate(request));
        let mut headers = HeaderMap::with_capacity(6);
        let cache_control = if max_age_seconds == FEED_MAX_AGE_SECONDS {
            HeaderValue::from_static("public, max-age=300")
        } else {
            HeaderValue::from_str(&format!("public, max-age={max_age_seconds}")).expect("ASCII")
        };
        headers.insert(header::CACHE_CONTROL, cache_control);
        headers.insert(
            header::ETAG,
            encoded
                .map_or(&self.etag_header, |(_, _, etag)| etag)
                .clone(),
        );
        // Caches keep one copy per encoding.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
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
        let Some((name, bytes, _)) = encoded else {
            return (headers, self.bytes.clone()).into_response();
        };
        // The compression layer leaves a body that says its encoding as it is.
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
        (headers, bytes.clone()).into_response()
    }

    /// RFC 9110 §13.1: `If-None-Match` decides when present (any encoding of these bytes
    /// matches: the client's copy decodes to them); else `If-Modified-Since`.
    fn not_modified(&self, request: &HeaderMap) -> bool {
        if let Some(tags) = request.get(header::IF_NONE_MATCH) {
            let Ok(tags) = tags.to_str() else {
                return false;
            };
            return tags.split(',').map(str::trim).any(|tag| {
                let tag = tag.trim_start_matches("W/");
                let opaque = tag.strip_prefix('"').and_then(|tag| tag.strip_suffix('"'));
                let digest = opaque.map(|tag| {
                    tag.strip_suffix("-br")
                        .or_else(|| tag.strip_suffix("-gz"))
                        .unwrap_or(tag)
                });
                tag == "*" || digest == Some(self.digest.as_str())
            });
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn asking(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    fn accepting(encodings: &str) -> HeaderMap {
        asking(&[(header::ACCEPT_ENCODING, encodings)])
    }

    #[test]
    fn the_encoding_follows_accept_encoding_and_its_weights() {
        for (asked, expected) in [
            ("gzip, deflate, br, zstd", Encoding::Brotli),
            ("gzip", Encoding::Gzip),
            ("x-gzip", Encoding::Gzip),
            ("BR", Encoding::Brotli),
            ("br;q=0.5, gzip;q=0.8", Encoding::Gzip),
            ("br;q=0, gzip", Encoding::Gzip),
            ("gzip;q=0", Encoding::Identity),
            ("*", Encoding::Brotli),
            ("*;q=0, gzip", Encoding::Gzip),
            ("deflate, zstd", Encoding::Identity),
            ("identity", Encoding::Identity),
            ("br;q=nonsense", Encoding::Identity),
        ] {
            assert_eq!(
                Encoding::negotiate(&accepting(asked)),
                expected,
                "Accept-Encoding: {asked}"
            );
        }
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    async fn body_of(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn each_encoding_decodes_to_the_bytes_has_its_own_etag_and_validates_the_others() {
        let text: String = (0..400)
            .map(|n| format!("{{\"offre\":{n},\"titre\":\"Agent d'accueil\"}},"))
            .collect();
        let rendered = Rendered::new(text.clone(), "application/json", None);
        let plain = rendered.respond(&HeaderMap::new(), FEED_MAX_AGE_SECONDS);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::VARY], "accept-encoding");
        let plain_etag = plain.headers()[header::ETAG].clone();
        assert_eq!(body_of(plain).await, text.as_bytes());

        let mut etags = vec![plain_etag];
        for (asked, name) in [("br", "br"), ("gzip", "gzip")] {
            // Twice: the second answer is the kept copy, the same bytes.
            let mut bodies = Vec::new();
            for _ in 0..2 {
                let answer = rendered.respond(&accepting(asked), FEED_MAX_AGE_SECONDS);
                assert_eq!(answer.headers()[header::CONTENT_ENCODING], name);
                assert_eq!(answer.headers()[header::VARY], "accept-encoding");
                etags.push(answer.headers()[header::ETAG].clone());
                bodies.push(body_of(answer).await);
            }
            assert_eq!(bodies[0], bodies[1]);
            assert!(bodies[0].len() < text.len() / 4, "{name} compresses");
            let mut decoded = Vec::new();
            if name == "br" {
                brotli::Decompressor::new(&bodies[0][..], 4096)
                    .read_to_end(&mut decoded)
                    .unwrap();
            } else {
                flate2::read::GzDecoder::new(&bodies[0][..])
                    .read_to_end(&mut decoded)
                    .unwrap();
            }
            assert_eq!(decoded, text.as_bytes(), "{name} decodes to the body");
        }
        etags.dedup();
        assert_eq!(etags.len(), 3, "one strong ETag per encoding: {etags:?}");
        // A copy in any encoding is current, whatever the client asks now.
        for etag in &etags {
            for asked in ["br", "gzip", "identity"] {
                let request = asking(&[
                    (header::ACCEPT_ENCODING, asked),
                    (header::IF_NONE_MATCH, etag.to_str().unwrap()),
                ]);
                let answer = rendered.respond(&request, FEED_MAX_AGE_SECONDS);
                assert_eq!(
                    answer.status(),
                    StatusCode::NOT_MODIFIED,
                    "{etag:?} {asked}"
                );
            }
        }
        let stale = asking(&[(header::IF_NONE_MATCH, "\"0123-br\"")]);
        assert_eq!(
            rendered.respond(&stale, FEED_MAX_AGE_SECONDS).status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_short_body_is_sent_as_it_is() {
        let rendered = Rendered::new("{\"total\":0}", "application/json", None);
        let answer = rendered.respond(&accepting("br, gzip"), FEED_MAX_AGE_SECONDS);
        assert!(answer.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_of(answer).await, b"{\"total\":0}");
    }
}
