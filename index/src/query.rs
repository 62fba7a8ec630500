//! Search requests and how they become tantivy queries.
//!
//! Users type plain words, never the index's query language: `"a phrase"` and `-word` are the
//! only operators; everything else (`title:x`, `*`, `AND`) is text. Contract words (`CDI`,
//! `CDD`, `intérim`...) typed on their own act on the contract instead of the text.

use std::ops::Bound;
use std::sync::Arc;

use relais_territory::Point;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::{self, terms};
use crate::any_term::AnyTermQuery;
use crate::geo::{DiscCover, disc_cover};
use crate::schema::{Fields, UNDATED};
use crate::search::PlaceFilter;

/// Weight of a word found in the title, against 1 in the catch-all text.
pub(crate) const TITLE_BOOST: f32 = 2.0;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best text match first (newest first without words to match).
    #[default]
    Relevance,
    /// Newest first; undated offers last.
    Date,
    /// Nearest first (needs a point).
    Distance,
}

impl SortOrder {
    /// The API name.
    pub fn name(self) -> &'static str {
        match self {
            SortOrder::Relevance => "relevance",
            SortOrder::Date => "date",
            SortOrder::Distance => "distance",
        }
    }
}

/// A disc around a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Radius {
    /// Centre.
    pub center: Point,
    /// Radius in km.
    pub km: f64,
}

/// A facet: counts of the values of one field over the whole result set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FacetName {
    /// Contract family.
    Contract,
    /// Working time.
    WorkingTime,
    /// ROME domain letter.
    RomeDomain,
    /// Département code.
    Departement,
    /// Commune INSEE code.
    Commune,
    /// Source id.
    Source,
    /// Age: `today`, `this_week`, `this_month`, `older`, `undated`.
    Published,
}

impl FacetName {
    /// Every facet, in the API's order.
    pub const ALL: [FacetName; 7] = [
        FacetName::Contract,
        FacetName::WorkingTime,
        FacetName::RomeDomain,
        FacetName::Departement,
        FacetName::Commune,
        FacetName::Source,
        FacetName::Published,
    ];

    /// The API name.
    pub fn name(self) -> &'static str {
        match self {
            FacetName::Contract => "contract",
            FacetName::WorkingTime => "working_time",
            FacetName::RomeDomain => "rome_domain",
            FacetName::Departement => "departement",
            FacetName::Commune => "commune",
            FacetName::Source => "source",
            FacetName::Published => "published",
        }
    }

    /// The facet with this API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The fast field counted (none for `published`, computed from the date).
    pub(crate) fn field(self) -> Option<&'static str> {
        match self {
            FacetName::Contract => Some("contract"),
            FacetName::WorkingTime => Some("working_time"),
            FacetName::RomeDomain => Some("rome_domain"),
            FacetName::Departement => Some("departement"),
            FacetName::Commune => Some("commune"),
            FacetName::Source => Some("source"),
            FacetName::Published => None,
        }
    }
}

/// Where a page starts: after the last offer of the previous page, on the sort key, then the
/// creation time (newest first), then the tie-breaker (a stable hash of the key), never an
/// offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    /// The sort key of the last offer seen (score, creation time or minus the distance).
    pub primary: f64,
    /// Its creation time (Unix ms; `i64::MIN` when undated).
    pub created: i64,
    /// Its tie-breaker.
    pub tiebreak: u64,
}

impl Cursor {
    fn tag(sort: SortOrder) -> &'static str {
        match sort {
            SortOrder::Relevance => "r",
            SortOrder::Date => "t",
            SortOrder::Distance => "g",
        }
    }

    /// The opaque token of this cursor for a sort order.
    pub fn token(&self, sort: SortOrder) -> String {
        format!(
            "{}{:016x}{:016x}{:016x}",
            Self::tag(sort),
            self.primary.to_bits(),
            self.created as u64,
            self.tiebreak
        )
    }

    /// The cursor a token stands for, if it was made for this sort order.
    pub fn parse(token: &str, sort: SortOrder) -> Option<Self> {
        let rest = token.strip_prefix(Self::tag(sort))?;
        if rest.len() != 48 || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let primary = f64::from_bits(u64::from_str_radix(&rest[..16], 16).ok()?);
        let created = u64::from_str_radix(&rest[16..32], 16).ok()? as i64;
        let tiebreak = u64::from_str_radix(&rest[32..], 16).ok()?;
        (!primary.is_nan()).then_some(Self {
            primary,
            created,
            tiebreak,
        })
    }
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// What the user typed.
    pub text: Option<String>,
    /// Places (a territory, communes, départements, régions): an offer in any of them matches.
    pub places: Vec<Arc<PlaceFilter>>,
    /// Only offers inside these places as well, whatever the other filters say: an API key's
    /// territory.
    pub within: Option<Arc<PlaceFilter>>,
    /// Only offers whose point is within this disc.
    pub radius: Option<Radius>,
    /// Measure distances from here (the radius' centre when there is one).
    pub point: Option<Point>,
    /// Contract families (any of).
    pub contracts: Vec<String>,
    /// Working times (any of).
    pub working_times: Vec<String>,
    /// ROME codes or prefixes (any of).
    pub rome: Vec<String>,
    /// Experience requirements (any of).
    pub experience: Vec<String>,
    /// Only offers created at or after this time (Unix ms).
    pub created_since_ms: Option<i64>,
    /// Sources (any of).
    pub sources: Vec<String>,
    /// Employer name: every word must be in it.
    pub employer: Option<String>,
    /// Order.
    pub sort: SortOrder,
    /// Facets to count.
    pub facets: Vec<FacetName>,
    /// Offers per page.
    pub limit: usize,
    /// Start after this cursor.
    pub after: Option<Cursor>,
    /// Matches skipped before the page: a feed's numbered pages (the search API pages by
    /// cursor only).
    pub skip: usize,
    /// "Now", for the `published` facet (Unix ms).
    pub now_ms: i64,
    /// What the sources' terms withhold.
    pub withheld: Withheld,
}

/// The offers the licence withholds, as filters, so that totals and pages agree with its
/// verdicts (the verdict on each offer shown still applies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Withheld {
    /// Sources none of whose offers may be shown.
    pub sources: Vec<String>,
    /// Per source, the oldest creation time it allows (Unix ms); undated offers are kept.
    pub created_before: Vec<(String, i64)>,
    /// Offers hidden one by one (`source:id`): an apply link that answers 404 or 410.
    pub keys: Vec<String>,
}

/// Contract words that act on the contract when typed alone, with their family.
const CONTRACT_WORDS: &[(&str, &str)] = &[
    ("cdi", "permanent"),
    ("cdd", "fixed_term"),
    ("interim", "temporary"),
    ("interimaire", "temporary"),
    ("saisonnier", "seasonal"),
    ("saisonniere", "seasonal"),
    ("apprentissage", "apprenticeship"),
    ("alternance", "apprenticeship"),
    ("apprenti", "apprenticeship"),
    ("apprentie", "apprenticeship"),
];

/// Words too common to require (they are still part of phrases): articles, prepositions, the
/// gender marks of titles (`H/F`).
const STOP_WORDS: &[&str] = &[
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "f", "h", "l", "la", "le", "les", "ou",
    "par", "pour", "sur", "un", "une", "x", "avec",
];

/// What the user typed, read as words, phrases, exclusions and contract words.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ParsedText {
    /// Each group must match: one term, or a phrase of several.
    pub required: Vec<Vec<String>>,
    /// No group may match.
    pub excluded: Vec<Vec<String>>,
    /// Contract families asked for in the text.
    pub contracts: Vec<&'static str>,
    /// Contract families excluded in the text (`-cdd`).
    pub excluded_contracts: Vec<&'static str>,
}

/// Splits the typed text into pieces, double quotes grouping a phrase; `-` before a piece
/// excludes it.
fn pieces(text: &str) -> Vec<(bool, bool, String)> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let negated = rest.starts_with('-') && rest.len() > 1;
        if negated {
            rest = &rest[1..];
        }
        if let Some(inner) = rest.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            pieces.push((negated, true, inner[..end].to_owned()));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            pieces.push((negated, false, rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    pieces
}

impl ParsedText {
    pub(crate) fn parse(text: &str, french: &mut TextAnalyzer, folded: &mut TextAnalyzer) -> Self {
        let mut parsed = ParsedText::default();
        for (negated, quoted, piece) in pieces(text) {
            if !quoted
                && let [word] = &terms(folded, &piece)[..]
                && let Some((_, family)) = CONTRACT_WORDS.iter().find(|(w, _)| w == word)
            {
                let target = if negated {
                    &mut parsed.excluded_contracts
                } else {
                    &mut parsed.contracts
                };
                if !target.contains(family) {
                    target.push(family);
                }
                continue;
            }
            let mut group = terms(french, &piece);
            let plain = terms(folded, &piece);
            // Both analysers split alike: drop the stop words of a piece typed without quotes.
            if !quoted && plain.len() == group.len() {
                group = group
                    .into_iter()
                    .zip(&plain)
                    .filter(|(_, word)| !STOP_WORDS.contains(&word.as_str()))
                    .map(|(term, _)| term)
                    .collect();
            }
            if group.is_empty() {
                continue;
            }
            if negated {
                parsed.excluded.push(group);
            } else {
                parsed.required.push(group);
            }
        }
        parsed
    }

    /// Whether there are words to rank by.
    pub(crate) fn has_words(&self) -> bool {
        !self.required.is_empty()
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn group_query(field: Field, group: &[String]) -> Box<dyn Query> {
    match group {
        [one] => term_query(field, one),
        many => Box::new(PhraseQuery::new(
            many.iter()
                .map(|t| Term::from_field_text(field, t))
                .collect(),
        )),
    }
}

/// How the matches of a set of terms are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TermSet {
    /// The postings fill a bitset of the segment, which the rest of the query seeks in constant
    /// time: for a pass over every match.
    Bitset,
    /// The postings are merged as they are read: for a pass that stops at the first matches (a
    /// page by date of segments kept newest first), which a bitset of every match would cost
    /// far more than.
    Merged,
}

/// Any of the values of a field. `disjoint`: no offer holds two of them (a field with one
/// value per offer), so that a count is the sum of the values' counts.
fn any_of(
    field: Field,
    values: &[impl AsRef<str>],
    disjoint: bool,
    read: TermSet,
) -> Box<dyn Query> {
    any_term(
        field,
        values
            .iter()
            .map(|v| Term::from_field_text(field, v.as_ref()))
            .collect(),
        disjoint,
        read,
    )
}

/// Any of the terms of `field`. One term is a term query: its postings are read as they are
/// needed.
pub(crate) fn any_term(
    field: Field,
    mut terms: Vec<Term>,
    disjoint: bool,
    read: TermSet,
) -> Box<dyn Query> {
    if terms.len() == 1
        && let Some(term) = terms.pop()
    {
        return Box::new(TermQuery::new(term, IndexRecordOption::Basic));
    }
    match read {
        TermSet::Bitset => Box::new(AnyTermQuery::new(field, terms, disjoint)),
        TermSet::Merged => Box::new(BooleanQuery::new(
            terms
                .into_iter()
                .map(|term| -> (Occur, Box<dyn Query>) {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    )
                })
                .collect(),
        )),
    }
}

/// Offers in one of the communes, or in a département or région covered whole (whatever the
/// level they are known at): one set of place terms.
pub(crate) fn places_query(fields: &Fields, places: &PlaceFilter, read: TermSet) -> Box<dyn Query> {
    any_term(
        fields.place,
        place_terms(fields, places),
        places.terms_are_disjoint(),
        read,
    )
}

/// The place terms of a filter.
pub(crate) fn place_terms(fields: &Fields, places: &PlaceFilter) -> Vec<Term> {
    places
        .communes
        .iter()
        .map(|c| format!("c:{c}"))
        .chain(places.whole_departements.iter().map(|d| format!("d:{d}")))
        .chain(places.whole_regions.iter().map(|r| format!("r:{r}")))
        .map(|term| Term::from_field_text(fields.place, &term))
        .collect()
}

/// Clauses of a boolean query.
pub(crate) type Clauses = Vec<(Occur, Box<dyn Query>)>;

/// A request as tantivy queries.
pub(crate) struct Built {
    /// What is ranked: the filters and, when there are words, their scores.
    pub query: Box<dyn Query>,
    /// The same matches, not scored: a word is looked up in the catch-all text alone (the title
    /// is part of it), so that the total of a plain word search is its document frequency.
    pub count_query: Box<dyn Query>,
    /// Whether there are words to score.
    pub scored: bool,
    /// Whether the query is one word and nothing else: a union of two term scorers, which
    /// block-max WAND ranks without visiting every match (its total is the word's document
    /// frequency). Any other ranked query visits every match anyway, so one pass counts too.
    pub prunable: bool,
    /// The cells across the edge of the radius: only their offers need their distance checked
    /// (the others of the query's cells lie inside).
    pub edge_cells: Vec<Term>,
    /// When the words are one word (not a phrase), alone or beside filters: its text and title
    /// terms, and the filters alone (see `collect::WordWithFilters`).
    pub word_with_filters: Option<(Term, Term, Clauses)>,
}

/// A query of all the clauses (one `Must` clause stands alone: a word on its own stays a union
/// of two term scorers, which tantivy ranks with block-max WAND).
pub(crate) fn clauses_query(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    if clauses.len() == 1 && clauses[0].0 == Occur::Must {
        return clauses
            .pop()
            .map(|(_, query)| query)
            .unwrap_or(Box::new(AllQuery));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The scored query of one group (a word or a phrase): in the text, weighing more when in the
/// title (the title is part of the text).
///
/// Searched alone, the group is a union of its two term scorers, which tantivy ranks with
/// block-max WAND, skipping the blocks that cannot reach the page. Beside other clauses it is
/// the text required and the title optional: an intersection seeks its clauses, which a union
/// of postings does poorly.
fn word_query(fields: &Fields, group: &[String], alone: bool) -> Box<dyn Query> {
    let title: Box<dyn Query> = Box::new(BoostQuery::new(
        group_query(fields.title, group),
        TITLE_BOOST,
    ));
    let text_occur = if alone { Occur::Should } else { Occur::Must };
    Box::new(BooleanQuery::new(vec![
        (text_occur, group_query(fields.text, group)),
        (Occur::Should, title),
    ]))
}

/// The tantivy queries of a request; `read` says how the query (not the count) reads its sets
/// of terms.
pub(crate) fn build(fields: &Fields, request: &SearchRequest, read: TermSet) -> Built {
    let mut french = analysis::french();
    let mut folded = analysis::folded();
    let parsed = request
        .text
        .as_deref()
        .map(|t| ParsedText::parse(t, &mut french, &mut folded))
        .unwrap_or_default();
    let cover = request
        .radius
        .as_ref()
        .map(|radius| disc_cover(&radius.center, radius.km));
    let filters = filter_clauses(fields, request, &parsed, &mut folded, cover.as_ref(), read);
    let count_filters = match read {
        TermSet::Bitset => filters.iter().map(|(o, q)| (*o, q.box_clone())).collect(),
        TermSet::Merged => filter_clauses(
            fields,
            request,
            &parsed,
            &mut folded,
            cover.as_ref(),
            TermSet::Bitset,
        ),
    };
    let mut scored_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut count_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let alone = filters.is_empty() && parsed.required.len() == 1;
    let word_with_filters = match &parsed.required[..] {
        [group] if group.len() == 1 => Some((
            Term::from_field_text(fields.text, &group[0]),
            Term::from_field_text(fields.title, &group[0]),
            filters
                .iter()
                .map(|(occur, query)| (*occur, query.box_clone()))
                .collect(),
        )),
        _ => None,
    };
    for group in &parsed.required {
        scored_clauses.push((Occur::Must, word_query(fields, group, alone)));
        count_clauses.push((Occur::Must, group_query(fields.text, group)));
    }
    // A required filter does not change the score; the count scores nothing, so its filters
    // stay bare (a wrapped query would count by visiting every match).
    for (occur, query) in filters {
        let query: Box<dyn Query> = match occur {
            Occur::Must => Box::new(ConstScoreQuery::new(query, 0.0)),
            _ => query,
        };
        scored_clauses.push((occur, query));
    }
    count_clauses.extend(count_filters);
    Built {
        query: clauses_query(scored_clauses),
        count_query: clauses_query(count_clauses),
        scored: parsed.has_words(),
        prunable: alone && parsed.required[0].len() == 1,
        edge_cells: cover
            .map(|cover| {
                cover
                    .edge
                    .iter()
                    .map(|cell| Term::from_field_text(fields.cell, cell))
                    .collect()
            })
            .unwrap_or_default(),
        word_with_filters,
    }
}

/// Everything but the words to score: exclusions, contracts, places, radius cells, the other
/// fields, the date; none may change the score.
fn filter_clauses(
    fields: &Fields,
    request: &SearchRequest,
    parsed: &ParsedText,
    folded: &mut TextAnalyzer,
    cover: Option<&DiscCover>,
    read: TermSet,
) -> Vec<(Occur, Box<dyn Query>)> {
    // Exclusions are sought by the rest of the query: a bitset either way.
    let excluded = TermSet::Bitset;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !request.withheld.sources.is_empty() {
        clauses.push((
            Occur::MustNot,
            any_of(fields.source, &request.withheld.sources, true, excluded),
        ));
    }
    if !request.withheld.keys.is_empty() {
        clauses.push((
            Occur::MustNot,
            any_of(fields.key, &request.withheld.keys, true, excluded),
        ));
    }
    for (source, oldest) in &request.withheld.created_before {
        let too_old: Box<dyn Query> = Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(fields.created, UNDATED + 1)),
            Bound::Excluded(Term::from_field_i64(fields.created, *oldest)),
        ));
        clauses.push((
            Occur::MustNot,
            Box::new(BooleanQuery::new(vec![
                (
                    Occur::Must,
                    any_of(fields.source, std::slice::from_ref(source), true, excluded),
                ),
                (Occur::Must, too_old),
            ])),
        ));
    }
    for group in &parsed.excluded {
        clauses.push((Occur::MustNot, group_query(fields.text, group)));
    }
    let mut contracts: Vec<&str> = request.contracts.iter().map(String::as_str).collect();
    for family in &parsed.contracts {
        if !contracts.contains(family) {
            contracts.push(family);
        }
    }
    if !contracts.is_empty() {
        clauses.push((Occur::Must, any_of(fields.contract, &contracts, true, read)));
    }
    if !parsed.excluded_contracts.is_empty() {
        clauses.push((
            Occur::MustNot,
            any_of(fields.contract, &parsed.excluded_contracts, true, excluded),
        ));
    }
    if !request.places.is_empty() {
        let places: Vec<(Occur, Box<dyn Query>)> = request
            .places
            .iter()
            .map(|p| (Occur::Should, places_query(fields, p, read)))
            .collect();
        clauses.push((Occur::Must, clauses_query_any(places)));
    }
    if let Some(within) = &request.within {
        clauses.push((Occur::Must, places_query(fields, within, read)));
    }
    if let Some(cover) = cover {
        // An offer lies in one cell of the cover at most.
        let cells: Vec<&String> = cover.inside.iter().chain(&cover.edge).collect();
        clauses.push((Occur::Must, any_of(fields.cell, &cells, true, read)));
    }
    // A ROME code is indexed with each of its prefixes: two prefixes asked for may match the
    // same offer.
    for (field, values, disjoint) in [
        (fields.working_time, &request.working_times, true),
        (fields.rome, &request.rome, false),
        (fields.experience, &request.experience, true),
        (fields.source, &request.sources, true),
    ] {
        if !values.is_empty() {
            clauses.push((Occur::Must, any_of(field, values, disjoint, read)));
        }
    }
    if let Some(since) = request.created_since_ms {
        clauses.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(fields.created, since)),
                Bound::Unbounded,
            )),
        ));
    }
    if let Some(employer) = &request.employer {
        let words = terms(folded, employer);
        if !words.is_empty() {
            clauses.push((Occur::Must, group_query(fields.employer, &words)));
        }
    }
    clauses
}

/// Any of several queries (one stands alone).
fn clauses_query_any(mut queries: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    if queries.len() == 1 {
        return queries
            .pop()
            .map(|(_, query)| query)
            .unwrap_or(Box::new(AllQuery));
    }
    Box::new(BooleanQuery::new(queries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedText {
        ParsedText::parse(text, &mut analysis::french(), &mut analysis::folded())
    }

    #[test]
    fn plain_words_phrases_exclusions_and_contract_words() {
        let parsed = parse(r#"Infirmière "de nuit" -EHPAD CDI -cdd"#);
        assert_eq!(parsed.required.len(), 2);
        assert_eq!(parsed.required[1].len(), 2, "a phrase keeps its words");
        assert_eq!(parsed.excluded.len(), 1);
        assert_eq!(parsed.contracts, vec!["permanent"]);
        assert_eq!(parsed.excluded_contracts, vec!["fixed_term"]);
    }

    #[test]
    fn query_syntax_is_text() {
        let parsed = parse("title:boulanger * AND (x OR y)");
        assert!(
            parsed.required.iter().any(|g| g.len() == 2),
            "title:boulanger is two words"
        );
        assert!(parse("* : ( ) -").required.is_empty());
        assert!(parse("agent de la ville H/F").required.len() == 2);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            primary: -12.5,
            created: i64::MIN,
            tiebreak: 42,
        };
        let token = cursor.token(SortOrder::Distance);
        assert_eq!(Cursor::parse(&token, SortOrder::Distance), Some(cursor));
        assert_eq!(Cursor::parse(&token, SortOrder::Date), None);
        assert_eq!(Cursor::parse("nope", SortOrder::Date), None);
        assert_eq!(
            Cursor::parse(&format!("t{}", "z".repeat(48)), SortOrder::Date),
            None
        );
    }
}
