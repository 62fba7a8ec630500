//! The description sanitiser: whatever the input, its HTML holds only allowed tags, and no
//! attribute but a link's http(s) or mailto `href` and its `rel` (so no script, handler, style or
//! remote content).
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_ingest::feeds::clean_description;

const ALLOWED: &[&str] = &[
    "p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "a",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let clean = clean_description(&text, 64 * 1024);
    let Some(html) = clean.html else { return };
    // In the cleaner's output, text is escaped: every `<` opens a tag.
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let (name, attributes) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(ALLOWED.contains(&name), "tag `{name}` survived: {html}");
        if attributes.is_empty() {
            continue;
        }
        assert_eq!(name, "a", "attributes on `{name}`: {html}");
        for attribute in attributes.split("\" ") {
            let (key, value) = attribute.split_once("=\"").unwrap_or((attribute, ""));
            match key {
                "rel" => {}
                "href" => assert!(
                    ["http://", "https://", "mailto:"].iter().any(|s| value.starts_with(s)),
                    "href `{value}` survived: {html}"
                ),
                other => panic!("attribute `{other}` survived: {html}"),
            }
        }
    }
});
