//! Opening, writing and querying the index.

use std::path::Path;
use std::sync::{Arc, Mutex};

use std::collections::BTreeMap;

use relais_model::OfferKey;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexSortByField, IndexWriter, Order, ReloadPolicy,
    Searcher, TantivyDocument, Term,
};

use crate::IndexError;
use crate::collect::{MAX_FACET_VALUES, PageCollector, WordWithFilters};
use crate::columns::ColumnCache;
use crate::query::{self, Cursor, FacetName, SearchRequest, SortOrder, TermSet, Withheld};
use crate::schema::{Fields, IndexedOffer, SEGMENT_ORDER, register_analysers, schema};

/// The offer index.
#[derive(Clone)]
pub struct OfferIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    /// tantivy allows one writer per index: it is created at the first write and kept (its
    /// merges go on between commits), and writes from several tasks take turns.
    pub(crate) writer: Arc<Mutex<Option<IndexWriter>>>,
    /// The columns searches read, opened once per segment.
    pub(crate) columns: Arc<ColumnCache>,
}

impl std::fmt::Debug for OfferIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfferIndex").finish_non_exhaustive()
    }
}

/// The places a feed covers, as the index filters them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceFilter {
    /// INSEE codes of the current communes covered (outside the départements and régions
    /// covered whole, which their own terms match).
    pub communes: Vec<String>,
    /// Départements covered whole: every offer in them belongs, the ones known only at
    /// département level too.
    pub whole_departements: Vec<String>,
    /// Régions covered whole: every offer in them belongs, the ones known only at région level
    /// too.
    pub whole_regions: Vec<String>,
}

impl From<&relais_territory::Territory> for PlaceFilter {
    /// The communes inside a département or région covered whole are left to that
    /// département's or région's term: a filter on a département is one term, not hundreds.
    fn from(territory: &relais_territory::Territory) -> Self {
        let geography = relais_territory::geography();
        let regions = territory.whole_regions();
        let departements: Vec<&str> = territory
            .whole_departements()
            .iter()
            .copied()
            .filter(|d| {
                geography
                    .departement(d)
                    .is_none_or(|(_, region)| !regions.contains(&region))
            })
            .collect();
        let communes = territory
            .commune_ids()
            .map(|id| geography.commune(id))
            .filter(|c| !departements.contains(&c.departement) && !regions.contains(&c.region))
            .map(|c| c.code.to_owned())
            .collect();
        Self {
            communes,
            whole_departements: departements.iter().map(|d| d.to_string()).collect(),
            whole_regions: regions.iter().map(|r| r.to_string()).collect(),
        }
    }
}

impl PlaceFilter {
    /// Whether no offer can hold two of the filter's place terms, so that the filter's count is
    /// the sum of its terms' counts. An offer holds one commune, one département and one région
    /// term: the terms are disjoint when no commune listed lies in a département or région
    /// listed, and no département in a région listed (as [`From<&Territory>`] builds them). A
    /// commune the geography does not know could lie anywhere.
    pub(crate) fn terms_are_disjoint(&self) -> bool {
        let geography = relais_territory::geography();
        let listed_region = |region: &str| self.whole_regions.iter().any(|r| r == region);
        let listed_departement = |code: &str| self.whole_departements.iter().any(|d| d == code);
        let departements_apart = self.whole_regions.is_empty()
            || self.whole_departements.iter().all(|code| {
                geography
                    .departement(code)
                    .is_some_and(|(_, region)| !listed_region(region))
            });
        let communes_apart = (self.whole_departements.is_empty() && self.whole_regions.is_empty())
            || self.communes.iter().all(|code| {
                geography
                    .current_commune(code)
                    .map(|id| geography.commune(id))
                    .is_some_and(|commune| {
                        !listed_departement(commune.departement) && !listed_region(commune.region)
                    })
            });
        departements_apart && communes_apart
    }
}

/// Which offers a feed page shows.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// Keep offers located there (`None`: everywhere).
    pub places: Option<Arc<PlaceFilter>>,
    /// Free text matched against titles (boosted) and descriptions.
    pub text: Option<String>,
    /// Offers to skip.
    pub offset: usize,
    /// Offers to return.
    pub limit: usize,
    /// What the sources' terms withhold.
    pub withheld: Withheld,
}

/// A page of results, newest first.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// Matching offers in all.
    pub total: usize,
    /// This page.
    pub offers: Vec<IndexedOffer>,
    /// The index version it was read from (see [`OfferIndex::version`]).
    pub version: u64,
}

/// An offer found by [`OfferIndex::search_offers`].
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// `source:id`.
    pub key: String,
    /// Distance from the point searched around, in km.
    pub distance_km: Option<f64>,
    /// The stored public summary (when asked for).
    pub summary: Option<IndexedOffer>,
}

/// The result of a search.
#[derive(Debug, Clone)]
pub struct SearchResult {
    /// Matching offers in all (the whole result set, not the page).
    pub total: usize,
    /// This page.
    pub hits: Vec<SearchHit>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<Cursor>,
    /// Per facet asked for: values and counts over the whole result set, most frequent first
    /// (ties by value), at most [`crate::MAX_FACET_VALUES`].
    pub facets: BTreeMap<FacetName, Vec<(String, u64)>>,
    /// The index version it was read from (see [`OfferIndex::version`]).
    pub version: u64,
}

/// Which matches of a ranked search are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scoring {
    /// Every match.
    #[cfg_attr(not(test), allow(dead_code))]
    EveryMatch,
    /// A word with filters: only the matches whose block of postings may reach the page.
    BoundedByBlocks,
}

/// Every segment keeps its offers newest first (undated last), then by tie-breaker: the newest
/// offers matching a query are its first matches, found without reading the others' dates.
fn settings() -> IndexSettings {
    IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: SEGMENT_ORDER.to_owned(),
            order: Order::Desc,
        }),
        ..IndexSettings::default()
    }
}

impl OfferIndex {
    /// Opens the index in `dir`, creating it if needed. An index written by an older version
    /// (another schema) is derived data: it is emptied and created again, and the caller's
    /// reindex fills it.
    pub fn open_or_create(dir: &Path) -> Result<Self, IndexError> {
        match Self::open_dir(dir) {
            Err(IndexError::Tantivy(tantivy::TantivyError::SchemaError(message))) => {
                tracing::warn!(path = %dir.display(), %message, "index of another schema: recreated");
                std::fs::remove_dir_all(dir).map_err(|e| IndexError::Open {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
                Self::open_dir(dir)
            }
            other => other,
        }
    }

    fn open_dir(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Open {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let (schema, fields) = schema();
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(|e| IndexError::Open {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .open_or_create(directory)?;
        // tantivy checks the schema of an index it opens, not its settings.
        if index.settings().sort_by_field != settings().sort_by_field {
            return Err(IndexError::Tantivy(tantivy::TantivyError::SchemaError(
                "the index is not sorted newest first".to_owned(),
            )));
        }
        Self::with_index(index, fields)
    }

    /// An index in memory, for tests.
    pub fn in_memory() -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .create_in_ram()?;
        Self::with_index(index, fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, IndexError> {
        register_analysers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            writer: Arc::default(),
            columns: Arc::default(),
        })
    }

    /// The version of the index searches see now: it changes with every commit they see, so
    /// that what was rendered from an older one can be dropped.
    pub fn version(&self) -> u64 {
        self.reader.searcher().generation().generation_id()
    }

    /// Offers indexed.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A page of offers, newest first.
    pub fn search(&self, query: &FeedQuery) -> Result<FeedPage, IndexError> {
        // The search's newest-first page: each segment keeps its offers newest first, so the
        // page is read from the first matches, not sorted out of all of them.
        let result = self.search_offers(
            &SearchRequest {
                text: query.text.clone(),
                within: query.places.clone(),
                withheld: query.withheld.clone(),
                sort: SortOrder::Date,
                limit: query.limit,
                skip: query.offset,
                ..SearchRequest::default()
            },
            true,
        )?;
        Ok(FeedPage {
            total: result.total,
            offers: result
                .hits
                .into_iter()
                .filter_map(|hit| hit.summary)
                .collect(),
            version: result.version,
        })
    }

    /// A page of a search: filters, radius, sort, facets and cursor; the summaries are read
    /// from the document store only when `with_summaries` (the benchmark reads ids alone).
    pub fn search_offers(
        &self,
        request: &SearchRequest,
        with_summaries: bool,
    ) -> Result<SearchResult, IndexError> {
        self.search_offers_scoring(request, with_summaries, Scoring::BoundedByBlocks)
    }

    /// [`Self::search_offers`], scoring every match or not (the tests compare both).
    pub(crate) fn search_offers_scoring(
        &self,
        request: &SearchRequest,
        with_summaries: bool,
        scoring: Scoring,
    ) -> Result<SearchResult, IndexError> {
        let searcher = self.reader.searcher();
        self.columns.retain_searched(&searcher);
        let unbounded;
        let request = match &request.within {
            Some(within) if self.holds_only(&searcher, within)? => {
                unbounded = SearchRequest {
                    within: None,
                    ..request.clone()
                };
                &unbounded
            }
            _ => request,
        };
        // A page by date reads its sets of terms merged; the one case told only once the text
        // is parsed (a text with no words to rank) is built again below.
        let by_date = match request.sort {
            SortOrder::Date => true,
            SortOrder::Relevance => request.text.is_none(),
            SortOrder::Distance => false,
        };
        let read = if by_date && request.facets.is_empty() && request.radius.is_none() {
            TermSet::Merged
        } else {
            TermSet::Bitset
        };
        let mut built = query::build(&self.fields, request, read);
        let sort = match request.sort {
            SortOrder::Relevance if !built.scored => SortOrder::Date,
            other => other,
        };
        let limit = request.limit.clamp(1, 1_000);
        let edge_cells = std::mem::take(&mut built.edge_cells);
        let word_with_filters = match built.word_with_filters.take() {
            Some((text, title, filters))
                if sort == SortOrder::Relevance && scoring == Scoring::BoundedByBlocks =>
            {
                Some(WordWithFilters::new(
                    &searcher,
                    text,
                    title,
                    query::TITLE_BOOST,
                    filters,
                )?)
            }
            _ => None,
        };
        let collector = PageCollector {
            columns: &self.columns,
            sort,
            scored: built.scored,
            prunable: built.prunable,
            // The skipped matches, the page, and one more: whether it is there says whether a
            // next page follows.
            limit: request.skip + limit + 1,
            skip: request.skip,
            after: request.after,
            radius: request.radius,
            edge_cells: &edge_cells,
            word_with_filters: word_with_filters.as_ref(),
            point: request.point,
            facets: request.facets.clone(),
            now_ms: request.now_ms,
            newest_first: self.index.settings().sort_by_field.is_some(),
        };
        let merged = collector.reads_first_matches_by_date();
        if merged != (read == TermSet::Merged) {
            let read = if merged {
                TermSet::Merged
            } else {
                TermSet::Bitset
            };
            built = query::build(&self.fields, request, read);
        }
        let mut collected = searcher.search(&built.query, &collector)?;
        if collector.counts_apart() {
            collected.total = built.count_query.count(&searcher)?;
        }
        let more = collected.hits.len() > request.skip + limit;
        collected.hits.truncate(request.skip + limit);
        collected
            .hits
            .drain(..request.skip.min(collected.hits.len()));
        let next_cursor = more
            .then(|| collected.hits.last())
            .flatten()
            .map(|last| Cursor {
                primary: last.primary,
                created: last.created,
                tiebreak: last.tiebreak,
            });
        let mut hits = Vec::with_capacity(collected.hits.len());
        for hit in collected.hits {
            // Read for the page only: a page deep in a feed ranks thousands of hits it skips.
            let reader = searcher.segment_reader(hit.address.segment_ord);
            let key = self
                .columns
                .get(reader)?
                .key(hit.address.doc_id)
                .unwrap_or_default()
                .to_owned();
            let summary = if with_summaries {
                let doc: TantivyDocument = searcher.doc(hit.address)?;
                Some(self.summary_of(&doc)?)
            } else {
                None
            };
            hits.push(SearchHit {
                key,
                distance_km: hit.distance_km,
                summary,
            });
        }
        let facets = collected
            .facets
            .into_iter()
            .map(|(facet, counts)| {
                let mut values: Vec<(String, u64)> = counts.into_iter().collect();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                values.truncate(MAX_FACET_VALUES);
                (facet, values)
            })
            .collect();
        Ok(SearchResult {
            total: collected.total,
            hits,
            next_cursor,
            facets,
            version: searcher.generation().generation_id(),
        })
    }

    pub(crate) fn summary_of(&self, doc: &TantivyDocument) -> Result<IndexedOffer, IndexError> {
        let summary = doc
            .get_first(self.fields.summary)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        serde_json::from_str(summary).map_err(|e| IndexError::CorruptSummary(e.to_string()))
    }

    /// The published summary of an offer, if the index holds it.
    pub fn summary(&self, key: &str) -> Result<Option<IndexedOffer>, IndexError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.key, key),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, address)) => Ok(Some(self.summary_of(&searcher.doc(*address)?)?)),
            None => Ok(None),
        }
    }

    /// Whether every offer the searcher sees lies in `places` (the index of a département's
    /// deployment and a key bound to that département, all of France and a national key): the
    /// filter then changes nothing, and is left out (a filter makes a search of one word visit
    /// every match, and filling its bit set costs milliseconds at a million offers). Each offer
    /// holds one term of each level: with terms that no offer holds two of, every offer holds one
    /// when their document frequencies add up to the segment's documents (deleted ones counted
    /// on both sides).
    fn holds_only(&self, searcher: &Searcher, places: &PlaceFilter) -> Result<bool, IndexError> {
        // A territory of many terms (communes around a point) is checked at a cost per search
        // and seldom holds a whole index: it stays a filter.
        const MOST_TERMS: usize = 64;
        let terms_count =
            places.communes.len() + places.whole_departements.len() + places.whole_regions.len();
        if terms_count > MOST_TERMS || !places.terms_are_disjoint() {
            return Ok(false);
        }
        let terms = query::place_terms(&self.fields, places);
        for reader in searcher.segment_readers() {
            let inverted = reader.inverted_index(self.fields.place)?;
            let mut held = 0u64;
            for term in &terms {
                held += u64::from(
                    inverted
                        .doc_freq(term)
                        .map_err(tantivy::TantivyError::from)?,
                );
            }
            if held != u64::from(reader.max_doc()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether an offer is in the index.
    pub fn contains(&self, key: &OfferKey) -> bool {
        let term = Term::from_field_text(self.fields.key, &key.to_string());
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        self.reader
            .searcher()
            .search(&query, &Count)
            .is_ok_and(|n| n > 0)
    }
}

#[cfg(test)]
mod tests;
