//! Incremental clusters: offers join, leave and split clusters one at a time; every link keeps
//! its reason; every change re-elects the canonical member.

use std::cmp::Ordering;

use relais_model::Offer;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::config::{CanonicalCriterion, DedupConfig};
use crate::error::DedupError;
use crate::features::{Extractor, Record};
use crate::slots::SlotIndex;
use crate::verify::{Comparison, Outcome, compare, structural_veto};

const NONE: u32 = u32::MAX;
/// Clusters of at most this many members are checked for ambiguity before a new offer merges
/// them into a bigger one (they may match another cluster just as well).
const SMALL_CLUSTER: usize = 2;

/// Why two members are linked: the rules that matched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkReason {
    /// How the employers matched.
    pub employer: Outcome,
    /// How the workplaces matched.
    pub place: Outcome,
    /// Normalised titles' similarity.
    pub title_similarity: f32,
    /// Descriptions' Jaccard similarity.
    pub jaccard: f32,
    /// Containment of the shorter description in the longer.
    pub containment: f32,
}

impl LinkReason {
    fn of(comparison: &Comparison) -> Self {
        Self {
            employer: comparison.employer,
            place: comparison.place,
            title_similarity: comparison.title_similarity as f32,
            jaccard: comparison.jaccard as f32,
            containment: comparison.containment as f32,
        }
    }
}

/// A cluster a new offer matches: its id, the best score, the matched members and why.
type ClusterMatch = (u32, f64, Vec<(u32, LinkReason)>);

/// The comparisons of a record with the offers a deduplicator held when it was prepared (see
/// [`Deduplicator::prepare`]): each candidate slot, its generation then, and the link when the
/// two are the same job.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Sorted by slot.
    checked: Vec<(u32, u32)>,
    /// The candidates that are the same job, sorted by slot.
    matched: Vec<(u32, f64, LinkReason)>,
}

impl Prepared {
    /// The comparison made with `slot`, if it still holds the record it held then: `Some(None)`
    /// when they were not the same job.
    fn lookup(&self, slot: u32, generation: u32) -> Option<Option<(f64, LinkReason)>> {
        let i = self.checked.binary_search_by_key(&slot, |&(s, _)| s).ok()?;
        if self.checked[i].1 != generation {
            return None;
        }
        Some(
            self.matched
                .binary_search_by_key(&slot, |&(s, _, _)| s)
                .ok()
                .map(|j| (self.matched[j].1, self.matched[j].2)),
        )
    }
}

/// A link between two members (slots).
#[derive(Debug, Clone, Copy)]
struct Link {
    a: u32,
    b: u32,
    reason: LinkReason,
}

#[derive(Debug, Clone, Default)]
struct Cluster {
    members: Vec<u32>,
    links: Vec<Link>,
    canonical: u32,
}

/// A cluster as seen from outside.
#[derive(Debug, Clone)]
pub struct ClusterView<'a> {
    /// The cluster's id (stable while the cluster lives; reused after it dies).
    pub id: u32,
    /// The member shown.
    pub canonical: &'a Record,
    /// Every member, the canonical one included.
    pub members: Vec<&'a Record>,
    /// Every link: the two offers' keys and why they are the same job.
    pub links: Vec<(&'a str, &'a str, LinkReason)>,
}

impl ClusterView<'_> {
    /// The other members' sources and pages, for "also published on".
    pub fn also_published_on(&self) -> Vec<(&str, Option<&str>)> {
        self.members
            .iter()
            .filter(|m| m.key != self.canonical.key)
            .map(|m| (&*m.source, m.offer_url.as_deref()))
            .collect()
    }
}

/// Where an upsert put an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The offer's cluster.
    pub cluster: u32,
    /// Members of that cluster.
    pub members: usize,
    /// Whether the offer's sameness-relevant content changed (or it is new).
    pub moved: bool,
}

/// What a [`Deduplicator`] holds on the heap, in bytes, by part (an estimate from lengths and
/// capacities: allocator overhead aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeapUsage {
    /// The records' fixed part, their names and keys, and the key → slot map.
    pub records: usize,
    /// The descriptions' shingles and detail words.
    pub texts: usize,
    /// The blocking keys, their buckets and chains.
    pub blocking: usize,
    /// Members and links of the clusters.
    pub clusters: usize,
    /// The frequency sketch of the corpus' shingles and sentences.
    pub sketch: usize,
}

impl HeapUsage {
    /// All parts.
    pub fn total(&self) -> usize {
        self.records + self.texts + self.blocking + self.clusters + self.sketch
    }
}

/// The deduplication state of a set of offers. Deterministic: the same upserts and removals in
/// the same order give the same clusters.
#[derive(Debug)]
pub struct Deduplicator {
    extractor: Extractor,
    records: Vec<Option<Record>>,
    free_slots: Vec<u32>,
    slot_of: SlotIndex,
    cluster_of: Vec<u32>,
    /// Each slot's publication day, beside the records: blocking reads it for every member it
    /// walks past.
    published_day: Vec<i32>,
    /// Each slot's generation, bumped whenever the record it holds changes: a [`Prepared`]
    /// comparison is used only with the record it was made with.
    generation: Vec<u32>,
    clusters: Vec<Option<Cluster>>,
    free_clusters: Vec<u32>,
    /// Blocking key → the node of the newest slot holding it; `next` chains older ones' nodes
    /// (see [`Self::node`]).
    buckets: FxHashMap<u32, u32>,
    next: Vec<u32>,
    stride: usize,
    candidate_log: Option<CandidateLog>,
    /// Offers of other jobs than the one upserted that a repair placed again since the last
    /// [`Deduplicator::take_replaced`]: their old job may have split, their new one is not
    /// the upserted offer's. Whoever publishes the jobs must rewrite theirs too.
    replaced: Vec<Box<str>>,
}

/// The candidate pairs within groups of interest (the true jobs of an evaluation): logging every
/// pair would hold hundreds of millions of them at national scale.
#[derive(Debug, Default)]
struct CandidateLog {
    group_of_key: FxHashMap<Box<str>, u64>,
    group_of_slot: Vec<u64>,
    pairs: FxHashSet<(u32, u32)>,
}

impl Deduplicator {
    /// An empty deduplicator.
    pub fn new(config: DedupConfig) -> Result<Self, DedupError> {
        config.validate()?;
        let stride = config.bands + config.lead_bands + 1;
        Ok(Self {
            extractor: Extractor::new(config),
            records: Vec::new(),
            free_slots: Vec::new(),
            slot_of: SlotIndex::default(),
            cluster_of: Vec::new(),
            published_day: Vec::new(),
            generation: Vec::new(),
            clusters: Vec::new(),
            free_clusters: Vec::new(),
            buckets: FxHashMap::default(),
            next: Vec::new(),
            stride,
            candidate_log: None,
            replaced: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DedupConfig {
        &self.extractor.config
    }

    /// From now on, keeps the candidate pairs whose two offers share a group (for evaluating the
    /// blocking stage: the group is the true job). Offers missing from `group_of_key` are not logged.
    pub fn log_candidates_within(&mut self, group_of_key: FxHashMap<Box<str>, u64>) {
        self.candidate_log = Some(CandidateLog {
            group_of_key,
            ..CandidateLog::default()
        });
    }

    /// Whether the blocking stage proposed the pair (of one group, see [`Self::log_candidates_within`]).
    pub fn was_candidate(&self, a: &str, b: &str) -> bool {
        let (Some(x), Some(y)) = (
            self.slot_of.get(&self.records, a),
            self.slot_of.get(&self.records, b),
        ) else {
            return false;
        };
        self.candidate_log
            .as_ref()
            .is_some_and(|log| log.pairs.contains(&(x.min(y), x.max(y))))
    }

    /// Learns the corpus' frequent text (boilerplate sentences, template shingles) from an offer.
    /// Call it for every offer version before (batch) or just before (incremental) its upsert.
    pub fn observe(&mut self, offer: &Offer) {
        let keys = self.extractor.frequency_keys(offer);
        self.extractor.count(&keys);
    }

    /// [`Self::observe`] in two halves, so that batches can compute the keys in parallel.
    pub fn frequency_keys(&self, offer: &Offer) -> Vec<u64> {
        self.extractor.frequency_keys(offer)
    }

    /// Counts keys from [`Self::frequency_keys`].
    pub fn observe_keys(&mut self, keys: &[u64]) {
        self.extractor.count(keys);
    }

    /// The features of an offer as this deduplicator sees it now (pure: nothing is stored).
    pub fn extract(&self, offer: &Offer, trust_rank: i32) -> Record {
        self.extractor.extract(offer, trust_rank)
    }

    /// Compares two offers rule by rule, as the clustering would.
    pub fn compare(&self, a: &Record, b: &Record) -> Comparison {
        compare(a, b, &self.extractor.config, true)
    }

    /// Adds or updates an offer published by a source of `trust_rank`.
    pub fn upsert(&mut self, offer: &Offer, trust_rank: i32) -> Placement {
        let record = self.extractor.extract(offer, trust_rank);
        self.upsert_record(record)
    }

    /// Adds or updates an offer whose features were extracted already (batch, in parallel).
    pub fn upsert_record(&mut self, record: Record) -> Placement {
        self.upsert_prepared(record, &Prepared::default())
    }

    /// Compares a record with the offers held now, as placing it would (pure: a batch's
    /// records are prepared on every core, then placed one by one with
    /// [`Self::upsert_prepared`]).
    pub fn prepare(&self, record: &Record) -> Prepared {
        let config = &self.extractor.config;
        let candidates = self.candidates(record);
        let mut prepared = Prepared {
            checked: Vec::with_capacity(candidates.len()),
            matched: Vec::new(),
        };
        for candidate in candidates {
            prepared
                .checked
                .push((candidate, self.generation[candidate as usize]));
            let comparison = compare(record, self.record_at(candidate), config, false);
            if comparison.same_job() {
                let reason = LinkReason::of(&comparison);
                prepared
                    .matched
                    .push((candidate, comparison.score(), reason));
            }
        }
        prepared
    }

    /// [`Self::upsert_record`] with the comparisons of [`Self::prepare`]: those made with an
    /// offer that has changed since are made again, so the clusters are the same as without
    /// them, whatever was placed or removed in between.
    pub fn upsert_prepared(&mut self, record: Record, prepared: &Prepared) -> Placement {
        if let Some(slot) = self.slot_of.get(&self.records, &record.key) {
            let old = self.records[slot as usize].as_ref().expect("live slot");
            if old.content_hash == record.content_hash {
                // Same content; its signature may differ if the corpus' frequent shingles moved:
                // it stays in the buckets it is linked in.
                let mut record = record;
                record.blocking_keys = old.blocking_keys.clone();
                self.records[slot as usize] = Some(record);
                self.generation[slot as usize] = self.generation[slot as usize].wrapping_add(1);
                let cluster = self.cluster_of[slot as usize];
                self.elect(cluster);
                return self.placement(slot, false);
            }
            self.remove_slot(slot);
        }
        let slot = self.insert_and_repair(record, prepared, true);
        self.placement(slot, true)
    }

    /// Removes an offer (withdrawn): its cluster may split and elect another canonical member.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.slot_of.get(&self.records, key) {
            Some(slot) => {
                self.remove_slot(slot);
                true
            }
            None => false,
        }
    }

    /// An estimate of the heap this deduplicator holds, by part (for logs and sizing).
    pub fn heap_usage(&self) -> HeapUsage {
        use std::mem::size_of;
        // hashbrown: one control byte per bucket beside each entry.
        let map = |capacity: usize, entry: usize| capacity * (entry + 1);
        // One pass over the records for their three parts.
        let (mut names, mut texts, mut keys) = (0, 0, 0);
        for r in self.records.iter().flatten() {
            let optional = |s: &Option<Box<str>>| s.as_deref().map_or(0, str::len);
            names += r.key.len()
                + r.source.len()
                + r.title.len()
                + optional(&r.offer_url)
                + optional(&r.employer);
            texts += (r.shingles.len() + r.edges.len() + r.detail_words.len()) * size_of::<u32>();
            keys += r.blocking_keys.len() * size_of::<u32>();
        }
        let records = names
            + self.records.capacity() * size_of::<Option<Record>>()
            + map(self.slot_of.capacity(), size_of::<u32>());
        let blocking = keys
            + map(self.buckets.capacity(), size_of::<(u32, u32)>())
            + self.next.capacity() * size_of::<u32>();
        let clusters = self
            .clusters
            .iter()
            .flatten()
            .map(|c| {
                c.members.capacity() * size_of::<u32>() + c.links.capacity() * size_of::<Link>()
            })
            .sum::<usize>()
            + self.clusters.capacity() * size_of::<Option<Cluster>>()
            + self.cluster_of.capacity() * size_of::<u32>()
            + self.published_day.capacity() * size_of::<i32>()
            + self.generation.capacity() * size_of::<u32>();
        HeapUsage {
            records,
            texts,
            blocking,
            clusters,
            sketch: self.extractor.sketch_bytes(),
        }
    }

    /// Offers held.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether no offer is held.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// The offers placed again by a repair since the last call (see `replaced`): besides the
    /// offers upserted or removed, the only ones whose job changed.
    pub fn take_replaced(&mut self) -> Vec<Box<str>> {
        std::mem::take(&mut self.replaced)
    }

    /// Clusters held.
    pub fn cluster_count(&self) -> usize {
        self.clusters.len() - self.free_clusters.len()
    }

    /// The record of an offer.
    pub fn record(&self, key: &str) -> Option<&Record> {
        let slot = self.slot_of.get(&self.records, key)?;
        self.records[slot as usize].as_ref()
    }

    /// The cluster of an offer.
    pub fn cluster_of(&self, key: &str) -> Option<ClusterView<'_>> {
        let slot = self.slot_of.get(&self.records, key)?;
        Some(self.view(self.cluster_of[slot as usize]))
    }

    /// The id of an offer's cluster.
    pub fn cluster_id(&self, key: &str) -> Option<u32> {
        let slot = self.slot_of.get(&self.records, key)?;
        Some(self.cluster_of[slot as usize])
    }

    /// Every cluster.
    pub fn clusters(&self) -> impl Iterator<Item = ClusterView<'_>> {
        (0..self.clusters.len() as u32)
            .filter(|&id| self.clusters[id as usize].is_some())
            .map(|id| self.view(id))
    }

    fn view(&self, id: u32) -> ClusterView<'_> {
        let cluster = self.clusters[id as usize].as_ref().expect("live cluster");
        let record = |slot: u32| self.records[slot as usize].as_ref().expect("live slot");
        ClusterView {
            id,
            canonical: record(cluster.canonical),
            members: cluster.members.iter().map(|&s| record(s)).collect(),
            links: cluster
                .links
                .iter()
                .map(|l| (&*record(l.a).key, &*record(l.b).key, l.reason))
                .collect(),
        }
    }

    fn placement(&self, slot: u32, moved: bool) -> Placement {
        let cluster = self.cluster_of[slot as usize];
        Placement {
            cluster,
            members: self.clusters[cluster as usize]
                .as_ref()
                .map_or(0, |c| c.members.len()),
            moved,
        }
    }

    fn record_at(&self, slot: u32) -> &Record {
        self.records[slot as usize].as_ref().expect("live slot")
    }

    /// Places a new record, with the comparisons `prepared` for it (if any). With `repair`,
    /// members of other clusters that the new record matched but could not join are placed
    /// again: they may be ambiguous now (a copy with no contract stated matching both the
    /// permanent post and its fixed-term replacement).
    fn insert_and_repair(&mut self, record: Record, prepared: &Prepared, repair: bool) -> u32 {
        let candidates = self.candidates(&record);
        let published_day = record.published_day;
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.records[slot as usize] = Some(record);
                self.published_day[slot as usize] = published_day;
                self.generation[slot as usize] = self.generation[slot as usize].wrapping_add(1);
                slot
            }
            None => {
                self.records.push(Some(record));
                self.cluster_of.push(NONE);
                self.published_day.push(published_day);
                self.generation.push(0);
                self.next.resize(self.next.len() + self.stride, NONE);
                (self.records.len() - 1) as u32
            }
        };
        self.slot_of.insert(&self.records, slot);
        self.link_buckets(slot);
        self.log_candidate_pairs(slot, &candidates);

        let by_cluster = self.matches_by_cluster(slot, &candidates, prepared);
        // A cluster is joined only if none of its members vetoes the new offer; several are
        // merged only if no member of one vetoes a member of another. A tie between clusters
        // that cannot merge is ambiguous: the offer joins neither.
        let (joinable, refused): (Vec<_>, Vec<_>) = by_cluster
            .into_iter()
            .partition(|(id, _, _)| self.compatible(&[slot], *id));
        let mut joinable = joinable;
        joinable.sort_by(|x, y| {
            y.1.partial_cmp(&x.1)
                .unwrap_or(Ordering::Equal)
                .then(x.0.cmp(&y.0))
        });
        let mut chosen: Vec<(u32, Vec<(u32, LinkReason)>)> = Vec::new();
        let mut chosen_members: Vec<u32> = vec![slot];
        let mut passed_over: Vec<u32> = Vec::new();
        let best_score = joinable.first().map_or(0.0, |j| j.1);
        let mut ambiguous = false;
        let several = joinable.len() > 1;
        for (id, score, links) in joinable {
            let members = &self.clusters[id as usize].as_ref().expect("live").members;
            // A small cluster that also matches a cluster the others cannot sit with is an
            // ambiguous copy: it is not pulled in.
            let pulled_in_wrongly = several
                && members.len() <= SMALL_CLUSTER
                && self.matches_incompatible_cluster(members, &chosen_members, &candidates);
            if (chosen.is_empty() || self.compatible(&chosen_members, id)) && !pulled_in_wrongly {
                chosen_members.extend(members);
                chosen.push((id, links));
            } else {
                ambiguous |= !pulled_in_wrongly && best_score - score < 1e-9;
                passed_over.extend(links.iter().map(|(m, _)| *m));
            }
        }
        if ambiguous {
            passed_over.extend(
                chosen
                    .drain(..)
                    .flat_map(|(_, links)| links.into_iter().map(|(m, _)| m)),
            );
        }
        passed_over.extend(
            refused
                .into_iter()
                .flat_map(|(_, _, links)| links.into_iter().map(|(m, _)| m)),
        );

        match chosen.split_first() {
            None => {
                let id = self.new_cluster(Cluster {
                    members: vec![slot],
                    links: Vec::new(),
                    canonical: slot,
                });
                self.cluster_of[slot as usize] = id;
            }
            Some(((target, first_links), others)) => {
                let target = *target;
                let mut new_links: Vec<Link> = first_links
                    .iter()
                    .map(|&(b, reason)| Link { a: slot, b, reason })
                    .collect();
                for (id, links) in others {
                    let absorbed = self.clusters[*id as usize].take().expect("live");
                    self.free_clusters.push(*id);
                    for &member in &absorbed.members {
                        self.cluster_of[member as usize] = target;
                    }
                    let cluster = self.clusters[target as usize].as_mut().expect("live");
                    cluster.members.extend(absorbed.members);
                    cluster.links.extend(absorbed.links);
                    new_links.extend(links.iter().map(|&(b, reason)| Link { a: slot, b, reason }));
                }
                let cluster = self.clusters[target as usize].as_mut().expect("live");
                cluster.members.push(slot);
                cluster.links.extend(new_links);
                self.cluster_of[slot as usize] = target;
                self.elect(target);
            }
        }

        if repair {
            // A member that matched the new offer and could sit in its cluster is ambiguous
            // between two clusters now: place it again.
            passed_over.sort_unstable();
            passed_over.dedup();
            for member in passed_over {
                let own = self.cluster_of[slot as usize];
                if self.records[member as usize].is_some()
                    && self.cluster_of[member as usize] != own
                    && self.compatible(&[member], own)
                {
                    let record = self.records[member as usize].clone().expect("live slot");
                    self.replaced.push(record.key.clone());
                    self.remove_slot(member);
                    self.insert_and_repair(record, &Prepared::default(), false);
                }
            }
        }
        slot
    }

    /// The candidates that are the same job as `slot`, grouped by cluster with the best score.
    fn matches_by_cluster(
        &self,
        slot: u32,
        candidates: &[u32],
        prepared: &Prepared,
    ) -> Vec<ClusterMatch> {
        let config = &self.extractor.config;
        let new = self.record_at(slot);
        let mut by_cluster: Vec<ClusterMatch> = Vec::new();
        for &candidate in candidates {
            let known = prepared.lookup(candidate, self.generation[candidate as usize]);
            let matched = known.unwrap_or_else(|| {
                let comparison = compare(new, self.record_at(candidate), config, false);
                comparison
                    .same_job()
                    .then(|| (comparison.score(), LinkReason::of(&comparison)))
            });
            let Some((score, reason)) = matched else {
                continue;
            };
            let cluster = self.cluster_of[candidate as usize];
            let link = (candidate, reason);
            match by_cluster.iter_mut().find(|(id, _, _)| *id == cluster) {
                Some((_, best, links)) => {
                    *best = best.max(score);
                    links.push(link);
                }
                None => by_cluster.push((cluster, score, vec![link])),
            }
        }
        by_cluster
    }

    fn log_candidate_pairs(&mut self, slot: u32, candidates: &[u32]) {
        let Some(log) = self.candidate_log.as_mut() else {
            return;
        };
        let key = &self.records[slot as usize].as_ref().expect("live slot").key;
        let group = log.group_of_key.get(key).copied().unwrap_or(u64::MAX);
        if log.group_of_slot.len() <= slot as usize {
            log.group_of_slot.resize(slot as usize + 1, u64::MAX);
        }
        log.group_of_slot[slot as usize] = group;
        if group != u64::MAX {
            for &c in candidates {
                if log.group_of_slot.get(c as usize) == Some(&group) {
                    log.pairs.insert((c.min(slot), c.max(slot)));
                }
            }
        }
    }

    /// Whether one of `members` is the same job as an offer (among its candidates and the new
    /// offer's) of a cluster that vetoes one of `joining`.
    fn matches_incompatible_cluster(
        &self,
        members: &[u32],
        joining: &[u32],
        extra: &[u32],
    ) -> bool {
        let config = &self.extractor.config;
        members.iter().any(|&member| {
            let record = self.record_at(member);
            let mut around = self.candidates(record);
            around.extend(extra);
            around.iter().any(|&other| {
                let cluster = self.cluster_of[other as usize];
                other != member
                    && cluster != NONE
                    && cluster != self.cluster_of[member as usize]
                    && !joining
                        .iter()
                        .any(|&j| self.cluster_of[j as usize] == cluster || j == other)
                    && compare(record, self.record_at(other), config, false).same_job()
                    && !self.compatible(joining, cluster)
            })
        })
    }

    fn compatible(&self, members: &[u32], cluster: u32) -> bool {
        let config = &self.extractor.config;
        let cluster = self.clusters[cluster as usize].as_ref().expect("live");
        members.iter().all(|&a| {
            cluster
                .members
                .iter()
                .all(|&b| structural_veto(self.record_at(a), self.record_at(b), config).is_none())
        })
    }

    fn new_cluster(&mut self, cluster: Cluster) -> u32 {
        match self.free_clusters.pop() {
            Some(id) => {
                self.clusters[id as usize] = Some(cluster);
                id
            }
            None => {
                self.clusters.push(Some(cluster));
                (self.clusters.len() - 1) as u32
            }
        }
    }

    /// The members of the record's buckets that may be its copies: up to
    /// `max_candidates_per_bucket` of each bucket, newest first, among those published within
    /// `window_days` of it (the dates rule parts the others). A bucket is linked in the order
    /// offers were placed, which is not their publication order when a store is read source by
    /// source; a bounded walk past the others keeps the cap for the ones that can match.
    fn candidates(&self, record: &Record) -> Vec<u32> {
        let config = &self.extractor.config;
        let cap = config.max_candidates_per_bucket;
        let mut found = Vec::new();
        for &key in record.blocking_keys.iter() {
            let mut node = self.buckets.get(&key).copied().unwrap_or(NONE);
            let (mut taken, mut walked) = (0, 0);
            while node != NONE && taken < cap && walked < cap * 2 {
                let slot = self.slot_of_node(node);
                let published_day = self.published_day[slot as usize];
                if (published_day - record.published_day).abs() <= config.window_days {
                    found.push(slot);
                    taken += 1;
                }
                walked += 1;
                node = self.next[node as usize];
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// A bucket's chain links nodes, a node per blocking key of each slot (`slot * stride + k`
    /// for its `k`th key): a walk steps from node to node without reading the records.
    fn node(&self, slot: u32, k: usize) -> u32 {
        u32::try_from(slot as usize * self.stride + k).expect("fewer than 4 billion nodes")
    }

    fn slot_of_node(&self, node: u32) -> u32 {
        node / self.stride as u32
    }

    fn link_buckets(&mut self, slot: u32) {
        let keys = self.record_at(slot).blocking_keys.clone();
        for (k, &key) in keys.iter().enumerate().take(self.stride) {
            let node = self.node(slot, k);
            let previous = self.buckets.insert(key, node).unwrap_or(NONE);
            self.next[node as usize] = previous;
        }
    }

    fn unlink_buckets(&mut self, slot: u32) {
        let keys = self.record_at(slot).blocking_keys.clone();
        for (k, &key) in keys.iter().enumerate().take(self.stride) {
            let node = self.node(slot, k);
            let after = self.next[node as usize];
            let head = self.buckets[&key];
            if head == node {
                if after == NONE {
                    self.buckets.remove(&key);
                } else {
                    self.buckets.insert(key, after);
                }
                continue;
            }
            let mut current = head;
            while self.next[current as usize] != node {
                current = self.next[current as usize];
                debug_assert_ne!(current, NONE, "slot missing from its bucket");
            }
            self.next[current as usize] = after;
        }
    }

    fn remove_slot(&mut self, slot: u32) {
        self.unlink_buckets(slot);
        let id = self.cluster_of[slot as usize];
        let mut cluster = self.clusters[id as usize].take().expect("live");
        cluster.members.retain(|&m| m != slot);
        cluster.links.retain(|l| l.a != slot && l.b != slot);
        let record = self.records[slot as usize].take().expect("live slot");
        self.slot_of.remove(&record.key, slot);
        self.cluster_of[slot as usize] = NONE;
        self.free_slots.push(slot);
        if cluster.members.is_empty() {
            self.free_clusters.push(id);
            return;
        }
        // The removed offer may have been the only bridge: split into connected components.
        let components = components(&cluster);
        let mut parts = components.into_iter();
        let first = parts.next().expect("one component");
        for part in parts {
            let part_cluster = Cluster {
                links: cluster
                    .links
                    .iter()
                    .filter(|l| part.contains(&l.a))
                    .copied()
                    .collect(),
                canonical: part[0],
                members: part,
            };
            let new_id = self.new_cluster(part_cluster);
            let members = self.clusters[new_id as usize]
                .as_ref()
                .expect("live")
                .members
                .clone();
            for member in members {
                self.cluster_of[member as usize] = new_id;
            }
            self.elect(new_id);
        }
        cluster.links.retain(|l| first.contains(&l.a));
        cluster.members = first;
        self.clusters[id as usize] = Some(cluster);
        self.elect(id);
    }

    fn elect(&mut self, id: u32) {
        let policy = &self.extractor.config.canonical.order;
        let cluster = self.clusters[id as usize].as_ref().expect("live");
        let best = cluster
            .members
            .iter()
            .copied()
            .max_by(|&x, &y| {
                let (a, b) = (self.record_at(x), self.record_at(y));
                policy
                    .iter()
                    .map(|criterion| match criterion {
                        CanonicalCriterion::TrustRank => a.trust_rank.cmp(&b.trust_rank),
                        CanonicalCriterion::Completeness => a.completeness.cmp(&b.completeness),
                        CanonicalCriterion::Age => b.first_seen.cmp(&a.first_seen),
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or_else(|| b.key.cmp(&a.key))
            })
            .expect("non-empty cluster");
        self.clusters[id as usize].as_mut().expect("live").canonical = best;
    }
}

/// The connected components of a cluster's members through its links, each sorted.
fn components(cluster: &Cluster) -> Vec<Vec<u32>> {
    let index: FxHashMap<u32, usize> = cluster
        .members
        .iter()
        .enumerate()
        .map(|(i, &m)| (m, i))
        .collect();
    let mut parent: Vec<usize> = (0..cluster.members.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for link in &cluster.links {
        let (a, b) = (
            root(&mut parent, index[&link.a]),
            root(&mut parent, index[&link.b]),
        );
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: FxHashMap<usize, Vec<u32>> = FxHashMap::default();
    for (i, &member) in cluster.members.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(member);
    }
    let mut parts: Vec<Vec<u32>> = groups.into_values().collect();
    for part in &mut parts {
        part.sort_unstable();
    }
    parts.sort_unstable_by_key(|p| p[0]);
    parts
}
