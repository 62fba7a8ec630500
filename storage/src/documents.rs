//! The large text columns (`offers.offer`, the normalised offer as JSON, and
//! `raw_records.payload`, the record as the source sent it) are stored compressed: most of what
//! a full sweep writes is these two texts (3.5 KB an offer), and a store's write rate is bound
//! by the bytes through its log.
//!
//! A stored value is either text (rows written before compression, read as they are) or
//! [`MARKER`] followed by the text's length and its LZ4 block. The marker is a byte no UTF-8
//! text starts with, so each value says which it is.

use crate::StorageError;

/// First byte of a compressed value: never the first byte of UTF-8 text.
const MARKER: u8 = 0xff;

/// Texts shorter than this are stored as they are: LZ4 would not make them smaller.
const SMALLEST_COMPRESSED: usize = 128;

/// The value stored for `text`.
pub(crate) fn pack(text: &str) -> Vec<u8> {
    if text.len() < SMALLEST_COMPRESSED {
        return text.as_bytes().to_vec();
    }
    let mut packed =
        Vec::with_capacity(1 + 4 + lz4_flex::block::get_maximum_output_size(text.len()));
    packed.push(MARKER);
    packed.extend_from_slice(&lz4_flex::compress_prepend_size(text.as_bytes()));
    packed
}

/// The text of a stored value of the column `what`.
pub(crate) fn unpack(value: Vec<u8>, what: &str) -> Result<String, StorageError> {
    let corrupt = |why: String| StorageError::CorruptValue {
        what: what.to_owned(),
        value: why,
    };
    let bytes = match value.first() {
        Some(&MARKER) => lz4_flex::decompress_size_prepended(&value[1..])
            .map_err(|e| corrupt(format!("compressed value that does not decompress: {e}")))?,
        _ => value,
    };
    String::from_utf8(bytes).map_err(|e| corrupt(format!("text that is not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_whole_and_long_ones_smaller() {
        let long = "{\"title\":\"Aide-soignant de nuit (H/F)\",\"description\":\"".to_owned()
            + &"Vous accompagnez les résidents dans les actes de la vie quotidienne. ".repeat(20)
            + "\"}";
        for text in ["", "{}", "<offre id=\"1\"/>", long.as_str()] {
            let packed = pack(text);
            assert_eq!(unpack(packed.clone(), "t").unwrap(), text);
            if text.len() >= SMALLEST_COMPRESSED {
                assert_eq!(packed[0], MARKER);
                assert!(packed.len() < text.len() / 2, "{} bytes", packed.len());
            }
        }
    }

    #[test]
    fn rows_written_as_text_read_as_they_are_and_damage_is_an_error() {
        assert_eq!(unpack(b"{\"a\":1}".to_vec(), "t").unwrap(), "{\"a\":1}");
        let mut packed = pack(&"x".repeat(1_000));
        packed.truncate(8);
        let error = unpack(packed, "offers.offer").unwrap_err().to_string();
        assert!(error.contains("offers.offer"), "{error}");
        assert!(unpack(vec![b'a', 0xc3], "t").is_err());
    }
}
