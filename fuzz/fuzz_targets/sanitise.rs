//! The description sanitiser: whatever the input, no script, handler or remote content survives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_ingest::feeds::clean_description;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let clean = clean_description(&text, 64 * 1024);
    if let Some(html) = clean.html {
        let lower = html.to_ascii_lowercase();
        for forbidden in ["<script", "<img", "<iframe", "<style", "javascript:", " onerror=", " onclick="] {
            assert!(!lower.contains(forbidden), "`{forbidden}` survived: {html}");
        }
    }
});
