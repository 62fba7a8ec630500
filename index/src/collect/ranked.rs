//! A search of one word, alone or with filters, ranked by relevance, without scoring the
//! matches that cannot reach the page (alone, see [`PageSegment::collect_word_alone`]).
//!
//! The exact total visits every match, but a score is only needed by a match that may rank
//! before the last hit of a full page. The word's postings keep, per block of 128 offers, the
//! best score of the block: a match whose blocks' bounds (in the text, and in the title when the
//! word is there) add up below the last hit's score is counted and not scored.
//!
//! The filters that are sets of terms (places, radius cells) are read as one bit set per
//! segment. When it holds a fair share of the word's offers, the word's postings are walked one
//! by one and each is looked up in the bit set (a seek costs more than reading the postings in
//! between); when it is sparse, it leads a leapfrog. The other filters (a contract, a date...)
//! are one unscored weight, intersected by leapfrog led by the shorter side. Measured on
//! `chargé` within 30 km of Paris (148 642 matches), the leapfrog took 8.4 ms where the boolean
//! query scoring every match took 10.5: most of the gain was the leapfrog over boxed scorers,
//! little the skipped scores.

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::BlockSegmentPostings;
use tantivy::query::{
    BitSetDocSet, Bm25Weight, ConstScorer, EnableScoring, Occur, Query, Scorer, Weight,
    intersect_scorers,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

use super::PageSegment;
use crate::any_term::{self, AnyTermQuery};
use crate::query::Clauses;

/// A filter's bit set holding at least one offer in this many of the word's is looked up offer
/// by offer; a sparser one leads the leapfrog (a seek costs several postings read in a row).
const DENSE: u64 = 8;

/// One word (in the text, boosted in the title) and the filters, ready for every segment.
pub(crate) struct WordWithFilters {
    text: Term,
    title: Term,
    text_weight: Bm25Weight,
    title_weight: Bm25Weight,
    title_boost: Score,
    /// The text's and the title's average lengths over the index, as the scores use them.
    text_average: f64,
    title_average: f64,
    /// The required sets of terms, read as bit sets.
    term_sets: Vec<Vec<Term>>,
    /// The other filters, as one unscored weight.
    others: Option<Box<dyn Weight>>,
}

impl WordWithFilters {
    /// The word's text and title terms, the title's boost and the filters' clauses, weighed as
    /// the searcher's statistics say (as the equivalent boolean query would be).
    pub fn new(
        searcher: &Searcher,
        text: Term,
        title: Term,
        title_boost: Score,
        filters: Clauses,
    ) -> tantivy::Result<Self> {
        let mut term_sets = Vec::new();
        let mut others = Vec::new();
        for (occur, query) in filters {
            match query.downcast_ref::<AnyTermQuery>() {
                Some(set) if occur == Occur::Must => term_sets.push(set.terms().to_vec()),
                _ => others.push((occur, query)),
            }
        }
        let others = match others.is_empty() {
            true => None,
            false => Some(
                crate::query::clauses_query(others)
                    .weight(EnableScoring::disabled_from_searcher(searcher))?,
            ),
        };
        Ok(Self {
            text_average: index_average(searcher, &text)?,
            title_average: index_average(searcher, &title)?,
            text_weight: Bm25Weight::for_terms(searcher, std::slice::from_ref(&text))?,
            title_weight: Bm25Weight::for_terms(searcher, std::slice::from_ref(&title))?,
            title_boost,
            text,
            title,
            term_sets,
            others,
        })
    }

    /// The offers of a segment holding a term of every set; `None` without sets, an empty set
    /// when one matches nothing.
    fn bitset(&self, reader: &SegmentReader) -> tantivy::Result<Option<BitSet>> {
        let mut all: Option<BitSet> = None;
        for terms in &self.term_sets {
            all = Some(match &all {
                None => any_term::bitset(reader, terms)?
                    .unwrap_or_else(|| BitSet::with_max_value(reader.max_doc())),
                Some(within) => any_term::bitset_within(reader, terms, within)?,
            });
        }
        Ok(all)
    }
}

/// How much a block's recorded best score may fall short of its best match's score in a
/// segment, as a factor. The block records the match that scores best with the segment's own
/// average length of the field; scored with the index's average, another match of the block
/// may score more, by a factor within `1 / (1 - ε)`, where `ε` is how far the two averages
/// differ (BM25's length term moves by at most that factor). One for an index of one segment
/// (beside the float rounding of the sums); infinite (no block skipped) when they differ by half.
fn bound_slack(reader: &SegmentReader, term: &Term, index_average: f64) -> tantivy::Result<Score> {
    let tokens = reader.inverted_index(term.field())?.total_num_tokens();
    let own_average = tokens as f64 / f64::from(reader.max_doc().max(1));
    let apart = (own_average / index_average - 1.0).abs();
    Ok(if apart < 0.5 {
        (1.0 / (1.0 - apart) * (1.0 + 1e-5)) as Score
    } else {
        Score::INFINITY
    })
}

/// The average length of a field over the index, as BM25 weighs it.
fn index_average(searcher: &Searcher, term: &Term) -> tantivy::Result<f64> {
    let mut tokens = 0;
    for reader in searcher.segment_readers() {
        tokens += reader.inverted_index(term.field())?.total_num_tokens();
    }
    let documents: u64 = searcher
        .segment_readers()
        .iter()
        .map(|reader| u64::from(reader.max_doc()))
        .sum();
    Ok(tokens as f64 / documents.max(1) as f64)
}

/// The recorded best score of a word's current block of postings, kept until the block ends.
#[derive(Default)]
struct BlockBound(Option<(DocId, Score)>);

impl BlockBound {
    /// The bound of the block holding `doc`, where `postings` stands.
    fn of(&mut self, doc: DocId, postings: &mut WordPostings) -> Score {
        match self.0 {
            Some((last_doc, bound)) if doc <= last_doc => bound,
            _ => {
                let (bound, last_doc) = postings.block_bound();
                self.0 = Some((last_doc, bound));
                bound
            }
        }
    }
}

/// Offers in a postings block (tantivy's compression block).
const BLOCK: usize = 128;

/// A word's postings in a segment, read as tantivy's term scorer reads them (which tantivy does
/// not export), with the bound of the current block.
struct WordPostings {
    blocks: BlockSegmentPostings,
    /// The position in the current block.
    at: usize,
    fieldnorms: FieldNormReader,
    weight: Bm25Weight,
}

impl DocSet for WordPostings {
    /// The current document (`TERMINATED` past the last: the last block is padded with it).
    fn doc(&self) -> DocId {
        self.blocks.doc(self.at)
    }

    fn advance(&mut self) -> DocId {
        if self.at == BLOCK - 1 {
            self.at = 0;
            self.blocks.advance();
        } else {
            self.at += 1;
        }
        self.doc()
    }

    /// The first document at or after `target` (not before the current one), as tantivy's
    /// postings seek: the next one first, then the skip list.
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc() >= target {
            return self.doc();
        }
        self.at = (self.at + 1).min(BLOCK - 1);
        if self.doc() >= target {
            return self.doc();
        }
        self.at = self.blocks.seek(target);
        self.doc()
    }

    fn size_hint(&self) -> u32 {
        self.blocks.doc_freq()
    }
}

impl WordPostings {
    fn open(
        reader: &SegmentReader,
        term: &Term,
        weight: &Bm25Weight,
    ) -> tantivy::Result<Option<Self>> {
        let inverted = reader.inverted_index(term.field())?;
        let Some(blocks) = inverted.read_block_postings(term, IndexRecordOption::WithFreqs)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            blocks,
            at: 0,
            fieldnorms: reader.get_fieldnorms_reader(term.field())?,
            weight: weight.clone(),
        }))
    }

    fn score(&self) -> Score {
        let fieldnorm = self.fieldnorms.fieldnorm_id(self.doc());
        self.weight.score(fieldnorm, self.blocks.freq(self.at))
    }

    /// The position of the current block's last offer (the last block ends before its padding).
    fn at_block_end(&self) -> usize {
        self.blocks.block_len().saturating_sub(1)
    }

    /// Whether every offer was read.
    fn exhausted(&self) -> bool {
        self.blocks.block_len() == 0 || self.doc() == TERMINATED
    }

    /// The best score of the current block, and its last document.
    fn block_bound(&mut self) -> (Score, DocId) {
        let bound = self.blocks.block_max_score(&self.fieldnorms, &self.weight);
        let last = self.blocks.docs().last().copied().unwrap_or(TERMINATED);
        (bound, last)
    }
}

/// The first document of `docs` at or after `target` (`docs` may already be past it).
fn at_or_after<D: DocSet + ?Sized>(docs: &mut D, target: DocId) -> DocId {
    if docs.doc() < target {
        docs.seek(target)
    } else {
        docs.doc()
    }
}

/// The first document at or after both cursors' positions that both hold (the word's alone
/// without filters to seek).
fn align(text: &mut WordPostings, filters: Option<&mut Box<dyn Scorer>>) -> DocId {
    let Some(filters) = filters else {
        return text.doc();
    };
    let mut doc = text.doc().max(filters.doc());
    while doc != TERMINATED {
        let next = at_or_after(text, doc).max(at_or_after(filters, doc));
        if next == doc {
            return doc;
        }
        doc = next;
    }
    TERMINATED
}

impl PageSegment {
    /// Counts every match of the word and the filters in the segment and ranks those that may
    /// reach the page.
    pub(super) fn collect_word_with_filters(
        &mut self,
        word: &WordWithFilters,
        reader: &SegmentReader,
    ) -> tantivy::Result<()> {
        let Some(mut text) = WordPostings::open(reader, &word.text, &word.text_weight)? else {
            return Ok(());
        };
        let mut title = WordPostings::open(reader, &word.title, &word.title_weight)?;
        let others = match &word.others {
            Some(weight) => Some(weight.scorer(reader, 1.0)?),
            None => None,
        };
        // A dense bit set is looked up as the word's postings are walked, and the other
        // filters sought only for the offers it holds; a sparse one is intersected with the
        // other filters, which the word leapfrogs.
        let (member, mut others, mut filters) = match word.bitset(reader)? {
            Some(bits) if bits.len() as u64 * DENSE >= u64::from(text.size_hint()) => {
                (Some(bits), others, None)
            }
            Some(bits) => {
                let bits: Box<dyn Scorer> =
                    Box::new(ConstScorer::new(BitSetDocSet::from(bits), 1.0));
                let filters = match others {
                    Some(others) => intersect_scorers(vec![bits, others], reader.max_doc()),
                    None => bits,
                };
                (None, None, Some(filters))
            }
            None => (None, None, others),
        };
        let text_slack = bound_slack(reader, &word.text, word.text_average)?;
        let title_slack = bound_slack(reader, &word.title, word.title_average)?;
        let text_leads = filters
            .as_ref()
            .is_none_or(|filters| text.size_hint() <= filters.size_hint());
        let alive = reader.alive_bitset();
        let (mut text_block, mut title_block) = (BlockBound::default(), BlockBound::default());
        let mut doc = align(&mut text, filters.as_mut());
        while doc != TERMINATED {
            if member.as_ref().is_none_or(|bits| bits.contains(doc))
                && others
                    .as_mut()
                    .is_none_or(|others| at_or_after(others.as_mut(), doc) == doc)
                && alive.is_none_or(|a| a.is_alive(doc))
                && let Some(distance_km) = self.placed(doc)
            {
                self.count(doc);
                let mut title = title
                    .as_mut()
                    .and_then(|title| (at_or_after(title, doc) == doc).then_some(title));
                // Scores add up monotonically (the title's boosted after it is computed, as
                // tantivy sums the boolean query's, so that both rank alike to the last bit): no
                // match scores above the bound of its blocks.
                let beaten = self.heap.last_when_full().is_some_and(|last| {
                    let mut bound = text_block.of(doc, &mut text) * text_slack;
                    if let Some(title) = title.as_deref_mut() {
                        bound += title_block.of(doc, title) * title_slack * word.title_boost;
                    }
                    f64::from(bound) < last.0.primary
                });
                if !beaten {
                    let mut score = text.score();
                    if let Some(title) = &title {
                        score += title.score() * word.title_boost;
                    }
                    self.rank(doc, f64::from(score), distance_km);
                }
            }
            match filters.as_mut() {
                Some(filters) if !text_leads => filters.advance(),
                _ => text.advance(),
            };
            doc = align(&mut text, filters.as_mut());
        }
        Ok(())
    }
}

/// Offers of a segment with a word in their title from which a word alone is ranked by
/// [`PageSegment::collect_word_alone`] rather than by tantivy's block-max WAND. Measured at a
/// million offers, one word at a time, MaxScore against WAND: `agent` (187 000 titles, 332 000
/// texts) 1.7–2.4 ms against 4.3–13 ms; a job's name in 34 000 titles (`plombier`,
/// `vendeur`...) 0.5–0.7 ms against 0.08–0.16 ms (their offers tie at the best score, and the
/// text's bounds, widened by the segments' averages, let every tie be scored); `chargé` (37 000
/// titles, 502 000 texts) 0.46 against 0.28 ms.
/// (The tests take this path for every word in a title, against WAND.)
const LONG_TITLE_LIST: u32 = if cfg!(test) { 1 } else { 100_000 };

/// The bounds of a word's blocks of postings in a segment, in order: each block's last offer
/// and the highest score of its offers (each block is decoded, none of its offers scored).
struct BlockBounds {
    blocks: Vec<(DocId, Score)>,
    /// The first block that may hold the offers asked about next (they come in order).
    at: usize,
}

impl BlockBounds {
    fn read(postings: &mut WordPostings, slack: Score) -> Self {
        let mut blocks = Vec::new();
        while !postings.exhausted() {
            let (bound, last) = postings.block_bound();
            blocks.push((last, bound * slack));
            postings.next_block();
        }
        Self { blocks, at: 0 }
    }

    fn highest(&self) -> Score {
        self.blocks
            .iter()
            .map(|(_, bound)| *bound)
            .fold(0.0, Score::max)
    }

    /// The highest score of the offers from `first` to `last` (asked in order: `first` never
    /// before an earlier call's).
    fn over(&mut self, first: DocId, last: DocId) -> Score {
        while self
            .blocks
            .get(self.at)
            .is_some_and(|(end, _)| *end < first)
        {
            self.at += 1;
        }
        let mut highest: Score = 0.0;
        for (end, bound) in &self.blocks[self.at.min(self.blocks.len())..] {
            highest = highest.max(*bound);
            if *end >= last {
                break;
            }
        }
        highest
    }
}

impl WordPostings {
    /// Moves to the first offer of the next block.
    fn next_block(&mut self) {
        self.at = 0;
        self.blocks.advance();
    }
}

impl PageSegment {
    /// Ranks the matches of one word alone in a segment (the total is counted apart), as a
    /// MaxScore search over its two lists: a match scores its text score plus its boosted title
    /// score, the title's are the higher (the title is short and boosted), and every offer with
    /// the word in its title has it in its text. So the title's postings are walked first, each
    /// offer's text score sought only when its title score plus the bound of the text's block
    /// holding it may reach the page; then, unless the page's last score already passes the
    /// text's highest bound, the
    /// blocks of the text's postings that may reach it are read for the offers without the word
    /// in their title. Block-max WAND over the same two lists scores few matches but walks
    /// both lists whole for a word in very many titles. Returns whether it ranked the segment:
    /// not for a word in fewer than [`LONG_TITLE_LIST`] of its titles (WAND ranks it).
    pub(super) fn collect_word_alone(
        &mut self,
        word: &WordWithFilters,
        reader: &SegmentReader,
    ) -> tantivy::Result<bool> {
        let in_titles = reader
            .inverted_index(word.title.field())?
            .doc_freq(&word.title)?;
        if in_titles < LONG_TITLE_LIST {
            return Ok(false);
        }
        let Some(mut text) = WordPostings::open(reader, &word.text, &word.text_weight)? else {
            return Ok(true);
        };
        let text_slack = bound_slack(reader, &word.text, word.text_average)?;
        let title_slack = bound_slack(reader, &word.title, word.title_average)?;
        // The text's bounds, block by block: a title offer's text score is sought only when
        // the bound of the text's block holding it may lift it onto the page.
        let mut text_bounds = match WordPostings::open(reader, &word.text, &word.text_weight)? {
            Some(mut postings) => BlockBounds::read(&mut postings, text_slack),
            None => BlockBounds {
                blocks: Vec::new(),
                at: 0,
            },
        };
        let text_highest = text_bounds.highest();
        let alive = reader.alive_bitset();
        // The offers with the word in their title.
        if let Some(mut title) = WordPostings::open(reader, &word.title, &word.title_weight)? {
            while !title.exhausted() {
                let (bound, last) = title.block_bound();
                let text_bound = text_bounds.over(title.doc(), last);
                if bound * title_slack * word.title_boost + text_bound <= self.threshold() {
                    title.next_block();
                    continue;
                }
                let block_end = title.at_block_end();
                loop {
                    let doc = title.doc();
                    let title_score = title.score() * word.title_boost;
                    if alive.is_none_or(|a| a.is_alive(doc))
                        && title_score + text_bounds.over(doc, doc) > self.threshold()
                    {
                        // Summed as the boolean query sums its two scores.
                        let score = match at_or_after(&mut text, doc) == doc {
                            true => text.score() + title_score,
                            false => title_score,
                        };
                        self.rank(doc, f64::from(score), None);
                    }
                    if title.at == block_end {
                        title.next_block();
                        break;
                    }
                    title.at += 1;
                }
            }
        }
        if text_highest <= self.threshold() {
            return Ok(true);
        }
        // The offers with the word in their text only: those of the title were ranked above.
        let mut text = WordPostings::open(reader, &word.text, &word.text_weight)?
            .expect("the text's postings were opened above");
        let mut title = WordPostings::open(reader, &word.title, &word.title_weight)?;
        while !text.exhausted() {
            let (bound, _) = text.block_bound();
            if bound * text_slack <= self.threshold() {
                text.next_block();
                continue;
            }
            let block_end = text.at_block_end();
            loop {
                let doc = text.doc();
                let in_title = title
                    .as_mut()
                    .is_some_and(|title| at_or_after(title, doc) == doc);
                if !in_title && alive.is_none_or(|a| a.is_alive(doc)) {
                    self.rank(doc, f64::from(text.score()), None);
                }
                if text.at == block_end {
                    text.next_block();
                    break;
                }
                text.at += 1;
            }
        }
        Ok(true)
    }
}
