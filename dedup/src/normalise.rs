//! Text normalisation: folding (case, accents, punctuation), titles without gender tags and
//! site suffixes, employers without legal forms, descriptions without HTML, split in sentences.

use std::borrow::Cow;

/// What separates two words, when something does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// The end of a sentence (`.`, `!`, `?`, `;`, `•`, `…`).
    Sentence,
    /// The end of a sentence cut by a truncation mark ([`CUT`]).
    Cut,
    /// A list's bullet inside a sentence (`- `, `* `, `– `, `· ` between spaces): the items of
    /// a list without full stops.
    Bullet,
}

/// Calls `emit` with each word of `text`, lower-cased ASCII (accents folded, `œ` → `oe`),
/// and `on_break` between sentences and before a list's items. Line breaks do not end a
/// sentence: boards flatten, merge and split lines, and recognising a copy must not depend on
/// them; a bullet stays a bullet once its line is flattened.
fn for_each_word(text: &str, mut emit: impl FnMut(&str), mut on_break: impl FnMut(Break)) {
    let mut word = String::with_capacity(24);
    let flush = |word: &mut String, emit: &mut dyn FnMut(&str)| {
        if !word.is_empty() {
            emit(word);
            word.clear();
        }
    };
    let mut chars = text.chars().peekable();
    let mut after_space = true;
    while let Some(c) = chars.next() {
        let follows_space = std::mem::replace(&mut after_space, c.is_whitespace());
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
            continue;
        }
        if matches!(c, '-' | '*' | '–' | '·')
            && follows_space
            && chars.peek().is_none_or(|n| n.is_whitespace())
        {
            flush(&mut word, &mut emit);
            on_break(Break::Bullet);
            continue;
        }
        if c.is_ascii() || c.is_whitespace() {
            flush(&mut word, &mut emit);
            match c {
                '.' | '!' | '?' | ';' => on_break(Break::Sentence),
                CUT => on_break(Break::Cut),
                _ => {}
            }
            continue;
        }
        if c == '•' || c == '…' {
            flush(&mut word, &mut emit);
            on_break(Break::Sentence);
            continue;
        }
        match deunicode::deunicode_char(c) {
            Some(folded) if folded.chars().all(|f| f.is_ascii_alphanumeric()) => {
                word.extend(folded.chars().map(|f| f.to_ascii_lowercase()));
            }
            _ => flush(&mut word, &mut emit),
        }
    }
    flush(&mut word, &mut emit);
    on_break(Break::Sentence);
}

/// Where a truncation mark cut a sentence, once the mark and the cut word are removed.
const CUT: char = '\u{1}';

/// The folded words of `text`.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word(text, |w| out.push(w.to_owned()), |_| {});
    out
}

/// Words that say nothing about a job in a title or an employer's name.
const STOP_WORDS: &[&str] = &[
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "pour", "sur",
    "un", "une", "par", "avec", "dans",
];

/// Gender tags and inclusive endings once folded: `H/F`, `(F/H)`, `H-F-X`, `·e`, `(e)`.
const GENDER_WORDS: &[&str] = &[
    "h", "f", "x", "e", "hf", "fh", "hfx", "fhx", "homme", "femme",
];

/// Legal forms dropped from employers' names.
const LEGAL_FORMS: &[&str] = &[
    "sa",
    "sas",
    "sasu",
    "sarl",
    "eurl",
    "sci",
    "scop",
    "snc",
    "sca",
    "gie",
    "selarl",
    "selas",
    "scp",
    "ste",
    "societe",
    "sarlu",
    "ets",
    "etablissements",
];

/// Employer phrases with one canonical spelling (applied to folded words).
const EMPLOYER_ALIASES: &[(&[&str], &str)] = &[
    (&["centre", "communal", "action", "sociale"], "ccas"),
    (&["centre", "intercommunal", "action", "sociale"], "cias"),
    (&["communaute", "communes"], "cc"),
    (&["communaute", "agglomeration"], "ca"),
    (&["centre", "gestion"], "cdg"),
    (&["centre", "hospitalier", "universitaire"], "chu"),
    (&["centre", "hospitalier"], "ch"),
    (&["mairie"], "commune"),
    (&["ville"], "commune"),
];

/// Names that mean "not named".
const ANONYMOUS_EMPLOYERS: &[&str] = &[
    "confidentiel",
    "confidentielle",
    "entreprise confidentielle",
    "anonyme",
    "non communique",
    "employeur",
];

/// Whether a folded word is a gender tag or an inclusive ending.
pub fn is_gender_word(word: &str) -> bool {
    GENDER_WORDS.contains(&word)
}

/// A title reduced to the words that name the job: folded, without gender tags, stop words,
/// and the workplace's own words (`- Cahors (46)`, `à Cahors`, a postal code).
pub fn normalise_title(title: &str, place_words: &[String]) -> String {
    let mut kept: Vec<String> = Vec::new();
    for word in words(title) {
        let is_place = place_words.contains(&word)
            || (word.len() == 5 && word.bytes().all(|b| b.is_ascii_digit()));
        if STOP_WORDS.contains(&word.as_str()) || GENDER_WORDS.contains(&word.as_str()) || is_place
        {
            continue;
        }
        kept.push(word);
    }
    kept.join(" ")
}

/// An employer's name in one spelling, or `None` when it names nobody.
pub fn normalise_employer(name: &str) -> Option<String> {
    let content: Vec<String> = words(name)
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()) && !LEGAL_FORMS.contains(&w.as_str()))
        .collect();
    let mut kept: Vec<&str> = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        let alias = EMPLOYER_ALIASES.iter().find(|(phrase, _)| {
            content.len() - i >= phrase.len()
                && phrase.iter().zip(&content[i..]).all(|(p, w)| p == w)
        });
        match alias {
            Some((phrase, canonical)) => {
                kept.push(canonical);
                i += phrase.len();
            }
            None => {
                kept.push(&content[i]);
                i += 1;
            }
        }
    }
    let joined = kept.join(" ");
    if joined.is_empty() || ANONYMOUS_EMPLOYERS.contains(&joined.as_str()) {
        None
    } else {
        Some(joined)
    }
}

/// `text` without HTML tags (block elements become line breaks) and with entities decoded.
pub fn strip_html(text: &str) -> Cow<'_, str> {
    if !text.contains('<') && !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end]
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let block = matches!(
            tag.as_str(),
            "p" | "br"
                | "li"
                | "ul"
                | "ol"
                | "div"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "tr"
                | "table"
                | "blockquote"
                | "section"
        );
        if tag == "li" && rest[start + 1..].starts_with('/') {
            // A list item is a unit of content, ended like a sentence: a board's boilerplate
            // arrives as items without full stops.
            out.push_str(".\n");
        } else {
            out.push(if block { '\n' } else { ' ' });
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    if out.contains('&') {
        return Cow::Owned(decode_entities(&out));
    }
    Cow::Owned(out)
}

/// HTML entities decoded one by one: a bare `&` (`Qualité & RSE`) or an unknown name is kept as
/// written and leaves the others decoded (a strict unescape fails on the whole text).
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest[1..]
            .find(';')
            .filter(|&end| end <= 32)
            .map(|end| &rest[1..=end]);
        let decoded = entity.and_then(|name| match name.strip_prefix('#') {
            Some(number) => number
                .strip_prefix(['x', 'X'])
                .map_or_else(
                    || number.parse().ok(),
                    |hex| u32::from_str_radix(hex, 16).ok(),
                )
                .and_then(char::from_u32)
                .map(|c| Cow::Owned(c.to_string())),
            None => quick_xml::escape::resolve_html5_entity(name).map(Cow::Borrowed),
        });
        match (entity, decoded) {
            (Some(name), Some(decoded)) => {
                out.push_str(&decoded);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// One sentence of a description: the range of its words in [`Description::words`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sentence {
    /// First word.
    pub start: u32,
    /// One past the last word.
    pub end: u32,
    /// Cut by a truncation mark: the start of a sentence.
    pub partial: bool,
}

/// A description as folded words split in sentences; the words share one buffer.
#[derive(Debug, Clone, Default)]
pub struct Description {
    buffer: String,
    spans: Vec<(u32, u32)>,
    /// The sentences.
    pub sentences: Vec<Sentence>,
    /// The words a list's bullet comes before, inside a sentence, in order.
    item_starts: Vec<u32>,
    /// The text had truncation marks (`…`, `[...]`): it is a teaser.
    pub truncated: bool,
}

impl Description {
    /// Word `i`.
    pub fn word(&self, i: usize) -> &str {
        let (start, end) = self.spans[i];
        &self.buffer[start as usize..end as usize]
    }

    /// The words, in order.
    pub fn words(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        self.spans
            .iter()
            .map(|&(start, end)| &self.buffer[start as usize..end as usize])
    }

    /// The parts of sentence `s` between its list's bullets, as ranges of words, with whether
    /// each is cut by a truncation mark (only the last part of a partial sentence is).
    pub fn segments(
        &self,
        s: &Sentence,
    ) -> impl Iterator<Item = (std::ops::Range<usize>, bool)> + '_ {
        let Sentence {
            start,
            end,
            partial,
        } = *s;
        let from = self.item_starts.partition_point(|&i| i <= start);
        let to = self.item_starts.partition_point(|&i| i < end);
        let bounds = &self.item_starts[from..to];
        let starts = std::iter::once(start).chain(bounds.iter().copied());
        let ends = bounds.iter().copied().chain(std::iter::once(end));
        let last = bounds.len();
        starts
            .zip(ends)
            .enumerate()
            .map(move |(i, (a, b))| (a as usize..b as usize, partial && i == last))
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no word.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// Truncation marks of teasers.
const TRUNCATION_MARKS: &[&str] = &["[...]", "[…]", "(...)", "(…)", "...", "…"];

/// `text` without its truncation marks and the word each one may have cut in half, each partial
/// sentence ended by [`CUT`], and whether it had any.
fn without_truncation_marks(text: &str) -> (Cow<'_, str>, bool) {
    let first_mark = |rest: &str| {
        TRUNCATION_MARKS
            .iter()
            .filter_map(|mark| rest.find(mark).map(|at| (at, mark.len())))
            .min()
    };
    if !text.contains('…') && !text.contains("...") {
        return (Cow::Borrowed(text), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, len)) = first_mark(rest) {
        let before = &rest[..at];
        let kept = before
            .trim_end()
            .trim_end_matches(|c: char| !c.is_whitespace());
        out.push_str(kept);
        out.push(CUT);
        out.push('\n');
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    (Cow::Owned(out), true)
}

/// Splits a description (text or HTML) into folded words and sentences.
pub fn split_description(text: &str) -> Description {
    let text = strip_html(text);
    let (text, truncated) = without_truncation_marks(&text);
    let mut description = Description {
        truncated,
        ..Description::default()
    };
    let buffer = std::cell::RefCell::new(String::with_capacity(text.len()));
    let spans = std::cell::RefCell::new(Vec::new());
    let mut sentences = Vec::new();
    let mut item_starts = Vec::new();
    let mut start = 0u32;
    for_each_word(
        &text,
        |w| {
            let mut buffer = buffer.borrow_mut();
            let from = buffer.len() as u32;
            buffer.push_str(w);
            spans.borrow_mut().push((from, buffer.len() as u32));
        },
        |found| {
            let end = spans.borrow().len() as u32;
            if found == Break::Bullet {
                if end > start && item_starts.last() != Some(&end) {
                    item_starts.push(end);
                }
                return;
            }
            if end > start {
                sentences.push(Sentence {
                    start,
                    end,
                    partial: found == Break::Cut,
                });
            }
            start = end;
        },
    );
    description.item_starts = item_starts;
    description.buffer = buffer.into_inner();
    description.spans = spans.into_inner();
    description.sentences = sentences;
    description
}

/// Words that differ between copies without saying anything about the job: numbers,
/// currencies and units (a salary written differently), and stop words.
pub fn is_detail_word(word: &str) -> bool {
    word.len() > 2
        && !word.bytes().all(|b| b.is_ascii_digit())
        && !matches!(
            word,
            "eur"
                | "euro"
                | "euros"
                | "brut"
                | "bruts"
                | "net"
                | "nets"
                | "mois"
                | "mensuel"
                | "annuel"
                | "heures"
                | "heure"
                | "par"
                | "les"
                | "des"
                | "une"
                | "pour"
                | "sur"
                | "avec"
                | "dans"
                | "aux"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_case_accents_gender_tags_and_site_suffixes() {
        let place = words("46 - CAHORS");
        let expected = "agent entretien";
        for title in [
            "Agent d'entretien H/F",
            "AGENT D ENTRETIEN (H/F)",
            "Agent d’entretien (F/H) - Cahors (46)",
            "agent d'entretien h/f/x à Cahors",
            "Agent(e) d'entretien - 46000",
            "Agent·e d'entretien",
        ] {
            assert_eq!(normalise_title(title, &place), expected, "{title}");
        }
        assert_eq!(
            normalise_title("Chargé·e de communication", &[]),
            "charge communication"
        );
        assert_eq!(
            normalise_title("Secrétaire de mairie – catégorie B", &[]),
            "secretaire mairie categorie b"
        );
    }

    #[test]
    fn employers_lose_legal_forms_and_take_one_spelling() {
        assert_eq!(
            normalise_employer("Mairie de Cahors").as_deref(),
            Some("commune cahors")
        );
        assert_eq!(
            normalise_employer("Ville de Cahors"),
            normalise_employer("Commune de Cahors")
        );
        assert_eq!(
            normalise_employer("SARL Dupont Nettoyage"),
            normalise_employer("DUPONT NETTOYAGE SARL")
        );
        assert_eq!(
            normalise_employer("Centre Communal d'Action Sociale de Figeac").as_deref(),
            Some("ccas figeac")
        );
        assert_eq!(normalise_employer("Entreprise confidentielle"), None);
        assert_eq!(normalise_employer("  "), None);
    }

    #[test]
    fn html_is_removed_blocks_split_sentences_and_entities_decode() {
        let d = split_description(
            "<p>Vous assurez l&apos;entretien</p><ul><li>des locaux</li><li>du mat&eacute;riel</li></ul>",
        );
        assert_eq!(
            d.words().collect::<Vec<_>>(),
            [
                "vous",
                "assurez",
                "l",
                "entretien",
                "des",
                "locaux",
                "du",
                "materiel"
            ]
        );
        // `</p>` ends no sentence (paragraphs are wrapping); each `</li>` does.
        assert_eq!(d.sentences.len(), 2);
        assert!(!d.truncated);
        // A bare `&` or an unknown name leaves the other entities decoded.
        let d = split_description("<p>Qualit&eacute; & RSE &#233;t&#xE9; &nope; &#39;</p>");
        assert_eq!(
            d.words().collect::<Vec<_>>(),
            ["qualite", "rse", "ete", "nope"]
        );
    }

    #[test]
    fn flattened_and_rewrapped_texts_split_as_their_original() {
        let original = "Le poste\n- Vous assurez l'entretien des locaux\n- Vous accueillez le public.\n\nProfil : rigueur; ponctualité.";
        let flattened = original.split_whitespace().collect::<Vec<_>>().join(" ");
        let rewrapped = "<div>Le poste<br>- Vous assurez l'entretien des locaux</div><p>- Vous accueillez le public. Profil : rigueur; ponctualité.</p>";
        let split = |text: &str| {
            let d = split_description(text);
            let sentences: Vec<Vec<String>> = d
                .sentences
                .iter()
                .map(|s| {
                    (s.start..s.end)
                        .map(|i| d.word(i as usize).to_owned())
                        .collect()
                })
                .collect();
            sentences
        };
        assert_eq!(split(original).len(), 3);
        assert_eq!(split(original), split(&flattened));
        assert_eq!(split(original), split(rewrapped));
        // A list item ends like a sentence: a board's boilerplate in items without full stops.
        let listed = split(
            "<p>Vous assurez l'entretien.</p><ul><li>Postulez en un clic</li><li>Créez votre alerte</li></ul>",
        );
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[1], ["postulez", "en", "un", "clic"]);
    }

    #[test]
    fn a_list_without_full_stops_is_split_in_items_flattened_or_not() {
        let original = "Missions suivantes :\n- Accueillir les clients\n- Préparer les commandes du jour\n\nVisite de Saint-Denis, 9h-17h - lundi.";
        let flattened = original.split_whitespace().collect::<Vec<_>>().join(" ");
        let items = |text: &str| {
            let d = split_description(text);
            let items: Vec<Vec<String>> = d
                .sentences
                .iter()
                .flat_map(|s| d.segments(s).collect::<Vec<_>>())
                .map(|(words, _)| words.map(|i| d.word(i).to_owned()).collect())
                .collect();
            (d.sentences.len(), items)
        };
        let (sentences, parts) = items(original);
        // One sentence up to the full stop; a hyphen inside a word or between figures is no
        // bullet, one between spaces is.
        assert_eq!(sentences, 1);
        assert_eq!(
            parts,
            [
                vec!["missions", "suivantes"],
                vec!["accueillir", "les", "clients"],
                vec![
                    "preparer",
                    "les",
                    "commandes",
                    "du",
                    "jour",
                    "visite",
                    "de",
                    "saint",
                    "denis",
                    "9h",
                    "17h"
                ],
                vec!["lundi"],
            ]
        );
        assert_eq!(items(&flattened), (sentences, parts));
        // Only the last item of a cut sentence is partial.
        let d = split_description("Missions :\n- Accueillir les clients\n- Préparer les comm…");
        let partial: Vec<bool> = d.segments(&d.sentences[0]).map(|(_, p)| p).collect();
        assert_eq!(partial, [false, false, true]);
    }

    #[test]
    fn a_truncated_teaser_drops_its_cut_word_even_before_more_text() {
        let d = split_description("Vous assurez l'entretien des loc…");
        assert!(d.truncated);
        assert_eq!(d.words().last(), Some("des"));
        let d = split_description(
            "Vous assurez l'entretien. Des loc [...]\n\nPostulez sur Emploi Local.",
        );
        assert_eq!(
            d.words().collect::<Vec<_>>(),
            [
                "vous",
                "assurez",
                "l",
                "entretien",
                "des",
                "postulez",
                "sur",
                "emploi",
                "local"
            ]
        );
        let partial: Vec<bool> = d.sentences.iter().map(|s| s.partial).collect();
        assert_eq!(partial, [false, true, false]);
    }
}
