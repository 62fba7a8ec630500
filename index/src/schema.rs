//! The index schema and the public summary stored with each offer.

use chrono::{DateTime, Utc};
use relais_model::Offer;
use relais_model::{ContractKind, ExperienceRequirement, WorkingTimeKind};
use relais_territory::{Point, geography};
use serde::{Deserialize, Serialize};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, NumericOptions, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, TantivyDocument};

use crate::analysis;
use crate::geo::{NO_POINT, cell_terms, pack_point};

/// Name of the French analyser.
pub(crate) const FRENCH: &str = "fr_job";
/// Name of the folded analyser (employer names).
pub(crate) const FOLDED: &str = "fr_folded";

/// The field segments are sorted on, descending.
pub(crate) const SEGMENT_ORDER: &str = "segment_order";

/// Offers are kept newest first, then by tie-breaker (the order of a search by date), in one
/// value since an index sorts on one field: the creation time in ms in the high 42 bits (an
/// undated offer 0, after every dated one), the complement of the tie-breaker's high 22 bits
/// below. Offers created in the same millisecond (partner feeds date their offers by the day)
/// are then in their page order too, so a page by date reads its first matches and stops.
pub(crate) fn segment_order(created: i64, tiebreak: u64) -> u64 {
    let time = match created {
        UNDATED => 0,
        _ => created.clamp(1, MAX_ORDERED_TIME) as u64,
    };
    (time << 22) | (!tiebreak >> 42)
}

/// Creation times from 1970 to 2109 are kept apart by [`segment_order`]; the others are
/// clamped to this range.
pub(crate) const MAX_ORDERED_TIME: i64 = (1 << 42) - 1;

/// Whether [`segment_order`] keeps this creation time apart from every other (it is dated and
/// not clamped).
pub(crate) fn time_is_ordered(created: i64) -> bool {
    (1..MAX_ORDERED_TIME).contains(&created)
}

/// The `created` value of an offer with no date: sorts after every dated offer.
pub(crate) const UNDATED: i64 = i64::MIN;

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub key: Field,
    /// A stable hash of the key: the tie-breaker of every sort (cursor pagination).
    pub tiebreak: Field,
    pub departement: Field,
    pub commune: Field,
    pub region: Field,
    /// `commune`, `departement`, `region` or `none`: the finest level the location is known at.
    pub precision: Field,
    /// Place terms for territory filters: `c:<commune>`, `d:<département>`, `r:<région>`, each
    /// level the offer is known at or lies in (see [`place_terms`]).
    pub place: Field,
    pub title: Field,
    /// Catch-all text: title, description, job labels, employer.
    pub text: Field,
    pub employer: Field,
    pub contract: Field,
    pub working_time: Field,
    /// Every prefix of the ROME code: `M`, `M1`, `M18`, `M180`, `M1805`.
    pub rome: Field,
    pub rome_domain: Field,
    pub experience: Field,
    pub source: Field,
    /// Grid cells of the offer's point, one per size (see `geo`), for radius searches.
    pub cell: Field,
    /// The offer's point packed in one value (`geo::pack_point`), `geo::NO_POINT` without one.
    pub point: Field,
    pub created: Field,
    /// The offer's place in its segment (see [`segment_order`]): the index's sort.
    pub order: Field,
    /// Keys of the other copies of the job ("also published on"): which published offer a
    /// change to a copy can affect (the live index re-indexes it).
    pub members: Field,
    pub summary: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let french = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let folded = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FOLDED)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    // Filter terms are matched, never ranked by a field's length: no field norms (a byte per
    // offer and field).
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fields = Fields {
        key: builder.add_text_field("key", keyword.clone() | FAST),
        tiebreak: builder.add_u64_field("tiebreak", FAST),
        departement: builder.add_text_field("departement", keyword.clone() | FAST),
        commune: builder.add_text_field("commune", keyword.clone() | FAST),
        region: builder.add_text_field("region", keyword.clone()),
        precision: builder.add_text_field("precision", keyword.clone()),
        place: builder.add_text_field("place", keyword.clone()),
        title: builder.add_text_field("title", french.clone()),
        text: builder.add_text_field("text", french),
        employer: builder.add_text_field("employer", folded),
        contract: builder.add_text_field("contract", keyword.clone() | FAST),
        working_time: builder.add_text_field("working_time", keyword.clone() | FAST),
        rome: builder.add_text_field("rome", keyword.clone()),
        rome_domain: builder.add_text_field("rome_domain", keyword.clone() | FAST),
        experience: builder.add_text_field("experience", keyword.clone() | FAST),
        source: builder.add_text_field("source", keyword.clone() | FAST),
        // Named for the cells' format: an index of another format is of another schema, so it
        // is recreated rather than read with terms it does not hold.
        cell: builder.add_text_field("cells_v3", keyword.clone()),
        point: builder.add_u64_field("point", FAST),
        created: builder.add_i64_field(
            "created",
            NumericOptions::default().set_indexed().set_fast(),
        ),
        order: builder.add_u64_field(SEGMENT_ORDER, FAST),
        members: builder.add_text_field("members", keyword.clone()),
        summary: builder.add_text_field("summary", STORED),
    };
    (builder.build(), fields)
}

pub(crate) fn register_analysers(index: &Index) {
    index.tokenizers().register(FRENCH, analysis::french());
    index.tokenizers().register(FOLDED, analysis::folded());
}

/// The model's contract family as the API and the index name it.
pub fn contract_name(kind: ContractKind) -> &'static str {
    match kind {
        ContractKind::Permanent => "permanent",
        ContractKind::FixedTerm => "fixed_term",
        ContractKind::Temporary => "temporary",
        ContractKind::Seasonal => "seasonal",
        ContractKind::SelfEmployed => "self_employed",
        ContractKind::Apprenticeship => "apprenticeship",
        ContractKind::Other => "other",
    }
}

/// Every contract family name.
pub const CONTRACT_NAMES: &[&str] = &[
    "permanent",
    "fixed_term",
    "temporary",
    "seasonal",
    "self_employed",
    "apprenticeship",
    "other",
];

/// The working-time family name.
pub fn working_time_name(kind: WorkingTimeKind) -> &'static str {
    match kind {
        WorkingTimeKind::FullTime => "full_time",
        WorkingTimeKind::PartTime => "part_time",
        WorkingTimeKind::Unknown => "unknown",
    }
}

/// Every working-time name.
pub const WORKING_TIME_NAMES: &[&str] = &["full_time", "part_time", "unknown"];

/// The experience requirement name (`unknown` when the source says nothing).
pub fn experience_name(requirement: Option<ExperienceRequirement>) -> &'static str {
    match requirement {
        Some(ExperienceRequirement::BeginnerAccepted) => "beginner_accepted",
        Some(ExperienceRequirement::Desired) => "desired",
        Some(ExperienceRequirement::Required) => "required",
        None => "unknown",
    }
}

/// Every experience name.
pub const EXPERIENCE_NAMES: &[&str] = &["beginner_accepted", "desired", "required", "unknown"];

/// A stable 64-bit hash of an offer key (FNV-1a): the same on every replica and after restarts.
pub fn tiebreak(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where an offer is for radius searches: its own coordinates when its source gives valid ones,
/// else its commune's point; none when it is known only by a département or région.
pub fn offer_point(offer: &Offer) -> Option<Point> {
    if let Some(c) = offer.location.coordinates
        && let Ok(point) = Point::new(c.latitude, c.longitude)
    {
        return Some(point);
    }
    let geography = geography();
    let id = geography.current_commune(offer.location.commune.as_ref()?.as_str())?;
    geography.commune_point(id).0
}

/// The place terms of an offer: its commune (`c:`), the département (`d:`) and région (`r:`) it
/// lies in, from the official geography when the commune is known (else as the source gives
/// them). A territory filter is then one set of terms: its communes outside the départements it
/// covers whole, those départements, and the régions it covers whole.
pub(crate) fn place_terms(offer: &Offer) -> Vec<String> {
    let location = &offer.location;
    let geography = geography();
    let commune = location
        .commune
        .as_ref()
        .and_then(|c| geography.current_commune(c.as_str()))
        .map(|id| geography.commune(id));
    let mut terms = Vec::with_capacity(3);
    if let Some(code) = &location.commune {
        terms.push(format!("c:{code}"));
    }
    match (commune, &location.departement) {
        (Some(commune), _) => terms.push(format!("d:{}", commune.departement)),
        (None, Some(departement)) => terms.push(format!("d:{departement}")),
        (None, None) => {}
    }
    match (commune, &location.region) {
        (Some(commune), _) => terms.push(format!("r:{}", commune.region)),
        (None, Some(region)) => terms.push(format!("r:{region}")),
        // Known by its département alone: the région is the département's.
        (None, None) => {
            if let Some((_, region)) = location
                .departement
                .as_ref()
                .and_then(|d| geography.departement(d.as_str()))
            {
                terms.push(format!("r:{region}"));
            }
        }
    }
    terms
}

/// What a list shows of an offer: public fields only (no contact data), and not the description,
/// which is most of an offer's bytes: whoever shows it reads it from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexedOffer {
    /// `source:id`.
    pub key: String,
    /// Title.
    pub title: String,
    /// Employer name, when public.
    pub employer: Option<String>,
    /// Location label as given.
    pub location: Option<String>,
    /// INSEE code of the commune.
    pub commune: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// The source (`francetravail`, a partner board's id).
    #[serde(default)]
    pub source: String,
    /// Contract label as given, e.g. `CDD - 4 Mois`.
    pub contract: Option<String>,
    /// Contract family: `permanent`, `fixed_term`, `temporary`, `seasonal`, `self_employed`,
    /// `apprenticeship`, `other`.
    #[serde(default)]
    pub contract_kind: String,
    /// `full_time`, `part_time` or `unknown`.
    #[serde(default)]
    pub working_time_kind: String,
    /// Working-time label.
    pub working_time: Option<String>,
    /// Salary label.
    pub salary: Option<String>,
    /// ROME code.
    pub rome_code: Option<String>,
    /// Creation at the source.
    pub created_at: Option<DateTime<Utc>>,
    /// Last update at the source.
    pub updated_at: Option<DateTime<Utc>>,
    /// The offer's page at the source.
    pub url: Option<String>,
    /// The same job published by other sources (deduplication): shown as "also published on".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_published_on: Vec<AlsoPublishedOn>,
}

/// Another copy of the same job, on another source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlsoPublishedOn {
    /// The copy's key (`source:id`).
    pub key: String,
    /// Its source.
    pub source: String,
    /// Its page at that source.
    pub url: Option<String>,
}

impl relais_licence::Licensable for IndexedOffer {
    /// Only active offers are indexed.
    fn facts(&self) -> relais_licence::OfferFacts<'_> {
        relais_licence::OfferFacts {
            source: &self.source,
            active: true,
            published_at: self.created_at,
            updated_at: self.updated_at,
            offer_url: self.url.as_deref(),
        }
    }
}

impl IndexedOffer {
    /// The summary of an offer.
    pub fn of(offer: &Offer) -> Self {
        Self {
            key: offer.key.to_string(),
            title: offer.title.clone(),
            employer: offer.employer.name.clone(),
            location: offer.location.label.clone(),
            commune: offer.location.commune.as_ref().map(|c| c.to_string()),
            departement: offer.location.departement.as_ref().map(|d| d.to_string()),
            source: offer.key.source().to_string(),
            contract: offer.contract.label.clone(),
            contract_kind: contract_name(offer.contract.kind).to_owned(),
            working_time_kind: working_time_name(offer.working_time.kind).to_owned(),
            working_time: offer.working_time.label.clone(),
            salary: offer
                .salary
                .as_ref()
                .and_then(|s| s.label.clone().or_else(|| s.comment.clone())),
            rome_code: offer.job.rome_code.as_ref().map(|r| r.to_string()),
            created_at: offer.dates.created_at,
            updated_at: offer.dates.updated_at,
            url: offer.offer_url.clone(),
            also_published_on: Vec::new(),
        }
    }
}

pub(crate) fn document(
    fields: &Fields,
    offer: &Offer,
    also_published_on: &[AlsoPublishedOn],
) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    let key = offer.key.to_string();
    let tiebreak = tiebreak(&key);
    doc.add_u64(fields.tiebreak, tiebreak);
    doc.add_text(fields.key, key);
    if let Some(departement) = &offer.location.departement {
        doc.add_text(fields.departement, departement.as_str());
    }
    if let Some(commune) = &offer.location.commune {
        doc.add_text(fields.commune, commune.as_str());
    }
    if let Some(region) = &offer.location.region {
        doc.add_text(fields.region, region);
    }
    let location = &offer.location;
    let precision = match (&location.commune, &location.departement, &location.region) {
        (Some(_), _, _) => "commune",
        (None, Some(_), _) => "departement",
        (None, None, Some(_)) => "region",
        (None, None, None) => "none",
    };
    doc.add_text(fields.precision, precision);
    for term in place_terms(offer) {
        doc.add_text(fields.place, term);
    }
    doc.add_text(fields.title, &offer.title);
    doc.add_text(fields.text, &offer.title);
    doc.add_text(fields.text, &offer.description);
    for label in [
        &offer.job.rome_label,
        &offer.job.appellation_label,
        &offer.employer.name,
    ]
    .into_iter()
    .flatten()
    {
        doc.add_text(fields.text, label);
    }
    if let Some(name) = &offer.employer.name {
        doc.add_text(fields.employer, name);
    }
    doc.add_text(fields.contract, contract_name(offer.contract.kind));
    doc.add_text(
        fields.working_time,
        working_time_name(offer.working_time.kind),
    );
    doc.add_text(
        fields.experience,
        experience_name(offer.experience.requirement),
    );
    if let Some(rome) = &offer.job.rome_code {
        let code = rome.as_str();
        for end in 1..=code.len() {
            doc.add_text(fields.rome, &code[..end]);
        }
        doc.add_text(fields.rome_domain, &code[..1]);
    }
    doc.add_text(fields.source, offer.key.source().as_str());
    let point = offer_point(offer);
    for term in point.iter().flat_map(cell_terms) {
        doc.add_text(fields.cell, term);
    }
    // Every offer has a value: the column needs no optional index.
    doc.add_u64(fields.point, point.as_ref().map_or(NO_POINT, pack_point));
    // Undated offers never rank as newest: they sort after every dated one.
    let created = offer
        .dates
        .created_at
        .map_or(UNDATED, |created| created.timestamp_millis());
    doc.add_i64(fields.created, created);
    doc.add_u64(fields.order, segment_order(created, tiebreak));
    for member in also_published_on {
        doc.add_text(fields.members, &member.key);
    }
    doc.add_text(
        fields.summary,
        serde_json::to_string(&IndexedOffer {
            also_published_on: also_published_on.to_vec(),
            ..IndexedOffer::of(offer)
        })
        .expect("summary serialises"),
    );
    doc
}
