//! French analysis for job search: lower case, accents folded, feminine job titles folded onto
//! the masculine form, then the Snowball French stemmer.
//!
//! Job titles are written in both genders (`infirmière`, `développeuse`, `aide-soignante`) and
//! a job seeker types either: the stemmer alone does not bring `développeuse` and `développeur`
//! together, so a token filter maps the feminine endings first. The same analyser runs on the
//! offers and on the query, so a rare collision (`carrière` → `carrier`) only adds matches.

use std::collections::HashMap;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};

/// Words an analyser remembers the terms of before it starts again (a few MB).
const MAX_MEMOISED: usize = 100_000;

/// The analyser of titles and of the catch-all text field.
pub(crate) fn french() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(FrenchTerm)
        .build()
}

/// The analyser of exact-ish fields (employer names): no stemming.
pub(crate) fn folded() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Feminine endings of job nouns and their masculine form, on folded lower-case text; the
/// longest ending that matches wins. A word must keep at least three letters before it.
const ENDINGS: &[(&str, &str)] = &[
    ("euses", "eur"),
    ("euse", "eur"),
    ("trices", "teur"),
    ("trice", "teur"),
    ("ieres", "ier"),
    ("iere", "ier"),
    ("iennes", "ien"),
    ("ienne", "ien"),
    ("antes", "ant"),
    ("ante", "ant"),
    ("entes", "ent"),
    ("ente", "ent"),
    ("eres", "er"),
    ("ere", "er"),
    ("ives", "if"),
    ("ive", "if"),
    ("ennes", "en"),
    ("enne", "en"),
    // Past participles: `spécialisée`, `qualifiée`.
    ("ees", "e"),
    ("ee", "e"),
];

/// The masculine form of a folded lower-case word, when it has a feminine job ending.
pub(crate) fn masculine(word: &str) -> Option<String> {
    ENDINGS.iter().find_map(|(feminine, masculine)| {
        let stem = word.strip_suffix(feminine)?;
        (stem.len() >= 3).then(|| format!("{stem}{masculine}"))
    })
}

/// Token filter: the masculine form of a feminine job word ([`masculine`]), then its Snowball
/// French stem. Each analyser remembers the terms of the words it met: the stemmer was a third of
/// the indexing time, and job ads repeat a small vocabulary.
#[derive(Clone, Debug)]
pub(crate) struct FrenchTerm;

impl TokenFilter for FrenchTerm {
    type Tokenizer<T: Tokenizer> = FrenchTermFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        FrenchTermFilter {
            inner: tokenizer,
            terms: Memo::default(),
        }
    }
}

/// The terms of the words met; a clone of an analyser (one per indexing thread, one per query)
/// starts empty rather than copying them.
#[derive(Debug, Default)]
pub(crate) struct Memo(HashMap<String, String>);

impl Clone for Memo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FrenchTermFilter<T> {
    inner: T,
    terms: Memo,
}

impl<T: Tokenizer> Tokenizer for FrenchTermFilter<T> {
    type TokenStream<'a> = FrenchTermStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        if self.terms.0.len() > MAX_MEMOISED {
            self.terms.0.clear();
        }
        FrenchTermStream {
            tail: self.inner.token_stream(text),
            terms: &mut self.terms.0,
            stemmer: frostem::Stemmer::new(frostem::Algorithm::French),
        }
    }
}

pub(crate) struct FrenchTermStream<'a, T> {
    tail: T,
    terms: &'a mut HashMap<String, String>,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for FrenchTermStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        match self.terms.get(&token.text) {
            Some(term) => {
                token.text.clear();
                token.text.push_str(term);
            }
            None => {
                let word = std::mem::take(&mut token.text);
                let masculine = masculine(&word);
                let term = self
                    .stemmer
                    .stem(masculine.as_deref().unwrap_or(&word))
                    .into_owned();
                token.text.push_str(&term);
                self.terms.insert(word, term);
            }
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The terms the French analyser makes of `text`, in order.
pub(crate) fn terms(analyser: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyser.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) {
        let mut analyser = french();
        assert_eq!(
            terms(&mut analyser, a),
            terms(&mut analyser, b),
            "{a} / {b}"
        );
    }

    #[test]
    fn feminine_and_masculine_job_titles_meet() {
        same("infirmière", "infirmier");
        same("Infirmières", "INFIRMIER");
        same("développeuse", "développeur");
        same("vendeuse", "vendeur");
        same("aide-soignante", "aide-soignant");
        same("serveuse", "serveur");
        same("directrice", "directeur");
        same("technicienne", "technicien");
        same("agente", "agent");
        same("boulangère", "boulanger");
        same("éducatrice spécialisée", "educateur specialise");
    }

    #[test]
    fn remembered_terms_are_the_terms_computed() {
        let text = "Infirmières de nuit, infirmière coordinatrice : les infirmières";
        let mut fresh = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(FrenchTerm)
            .build();
        let first = terms(&mut fresh, text);
        assert_eq!(
            first,
            terms(&mut fresh, text),
            "the second pass reads the memo"
        );
        assert_eq!(
            first,
            [
                "infirmi", "de", "nuit", "infirmi", "coordin", "le", "infirmi"
            ]
        );
    }

    #[test]
    fn short_words_and_other_words_are_left_alone() {
        assert_eq!(masculine("ere"), None);
        assert_eq!(masculine("entre"), None);
        assert_eq!(masculine("cdi"), None);
    }
}
