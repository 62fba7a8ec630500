//! The rules of `docs/dedup.md`: is a candidate pair the same job?

use std::fmt;

use relais_model::{ContractKind, WorkingTimeKind};
use serde::Serialize;

use crate::config::DedupConfig;
use crate::features::{Code, Record};
use crate::grade::{GradeSet, grade_names};

/// A rule's outcome for a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stated on both sides and compatible.
    Same,
    /// Not stated on one side (never vetoes on its own).
    Unknown,
    /// Incompatible: the pair is two jobs.
    Different,
}

/// The rules, in the order of the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 1. Same employer.
    Employer,
    /// 2. Same workplace commune.
    Place,
    /// 3. Compatible contract family and duration.
    Contract,
    /// 4. Compatible working time.
    WorkingTime,
    /// 5. Compatible grade.
    Grade,
    /// 6a. Same title.
    Title,
    /// 6b. Same description.
    Text,
    /// 6c. No detail (a name, a place) that each side states and the other does not.
    Details,
    /// 7. Publication windows within the configured days.
    Dates,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Employer => "employer",
            Rule::Place => "place",
            Rule::Contract => "contract",
            Rule::WorkingTime => "working_time",
            Rule::Grade => "grade",
            Rule::Title => "title",
            Rule::Text => "text",
            Rule::Details => "details",
            Rule::Dates => "dates",
        })
    }
}

/// The comparison of two offers, rule by rule.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Rule 1.
    pub employer: Outcome,
    /// Rule 2.
    pub place: Outcome,
    /// Rule 3.
    pub contract: Outcome,
    /// Rule 4.
    pub working_time: Outcome,
    /// Rule 5.
    pub grade: Outcome,
    /// Rule 7.
    pub dates: Outcome,
    /// Days between the publications.
    pub days_apart: i32,
    /// Whether the text rules were evaluated (a structural veto stops the comparison early).
    pub text_compared: bool,
    /// Rule 6a.
    pub title: Outcome,
    /// Similarity of the normalised titles.
    pub title_similarity: f64,
    /// Rule 6b.
    pub text: Outcome,
    /// Jaccard similarity of the descriptions' shingles.
    pub jaccard: f64,
    /// Containment of the shorter description's shingles in the longer's.
    pub containment: f64,
    /// The containment the text needed (higher when employer or commune is unknown).
    pub containment_needed: f64,
    /// Rule 6c.
    pub details: Outcome,
    /// Detail words only in the first, only in the second offer.
    pub unique_details: (u32, u32),
}

impl Comparison {
    /// The first structural rule that vetoes the pair (rules 1–5 and 7).
    pub fn structural_veto(&self) -> Option<Rule> {
        [
            (Rule::Employer, self.employer),
            (Rule::Place, self.place),
            (Rule::Contract, self.contract),
            (Rule::WorkingTime, self.working_time),
            (Rule::Grade, self.grade),
            (Rule::Dates, self.dates),
        ]
        .into_iter()
        .find(|(_, outcome)| *outcome == Outcome::Different)
        .map(|(rule, _)| rule)
    }

    /// The first rule that says the pair is two jobs, if any.
    pub fn failed_rule(&self) -> Option<Rule> {
        self.structural_veto().or_else(|| {
            [
                (Rule::Title, self.title),
                (Rule::Text, self.text),
                (Rule::Details, self.details),
            ]
            .into_iter()
            .find(|(_, outcome)| *outcome == Outcome::Different)
            .map(|(rule, _)| rule)
        })
    }

    /// Whether the pair is the same job.
    pub fn same_job(&self) -> bool {
        self.text_compared && self.failed_rule().is_none()
    }

    /// How strongly the pair matches (title similarity + text similarity), to prefer one cluster.
    pub fn score(&self) -> f64 {
        self.title_similarity + self.jaccard.max(self.containment)
    }

    /// A sentence per rule, for `relais dedup explain`.
    pub fn explain(&self, a: &Record, b: &Record) -> Vec<(Rule, Outcome, String)> {
        let name = |v: Option<&str>| v.unwrap_or("(not stated)").to_owned();
        let mut lines = vec![
            (
                Rule::Employer,
                self.employer,
                format!(
                    "{} / {}{}",
                    name(a.employer.as_deref()),
                    name(b.employer.as_deref()),
                    match (a.siren, b.siren) {
                        (Some(x), Some(y)) => format!(" (SIREN {x:09} / {y:09})"),
                        _ => String::new(),
                    }
                ),
            ),
            (
                Rule::Place,
                self.place,
                format!(
                    "commune {} / {}, département {} / {}",
                    code(a.commune),
                    code(b.commune),
                    code(a.departement),
                    code(b.departement)
                ),
            ),
            (
                Rule::Contract,
                self.contract,
                format!(
                    "{:?}{} / {:?}{}",
                    a.contract,
                    days(a.duration_days),
                    b.contract,
                    days(b.duration_days)
                ),
            ),
            (
                Rule::WorkingTime,
                self.working_time,
                format!(
                    "{:?}{} / {:?}{}",
                    a.working_time,
                    hours(a.weekly_hours),
                    b.working_time,
                    hours(b.weekly_hours)
                ),
            ),
            (
                Rule::Grade,
                self.grade,
                format!("{} / {}", grades(a.grades), grades(b.grades)),
            ),
            (
                Rule::Dates,
                self.dates,
                format!("published {} days apart", self.days_apart),
            ),
        ];
        if self.text_compared {
            lines.push((
                Rule::Title,
                self.title,
                format!(
                    "`{}` / `{}`: similarity {:.3}",
                    a.title, b.title, self.title_similarity
                ),
            ));
            lines.push((
                Rule::Text,
                self.text,
                format!(
                    "{} / {} words, Jaccard {:.3}, containment {:.3} (needed: Jaccard or containment {:.2})",
                    a.word_count, b.word_count, self.jaccard, self.containment, self.containment_needed
                ),
            ));
            lines.push((
                Rule::Details,
                self.details,
                format!(
                    "{} detail words only in the first, {} only in the second",
                    self.unique_details.0, self.unique_details.1
                ),
            ));
        }
        lines
    }
}

fn code(value: Option<Code>) -> String {
    value.map_or_else(|| "(not stated)".to_owned(), |c| c.to_string())
}

fn days(value: Option<f32>) -> String {
    value.map_or_else(String::new, |d| format!(" ({d:.0} days)"))
}

fn hours(value: Option<f32>) -> String {
    value.map_or_else(String::new, |h| format!(" ({h}h)"))
}

fn grades(set: GradeSet) -> String {
    let names = grade_names(set);
    if names.is_empty() {
        "(not stated)".into()
    } else {
        names.join(", ")
    }
}

fn outcome(same: bool) -> Outcome {
    if same {
        Outcome::Same
    } else {
        Outcome::Different
    }
}

/// Compares two offers' features; with `full`, every rule is evaluated even after a veto.
/// Without it, the cheap structural rules run first and the first veto ends the comparison.
pub fn compare(a: &Record, b: &Record, config: &DedupConfig, full: bool) -> Comparison {
    let days_apart = (a.published_day - b.published_day).abs();
    let mut comparison = Comparison {
        employer: Outcome::Unknown,
        place: Outcome::Unknown,
        contract: Outcome::Unknown,
        working_time: Outcome::Unknown,
        grade: Outcome::Unknown,
        dates: outcome(days_apart <= config.window_days),
        days_apart,
        text_compared: false,
        title: Outcome::Unknown,
        title_similarity: 0.0,
        text: Outcome::Unknown,
        jaccard: 0.0,
        containment: 0.0,
        containment_needed: config.text_containment,
        details: Outcome::Unknown,
        unique_details: (0, 0),
    };
    let stop = |c: &Comparison| !full && c.structural_veto().is_some();
    if !config.structural_rules {
        // The text-only baseline of `relais dedup eval --text-only`: titles and descriptions decide.
        comparison.dates = Outcome::Same;
        return text_rules(comparison, a, b, config, false);
    }
    if stop(&comparison) {
        return comparison;
    }
    comparison.place = place(a, b);
    comparison.contract = contract(a, b);
    comparison.working_time = working_time(a, b);
    comparison.grade = grade(a.grades, b.grades);
    if stop(&comparison) {
        return comparison;
    }
    comparison.employer = employer(a, b, config);
    if stop(&comparison) {
        return comparison;
    }
    let weak = comparison.employer != Outcome::Same || comparison.place != Outcome::Same;
    text_rules(comparison, a, b, config, weak)
}

/// Rules 6a–6c; `weak`: employer or commune not stated on both sides.
fn text_rules(
    mut comparison: Comparison,
    a: &Record,
    b: &Record,
    config: &DedupConfig,
    weak: bool,
) -> Comparison {
    comparison.text_compared = true;
    comparison.title_similarity = title_similarity(&a.title, &b.title);
    comparison.title =
        outcome(!a.title.is_empty() && comparison.title_similarity >= config.title_similarity);

    let common = intersection_size(&a.shingles, &b.shingles);
    let (na, nb) = (a.shingles.len(), b.shingles.len());
    if na > 0 && nb > 0 {
        comparison.jaccard = common as f64 / (na + nb - common) as f64;
        comparison.containment = common as f64 / na.min(nb) as f64;
    }
    comparison.containment_needed = if weak {
        config.weak_evidence_containment
    } else {
        config.text_containment
    };
    let shorter_words = a.word_count.min(b.word_count);
    if (na == 0 || nb == 0) && config.structural_rules {
        // Nothing to compare in a text (none, an empty wrapper, a word or two): the structured
        // fields decide, strictly: the same title, and employer, commune, contract and dates
        // stated on both sides and equal.
        let strict = comparison.title_similarity >= 1.0
            && [
                comparison.employer,
                comparison.place,
                comparison.contract,
                comparison.dates,
            ]
            .iter()
            .all(|outcome| *outcome == Outcome::Same)
            && comparison.working_time != Outcome::Different;
        comparison.text = if strict {
            Outcome::Unknown
        } else {
            Outcome::Different
        };
        comparison.details = Outcome::Unknown;
        return comparison;
    }
    comparison.text = outcome(if weak {
        comparison.jaccard.max(comparison.containment) >= comparison.containment_needed
    } else if shorter_words < 10 {
        comparison.jaccard >= config.text_jaccard
    } else {
        comparison.jaccard >= config.text_jaccard
            || comparison.containment >= comparison.containment_needed
    });

    let (only_a, only_b) = unique_details(a, b);
    comparison.unique_details = (only_a, only_b);
    comparison.details = if config.structural_rules {
        outcome(only_a == 0 || only_b == 0)
    } else {
        Outcome::Unknown
    };
    comparison
}

fn employer(a: &Record, b: &Record, config: &DedupConfig) -> Outcome {
    if let (Some(x), Some(y)) = (a.siren, b.siren) {
        return outcome(x == y);
    }
    match (a.employer.as_deref(), b.employer.as_deref()) {
        _ if a.employer_key != 0 && a.employer_key == b.employer_key => Outcome::Same,
        (Some(x), Some(y)) => {
            // Lengths this far apart cannot reach the similarity: skip the edit distance.
            let (short, long) = (x.len().min(y.len()) as f64, x.len().max(y.len()) as f64);
            outcome(
                short >= config.employer_similarity * long
                    && strsim::normalized_levenshtein(x, y) >= config.employer_similarity,
            )
        }
        _ => Outcome::Unknown,
    }
}

fn place(a: &Record, b: &Record) -> Outcome {
    if let (Some(x), Some(y)) = (a.commune, b.commune) {
        return outcome(x == y);
    }
    match (a.departement, b.departement) {
        (Some(x), Some(y)) if x != y => Outcome::Different,
        _ => Outcome::Unknown,
    }
}

fn contract(a: &Record, b: &Record) -> Outcome {
    if a.contract == ContractKind::Other || b.contract == ContractKind::Other {
        return Outcome::Unknown;
    }
    if a.contract != b.contract {
        return Outcome::Different;
    }
    match (a.duration_days, b.duration_days) {
        (Some(x), Some(y)) if x.max(y) > 2.0 * x.min(y) => Outcome::Different,
        _ => Outcome::Same,
    }
}

fn working_time(a: &Record, b: &Record) -> Outcome {
    use WorkingTimeKind::{FullTime, PartTime, Unknown};
    match (a.working_time, b.working_time) {
        (FullTime, PartTime) | (PartTime, FullTime) => return Outcome::Different,
        _ => {}
    }
    if let (Some(x), Some(y)) = (a.weekly_hours, b.weekly_hours) {
        return outcome((x - y).abs() <= 0.10 * x.max(y));
    }
    if a.working_time == Unknown || b.working_time == Unknown {
        Outcome::Unknown
    } else {
        Outcome::Same
    }
}

const CATEGORIES: GradeSet = 0b111;

fn grade(a: GradeSet, b: GradeSet) -> Outcome {
    let disjoint = |mask: GradeSet| {
        let (x, y) = (a & mask, b & mask);
        x != 0 && y != 0 && x & y == 0
    };
    if disjoint(CATEGORIES) || disjoint(!CATEGORIES) {
        Outcome::Different
    } else if a & b != 0 {
        Outcome::Same
    } else {
        Outcome::Unknown
    }
}

/// Normalised titles' similarity: 1 for the same words in any order, else normalised Levenshtein.
fn title_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let mut x: Vec<&str> = a.split(' ').collect();
    let mut y: Vec<&str> = b.split(' ').collect();
    x.sort_unstable();
    y.sort_unstable();
    if x == y {
        return 1.0;
    }
    strsim::normalized_levenshtein(a, b)
}

fn intersection_size(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

/// Detail words each side has and the other lacks, not counting a shorter text's possibly cut
/// last word.
fn unique_details(a: &Record, b: &Record) -> (u32, u32) {
    let common = intersection_size(&a.detail_words, &b.detail_words);
    let mut only_a = (a.detail_words.len() - common) as u32;
    let mut only_b = (b.detail_words.len() - common) as u32;
    let cut = |r: &Record, other: &Record| {
        r.last_word
            .is_some_and(|w| other.detail_words.binary_search(&w).is_err())
    };
    // Only a notably shorter text can be a teaser cut mid-word.
    let shorter = |x: &Record, y: &Record| x.word_count * 10 < y.word_count * 9;
    if shorter(a, b) && cut(a, b) {
        only_a -= 1;
    } else if shorter(b, a) && cut(b, a) {
        only_b -= 1;
    }
    (only_a, only_b)
}
