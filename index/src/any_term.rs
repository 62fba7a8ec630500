//! A filter on any of a set of terms of one field: places, radius cells, contracts.
//!
//! tantivy's `TermSetQuery` compiles the terms into an FST and streams the term dictionary
//! through it, which costs more than the filter itself for the few dozen terms of a search (the
//! FST builder alone allocates a registry of ten thousand entries). Here each term is looked up
//! in the dictionary and its postings fill a bitset of the segment, which the rest of the query
//! seeks in constant time.
//!
//! A count does not need the bitset when no offer holds two of the terms (places of one level,
//! the cells of one size, a field with one value per offer): it is the sum of the terms'
//! counts, their document frequencies in a segment without deletions.

use tantivy::query::{
    BitSetDocSet, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// Documents holding at least one of the terms (all of one field), unscored.
#[derive(Debug, Clone)]
pub(crate) struct AnyTermQuery {
    field: Field,
    terms: Vec<Term>,
    /// Whether no document holds two of the terms.
    disjoint: bool,
}

impl AnyTermQuery {
    /// The terms must all be of `field` (the others match nothing). `disjoint`: the caller knows
    /// that no document holds two of them.
    pub fn new(field: Field, mut terms: Vec<Term>, disjoint: bool) -> Self {
        terms.retain(|term| term.field() == field);
        terms.sort();
        terms.dedup();
        Self {
            field,
            terms,
            disjoint,
        }
    }

    /// The terms, sorted.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The sum of the terms' counts of live documents (for disjoint terms).
    fn count_disjoint(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        let inverted = reader.inverted_index(self.field)?;
        let alive = reader.alive_bitset();
        let mut count = 0;
        for term in &self.terms {
            let Some(info) = inverted.get_term_info(term)? else {
                continue;
            };
            let Some(alive) = alive else {
                count += info.doc_freq;
                continue;
            };
            let mut postings =
                inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            while !postings.docs().is_empty() {
                count += postings
                    .docs()
                    .iter()
                    .filter(|doc| alive.is_alive(**doc))
                    .count() as u32;
                postings.advance();
            }
        }
        Ok(count)
    }

    fn bitset(&self, reader: &SegmentReader) -> tantivy::Result<Option<BitSet>> {
        bitset(reader, &self.terms)
    }
}

/// The documents of a segment holding any of `terms` (all of the first one's field; the others
/// match nothing), if any does.
pub(crate) fn bitset(reader: &SegmentReader, terms: &[Term]) -> tantivy::Result<Option<BitSet>> {
    let mut bitset = None;
    each_posting(reader, terms, |doc| {
        bitset
            .get_or_insert_with(|| BitSet::with_max_value(reader.max_doc()))
            .insert(doc);
    })?;
    Ok(bitset)
}

/// The documents of `within` holding any of `terms` (as [`bitset`]).
pub(crate) fn bitset_within(
    reader: &SegmentReader,
    terms: &[Term],
    within: &BitSet,
) -> tantivy::Result<BitSet> {
    let mut bitset = BitSet::with_max_value(reader.max_doc());
    each_posting(reader, terms, |doc| {
        if within.contains(doc) {
            bitset.insert(doc);
        }
    })?;
    Ok(bitset)
}

/// Calls `f` with every posting of the terms (of the first one's field) in a segment.
fn each_posting(
    reader: &SegmentReader,
    terms: &[Term],
    mut f: impl FnMut(DocId),
) -> tantivy::Result<()> {
    let Some(field) = terms.first().map(Term::field) else {
        return Ok(());
    };
    let inverted = reader.inverted_index(field)?;
    for term in terms.iter().filter(|term| term.field() == field) {
        let Some(info) = inverted.get_term_info(term)? else {
            continue;
        };
        let mut postings =
            inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
        while !postings.docs().is_empty() {
            postings.docs().iter().for_each(|&doc| f(doc));
            postings.advance();
        }
    }
    Ok(())
}

impl Query for AnyTermQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for AnyTermQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.bitset(reader)? {
            Some(bitset) => Box::new(ConstScorer::new(BitSetDocSet::from(bitset), boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() <= doc && scorer.seek(doc) == doc {
            Ok(Explanation::new("AnyTermQuery", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} holds none of the terms"
            )))
        }
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        if self.disjoint {
            return self.count_disjoint(reader);
        }
        match (self.bitset(reader)?, reader.alive_bitset()) {
            (None, _) => Ok(0),
            (Some(bitset), None) => Ok(bitset.len() as u32),
            (Some(bitset), Some(alive)) => {
                let mut docs = BitSetDocSet::from(bitset);
                let mut count = 0;
                while docs.doc() != TERMINATED {
                    count += u32::from(alive.is_alive(docs.doc()));
                    docs.advance();
                }
                Ok(count)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, DocSetCollector};
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    #[test]
    fn matches_the_documents_of_any_term_alive() {
        let mut builder = Schema::builder();
        let place = builder.add_text_field("place", STRING);
        let other = builder.add_text_field("other", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for value in ["a", "b", "c", "a", "b"] {
            let mut doc = TantivyDocument::default();
            doc.add_text(place, value);
            doc.add_text(other, "a");
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let query = |values: &[&str], disjoint| {
            AnyTermQuery::new(
                place,
                values
                    .iter()
                    .map(|v| Term::from_field_text(place, v))
                    .chain([Term::from_field_text(other, "a")])
                    .collect(),
                disjoint,
            )
        };
        for disjoint in [false, true] {
            assert_eq!(
                searcher
                    .search(&query(&["a", "c"], disjoint), &Count)
                    .unwrap(),
                3
            );
            assert_eq!(
                searcher.search(&query(&["z"], disjoint), &Count).unwrap(),
                0
            );
            assert_eq!(
                Query::count(&query(&["a", "b"], disjoint), &searcher).unwrap(),
                4
            );
        }
        writer.delete_term(Term::from_field_text(place, "a"));
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        for disjoint in [false, true] {
            assert_eq!(
                Query::count(&query(&["a", "b", "z"], disjoint), &searcher).unwrap(),
                2,
                "deleted documents are not counted"
            );
            let docs = searcher
                .search(&query(&["a", "b"], disjoint), &DocSetCollector)
                .unwrap();
            assert_eq!(docs.len(), 2);
        }
    }

    #[test]
    fn overlapping_terms_are_counted_once_unless_said_disjoint() {
        let mut builder = Schema::builder();
        let rome = builder.add_text_field("rome", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut doc = TantivyDocument::default();
        doc.add_text(rome, "M18");
        doc.add_text(rome, "M1805");
        writer.add_document(doc).unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let terms = vec![
            Term::from_field_text(rome, "M18"),
            Term::from_field_text(rome, "M1805"),
        ];
        let overlapping = AnyTermQuery::new(rome, terms, false);
        assert_eq!(Query::count(&overlapping, &searcher).unwrap(), 1);
    }
}
