//! The index schema and the public summary stored with each offer.

use chrono::{DateTime, Utc};
use relais_model::Offer;
use serde::{Deserialize, Serialize};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

/// Name of the French analyser.
pub(crate) const FRENCH: &str = "fr_stem";

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub key: Field,
    pub departement: Field,
    pub commune: Field,
    pub region: Field,
    /// `commune`, `departement`, `region` or `none`: the finest level the location is known at.
    pub precision: Field,
    pub title: Field,
    pub description: Field,
    pub created: Field,
    pub summary: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let french = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: builder.add_text_field("key", STRING | STORED),
        departement: builder.add_text_field("departement", STRING),
        commune: builder.add_text_field("commune", STRING),
        region: builder.add_text_field("region", STRING),
        precision: builder.add_text_field("precision", STRING),
        title: builder.add_text_field("title", french.clone()),
        description: builder.add_text_field("description", french),
        created: builder.add_i64_field("created", INDEXED | FAST),
        summary: builder.add_text_field("summary", STORED),
    };
    (builder.build(), fields)
}

pub(crate) fn register_analysers(index: &Index) {
    let analyser = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build();
    index.tokenizers().register(FRENCH, analyser);
}

/// What a feed shows of an offer: public fields only (no contact data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Contract label as given, e.g. `CDD - 4 Mois`.
    pub contract: Option<String>,
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
    /// Full description as published.
    pub description: String,
    /// The same job published by other sources (deduplication): shown as "also published on".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_published_on: Vec<AlsoPublishedOn>,
}

/// Another copy of the same job, on another source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlsoPublishedOn {
    /// The copy's key (`source:id`).
    pub key: String,
    /// Its source.
    pub source: String,
    /// Its page at that source.
    pub url: Option<String>,
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
            contract: offer.contract.label.clone(),
            working_time: offer.working_time.label.clone(),
            salary: offer
                .salary
                .as_ref()
                .and_then(|s| s.label.clone().or_else(|| s.comment.clone())),
            rome_code: offer.job.rome_code.as_ref().map(|r| r.to_string()),
            created_at: offer.dates.created_at,
            updated_at: offer.dates.updated_at,
            url: offer.offer_url.clone(),
            description: offer.description.clone(),
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
    doc.add_text(fields.key, offer.key.to_string());
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
    doc.add_text(fields.title, &offer.title);
    doc.add_text(fields.description, &offer.description);
    let created = offer.dates.created_at.unwrap_or(offer.first_seen_at);
    doc.add_i64(fields.created, created.timestamp_millis());
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
