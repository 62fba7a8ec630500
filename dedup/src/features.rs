//! What deduplication keeps of an offer: its normalised fields, the shingles of its
//! description without boilerplate, and its blocking keys.

use chrono::{DateTime, Utc};
use relais_model::{ContractKind, DurationUnit, Offer, WorkingTimeKind};
use relais_territory::geography;

use crate::config::DedupConfig;
use crate::grade::{
    GradeSet, grades_in_description, trailing_grades_in_title, without_trailing_grades,
};
use crate::minhash::{MinHasher, band_keys};
use crate::normalise::{
    Description, Sentence, is_detail_word, is_gender_word, normalise_employer, normalise_title,
    split_description, words,
};
use crate::sketch::{FrequencySketch, mix, sequence_hash, word_hash};

const SENTENCE_SALT: u64 = 0x5e17_e4ce;
const SHINGLE_SALT: u64 = 0x5419_91e5;
const TEXT_BAND_SALT: u64 = 0x7e47;
const LEAD_BAND_SALT: u64 = 0x1ead;
const TITLE_KEY_SALT: u64 = 0x0007_171e;

/// Shingles kept at each end of a text (see [`Record::edges`]).
pub const EDGE_SHINGLES: usize = 12;

/// The features of one offer.
#[derive(Debug, Clone)]
pub struct Record {
    /// The offer's key (`source:id`).
    pub key: Box<str>,
    /// The offer's source.
    pub source: Box<str>,
    /// The source's trust rank (higher wins the canonical election).
    pub trust_rank: i32,
    /// The offer's page at its source, for "also published on".
    pub offer_url: Option<Box<str>>,
    /// The employer's normalised name (`None`: not named).
    pub employer: Option<Box<str>>,
    /// The employer's SIREN (first nine digits of the SIRET).
    pub siren: Option<u32>,
    /// A hash of the employer's normalised name (0: not named), compared before the name.
    pub employer_key: u64,
    /// The workplace commune (INSEE code).
    pub commune: Option<Code>,
    /// The workplace département.
    pub departement: Option<Code>,
    /// Contract family.
    pub contract: ContractKind,
    /// Contract duration in days, when stated.
    pub duration_days: Option<f32>,
    /// Full or part time.
    pub working_time: WorkingTimeKind,
    /// Weekly hours, when stated.
    pub weekly_hours: Option<f32>,
    /// Grades and categories stated in the title or the description.
    pub grades: GradeSet,
    /// The normalised title.
    pub title: Box<str>,
    /// The description's word 5-shingles (boilerplate removed), sorted.
    pub shingles: Box<[u32]>,
    /// Its first [`EDGE_SHINGLES`] shingles in text order, then its last ones from the end: a
    /// board's header or reference line, on one side only, is left out of the containment.
    pub edges: Box<[u32]>,
    /// How many of `edges` are the first ones.
    pub head_len: u8,
    /// The description's detail words (no numbers, units or stop words) in context: each with
    /// the two detail words before it in its sentence, 16 bits of each (`context << 16 | word`,
    /// see `detail_pair`), sorted. Two texts that say different things at the same place have
    /// pairs with the same context and different words.
    pub detail_words: Box<[u32]>,
    /// The last detail pair, whose word a teaser cut without a mark may have cut in half.
    pub last_word: Option<u32>,
    /// Words in the description (boilerplate removed).
    pub word_count: u32,
    /// The description was cut with a truncation mark (a teaser).
    pub truncated: bool,
    /// Publication day (days since 1970-01-01): the source's creation date, else first seen.
    pub published_day: i32,
    /// First seen by relais.
    pub first_seen: DateTime<Utc>,
    /// A completeness score for the canonical election.
    pub completeness: u32,
    /// The blocking keys (LSH bands of the text and of its lead, title and place), folded to
    /// 32 bits: the blocking part a third smaller at national scale, and a rare collision only
    /// proposes one more candidate, which verification rejects.
    pub blocking_keys: Box<[u32]>,
    /// A hash of everything above that decides sameness: an update that keeps it keeps the clusters.
    pub content_hash: u64,
}

/// A short code (INSEE commune, département) packed in an integer: compared in one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(u64);

impl Code {
    /// Packs up to eight ASCII bytes.
    pub fn new(code: &str) -> Self {
        let mut bytes = [0u8; 8];
        for (slot, b) in bytes.iter_mut().zip(code.bytes()) {
            *slot = b;
        }
        Self(u64::from_le_bytes(bytes))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.0.to_le_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(8);
        f.write_str(std::str::from_utf8(&bytes[..end]).unwrap_or("?"))
    }
}

/// What extraction needs: the configuration, the hash functions and the frequency sketch.
#[derive(Debug)]
pub struct Extractor {
    pub(crate) config: DedupConfig,
    text_hasher: MinHasher,
    lead_hasher: MinHasher,
    sketch: FrequencySketch,
}

/// A description folded and hashed once, reused by counting and extraction.
struct HashedDescription {
    description: Description,
    hashes: Vec<u64>,
}

impl HashedDescription {
    fn of(text: &str) -> Self {
        let description = split_description(text);
        let hashes = description.words().map(word_hash).collect();
        Self {
            description,
            hashes,
        }
    }

    fn sentence_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.description.sentences.iter().map(|s| {
            sequence_hash(
                &self.hashes[s.start as usize..s.end as usize],
                SENTENCE_SALT,
            )
        })
    }

    /// The shingles of `sentences` (of this description), in order.
    fn shingles<'a>(
        &'a self,
        sentences: &'a [Sentence],
        width: usize,
    ) -> impl Iterator<Item = u32> + 'a {
        sentences.iter().flat_map(move |s| {
            self.description
                .segments(s)
                .flat_map(move |(words, partial)| shingles_of(&self.hashes[words], width, partial))
        })
    }
}

/// The word `width`-shingles of one sentence or list item (one shorter shingle for a shorter
/// one, none for a shorter `partial` one: its full version has no such shingle). Shingles do not
/// cross sentences or items: a board's summary that keeps whole sentences, or a text without a
/// boilerplate sentence, has no shingle its original lacks.
fn shingles_of(hashes: &[u64], width: usize, partial: bool) -> impl Iterator<Item = u32> + '_ {
    // A partial sentence shorter than `width` is compared to nothing: its one shorter shingle
    // is no shingle of the longer sentence it was cut from.
    let count = if hashes.is_empty() || (partial && hashes.len() < width) {
        0
    } else {
        hashes.len() + 1 - width.min(hashes.len())
    };
    let width = width.min(hashes.len()).max(1);
    (0..count).map(move |i| (sequence_hash(&hashes[i..i + width], SHINGLE_SALT) >> 32) as u32)
}

/// A detail word in its context (the two detail words before it), 16 bits of each; the context
/// is 0 at a sentence's first two words, which no conflict is placed at: `Vous assurez…` and
/// `Vous formez…` start many sentences, not one sentence stated two ways.
fn detail_pair(context: (u64, u64), word: u64) -> u32 {
    let context = if context.0 == 0 || context.1 == 0 {
        0
    } else {
        (mix(context.0.rotate_left(17) ^ context.1) >> 48).max(1) as u32
    };
    context << 16 | (word >> 48) as u32
}

impl Extractor {
    /// An extractor with an empty frequency sketch.
    pub fn new(config: DedupConfig) -> Self {
        Self {
            text_hasher: MinHasher::new(config.bands * config.rows, 0x7e47_5eed),
            lead_hasher: MinHasher::new(config.lead_bands * config.lead_rows, 0x1ead_5eed),
            sketch: FrequencySketch::new(config.sketch_bits),
            config,
        }
    }

    /// The sketch keys of `offer`'s sentences and shingles (pure: several threads may compute
    /// them while one thread counts them with [`Self::count`]).
    pub fn frequency_keys(&self, offer: &Offer) -> Vec<u64> {
        let hashed = HashedDescription::of(&offer.description);
        let mut keys: Vec<u64> = hashed.sentence_keys().collect();
        keys.extend(
            hashed
                .shingles(&hashed.description.sentences, self.config.shingle_words)
                .map(|s| u64::from(s) ^ SHINGLE_SALT << 32),
        );
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Bytes held by the frequency sketch.
    pub(crate) fn sketch_bytes(&self) -> usize {
        self.sketch.bytes()
    }

    /// Counts one offer's keys in the frequency sketch.
    pub fn count(&mut self, keys: &[u64]) {
        for &key in keys {
            self.sketch.add(key);
        }
    }

    fn is_boilerplate(&self, sentence_key: u64) -> bool {
        self.sketch.count(sentence_key) >= self.config.boilerplate_min_offers
    }

    fn is_frequent(&self, shingle: u32) -> bool {
        self.sketch.count(u64::from(shingle) ^ SHINGLE_SALT << 32)
            >= self.config.frequent_shingle_min_offers
    }

    /// The features of `offer`, published by a source of `trust_rank`.
    pub fn extract(&self, offer: &Offer, trust_rank: i32) -> Record {
        let hashed = HashedDescription::of(&offer.description);
        let kept = self.without_boilerplate(&hashed);

        let mut shingles: Vec<u32> = hashed.shingles(&kept, self.config.shingle_words).collect();
        let head = &shingles[..shingles.len().min(EDGE_SHINGLES)];
        let tail = shingles.iter().rev().take(EDGE_SHINGLES);
        let edges: Vec<u32> = head.iter().chain(tail).copied().collect();
        let head_len = head.len() as u8;
        let lead: Vec<u32> = shingles
            .iter()
            .copied()
            .filter(|&s| !self.is_frequent(s))
            .take(self.config.lead_shingles)
            .collect();
        shingles.sort_unstable();
        shingles.dedup();

        let title = place_free_title(offer);
        // The title repeated in the text (`En bref : Technicien voirie et réseaux`) is no detail:
        // the title rule compares it.
        let title_words: Vec<&str> = title.split(' ').collect();
        let mut detail_words: Vec<u32> = Vec::new();
        let mut last_word = None;
        let mut word_count = 0;
        for (words, _) in kept.iter().flat_map(|s| hashed.description.segments(s)) {
            word_count += words.len() as u32;
            // Each detail word with the two before it in its sentence or list item (0 at its
            // start).
            let mut context = (0, 0);
            for i in words {
                let word = hashed.description.word(i);
                if !is_detail_word(word) || title_words.contains(&word) {
                    continue;
                }
                let hash = hashed.hashes[i];
                let pair = detail_pair(context, hash);
                detail_words.push(pair);
                last_word = Some(pair);
                context = (context.1, hash);
            }
        }
        if hashed.description.truncated {
            last_word = None; // the cut word was already dropped
        }
        detail_words.sort_unstable();
        detail_words.dedup();

        let employer = offer.employer.name.as_deref().and_then(normalise_employer);
        // A title's first words name the role (`Technicien voirie`), later ones may state a grade.
        let description_words: Vec<&str> = hashed.description.words().collect();
        let grades = grades_in_description(&description_words, &offer.title)
            | trailing_grades_in_title(&offer.title);

        let commune = offer
            .location
            .commune
            .as_ref()
            .map(|c| Code::new(c.as_str()));
        let departement = offer
            .location
            .departement
            .as_ref()
            .map(|d| Code::new(d.as_str()));

        let mut blocking_keys = Vec::new();
        let text_signature = self
            .text_hasher
            .signature(shingles.iter().copied().filter(|&s| !self.is_frequent(s)));
        band_keys(
            &text_signature,
            self.config.rows,
            TEXT_BAND_SALT,
            &mut blocking_keys,
        );
        let lead_signature = self.lead_hasher.signature(lead.iter().copied());
        band_keys(
            &lead_signature,
            self.config.lead_rows,
            LEAD_BAND_SALT,
            &mut blocking_keys,
        );
        if !title.is_empty() {
            // The département, not the commune: a copy known only by its département still
            // meets the ad with the commune.
            let place = departement.map_or(0, |c| c.0);
            blocking_keys.push(sequence_hash(&[word_hash(&title), place], TITLE_KEY_SALT));
        }
        let mut blocking_keys: Vec<u32> = blocking_keys
            .into_iter()
            .map(|key| (key ^ (key >> 32)) as u32)
            .collect();
        blocking_keys.sort_unstable();
        blocking_keys.dedup();

        let published = offer.dates.created_at.unwrap_or(offer.first_seen_at);
        let siren = offer
            .employer
            .siret
            .as_ref()
            .and_then(|s| s.as_str().get(..9))
            .and_then(|s| s.parse().ok());
        let duration_days = offer.contract.duration.map(|d| {
            d.value
                * match d.unit {
                    DurationUnit::Day => 1.0,
                    DurationUnit::Week => 7.0,
                    DurationUnit::Month => 30.0,
                    DurationUnit::Year => 365.0,
                }
        });
        let completeness = word_count.min(400)
            + if offer.salary.is_some() { 60 } else { 0 }
            + if commune.is_some() { 60 } else { 0 }
            + if employer.is_some() { 40 } else { 0 }
            + if offer.apply_url.is_some() || offer.offer_url.is_some() {
                20
            } else {
                0
            };

        let mut record = Record {
            key: offer.key.to_string().into(),
            source: offer.key.source().as_str().into(),
            trust_rank,
            offer_url: offer.offer_url.as_deref().map(Into::into),
            employer_key: employer.as_deref().map_or(0, word_hash),
            employer: employer.map(Into::into),
            siren,
            commune,
            departement,
            contract: offer.contract.kind,
            duration_days,
            working_time: offer.working_time.kind,
            weekly_hours: offer.working_time.weekly_hours,
            grades,
            title: title.into(),
            shingles: shingles.into(),
            edges: edges.into(),
            head_len,
            detail_words: detail_words.into(),
            last_word,
            word_count,
            truncated: hashed.description.truncated,
            published_day: published.timestamp().div_euclid(86_400) as i32,
            first_seen: offer.first_seen_at,
            completeness,
            blocking_keys: blocking_keys.into(),
            content_hash: 0,
        };
        record.content_hash = content_hash(&record);
        record
    }

    /// The description's sentences but its boilerplate: those found in at least
    /// `boilerplate_min_offers` offers, and a teaser's cut sentence whose every shingle is
    /// frequent (the start of a boilerplate sentence). A text that is all boilerplate keeps it
    /// all (a pure template is all there is to compare), unless it is a teaser: then it has
    /// nothing of its own, and the structured fields decide.
    fn without_boilerplate(&self, hashed: &HashedDescription) -> Vec<Sentence> {
        let width = self.config.shingle_words;
        let kept: Vec<Sentence> = hashed
            .description
            .sentences
            .iter()
            .zip(hashed.sentence_keys())
            .filter(|(sentence, key)| {
                !self.is_boilerplate(*key)
                    && (!sentence.partial
                        || !hashed
                            .shingles(std::slice::from_ref(sentence), width)
                            .all(|s| self.is_frequent(s)))
            })
            .map(|(sentence, _)| *sentence)
            .collect();
        if kept.is_empty() && !hashed.description.truncated {
            return hashed.description.sentences.clone();
        }
        kept
    }
}

/// The normalised title without the workplace's name: the words of the location's label and of
/// the resolved commune's name, and trailing words naming a commune of the offer's département
/// (`Vendeur - Marseille` on an offer located only in `13 - Bouches-du-Rhône`).
fn place_free_title(offer: &Offer) -> String {
    let geography = geography();
    let mut place_words = offer
        .location
        .label
        .as_deref()
        .map(words)
        .unwrap_or_default();
    if let Some(id) = offer
        .location
        .commune
        .as_ref()
        .and_then(|code| geography.current_commune(code.as_str()))
    {
        place_words.extend(words(geography.commune(id).name));
    }
    let departement = offer.location.departement.as_ref().map(|d| d.as_str());
    // Trailing gender tags, département code and postal code, then a commune's name (with its
    // articles: `à La Rochelle`, `- Châlons-en-Champagne (51)`).
    let mut raw = words(&offer.title);
    while raw.len() > 1
        && raw.last().is_some_and(|w| {
            is_gender_word(w)
                || departement.is_some_and(|d| w.eq_ignore_ascii_case(d))
                || (w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit()))
        })
    {
        raw.pop();
    }
    for length in (1..=5).rev() {
        if raw.len() <= length {
            continue;
        }
        let name = raw[raw.len() - length..].join(" ").to_uppercase();
        let names_a_commune = geography
            .communes_with_normalised_name(&name)
            .iter()
            .any(|&id| departement.is_none_or(|d| geography.commune(id).departement == d));
        if names_a_commune {
            raw.truncate(raw.len() - length);
            break;
        }
    }
    without_trailing_grades(&normalise_title(&raw.join(" "), &place_words))
}

fn content_hash(record: &Record) -> u64 {
    let text = |s: Option<&str>| s.map_or(0, word_hash);
    let mut parts = vec![
        word_hash(&record.title),
        text(record.employer.as_deref()),
        u64::from(record.siren.unwrap_or(0)),
        record.commune.map_or(0, |c| c.0),
        record.departement.map_or(0, |c| c.0),
        record.contract as u64,
        record.duration_days.map_or(0, |d| u64::from(d.to_bits())),
        record.working_time as u64,
        record.weekly_hours.map_or(0, |h| u64::from(h.to_bits())),
        record.grades,
        record.published_day as u64,
        u64::from(record.last_word.unwrap_or(0)),
        u64::from(record.head_len),
        u64::from(record.truncated),
    ];
    parts.extend(record.shingles.iter().map(|&s| u64::from(s)));
    // The ends in order: an update that only moves sentences changes what a frame can be.
    parts.extend(record.edges.iter().map(|&s| u64::from(s) | 1 << 32));
    parts.extend(record.detail_words.iter().map(|&w| u64::from(w) << 1));
    sequence_hash(&parts, 0xc0_7e47)
}
