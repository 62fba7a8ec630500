//! Untrusted descriptions: kept with their text and safe formatting, stripped of everything that
//! could run, restyle a page or load remote content, before anything reaches a page.
//!
//! Cleaning is ammonia's (an html5ever parse and an allow-list); this module only chooses the
//! allow-list, cuts absurd sizes, and derives the plain text from ammonia's own output.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Tags kept: paragraphs, lists, emphasis, headings, links.
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "a",
];

/// Tags after which the plain text starts a new line.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
];

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(ALLOWED_TAGS.iter().copied().collect())
        .clean_content_tags(
            [
                "script", "style", "iframe", "object", "embed", "noscript", "template", "svg",
                "math",
            ]
            .into_iter()
            .collect(),
        )
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer"))
        .strip_comments(true);
    builder
});

/// A description made safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanDescription {
    /// Plain text, paragraphs separated by blank lines.
    pub text: String,
    /// Safe HTML, when the source gave HTML.
    pub html: Option<String>,
    /// Scripts, handlers, styles or remote content were removed.
    pub stripped_unsafe: bool,
    /// The description was longer than the limit and was cut.
    pub truncated: bool,
}

/// Cleans a description given as text or HTML; `max_bytes` bounds what is kept.
pub fn clean_description(raw: &str, max_bytes: usize) -> CleanDescription {
    let truncated = raw.len() > max_bytes;
    let raw = cut_at_char_boundary(raw, max_bytes);
    if !looks_like_html(raw) {
        return CleanDescription {
            text: tidy_text(raw),
            html: None,
            stripped_unsafe: false,
            truncated,
        };
    }
    let stripped_unsafe = has_unsafe_markup(raw);
    // Text with a few entities or inline tags but no blocks keeps its line breaks.
    let source = if raw.contains('\n') && !has_block_tag(raw) {
        std::borrow::Cow::Owned(raw.replace('\n', "<br>\n"))
    } else {
        std::borrow::Cow::Borrowed(raw)
    };
    let html = CLEANER.clean(&source).to_string();
    let text = tidy_text(&text_of_clean_html(&html));
    CleanDescription {
        text,
        html: Some(html.trim().to_owned()),
        stripped_unsafe,
        truncated,
    }
}

/// Plain text of an untrusted fragment (a title written with tags, say): no markup survives.
pub fn plain_text(raw: &str) -> String {
    if !looks_like_html(raw) {
        return raw.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let html = CLEANER.clean(raw).to_string();
    text_of_clean_html(&html)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest prefix of at most `max` bytes that ends on a character boundary.
pub fn cut_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A tag (`<p`, `</b`, `<!--`) or an entity (`&eacute;`, `&#39;`).
fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(2).enumerate().any(|(i, pair)| match pair {
        [b'<', next] => next.is_ascii_alphabetic() || *next == b'/' || *next == b'!',
        [b'&', next] => {
            (next.is_ascii_alphanumeric() || *next == b'#')
                && bytes[i + 1..]
                    .iter()
                    .take(12)
                    .position(|&b| b == b';')
                    .is_some_and(|end| {
                        bytes[i + 1..i + 1 + end]
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'#')
                    })
        }
        _ => false,
    })
}

fn has_block_tag(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    ["<p", "<br", "<li", "<div", "<h2", "<h3", "<table"]
        .iter()
        .any(|tag| lower.contains(tag))
}

/// Whether the cleaner will have something dangerous to remove: it decides the warning only;
/// ammonia's allow-list does the removing whatever this says.
fn has_unsafe_markup(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "<script",
        "<style",
        "<iframe",
        "<object",
        "<embed",
        "<img",
        "<link",
        "<meta",
        "<form",
        "<svg",
        "<base",
        "javascript:",
        "vbscript:",
        "data:text",
        "style=",
    ];
    MARKERS.iter().any(|marker| lower.contains(marker)) || has_event_handler(&lower)
}

/// An `on…=` attribute inside a tag.
fn has_event_handler(lower: &str) -> bool {
    let bytes = lower.as_bytes();
    let mut in_tag = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b'o' if in_tag
                && i > 0
                && matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'/' | b'"' | b'\'')
                && bytes.get(i + 1) == Some(&b'n') =>
            {
                let name_end = bytes[i + 2..]
                    .iter()
                    .position(|c| !c.is_ascii_alphabetic())
                    .map_or(bytes.len(), |p| i + 2 + p);
                let after = bytes[name_end..].iter().find(|c| !c.is_ascii_whitespace());
                if name_end > i + 2 && after == Some(&b'=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The text of HTML that ammonia produced: well-formed, only allowed tags, text escaped.
fn text_of_clean_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let closing = tag.starts_with('/');
        match name.as_str() {
            "li" if !closing => text.push_str("\n- "),
            "li" => {}
            block if BLOCK_TAGS.contains(&block) => text.push('\n'),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    match quick_xml::escape::unescape(&text) {
        Ok(unescaped) => unescaped.into_owned(),
        Err(_) => text,
    }
}

/// Trims lines, collapses runs of spaces and of blank lines.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_styles_and_remote_content_are_stripped() {
        let hostile = r#"<p onclick="steal()">Agent <b>d'accueil</b></p><script>alert(document.cookie)</script>
            <img src="https://tracker.example/pixel.gif" onerror="alert(1)"><style>body{display:none}</style>
            <a href="javascript:alert(1)">postuler</a> <a href="https://mairie.example/postuler">ici</a>
            <iframe src="https://evil.example"></iframe><span style="position:fixed">x</span>"#;
        let clean = clean_description(hostile, 64 * 1024);
        assert!(clean.stripped_unsafe);
        let html = clean.html.unwrap();
        for forbidden in [
            "script",
            "onclick",
            "onerror",
            "img",
            "style",
            "javascript",
            "iframe",
            "alert",
            "tracker",
        ] {
            assert!(
                !html.contains(forbidden),
                "`{forbidden}` survived in {html}"
            );
        }
        assert!(html.contains("<b>d'accueil</b>") || html.contains("<b>d&#39;accueil</b>"));
        assert!(html.contains(r#"href="https://mairie.example/postuler""#));
        assert!(html.contains("nofollow"));
        assert!(clean.text.starts_with("Agent d'accueil"), "{}", clean.text);
        assert!(!clean.text.contains("alert"));
    }

    #[test]
    fn plain_text_stays_text_and_keeps_its_lines() {
        let clean = clean_description("Missions :\n\n- accueillir\n- orienter  le public\n", 1024);
        assert_eq!(clean.html, None);
        assert_eq!(
            clean.text,
            "Missions :\n\n- accueillir\n- orienter le public"
        );
        assert!(!clean.stripped_unsafe);
    }

    #[test]
    fn entities_are_decoded_and_lists_become_lines() {
        let clean = clean_description(
            "<p>R&eacute;mun&eacute;ration&nbsp;: SMIC</p><ul><li>Permis B</li><li>V&eacute;hicule</li></ul>",
            1024,
        );
        assert_eq!(clean.text, "Rémunération : SMIC\n\n- Permis B\n- Véhicule");
        assert!(!clean.stripped_unsafe);
    }

    #[test]
    fn huge_descriptions_are_cut_on_a_character_boundary() {
        let huge = "é".repeat(5_000_000);
        let clean = clean_description(&huge, 64 * 1024);
        assert!(clean.truncated);
        assert!(clean.text.len() <= 64 * 1024);
        assert!(clean.text.chars().all(|c| c == 'é'));
    }

    #[test]
    fn event_handlers_are_detected_only_inside_tags() {
        assert!(has_event_handler("<p onmouseover = \"x\">"));
        assert!(!has_event_handler("mission on=site, <p>bonjour</p>"));
        assert!(!has_event_handler("<p class=\"one\">"));
    }
}
