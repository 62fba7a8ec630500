//! French analysis for job search: lower case, accents folded, feminine job titles folded onto
//! the masculine form, then the Snowball French stemmer.
//!
//! Job titles are written in both genders (`infirmière`, `développeuse`, `aide-soignante`) and
//! a job seeker types either: the stemmer alone does not bring `développeuse` and `développeur`
//! together, so a token filter maps the feminine endings first. The same analyser runs on the
//! offers and on the query, so a rare collision (`carrière` → `carrier`) only adds matches.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// The analyser of titles and of the catch-all text field.
pub(crate) fn french() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(MasculineForm)
        .filter(Stemmer::new(Language::French))
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

/// Token filter applying [`masculine`].
#[derive(Clone, Debug)]
pub(crate) struct MasculineForm;

impl TokenFilter for MasculineForm {
    type Tokenizer<T: Tokenizer> = MasculineFormFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        MasculineFormFilter(tokenizer)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct MasculineFormFilter<T>(T);

impl<T: Tokenizer> Tokenizer for MasculineFormFilter<T> {
    type TokenStream<'a> = MasculineFormStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MasculineFormStream(self.0.token_stream(text))
    }
}

pub(crate) struct MasculineFormStream<T>(T);

impl<T: TokenStream> TokenStream for MasculineFormStream<T> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        if let Some(form) = masculine(&self.0.token().text) {
            self.0.token_mut().text = form;
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
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
    fn short_words_and_other_words_are_left_alone() {
        assert_eq!(masculine("ere"), None);
        assert_eq!(masculine("entre"), None);
        assert_eq!(masculine("cdi"), None);
    }
}
