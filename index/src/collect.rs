//! One pass over the matching offers: the radius refined by distance, the exact total, the
//! facets, and the best page after the cursor, all from fast fields (the document store is not
//! read here).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use relais_territory::{Disc, Point};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnIndex, StrColumn};
use tantivy::query::Weight;
use tantivy::{
    BitSet, DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED, Term,
};

use crate::any_term;
use crate::columns::{ColumnCache, SegmentColumns};
use crate::geo::unpack_point;
use crate::query::{Cursor, FacetName, Radius, SortOrder};
use crate::schema::{UNDATED, segment_order, time_is_ordered};

mod best;
mod ranked;

use best::Best;

pub(crate) use ranked::WordWithFilters;

/// Most values listed per facet (the most frequent; a national search has thousands of communes).
pub const MAX_FACET_VALUES: usize = 100;

const DAY_MS: i64 = 86_400_000;

/// An offer of the page.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub primary: f64,
    pub created: i64,
    pub tiebreak: u64,
    pub address: DocAddress,
    pub distance_km: Option<f64>,
}

impl Hit {
    /// `Less` when `self` comes first in the results: the sort key, then the newest, then the
    /// tie-breaker.
    fn order(&self, other: &Hit) -> Ordering {
        other
            .primary
            .total_cmp(&self.primary)
            .then(other.created.cmp(&self.created))
            .then(self.tiebreak.cmp(&other.tiebreak))
    }
}

struct Ranked(Hit);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// The heap's top is the hit that comes last.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.order(&other.0)
    }
}

/// What the pass found.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Matching offers (not counted when [`PageCollector::counts_apart`]).
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: BTreeMap<FacetName, HashMap<String, u64>>,
}

pub(crate) struct PageCollector<'a> {
    /// The columns of the segments, opened once per segment.
    pub columns: &'a ColumnCache,
    pub sort: SortOrder,
    pub scored: bool,
    /// Whether a ranked search is pruned (see `Built::prunable`).
    pub prunable: bool,
    /// Hits kept (the page, and one more to know whether another page follows).
    pub limit: usize,
    /// The first hits kept that are not shown (the pages before this one): only the hits
    /// after them are put in order.
    pub skip: usize,
    pub after: Option<Cursor>,
    pub radius: Option<Radius>,
    /// The cells across the radius' edge (see `Built::edge_cells`).
    pub edge_cells: &'a [Term],
    /// A search of one word with filters, ranked without scoring what cannot reach the page.
    pub word_with_filters: Option<&'a WordWithFilters>,
    /// Whether the distance is computed without a radius (sort by distance, `distance_km`).
    pub point: Option<Point>,
    pub facets: Vec<FacetName>,
    pub now_ms: i64,
    /// Whether the segments keep their offers newest first (the index's sort).
    pub newest_first: bool,
}

pub(crate) struct PageSegment {
    segment: SegmentOrdinal,
    sort: SortOrder,
    scored: bool,
    newest_first: bool,
    after: Option<Cursor>,
    radius_km: Option<f64>,
    /// The offers of the radius' edge cells, when only they need a distance check.
    edge: Option<EdgeOffers>,
    disc: Option<Disc>,
    /// The point searched around.
    center: Option<Point>,
    now_ms: i64,
    columns: Arc<SegmentColumns>,
    facets: Vec<(FacetName, Option<StrColumn>, Vec<u64>)>,
    published: Option<[u64; 5]>,
    total: usize,
    heap: Best,
}

impl PageCollector<'_> {
    /// Whether the page is found without visiting every match, and the total counted apart by
    /// the unscored query: a ranked search of one word prunes (block-max WAND skips the blocks
    /// of postings that cannot reach the page), a search by date reads the first matches of
    /// segments kept newest first. Neither may need facets or a distance check.
    pub fn counts_apart(&self) -> bool {
        self.facets.is_empty() && self.radius.is_none() && (self.prunes() || self.reads_newest())
    }

    fn prunes(&self) -> bool {
        self.sort == SortOrder::Relevance && self.scored && self.prunable
    }

    /// Whether the page is the first matches of segments kept newest first, read until the page
    /// is full (the total counted apart).
    pub fn reads_first_matches_by_date(&self) -> bool {
        self.counts_apart() && self.reads_newest()
    }

    fn reads_newest(&self) -> bool {
        self.newest_first && self.sort == SortOrder::Date
    }
}

impl Collector for PageCollector<'_> {
    type Fruit = Collected;
    type Child = PageSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        let columns = self.columns.get(reader)?;
        let mut facets = Vec::new();
        let mut published = None;
        for facet in &self.facets {
            match facet.field() {
                Some(field) => {
                    let column = columns.facet(field).cloned();
                    let size = column.as_ref().map_or(0, |c| c.num_terms());
                    facets.push((*facet, column, vec![0; size]));
                }
                None => published = Some([0; 5]),
            }
        }
        Ok(PageSegment {
            segment,
            sort: self.sort,
            scored: self.scored,
            newest_first: self.newest_first,
            after: self.after,
            radius_km: self.radius.map(|r| r.km),
            // A sort by distance measures every offer anyway.
            edge: match self.sort {
                SortOrder::Distance => None,
                _ => Some(EdgeOffers(any_term::bitset(reader, self.edge_cells)?)),
            },
            disc: self.radius.map(|r| Disc::new(r.center, r.km)),
            center: self.radius.map(|r| r.center).or(self.point),
            now_ms: self.now_ms,
            columns,
            facets,
            published,
            total: 0,
            heap: Best::new(self.limit),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored && self.sort == SortOrder::Relevance
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Collected> {
        let mut collector = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        if self.counts_apart() && self.reads_newest() {
            collector.collect_newest(weight, reader)?;
        } else if self.counts_apart() {
            // A word alone in many titles (see `collect_word_alone`); tantivy's block-max WAND
            // otherwise (and in the tests' reference).
            let ranked = match self.word_with_filters {
                Some(word) => collector.collect_word_alone(word, reader)?,
                None => false,
            };
            if !ranked {
                weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                    if alive.is_none_or(|a| a.is_alive(doc)) {
                        collector.rank(doc, f64::from(score), None);
                    }
                    collector.threshold()
                })?;
            }
            if self.newest_first {
                collector.complete_ties(weight, reader)?;
            }
        } else if let Some(word) = self.word_with_filters
            && self.requires_scoring()
        {
            collector.collect_word_with_filters(word, reader)?;
        } else if self.requires_scoring() {
            // The radius is checked before the score is computed: the offers of the grid cells
            // outside the disc are never scored.
            let mut scorer = weight.scorer(reader, 1.0)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc))
                    && let Some(distance_km) = collector.placed(doc)
                {
                    let score = scorer.score();
                    collector.count_and_rank(doc, score, distance_km);
                }
                doc = scorer.advance();
            }
        } else {
            weight.for_each_no_score(reader, &mut |docs| match alive {
                Some(alive) => docs
                    .iter()
                    .filter(|doc| alive.is_alive(**doc))
                    .for_each(|doc| collector.collect(*doc, 0.0)),
                None => collector.collect_block(docs),
            })?;
        }
        Ok(collector.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<Collected>) -> tantivy::Result<Collected> {
        let mut merged = Collected::default();
        for fruit in fruits {
            merged.total += fruit.total;
            merged.hits.extend(fruit.hits);
            for (facet, counts) in fruit.facets {
                let into = merged.facets.entry(facet).or_default();
                for (value, count) in counts {
                    *into.entry(value).or_default() += count;
                }
            }
        }
        // A page deep in a feed keeps thousands of hits before it: they are only set apart
        // (in linear time), and the page alone is sorted.
        let hits = &mut merged.hits;
        if self.skip > 0 && hits.len() > self.skip {
            hits.select_nth_unstable_by(self.skip, Hit::order);
            hits[self.skip..].sort_by(Hit::order);
        } else {
            hits.sort_by(Hit::order);
        }
        hits.truncate(self.limit);
        Ok(merged)
    }
}

/// The offers of a segment in the radius' edge cells (none when no edge cell holds any).
struct EdgeOffers(Option<BitSet>);

impl EdgeOffers {
    fn holds(&self, doc: DocId) -> bool {
        self.0.as_ref().is_some_and(|offers| offers.contains(doc))
    }
}

impl PageSegment {
    /// The score a hit must pass to enter the page (tantivy offers only the documents strictly
    /// above it): any while the page is not full, else the last one's. A document scoring as
    /// much comes later in the segment, so it is not newer, and ranks after the last one unless
    /// it was created at the same time: [`Self::complete_ties`] looks at those. Without the
    /// segment's order, the float just below, so that every tie is offered.
    fn threshold(&self) -> Score {
        match self.heap.last_when_full() {
            Some(last) => {
                let score = last.0.primary as Score;
                if self.newest_first {
                    score
                } else {
                    score.next_down()
                }
            }
            _ => Score::MIN,
        }
    }

    /// After a pruned pass: the matches skipped for scoring only as much as the last hit can
    /// still rank before it when created at the same time as the last hit (see
    /// [`Self::threshold`]). Those lie in one run of the segment, offered here.
    fn complete_ties(
        &mut self,
        weight: &dyn Weight,
        reader: &SegmentReader,
    ) -> tantivy::Result<()> {
        let Some(last) = self.heap.last_when_full() else {
            return Ok(());
        };
        let created = last.0.created;
        let start = self.first_older(reader.max_doc(), created.saturating_add(1));
        let end = self.first_older(reader.max_doc(), created);
        let ranked: HashSet<DocId> = self
            .heap
            .iter()
            .map(|hit| hit.0.address.doc_id)
            .filter(|doc| (start..end).contains(doc))
            .collect();
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        if doc < start {
            doc = scorer.seek(start);
        }
        while doc < end {
            if alive.is_none_or(|a| a.is_alive(doc)) && !ranked.contains(&doc) {
                self.rank(doc, f64::from(scorer.score()), None);
            }
            doc = scorer.advance();
        }
        Ok(())
    }

    /// Where `doc` comes against a sort key: `Less` when it comes first. Its creation time and
    /// tie-breaker are read only when the keys before them tie.
    fn compare(
        &self,
        doc: DocId,
        primary: f64,
        created: &mut Option<i64>,
        tiebreak: &mut Option<u64>,
        key: (f64, i64, u64),
    ) -> Ordering {
        key.0
            .total_cmp(&primary)
            .then_with(|| {
                let created = *created
                    .get_or_insert_with(|| self.columns.created.first(doc).unwrap_or(UNDATED));
                key.1.cmp(&created)
            })
            .then_with(|| {
                let tiebreak =
                    *tiebreak.get_or_insert_with(|| self.columns.tiebreak.first(doc).unwrap_or(0));
                tiebreak.cmp(&key.2)
            })
    }

    /// Offers the hit `doc` to the page (after the cursor, if it ranks high enough).
    fn rank(&mut self, doc: DocId, primary: f64, distance_km: Option<f64>) {
        let (mut created, mut tiebreak) = (None, None);
        if let Some(after) = self.after {
            let key = (after.primary, after.created, after.tiebreak);
            if self.compare(doc, primary, &mut created, &mut tiebreak, key) != Ordering::Greater {
                return;
            }
        }
        if let Some(last) = self.heap.last_when_full() {
            let key = (last.0.primary, last.0.created, last.0.tiebreak);
            if self.compare(doc, primary, &mut created, &mut tiebreak, key) != Ordering::Less {
                return;
            }
        }
        let hit = Hit {
            primary,
            created: created.unwrap_or_else(|| self.columns.created.first(doc).unwrap_or(UNDATED)),
            tiebreak: tiebreak.unwrap_or_else(|| self.columns.tiebreak.first(doc).unwrap_or(0)),
            address: DocAddress::new(self.segment, doc),
            distance_km,
        };
        self.heap.push(Ranked(hit));
    }

    /// The page from a segment kept newest first: its first matches after the cursor, then the
    /// ones dated like the last of them (ties are ordered by the tie-breaker); the rest are older.
    fn collect_newest(
        &mut self,
        weight: &dyn Weight,
        reader: &SegmentReader,
    ) -> tantivy::Result<()> {
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        if let Some(after) = self.after {
            // The offers newer than the cursor come first: skip them at once.
            let start = self.first_older(reader.max_doc(), after.created.saturating_add(1));
            if doc < start {
                doc = scorer.seek(start);
            }
        }
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                // Once the page is full, an offer after the last hit in the segment's order
                // ranks after it, and so do the ones that follow (unless a clamped time made
                // their order equal: then each is ranked).
                if let Some(last) = self.heap.last_when_full()
                    && time_is_ordered(last.0.created)
                    && self.columns.order.first(doc).unwrap_or(0)
                        < segment_order(last.0.created, last.0.tiebreak)
                {
                    break;
                }
                let created = self.columns.created.first(doc).unwrap_or(UNDATED) as f64;
                self.rank(doc, created, None);
            }
            doc = scorer.advance();
        }
        Ok(())
    }

    /// The first document of a segment kept newest first that was created before `bound`.
    fn first_older(&self, max_doc: DocId, bound: i64) -> DocId {
        let (mut low, mut high) = (0, max_doc);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.columns.created.first(middle).unwrap_or(UNDATED) >= bound {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// Whether `doc` passes the radius (and a sort by distance, which leaves out offers with no
    /// point), with its distance when the sort is by distance: the other sorts measure only
    /// the hits of the page, in `harvest`.
    fn placed(&self, doc: DocId) -> Option<Option<f64>> {
        if self.sort == SortOrder::Distance {
            let distance = self.distance(doc)?;
            return self
                .radius_km
                .is_none_or(|radius| distance <= radius)
                .then_some(Some(distance));
        }
        match &self.disc {
            None => Some(None),
            Some(disc) => {
                if let Some(edge) = &self.edge
                    && !edge.holds(doc)
                {
                    // In a cell of the radius wholly inside it.
                    return Some(None);
                }
                let (latitude, longitude) = self.point_of(doc)?;
                disc.contains(latitude, longitude).then_some(None)
            }
        }
    }

    /// The offer's point: one read, as every offer has a value (the column's index is full).
    fn point_of(&self, doc: DocId) -> Option<(f64, f64)> {
        let point = &self.columns.point;
        let packed = match point.index {
            ColumnIndex::Full => point.values.get_val(doc),
            _ => point.first(doc)?,
        };
        unpack_point(packed)
    }

    fn distance(&self, doc: DocId) -> Option<f64> {
        let center = self.center?;
        let (latitude, longitude) = self.point_of(doc)?;
        Some(center.distance_km(&Point {
            latitude,
            longitude,
        }))
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = Collected;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(distance_km) = self.placed(doc) {
            self.count_and_rank(doc, score, distance_km);
        }
    }

    fn harvest(self) -> Collected {
        self.into_collected()
    }
}

impl PageSegment {
    /// Counts a match that passed [`Self::placed`] (total, facets) and offers it to the page.
    fn count_and_rank(&mut self, doc: DocId, score: Score, distance_km: Option<f64>) {
        let created = self.count(doc);
        let primary = match self.sort {
            SortOrder::Relevance if self.scored => f64::from(score),
            SortOrder::Relevance | SortOrder::Date => created as f64,
            SortOrder::Distance => -distance_km.unwrap_or(f64::INFINITY),
        };
        self.rank(doc, primary, distance_km);
    }

    /// Counts a match that passed [`Self::placed`]: the total and the facets. Returns its
    /// creation time when the sort or the `published` facet read it (else `UNDATED`).
    fn count(&mut self, doc: DocId) -> i64 {
        self.total += 1;
        for (_, column, counts) in &mut self.facets {
            if let Some(ord) = column.as_ref().and_then(|c| c.ords().first(doc)) {
                counts[ord as usize] += 1;
            }
        }
        let scored = self.sort == SortOrder::Relevance && self.scored;
        // The creation date is read only when the sort or the `published` facet needs it.
        let created = if !scored || self.published.is_some() {
            self.columns.created.first(doc).unwrap_or(UNDATED)
        } else {
            UNDATED
        };
        if let Some(published) = &mut self.published {
            let age = self.now_ms.saturating_sub(created);
            let bucket = match created {
                UNDATED => 4,
                _ if age < DAY_MS => 0,
                _ if age < 7 * DAY_MS => 1,
                _ if age < 30 * DAY_MS => 2,
                _ => 3,
            };
            published[bucket] += 1;
        }
        created
    }

    fn into_collected(mut self) -> Collected {
        let mut hits: Vec<Hit> = std::mem::replace(&mut self.heap, Best::new(0))
            .into_vec()
            .into_iter()
            .map(|r| r.0)
            .collect();
        for hit in &mut hits {
            if hit.distance_km.is_none() {
                hit.distance_km = self.distance(hit.address.doc_id);
            }
        }
        let mut facets = BTreeMap::new();
        for (facet, column, counts) in self.facets {
            let mut values = HashMap::new();
            if let Some(column) = column {
                for (ord, &count) in counts.iter().enumerate() {
                    let mut value = String::new();
                    if count > 0 && column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                        values.insert(value, count);
                    }
                }
            }
            facets.insert(facet, values);
        }
        if let Some(published) = self.published {
            let names = ["today", "this_week", "this_month", "older", "undated"];
            facets.insert(
                FacetName::Published,
                names
                    .iter()
                    .zip(published)
                    .filter(|(_, count)| *count > 0)
                    .map(|(name, count)| (name.to_string(), count))
                    .collect(),
            );
        }
        Collected {
            total: self.total,
            hits,
            facets,
        }
    }
}
