//! The widget's beacon: the web component reports the offers it shows to relais itself (no
//! third-party tracker). Each page of the widget's JSON carries a token, signed by the server,
//! that names the feed and the offers of that page; the beacon sends it back once the offers are
//! on screen. Only offers the server listed can be counted, and only for their feed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a token may be sent back after its page was served.
const TOKEN_LIFETIME_MS: i64 = 6 * 3600 * 1000;

/// Tokens remembered as counted, at most (about 64 bytes each): beyond, the oldest go.
const MAX_REMEMBERED: usize = 200_000;

/// The tokens already counted (their signatures, with when they were issued), so that a token
/// sent twice counts once.
#[derive(Debug, Default)]
pub(crate) struct Counted {
    seen: std::sync::Mutex<std::collections::HashMap<Vec<u8>, i64>>,
}

impl Counted {
    /// Whether this is the first time `signature` (issued at `issued_ms`) is counted.
    fn first_time(&self, signature: &[u8], issued_ms: i64, now_ms: i64) -> bool {
        let mut seen = self.seen.lock().expect("beacon lock");
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, issued| now_ms - *issued <= TOKEN_LIFETIME_MS);
            if seen.len() >= MAX_REMEMBERED {
                let oldest = seen.values().copied().min().unwrap_or(now_ms);
                seen.retain(|_, issued| *issued > oldest);
            }
        }
        seen.insert(signature.to_vec(), issued_ms).is_none()
    }
}

/// The server's signing key (random at start unless configured).
#[derive(Clone)]
pub(crate) struct BeaconKey([u8; 32]);

impl std::fmt::Debug for BeaconKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeaconKey(..)")
    }
}

impl Default for BeaconKey {
    fn default() -> Self {
        use rand::Rng as _;
        Self(rand::rng().random())
    }
}

/// What a token says.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Shown {
    /// Feed.
    #[serde(rename = "f")]
    pub(crate) feed: String,
    /// Offer keys.
    #[serde(rename = "k")]
    pub(crate) keys: Vec<String>,
    /// Issued at (Unix ms).
    #[serde(rename = "t")]
    pub(crate) issued_ms: i64,
}

impl BeaconKey {
    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// The token of a page of `feed` listing `keys`.
    pub(crate) fn token(&self, feed: &str, keys: Vec<String>, now: DateTime<Utc>) -> String {
        let shown = Shown {
            feed: feed.to_owned(),
            keys,
            issued_ms: now.timestamp_millis(),
        };
        let payload = serde_json::to_vec(&shown).expect("strings serialise");
        let mut mac = self.mac();
        mac.update(&payload);
        let signature = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// What a token says, when this server signed it less than a few hours ago and it was not
    /// counted before.
    pub(crate) fn verify_once(
        &self,
        token: &str,
        now: DateTime<Utc>,
        counted: &Counted,
    ) -> Option<Shown> {
        let shown = self.verify(token, now)?;
        let (_, signature) = token.split_once('.')?;
        counted
            .first_time(
                signature.as_bytes(),
                shown.issued_ms,
                now.timestamp_millis(),
            )
            .then_some(shown)
    }

    /// What a token says, when this server signed it less than a few hours ago.
    pub(crate) fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Shown> {
        let (payload, signature) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&signature).ok()?;
        let shown: Shown = serde_json::from_slice(&payload).ok()?;
        let age = now.timestamp_millis() - shown.issued_ms;
        (0..=TOKEN_LIFETIME_MS).contains(&age).then_some(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_page_and_cannot_be_forged_or_replayed_late() {
        let key = BeaconKey::default();
        let now = Utc::now();
        let token = key.token("grand-cahors", vec!["francetravail:1".into()], now);
        let shown = key.verify(&token, now).unwrap();
        assert_eq!(shown.feed, "grand-cahors");
        assert_eq!(shown.keys, ["francetravail:1"]);
        assert!(
            BeaconKey::default().verify(&token, now).is_none(),
            "another server's key"
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let forged =
            URL_SAFE_NO_PAD.encode(br#"{"f":"grand-cahors","k":["francetravail:2"],"t":0}"#);
        assert!(key.verify(&format!("{forged}.{signature}"), now).is_none());
        assert!(key.verify(payload, now).is_none());
        assert!(
            key.verify(&token, now + chrono::Duration::hours(7))
                .is_none()
        );
    }
}
