//! Writing the index: full rebuilds and incremental changes, each commit carrying the last
//! publication-log sequence it reflects (the commit payload), so that a restarted follower
//! knows where to resume.

use relais_model::{Offer, OfferKey};
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{IndexWriter, TantivyDocument, Term};

use crate::IndexError;
use crate::schema::{AlsoPublishedOn, IndexedOffer, document};
use crate::search::OfferIndex;

const WRITER_HEAP_BYTES: usize = 100_000_000;

/// What a commit records beside the documents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CommitPayload {
    /// The last publication-log sequence the index reflects (named apart from the offer change
    /// log's, which indexes recorded before the deduplication moved to the worker: such an index
    /// has no position and is rebuilt).
    publication_seq: Option<i64>,
}

/// How the live index merges its commits. A search visits every segment, and a segment of a
/// few offers costs a search about as much as its term lookups (a radius asks for up to 256
/// cells in each): the small segments of the follower's commits (one every 200 ms under a
/// steady flow) are merged four at a time instead of tantivy's eight, which are cheap merges
/// of small segments. A segment whose offers are a quarter deleted is merged too: its deleted
/// offers are still read by every search until a merge drops them.
fn live_merge_policy() -> Box<LogMergePolicy> {
    let mut policy = LogMergePolicy::default();
    policy.set_min_num_segments(4);
    policy.set_del_docs_ratio_before_merge(0.25);
    Box::new(policy)
}

impl OfferIndex {
    /// The last publication-log sequence the index reflects, as its last commit recorded it
    /// (`None` for a new index, or one written without a position: it must be rebuilt to be
    /// followed).
    pub fn applied_publication_seq(&self) -> Result<Option<i64>, IndexError> {
        Ok(self.payload()?.publication_seq)
    }

    fn payload(&self) -> Result<CommitPayload, IndexError> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default())
    }

    /// Replaces the whole content of the index with `offers`; returns how many were indexed.
    pub fn rebuild(&self, offers: impl IntoIterator<Item = Offer>) -> Result<u64, IndexError> {
        self.rebuild_published(offers.into_iter().map(|offer| (offer, Vec::new())), None)
    }

    /// Replaces the whole content of the index with the offers to publish, each with the other
    /// copies of its job, as of publication-log sequence `publication_seq`; returns how many were indexed.
    pub fn rebuild_published(
        &self,
        offers: impl IntoIterator<Item = (Offer, Vec<AlsoPublishedOn>)>,
        publication_seq: Option<i64>,
    ) -> Result<u64, IndexError> {
        // A new writer: tantivy's `delete_all_documents` numbers the next operations from the
        // writer's start, below the deletes its earlier commits queued, which the new documents
        // would then obey (they lost offers removed before the rebuild).
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        // No merges while the new index is written: it is merged into one segment at the end
        // (a search visits every segment; dozens of them cost more than the search itself).
        self.write(publication_seq, |writer, fields| {
            writer.set_merge_policy(Box::new(NoMergePolicy));
            writer.delete_all_documents()?;
            let mut count = 0;
            for (offer, also_published_on) in offers {
                writer.add_document(document(fields, &offer, &also_published_on))?;
                count += 1;
            }
            Ok(count)
        })
        .and_then(|count| {
            self.merge_all()?;
            Ok(count)
        })
    }

    /// Merges every segment into one, then lets the live policy merge the live index's small
    /// commits again.
    fn merge_all(&self) -> Result<(), IndexError> {
        let mut slot = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = slot.as_mut().expect("the rebuild created the writer");
        let segments = self.index.searchable_segment_ids()?;
        let merged = if segments.len() > 1 {
            writer.merge(&segments).wait().map(|_| ())
        } else {
            Ok(())
        };
        writer.set_merge_policy(live_merge_policy());
        merged?;
        self.reader.reload()?;
        Ok(())
    }

    /// Segments of the index as searched now.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Adds or replaces offers and removes withdrawn ones, in one commit (no dedup links).
    pub fn apply(&self, upserts: &[Offer], removals: &[OfferKey]) -> Result<(), IndexError> {
        let upserts = upserts
            .iter()
            .map(|offer| (offer.clone(), Vec::new()))
            .collect::<Vec<_>>();
        let removals = removals.iter().map(ToString::to_string).collect::<Vec<_>>();
        self.apply_published(&upserts, &removals, None)
    }

    /// Adds or replaces published offers (each with its "also published on" links) and removes
    /// the offers of `removals` (withdrawn, or now shown through another copy), in one commit
    /// that records `publication_seq` when given. An inactive offer among the upserts is removed.
    pub fn apply_published(
        &self,
        upserts: &[(Offer, Vec<AlsoPublishedOn>)],
        removals: &[String],
        publication_seq: Option<i64>,
    ) -> Result<(), IndexError> {
        self.write(publication_seq, |writer, fields| {
            for key in removals {
                writer.delete_term(Term::from_field_text(fields.key, key));
            }
            for (offer, also_published_on) in upserts {
                writer.delete_term(Term::from_field_text(fields.key, &offer.key.to_string()));
                if offer.status.is_active() {
                    writer.add_document(document(fields, offer, also_published_on))?;
                }
            }
            Ok(())
        })
    }

    /// Runs `edit` with the writer and commits, recording `publication_seq` (or keeping the recorded
    /// one); on error nothing of `edit` is committed.
    fn write<T>(
        &self,
        publication_seq: Option<i64>,
        edit: impl FnOnce(&mut IndexWriter, &crate::schema::Fields) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut slot = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(
                self.index
                    .writer(WRITER_HEAP_BYTES)
                    .map_err(|error| match error {
                        tantivy::TantivyError::LockFailure(..) => IndexError::Locked,
                        other => IndexError::Tantivy(other),
                    })?,
            );
            if let Some(writer) = slot.as_ref() {
                writer.set_merge_policy(live_merge_policy());
            }
        }
        let writer = slot.as_mut().expect("writer just created");
        let payload = CommitPayload {
            publication_seq: match publication_seq {
                Some(seq) => Some(seq),
                None => self.payload()?.publication_seq,
            },
        };
        let result = edit(writer, &self.fields).and_then(|value| {
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&serde_json::to_string(&payload).expect("payload serialises"));
            commit.commit()?;
            Ok(value)
        });
        match result {
            Ok(value) => {
                self.reader.reload()?;
                Ok(value)
            }
            Err(error) => {
                // Uncommitted documents must not ride along with the next commit.
                writer.rollback()?;
                // The writer rolled back is a new one, with tantivy's merge policy.
                writer.set_merge_policy(live_merge_policy());
                Err(error)
            }
        }
    }

    /// The published offers whose job a change to offer `key` can affect: the offer itself and
    /// the offers that list it as "also published on".
    pub fn published_with(&self, key: &str) -> Result<Vec<IndexedOffer>, IndexError> {
        let searcher = self.reader.searcher();
        let term = |field| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, key),
                IndexRecordOption::Basic,
            ))
        };
        let query = BooleanQuery::new(vec![
            (Occur::Should, term(self.fields.key)),
            (Occur::Should, term(self.fields.members)),
        ]);
        searcher
            .search(&query, &TopDocs::with_limit(64).order_by_score())?
            .into_iter()
            .map(|(_, address)| self.summary_of(&searcher.doc::<TantivyDocument>(address)?))
            .collect()
    }

    /// Every published offer's summary, by key (for comparing two indexes; reads them all).
    pub fn published_summaries(&self) -> Result<Vec<IndexedOffer>, IndexError> {
        let searcher = self.reader.searcher();
        let mut summaries = searcher
            .search(&AllQuery, &DocSetCollector)?
            .into_iter()
            .map(|address| self.summary_of(&searcher.doc::<TantivyDocument>(address)?))
            .collect::<Result<Vec<_>, _>>()?;
        summaries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(summaries)
    }
}

#[cfg(test)]
mod tests;
