//! Quality of a clustering against ground truth: pairwise and B-cubed precision and recall,
//! false merges among lookalikes, error in the number of distinct jobs, blocking completeness.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

/// One labelled record: its predicted cluster, its true job, its family and lookalike group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// Predicted cluster.
    pub predicted: u64,
    /// True job.
    pub job: u64,
    /// Family (`copies`, `other_site`…; empty for an external set without families).
    pub family: String,
    /// Distinct jobs made to look alike share a group.
    pub lookalike_group: Option<u64>,
    /// [`ORIGINAL`] for a job's original ad, the operator that made a copy, or empty.
    pub operator: String,
}

/// The operator label of a job's original ad.
pub const ORIGINAL: &str = "original";

/// How many copies made by one operator landed in their original's cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorRecall {
    /// Copies made by the operator (of jobs with an original).
    pub copies: u64,
    /// Those in their original's predicted cluster.
    pub found: u64,
    /// `found / copies`.
    pub recall: f64,
    /// Copies of jobs with no lookalike (no other job they could as well be a copy of).
    pub unambiguous_copies: u64,
    /// Those in their original's predicted cluster.
    pub unambiguous_found: u64,
    /// `unambiguous_found / unambiguous_copies`.
    pub unambiguous_recall: f64,
}

/// The figures of `relais dedup eval`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Records evaluated.
    pub records: usize,
    /// Distinct true jobs.
    pub true_jobs: usize,
    /// Predicted clusters.
    pub predicted_clusters: usize,
    /// Pairs in the same predicted cluster that are the same job, over all predicted pairs.
    pub pairwise_precision: f64,
    /// Pairs of the same job that are in the same predicted cluster, over all true pairs.
    pub pairwise_recall: f64,
    /// Harmonic mean of the two.
    pub pairwise_f1: f64,
    /// Mean over records of the share of its predicted cluster that is its job.
    pub bcubed_precision: f64,
    /// Mean over records of the share of its job that is in its predicted cluster.
    pub bcubed_recall: f64,
    /// Harmonic mean of the two.
    pub bcubed_f1: f64,
    /// Pairs of distinct lookalike jobs put in one cluster, over all such pairs.
    pub lookalike_false_merge_rate: f64,
    /// Share of true pairs that the blocking stage proposed for verification.
    pub blocking_pair_completeness: f64,
    /// (predicted clusters − true jobs) / true jobs.
    pub distinct_jobs_error: f64,
    /// Same pairs.
    pub true_pairs: u64,
    /// Predicted pairs.
    pub predicted_pairs: u64,
    /// Lookalike pairs.
    pub lookalike_pairs: u64,
}

/// Overall scores and the same per family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Overall.
    #[serde(flatten)]
    pub overall: Scores,
    /// Per family (records of that family only).
    pub families: BTreeMap<String, Scores>,
    /// Per copy operator: the share of its copies found in their original's cluster.
    pub operators: BTreeMap<String, OperatorRecall>,
}

/// Per copy operator, the share of its copies in their original's predicted cluster.
pub fn operator_recall(records: &[Labelled]) -> BTreeMap<String, OperatorRecall> {
    let originals: FxHashMap<u64, u64> = records
        .iter()
        .filter(|r| r.operator == ORIGINAL)
        .map(|r| (r.job, r.predicted))
        .collect();
    let mut out: BTreeMap<String, OperatorRecall> = BTreeMap::new();
    for record in records {
        if record.operator.is_empty() || record.operator == ORIGINAL {
            continue;
        }
        let Some(&original) = originals.get(&record.job) else {
            continue;
        };
        let entry = out
            .entry(record.operator.clone())
            .or_insert(OperatorRecall {
                copies: 0,
                found: 0,
                recall: 0.0,
                unambiguous_copies: 0,
                unambiguous_found: 0,
                unambiguous_recall: 0.0,
            });
        let found = u64::from(record.predicted == original);
        entry.copies += 1;
        entry.found += found;
        if record.lookalike_group.is_none() {
            entry.unambiguous_copies += 1;
            entry.unambiguous_found += found;
        }
    }
    for entry in out.values_mut() {
        entry.recall = ratio(entry.found, entry.copies);
        entry.unambiguous_recall = ratio(entry.unambiguous_found, entry.unambiguous_copies);
    }
    out
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Scores of `records`; `was_candidate(i, j)` says whether blocking proposed records i and j.
pub fn score(records: &[Labelled], was_candidate: &dyn Fn(usize, usize) -> bool) -> Scores {
    let all: Vec<usize> = (0..records.len()).collect();
    score_subset(records, &all, was_candidate)
}

/// Scores overall and per family.
pub fn evaluate(records: &[Labelled], was_candidate: &dyn Fn(usize, usize) -> bool) -> Evaluation {
    let mut by_family: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        if !record.family.is_empty() {
            by_family.entry(record.family.clone()).or_default().push(i);
        }
    }
    Evaluation {
        overall: score(records, was_candidate),
        families: by_family
            .into_iter()
            .map(|(family, subset)| (family, score_subset(records, &subset, was_candidate)))
            .collect(),
        operators: operator_recall(records),
    }
}

fn score_subset(
    records: &[Labelled],
    subset: &[usize],
    was_candidate: &dyn Fn(usize, usize) -> bool,
) -> Scores {
    let mut predicted: FxHashMap<u64, u64> = FxHashMap::default();
    let mut jobs: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    let mut both: FxHashMap<(u64, u64), u64> = FxHashMap::default();
    for &i in subset {
        let r = &records[i];
        *predicted.entry(r.predicted).or_default() += 1;
        jobs.entry(r.job).or_default().push(i);
        *both.entry((r.predicted, r.job)).or_default() += 1;
    }
    let true_pairs: u64 = jobs.values().map(|m| pairs(m.len() as u64)).sum();
    let predicted_pairs: u64 = predicted.values().map(|&n| pairs(n)).sum();
    let same_pairs: u64 = both.values().map(|&n| pairs(n)).sum();

    let (mut bp, mut br) = (0.0, 0.0);
    for &i in subset {
        let r = &records[i];
        let common = both[&(r.predicted, r.job)] as f64;
        bp += common / predicted[&r.predicted] as f64;
        br += common / jobs[&r.job].len() as f64;
    }
    let n = subset.len().max(1) as f64;
    let (bp, br) = (bp / n, br / n);

    // Lookalikes: pairs of distinct jobs of one group; merged if in one predicted cluster.
    let mut lookalike_pairs = 0u64;
    let mut lookalike_merged = 0u64;
    let mut group_members: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    for &i in subset {
        if let Some(group) = records[i].lookalike_group {
            group_members.entry(group).or_default().push(i);
        }
    }
    for members in group_members.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if records[i].job != records[j].job {
                    lookalike_pairs += 1;
                    if records[i].predicted == records[j].predicted {
                        lookalike_merged += 1;
                    }
                }
            }
        }
    }

    let mut kept = 0u64;
    for members in jobs.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if was_candidate(i, j) {
                    kept += 1;
                }
            }
        }
    }

    let precision = ratio(same_pairs, predicted_pairs);
    let recall = ratio(same_pairs, true_pairs);
    Scores {
        records: subset.len(),
        true_jobs: jobs.len(),
        predicted_clusters: predicted.len(),
        pairwise_precision: precision,
        pairwise_recall: recall,
        pairwise_f1: f1(precision, recall),
        bcubed_precision: bp,
        bcubed_recall: br,
        bcubed_f1: f1(bp, br),
        lookalike_false_merge_rate: if lookalike_pairs == 0 {
            0.0
        } else {
            lookalike_merged as f64 / lookalike_pairs as f64
        },
        blocking_pair_completeness: ratio(kept, true_pairs),
        distinct_jobs_error: (predicted.len() as f64 - jobs.len() as f64)
            / jobs.len().max(1) as f64,
        true_pairs,
        predicted_pairs,
        lookalike_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(predicted: u64, job: u64, group: Option<u64>) -> Labelled {
        Labelled {
            predicted,
            job,
            family: "f".into(),
            lookalike_group: group,
            operator: String::new(),
        }
    }

    #[test]
    fn figures_of_a_small_known_case() {
        // Jobs: {0,1,2} {3} ; predicted: {0,1} {2,3}.
        let records = [
            labelled(10, 1, Some(7)),
            labelled(10, 1, Some(7)),
            labelled(20, 1, Some(7)),
            labelled(20, 2, Some(7)),
        ];
        let s = score(&records, &|i, j| (i, j) != (0, 2));
        assert_eq!((s.true_pairs, s.predicted_pairs), (3, 2));
        assert!((s.pairwise_precision - 0.5).abs() < 1e-9);
        assert!((s.pairwise_recall - 1.0 / 3.0).abs() < 1e-9);
        // B³ precision: (1 + 1 + 1/2 + 1/2) / 4; recall: (2/3 + 2/3 + 1/3 + 1) / 4.
        assert!((s.bcubed_precision - 0.75).abs() < 1e-9);
        assert!((s.bcubed_recall - (2.0 / 3.0 + 2.0 / 3.0 + 1.0 / 3.0 + 1.0) / 4.0).abs() < 1e-9);
        // Lookalike pairs: (0,3) (1,3) (2,3): one merged.
        assert_eq!(s.lookalike_pairs, 3);
        assert!((s.lookalike_false_merge_rate - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.blocking_pair_completeness - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.distinct_jobs_error, 0.0);
    }

    #[test]
    fn an_operator_s_recall_counts_its_copies_in_their_original_s_cluster() {
        let with = |predicted, job, operator: &str| Labelled {
            operator: operator.into(),
            ..labelled(predicted, job, None)
        };
        let records = [
            with(1, 1, ORIGINAL),
            with(1, 1, "flattened"),
            with(2, 1, "flattened"),
            with(1, 1, "framed"),
            with(3, 2, "framed"), // no original: not counted
            with(4, 3, ""),
        ];
        let recall = operator_recall(&records);
        assert_eq!(recall.len(), 2);
        assert_eq!(
            (recall["flattened"].copies, recall["flattened"].found),
            (2, 1)
        );
        assert!((recall["flattened"].recall - 0.5).abs() < 1e-9);
        assert_eq!((recall["framed"].copies, recall["framed"].found), (1, 1));
    }
}
