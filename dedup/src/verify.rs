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
    /// 6c. No place where each side states a detail (a name, a site) the other does not.
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
    /// Detail words (in their context) only in the first, only in the second offer.
    pub unique_details: (u32, u32),
    /// Places (the same two detail words before) where each side has a detail word of its own.
    pub detail_conflicts: u32,
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
                    "{} detail words only in the first, {} only in the second, {} at the same place",
                    self.unique_details.0, self.unique_details.1, self.detail_conflicts
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
    if !config.structural_rules {
        // The text-only baseline of `relais dedup eval --text-only`: titles and descriptions decide.
        let mut comparison = structure(a, b, config, full);
        comparison.dates = Outcome::Same;
        return text_rules(comparison, a, b, config, false);
    }
    let comparison = structure(a, b, config, full);
    if !full && comparison.structural_veto().is_some() {
        return comparison;
    }
    let weak = comparison.employer != Outcome::Same || comparison.place != Outcome::Same;
    text_rules(comparison, a, b, config, weak)
}

/// The structural rule that says two offers are two jobs, if any: [`compare`]'s
/// `structural_veto` without its text rules, which a veto check does not read (the titles'
/// similarity and the shingles' intersection were most of a cluster's compatibility check).
pub fn structural_veto(a: &Record, b: &Record, config: &DedupConfig) -> Option<Rule> {
    if !config.structural_rules {
        return None;
    }
    structure(a, b, config, false).structural_veto()
}

/// The structural rules of [`compare`] (dates, place, contract, working time, grade, employer),
/// the cheap ones first; without `full` the first veto ends them. With the structural rules
/// off, only the dates (then overridden) are set.
fn structure(a: &Record, b: &Record, config: &DedupConfig, full: bool) -> Comparison {
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
        detail_conflicts: 0,
    };
    let stop = |c: &Comparison| !full && c.structural_veto().is_some();
    if !config.structural_rules || stop(&comparison) {
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
    comparison
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
        let (frame_a, frame_b) = frames(a, b);
        let (na, nb) = (na - frame_a, nb - frame_b);
        comparison.jaccard = common as f64 / (na + nb - common).max(1) as f64;
        comparison.containment = common as f64 / na.min(nb).max(1) as f64;
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
    } else if shorter_words < 10
        && !(a.word_count <= b.word_count && a.truncated
            || b.word_count <= a.word_count && b.truncated)
    {
        // A short complete text (a template teaser shared by an employer's ads) must be the
        // other's whole text; a short teaser cut from a longer ad may be contained in it.
        comparison.jaccard >= config.text_jaccard
    } else {
        comparison.jaccard >= config.text_jaccard
            || comparison.containment >= comparison.containment_needed
    });

    let (only_a, only_b, conflicts) = unique_details(a, b);
    comparison.unique_details = (only_a, only_b);
    comparison.detail_conflicts = conflicts;
    comparison.details = if config.structural_rules {
        outcome(conflicts == 0)
    } else {
        Outcome::Unknown
    };
    comparison
}

/// The shingles of each side's frame: a run at its start (or end) that the other text lacks,
/// while the other's start (or end) is in this text: a board's header or reference line added
/// on one side. Texts that differ at both starts (or both ends) have no frame: they say
/// different things there.
fn frames(a: &Record, b: &Record) -> (usize, usize) {
    let (head_a, tail_a) = a.edges.split_at(usize::from(a.head_len));
    let (head_b, tail_b) = b.edges.split_at(usize::from(b.head_len));
    let run = |edge: &[u32], other: &Record| {
        edge.iter()
            .take_while(|s| other.shingles.binary_search(s).is_err())
            .count()
    };
    let (lead_a, lead_b) = (run(head_a, b), run(head_b, a));
    let (trail_a, trail_b) = (run(tail_a, b), run(tail_b, a));
    let frame = |own: usize, other: usize| if other == 0 { own } else { 0 };
    (
        frame(lead_a, lead_b) + frame(trail_a, trail_b),
        frame(lead_b, lead_a) + frame(trail_b, trail_a),
    )
}

fn employer(a: &Record, b: &Record, config: &DedupConfig) -> Outcome {
    if let (Some(x), Some(y)) = (a.siren, b.siren) {
        return outcome(x == y);
    }
    match (a.employer.as_deref(), b.employer.as_deref()) {
        _ if a.employer_key != 0 && a.employer_key == b.employer_key => Outcome::Same,
        (Some(x), Some(y)) if one_name_within_the_other(x, y) => Outcome::Same,
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

/// Words a company adds to its name on some boards (`Groupe X`, `X France`, `X - Agence de
/// Nantes`).
const BRAND_WORDS: &[&str] = &[
    "groupe", "group", "france", "agence", "services", "service", "holding",
];

/// Whether, brand words aside, every word of the shorter name is in the longer, the shorter
/// being two words or more (or both the same word): `services henry` is `groupe services henry`
/// and `services henry france`.
fn one_name_within_the_other(x: &str, y: &str) -> bool {
    let (x, y) = (name_words(x), name_words(y));
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    !short.is_empty()
        && short.iter().all(|w| long.contains(w))
        && (short.len() >= 2 || long.len() == 1)
}

/// A normalised name's words without brand words, and without an agency's place (`x agence
/// nanterre` is `x`); a name made of brand words only (`groupe services`) keeps them.
fn name_words(name: &str) -> Vec<&str> {
    let name = name.split(" agence ").next().unwrap_or(name);
    let kept: Vec<&str> = name
        .split(' ')
        .filter(|w| !BRAND_WORDS.contains(w))
        .collect();
    if kept.is_empty() {
        name.split(' ').collect()
    } else {
        kept
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

/// Detail pairs each side has and the other lacks, and the places (previous detail words)
/// where both sides have one of their own: a site, a grade or a sentence stated differently.
/// A shorter text's possibly cut last word is not counted. A side's own pairs elsewhere (a
/// board's header, the sentences a summary leaves out) are not conflicts.
fn unique_details(a: &Record, b: &Record) -> (u32, u32, u32) {
    // Only a notably shorter text can be a teaser cut mid-word.
    let shorter = |x: &Record, y: &Record| x.word_count * 10 < y.word_count * 9;
    let cut = |x: &Record, y: &Record| {
        x.last_word
            .filter(|w| shorter(x, y) && y.detail_words.binary_search(w).is_err())
    };
    let (cut_a, cut_b) = (cut(a, b), cut(b, a));
    let only = |x: &Record, y: &Record, cut: Option<u32>| -> Vec<u32> {
        x.detail_words
            .iter()
            .copied()
            .filter(|p| Some(*p) != cut && y.detail_words.binary_search(p).is_err())
            .collect()
    };
    let (only_a, only_b) = (only(a, b, cut_a), only(b, a, cut_b));
    let mut conflicts = 0;
    let (mut i, mut j) = (0, 0);
    while i < only_a.len() && j < only_b.len() {
        let (x, y) = (only_a[i] >> 16, only_b[j] >> 16);
        match x.cmp(&y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                conflicts += u32::from(x != 0);
                while i < only_a.len() && only_a[i] >> 16 == x {
                    i += 1;
                }
                while j < only_b.len() && only_b[j] >> 16 == x {
                    j += 1;
                }
            }
        }
    }
    (only_a.len() as u32, only_b.len() as u32, conflicts)
}
