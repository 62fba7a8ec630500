//! Identifier newtypes. Each has a private field and a `parse` constructor that checks the shape.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates the identifier.
            pub fn parse(value: &str) -> Result<Self, ModelError> {
                let value = value.trim();
                let check: fn(&str) -> bool = $check;
                if check(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(ModelError::invalid($kind, value))
                }
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Serialised as a plain string.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype!(
    /// The id of a configured source, e.g. `francetravail`: lowercase ASCII letters, digits, `-` and `_`.
    SourceId,
    "source id",
    |v| !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
);

string_newtype!(
    /// A commune code of the INSEE's Code officiel géographique: `01001`, `2A004`, `97411`.
    InseeCode,
    "INSEE code",
    |v| {
        let b = v.as_bytes();
        b.len() == 5
            && (b[..2].iter().all(u8::is_ascii_digit) || v.starts_with("2A") || v.starts_with("2B"))
            && b[2..].iter().all(u8::is_ascii_digit)
    }
);

string_newtype!(
    /// A ROME job code: one capital letter and four digits, e.g. `M1502`.
    RomeCode,
    "ROME code",
    |v| {
        let b = v.as_bytes();
        b.len() == 5 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
    }
);

string_newtype!(
    /// A SIRET establishment number: 14 digits.
    Siret,
    "SIRET",
    |v| v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit())
);

string_newtype!(
    /// A département code: `01`..`95` (but `20`), `2A`, `2B`, or an overseas code (`971`..`978`,
    /// `984`, `986`..`989`).
    DepartementCode,
    "département code",
    |v| match v.len() {
        2 => {
            v == "2A"
                || v == "2B"
                || (v.bytes().all(|b| b.is_ascii_digit()) && v != "00" && v != "20" && v < "96")
        }
        // Overseas: the départements and collectivités of the 97x codes, and the Pacific and
        // austral ones of 98x (984 TAAF, 986 Wallis-et-Futuna, 987 French Polynesia, 988 New
        // Caledonia, 989 Clipperton): every code of the official geography.
        3 => matches!(
            v,
            "971" | "972" | "973" | "974" | "975" | "976" | "977" | "978"
                | "984" | "986" | "987" | "988" | "989"
        ),
        _ => false,
    }
);

impl DepartementCode {
    /// The département of a commune: the first two characters, or three for overseas communes.
    pub fn of_commune(commune: &InseeCode) -> Option<Self> {
        let code = commune.as_str();
        let prefix = if code.starts_with("97") || code.starts_with("98") {
            &code[..3]
        } else {
            &code[..2]
        };
        Self::parse(prefix).ok()
    }
}

/// The identity of an offer: the source it comes from and the id the source gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OfferKey {
    source: SourceId,
    source_offer_id: String,
}

impl OfferKey {
    /// Builds a key; the source's own id must be non-empty printable text of at most 128 bytes.
    pub fn new(source: SourceId, source_offer_id: &str) -> Result<Self, ModelError> {
        let id = source_offer_id.trim();
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
            return Err(ModelError::invalid("source offer id", id));
        }
        Ok(Self {
            source,
            source_offer_id: id.to_owned(),
        })
    }

    /// Parses the `source:id` form printed by [`fmt::Display`].
    pub fn parse(value: &str) -> Result<Self, ModelError> {
        let (source, id) = value
            .split_once(':')
            .ok_or_else(|| ModelError::invalid("offer key", value))?;
        Self::new(SourceId::parse(source)?, id)
    }

    /// The source the offer comes from.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The id the source gives the offer.
    pub fn source_offer_id(&self) -> &str {
        &self.source_offer_id
    }
}

impl fmt::Display for OfferKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.source_offer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insee_codes_accept_corsica_and_overseas_and_reject_the_rest() {
        for ok in ["01001", "2A004", "2B033", "97411", "75056"] {
            assert!(InseeCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["1001", "2C004", "7505A", "", "750561"] {
            assert!(InseeCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn departement_of_a_commune() {
        let of = |c: &str| {
            DepartementCode::of_commune(&InseeCode::parse(c).unwrap()).map(|d| d.to_string())
        };
        assert_eq!(of("46042").as_deref(), Some("46"));
        assert_eq!(of("2A004").as_deref(), Some("2A"));
        assert_eq!(of("97411").as_deref(), Some("974"));
        assert_eq!(of("98735").as_deref(), Some("987"));
        assert_eq!(of("98818").as_deref(), Some("988"));
    }

    #[test]
    fn departement_codes() {
        for ok in [
            "01", "2A", "2B", "95", "971", "976", "984", "986", "987", "988", "989",
        ] {
            assert!(DepartementCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["20", "00", "96", "99", "979", "985", "980", "1", "2C"] {
            assert!(DepartementCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offer_key_round_trips_through_display() {
        let key = OfferKey::new(SourceId::parse("francetravail").unwrap(), "177NMLT").unwrap();
        assert_eq!(key.to_string(), "francetravail:177NMLT");
        assert_eq!(OfferKey::parse("francetravail:177NMLT").unwrap(), key);
        assert!(OfferKey::parse("France Travail:1").is_err());
        assert!(SourceId::parse("Bad Id").is_err());
    }

    #[test]
    fn rome_and_siret() {
        assert!(RomeCode::parse("M1502").is_ok());
        assert!(RomeCode::parse("m1502").is_err());
        assert!(Siret::parse("12345678901234").is_ok());
        assert!(Siret::parse("1234567890123").is_err());
    }
}
