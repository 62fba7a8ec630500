//! [`Offer`] and its parts.
//!
//! An offer carries what the source said (labels kept verbatim, for the licence's integrity rule)
//! next to what relais parsed out of it (codes, numbers, enums), and the warnings raised while
//! normalising it. Data-quality problems never make an offer unrepresentable: a field that cannot
//! be parsed stays `None` and a [`OfferWarning`] says why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DepartementCode, InseeCode, OfferKey, RomeCode, Siret};

/// One job offer, normalised from any source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Offer {
    /// Source and the source's id (the API publishes it as `source:id`).
    #[schema(value_type = String)]
    pub key: OfferKey,
    /// Title as published (`intitule`).
    pub title: String,
    /// Full description as plain text (for the index and text feeds): as published when the
    /// source gives text, or the text of `description_html`.
    pub description: String,
    /// The description's formatting, when the source gives HTML: already sanitised (only text and
    /// safe formatting tags remain; scripts, handlers, styles and remote content are gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_html: Option<String>,
    /// Who hires.
    pub employer: Employer,
    /// Where the job is.
    pub location: Location,
    /// The job in the ROME referential.
    pub job: Job,
    /// Contract type, nature and duration.
    pub contract: Contract,
    /// Full or part time.
    pub working_time: WorkingTime,
    /// Pay, when given.
    pub salary: Option<Salary>,
    /// Experience asked for.
    pub experience: Experience,
    /// Qualification label (`Cadre`, `Employé qualifié`...), with its source code.
    pub qualification: Option<Requirement>,
    /// Skills, languages, driving licences, trainings and qualities asked for, as listed.
    pub requirements: Vec<Requirement>,
    /// Business sector: NAF code and label.
    pub sector: Option<Requirement>,
    /// Number of positions, when given.
    pub positions: Option<u32>,
    /// Work context: schedules and conditions, as listed.
    pub work_context: Vec<String>,
    /// Whether the offer is open to workers with a disability recognition (`accessibleTH`).
    pub accessible_to_disabled_workers: Option<bool>,
    /// How to apply or whom to contact; personal data, used only to route candidates.
    pub contact: Contact,
    /// Dates given by the source.
    pub dates: SourceDates,
    /// The offer's page at the source.
    pub offer_url: Option<String>,
    /// Where a candidate applies, when it differs from the offer page.
    pub apply_url: Option<String>,
    /// Whether the source authored the offer or relays a partner's.
    pub origin: Option<OriginKind>,
    /// Partner boards that also carry the offer, as the source lists them.
    pub partner_origins: Vec<PartnerOrigin>,
    /// First time relais received the offer.
    pub first_seen_at: DateTime<Utc>,
    /// Last time relais received the offer from its source.
    pub last_seen_at: DateTime<Utc>,
    /// Whether the offer may be published.
    pub status: OfferStatus,
    /// Problems found while normalising; they never prevent storing the offer. Internal: the
    /// API does not publish them.
    #[schema(ignore)]
    pub warnings: Vec<OfferWarning>,
}

/// The employer as the source describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Employer {
    /// Company name; absent when the employer is anonymous.
    pub name: Option<String>,
    /// SIRET, when the source gives one.
    pub siret: Option<Siret>,
    /// Company description.
    pub description: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Company website.
    pub url: Option<String>,
    /// Entreprise adaptée (employs mostly disabled workers).
    pub adapted_company: Option<bool>,
    /// Employer recognised as "handi-engagé".
    pub disability_committed: Option<bool>,
}

/// Where the job is, with how the commune was determined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    /// Label as given, e.g. `59 - MARCQ EN BAROEUL` or `38 - Isère`.
    pub label: Option<String>,
    /// Current commune, when known.
    pub commune: Option<InseeCode>,
    /// Postal code as given.
    pub postal_code: Option<String>,
    /// Département, from the commune or the label.
    pub departement: Option<DepartementCode>,
    /// Région code, from the commune, the département or the label.
    pub region: Option<String>,
    /// Coordinates as given.
    pub coordinates: Option<Coordinates>,
    /// How `commune` and `departement` were found.
    pub resolution: LocationResolution,
}

/// WGS84 coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coordinates {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
}

/// How the location of an offer was resolved (see `relais-territory`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationResolution {
    /// The INSEE code of a current commune.
    InseeCode,
    /// An arrondissement municipal's code, resolved to its commune.
    ArrondissementCode,
    /// A delegated, associated or former commune's code, resolved to the current commune.
    FormerOrDelegatedCode,
    /// A postal code served by one commune.
    PostalCode,
    /// A shared postal code, told apart by the name.
    PostalCodeAndName,
    /// `PARIS 14`, `Lyon 7e`.
    ArrondissementName,
    /// A name unique within the département given.
    DepartementAndName,
    /// A name unique in France.
    UniqueName,
    /// Only the département is known, e.g. from `38 - Isère`.
    #[serde(alias = "departement_label")]
    Departement,
    /// Only the région is known.
    Region,
    /// Nothing usable: the offer is abroad, national, or the location is missing.
    #[default]
    Unresolved,
}

/// The job in France Travail's ROME referential.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// ROME code.
    pub rome_code: Option<RomeCode>,
    /// ROME label.
    pub rome_label: Option<String>,
    /// Appellation label, more precise than the ROME label.
    pub appellation_label: Option<String>,
}

/// The contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contract {
    /// Contract family.
    pub kind: ContractKind,
    /// Source code of the contract type (`CDI`, `MIS`...).
    pub code: Option<String>,
    /// Label as given, e.g. `Intérim - 5 Jour(s)`.
    pub label: Option<String>,
    /// Nature of the contract (`Contrat travail`, `Contrat apprentissage`...).
    pub nature: Option<String>,
    /// Duration parsed from the label.
    pub duration: Option<ContractDuration>,
    /// Work-study contract (`alternance`).
    pub work_study: bool,
}

/// Contract families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// Contrat à durée indéterminée.
    Permanent,
    /// Contrat à durée déterminée.
    FixedTerm,
    /// Mission intérimaire, CDI intérimaire.
    Temporary,
    /// Contrat saisonnier.
    Seasonal,
    /// Profession libérale, franchise, reprise d'entreprise, création d'entreprise.
    SelfEmployed,
    /// Apprenticeship or professionalisation contract.
    Apprenticeship,
    /// Anything else or unknown.
    Other,
}

/// A contract duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContractDuration {
    /// Number of units.
    pub value: f32,
    /// Unit of `value`.
    pub unit: DurationUnit,
}

/// Units of contract durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Months.
    Month,
    /// Years.
    Year,
}

/// Working time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkingTime {
    /// Full time, part time or unknown.
    pub kind: WorkingTimeKind,
    /// Label as given, e.g. `35H Horaires normaux`.
    pub label: Option<String>,
    /// Weekly hours parsed from the label.
    pub weekly_hours: Option<f32>,
}

/// Working-time families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkingTimeKind {
    /// Temps plein.
    FullTime,
    /// Temps partiel.
    PartTime,
    /// Not stated.
    Unknown,
}

/// Pay as given, and what could be parsed from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Salary {
    /// Label as given, e.g. `Mensuel de 2275.0 Euros à 3033.0 Euros sur 12.0 mois`.
    pub label: Option<String>,
    /// Free comment.
    pub comment: Option<String>,
    /// Lower bound in euros per `period`.
    pub min: Option<f64>,
    /// Upper bound in euros per `period`.
    pub max: Option<f64>,
    /// What `min` and `max` are per.
    pub period: Option<SalaryPeriod>,
    /// Number of monthly payments a year (`sur 13 mois`).
    pub months: Option<f32>,
    /// Complements (bonuses, meals...).
    pub complements: Vec<String>,
}

/// Salary periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalaryPeriod {
    /// Per hour.
    Hour,
    /// Per month.
    Month,
    /// Per year.
    Year,
    /// Per engagement (cachet).
    Engagement,
}

/// Experience asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Experience {
    /// Beginner accepted, desired, or required.
    pub requirement: Option<ExperienceRequirement>,
    /// Label as given, e.g. `3 An(s)`.
    pub label: Option<String>,
    /// Free comment.
    pub comment: Option<String>,
}

/// Experience requirement levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExperienceRequirement {
    /// Débutant accepté.
    BeginnerAccepted,
    /// Expérience souhaitée.
    Desired,
    /// Expérience exigée.
    Required,
}

/// A listed requirement (skill, language, licence, training, quality) or a coded label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Requirement {
    /// What kind of requirement: `skill`, `language`, `licence`, `training`, `quality`, `qualification`, `sector`, `office_tool`.
    pub kind: String,
    /// Source code, when given.
    pub code: Option<String>,
    /// Label as given.
    pub label: String,
    /// Longer text, when given (training comment, quality description).
    pub detail: Option<String>,
    /// `true` when required (`E`), `false` when desired (`S`), `None` when not said.
    pub required: Option<bool>,
}

/// How candidates reach the recruiter. Personal data: never indexed, published only as the licence allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    /// Contact name.
    pub name: Option<String>,
    /// Free lines of contact details.
    pub lines: Vec<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// E-mail or its replacement text.
    pub email: Option<String>,
    /// Recruiter website.
    pub recruiter_url: Option<String>,
    /// Free comment.
    pub comment: Option<String>,
}

/// Dates given by the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceDates {
    /// Creation at the source.
    pub created_at: Option<DateTime<Utc>>,
    /// Last update at the source.
    pub updated_at: Option<DateTime<Utc>>,
    /// When the source says the offer ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether an offer was authored by its source or relayed from a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    /// Written at the source (France Travail `origine = 1`).
    Source,
    /// Relayed from a partner (France Travail `origine = 2`).
    Partner,
}

/// A partner board listed as carrying the offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerOrigin {
    /// Partner name.
    pub name: Option<String>,
    /// The offer's page on the partner board.
    pub url: Option<String>,
    /// Partner logo.
    pub logo_url: Option<String>,
}

/// Whether an offer may be published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OfferStatus {
    /// Available at its source.
    Active,
    /// No longer available; reversible if the source shows it again.
    Withdrawn {
        /// Why it was withdrawn.
        reason: WithdrawalReason,
        /// When.
        at: DateTime<Utc>,
    },
}

impl OfferStatus {
    /// Whether the offer is active.
    pub fn is_active(&self) -> bool {
        matches!(self, OfferStatus::Active)
    }
}

/// Why an offer was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalReason {
    /// A complete sweep of the source did not contain it.
    MissingFromCompleteSweep,
    /// The source's detail endpoint said it no longer exists.
    GoneAtSource,
}

impl WithdrawalReason {
    /// The stable name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalReason::MissingFromCompleteSweep => "missing_from_complete_sweep",
            WithdrawalReason::GoneAtSource => "gone_at_source",
        }
    }
}

/// A data-quality problem on one offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferWarning {
    /// What went wrong, as a stable code.
    pub kind: WarningKind,
    /// The field concerned, in the source's vocabulary.
    pub field: String,
    /// Details for the operator.
    pub message: String,
}

/// Stable codes of data-quality problems.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A required field is missing or empty.
    MissingField,
    /// A code does not have the expected shape.
    InvalidCode,
    /// A date cannot be parsed or is absurd.
    InvalidDate,
    /// A label could not be parsed into structured values.
    UnparsedLabel,
    /// The location could not be resolved to a commune.
    UnresolvedLocation,
    /// Scripts, event handlers, styles or remote content were stripped from a text.
    UnsafeContent,
    /// A field was absurdly large and was cut.
    OversizedField,
    /// Markup the parser could not take as given (an unknown entity, a broken record); kept as text.
    MalformedMarkup,
    /// A record was skipped: it has no usable id or no title (counted in run reports only).
    RejectedRecord,
}

impl WarningKind {
    /// The stable name printed in run reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::MissingField => "missing_field",
            WarningKind::InvalidCode => "invalid_code",
            WarningKind::InvalidDate => "invalid_date",
            WarningKind::UnparsedLabel => "unparsed_label",
            WarningKind::UnresolvedLocation => "unresolved_location",
            WarningKind::UnsafeContent => "unsafe_content",
            WarningKind::OversizedField => "oversized_field",
            WarningKind::MalformedMarkup => "malformed_markup",
            WarningKind::RejectedRecord => "rejected_record",
        }
    }
}

impl Offer {
    /// What is kept of a withdrawn offer after the retention period (licence art. 7): what the
    /// job was (title, job, contract, working time, salary, dates, département) and nothing that
    /// names or reaches the employer or locates it closer than its département: the employer,
    /// the contact, every URL, the commune and the coordinates, and the description (which
    /// often names the employer and a contact).
    pub fn anonymise(&mut self) {
        self.employer = Employer::default();
        self.contact = Contact::default();
        self.offer_url = None;
        self.apply_url = None;
        self.partner_origins.clear();
        self.description = String::new();
        self.description_html = None;
        self.work_context.clear();
        let departement = self.location.departement.take();
        let region = self.location.region.take();
        self.location = Location {
            departement,
            region,
            ..Location::default()
        };
    }

    /// An active offer with only a key, a title and a description; every other field is empty.
    /// Normalisers fill the rest; tests use it as a starting point.
    pub fn new(key: OfferKey, title: &str, description: &str, seen_at: DateTime<Utc>) -> Self {
        Self {
            key,
            title: title.to_owned(),
            description: description.to_owned(),
            description_html: None,
            employer: Employer::default(),
            location: Location::default(),
            job: Job::default(),
            contract: Contract {
                kind: ContractKind::Other,
                code: None,
                label: None,
                nature: None,
                duration: None,
                work_study: false,
            },
            working_time: WorkingTime {
                kind: WorkingTimeKind::Unknown,
                label: None,
                weekly_hours: None,
            },
            salary: None,
            experience: Experience::default(),
            qualification: None,
            requirements: Vec::new(),
            sector: None,
            positions: None,
            work_context: Vec::new(),
            accessible_to_disabled_workers: None,
            contact: Contact::default(),
            dates: SourceDates::default(),
            offer_url: None,
            apply_url: None,
            origin: None,
            partner_origins: Vec::new(),
            first_seen_at: seen_at,
            last_seen_at: seen_at,
            status: OfferStatus::Active,
            warnings: Vec::new(),
        }
    }
}
