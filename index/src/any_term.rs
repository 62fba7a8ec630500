//! A filter on any of a set of terms of one field: places, radius cells, contracts.
//!
//! tantivy's `TermSetQuery` compiles the terms into an FST and streams the term dictionary
//! through it, which costs more than the filter itself for the few dozen terms of a search (the
//! FST builder alone allocates a registry of ten thousand entries). Here each term is looked up
//! in the dictionary and its postings fill a bitset of the segment, which the rest of the query
//! seeks in constant time.

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
}

impl AnyTermQuery {
    /// The terms must all be of `field` (the others match nothing).
    pub fn new(field: Field, mut terms: Vec<Term>) -> Self {
        terms.retain(|term| term.field() == field);
        terms.sort();
        terms.dedup();
        Self { field, terms }
    }

    fn bitset(&self, reader: &SegmentReader) -> tantivy::Result<Option<BitSet>> {
        let inverted = reader.inverted_index(self.field)?;
        let mut bitset = None;
        for term in &self.terms {
            let Some(info) = inverted.get_term_info(term)? else {
                continue;
            };
            let bitset = bitset.get_or_insert_with(|| BitSet::with_max_value(reader.max_doc()));
            let mut postings =
                inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            while !postings.docs().is_empty() {
                for &doc in postings.docs() {
                    bitset.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(bitset)
    }
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
        let query = |values: &[&str]| {
            AnyTermQuery::new(
                place,
                values
                    .iter()
                    .map(|v| Term::from_field_text(place, v))
                    .chain([Term::from_field_text(other, "a")])
                    .collect(),
            )
        };
        assert_eq!(searcher.search(&query(&["a", "c"]), &Count).unwrap(), 3);
        assert_eq!(searcher.search(&query(&["z"]), &Count).unwrap(), 0);
        assert_eq!(Query::count(&query(&["a", "b"]), &searcher).unwrap(), 4);
        writer.delete_term(Term::from_field_text(place, "a"));
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(Query::count(&query(&["a", "b"]), &searcher).unwrap(), 2);
        let docs = searcher
            .search(&query(&["a", "b"]), &DocSetCollector)
            .unwrap();
        assert_eq!(docs.len(), 2);
    }
}
