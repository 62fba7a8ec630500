//! The form of an API key: `relais_<id>_<secret>`. The id is public (lists, logs, the audit
//! trail); the store keeps only the SHA-256 of the whole key. The secret has 256 random bits, so a
//! fast hash is enough: there is nothing to guess by brute force.

use rand::Rng as _;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

const PREFIX: &str = "relais";

/// A key just made: shown once to the operator, then only its hash is kept.
#[derive(Debug)]
pub struct IssuedKey {
    /// The public part, e.g. `3f9a0c2b71de`.
    pub id: String,
    /// The whole key, for the `Authorization: Bearer` header.
    pub key: SecretString,
    /// What the store keeps.
    pub secret_hash: String,
}

/// Makes a new key from the operating system's random source.
pub fn issue_key() -> IssuedKey {
    let mut rng = rand::rng();
    let id: [u8; 6] = rng.random();
    let secret: [u8; 32] = rng.random();
    let id = hex(&id);
    let key = format!("{PREFIX}_{id}_{}", hex(&secret));
    IssuedKey {
        secret_hash: hash_key(&key),
        id,
        key: SecretString::from(key),
    }
}

/// The hash the store keeps of a key.
pub fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// The public id inside a key, when the key has the right form.
pub(crate) fn key_id(key: &str) -> Option<&str> {
    let mut parts = key.splitn(3, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(id), Some(secret))
            if id.len() == 12
                && !secret.is_empty()
                && id.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(id)
        }
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_key_carries_its_public_id_and_hashes_to_what_is_stored() {
        let issued = issue_key();
        let key = issued.key.expose_secret();
        assert_eq!(key_id(key), Some(issued.id.as_str()));
        assert_eq!(hash_key(key), issued.secret_hash);
        assert_eq!(key.len(), "relais_".len() + 12 + 1 + 64);
        assert_ne!(issue_key().id, issued.id);
        for bad in [
            "",
            "relais",
            "relais_x_y",
            "other_3f9a0c2b71de_00",
            "relais_3f9a0c2b71de_",
        ] {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }
}
