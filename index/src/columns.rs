//! The fast columns a search reads of each segment, opened once per segment and kept while the
//! segment is searched.
//!
//! Opening them for every search cost more than a small search itself: the creation date's
//! column reads the header of each of its blocks when it opens (about 40 µs at a million
//! offers), and finding a hit's key in the key column's dictionary scans a block of it (about
//! 4 µs a hit, 80 µs for a page of 20). So each segment's columns are opened at its first search,
//! and its keys are copied into one buffer read by ordinal (about 30 bytes an offer). A segment
//! is immutable: what is kept stays true until a merge or a rebuild retires the segment, and the
//! entries of retired segments are dropped when the searched generation changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Searcher, SegmentReader};

/// The columns of one segment.
pub(crate) struct SegmentColumns {
    /// Creation time (Unix ms; `schema::UNDATED` when undated).
    pub created: Column<i64>,
    /// The tie-breaker of every sort.
    pub tiebreak: Column<u64>,
    /// The segment's order (`schema::segment_order`).
    pub order: Column<u64>,
    /// Packed points (`geo::pack_point`).
    pub point: Column<u64>,
    keys: Option<KeyTable>,
    /// The columns counted by facets, by field name.
    facets: Vec<(&'static str, Option<StrColumn>)>,
}

/// Every key of a segment in one buffer: the key of ordinal `n` ends at `ends[n]`.
struct KeyTable {
    ords: Column<u64>,
    bytes: String,
    ends: Vec<u32>,
}

/// Fields whose column a facet counts.
const FACET_FIELDS: [&str; 6] = [
    "contract",
    "working_time",
    "rome_domain",
    "departement",
    "commune",
    "source",
];

impl SegmentColumns {
    fn open(reader: &SegmentReader) -> tantivy::Result<Self> {
        let fast = reader.fast_fields();
        let keys = fast.str("key")?.map(KeyTable::of).transpose()?;
        let facets = FACET_FIELDS
            .into_iter()
            .map(|field| Ok((field, fast.str(field)?)))
            .collect::<tantivy::Result<_>>()?;
        Ok(Self {
            created: fast.i64("created")?,
            tiebreak: fast.u64("tiebreak")?,
            order: fast.u64(crate::schema::SEGMENT_ORDER)?,
            point: fast.u64("point")?,
            keys,
            facets,
        })
    }

    /// The key of `doc`.
    pub fn key(&self, doc: DocId) -> Option<&str> {
        let table = self.keys.as_ref()?;
        let ord = table.ords.first(doc)? as usize;
        let start = match ord {
            0 => 0,
            _ => *table.ends.get(ord - 1)? as usize,
        };
        let end = *table.ends.get(ord)? as usize;
        table.bytes.get(start..end)
    }

    /// The column of a facet's field.
    pub fn facet(&self, field: &str) -> Option<&StrColumn> {
        self.facets
            .iter()
            .find(|(name, _)| *name == field)
            .and_then(|(_, column)| column.as_ref())
    }
}

impl KeyTable {
    fn of(column: StrColumn) -> tantivy::Result<Self> {
        let mut bytes = String::new();
        let mut ends = Vec::with_capacity(column.num_terms());
        let mut terms = column.dictionary().stream()?;
        while terms.advance() {
            // Keys are written as text: a key that is not would be a corrupt column.
            bytes.push_str(std::str::from_utf8(terms.key()).map_err(|_| {
                tantivy::TantivyError::InternalError("a key that is not UTF-8".to_owned())
            })?);
            ends.push(u32::try_from(bytes.len()).map_err(|_| {
                tantivy::TantivyError::InternalError("keys of a segment over 4 GB".to_owned())
            })?);
        }
        bytes.shrink_to_fit();
        Ok(Self {
            ords: column.ords().clone(),
            bytes,
            ends,
        })
    }
}

/// The columns of the segments searched, by segment.
#[derive(Default)]
pub(crate) struct ColumnCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// The searched generation the entries were last pruned for.
    generation: u64,
    segments: HashMap<SegmentId, Arc<SegmentColumns>>,
}

impl ColumnCache {
    /// Drops the entries of the segments `searcher` no longer searches, once per generation.
    pub fn retain_searched(&self, searcher: &Searcher) {
        let generation = searcher.generation().generation_id();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != generation {
            state.generation = generation;
            state.segments.retain(|id, _| {
                searcher
                    .segment_readers()
                    .iter()
                    .any(|reader| reader.segment_id() == *id)
            });
        }
    }

    /// The columns of a segment, opened at its first search. They are opened outside the lock:
    /// other searches go on meanwhile (two first searches may both open them; one is kept).
    pub fn get(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentColumns>> {
        let id = reader.segment_id();
        if let Some(columns) = self.lock().segments.get(&id) {
            return Ok(columns.clone());
        }
        let columns = Arc::new(SegmentColumns::open(reader)?);
        Ok(self.lock().segments.entry(id).or_insert(columns).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
