//! The terms of each source, as data: France Travail's licence built in, a partner board's from
//! its configuration.

use serde::{Deserialize, Serialize};

/// The source id of France Travail's offers.
pub const FRANCE_TRAVAIL: &str = "francetravail";

/// The France Travail API's page, where its licence of reuse is published: the default link
/// (a deployment sets the licence document of its convention).
pub const FRANCE_TRAVAIL_LICENCE_URL: &str = "https://francetravail.io/data/api/offres-emploi";

/// What a partner board's licence allows, as written in its `[sources.licence]` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerTerms {
    /// Whether its offers may be shown on collectivités' sites at all.
    pub redistribution: bool,
    /// Text to show next to each offer (default `Offre publiée sur <name>`).
    pub attribution: Option<String>,
    /// Logo to show next to each offer.
    pub logo_url: Option<String>,
    /// Whether each offer must link to its page on the board.
    pub link_back: bool,
    /// Offers older than this many days (by their publication date) are not shown.
    pub max_age_days: Option<u32>,
    /// The board's terms of reuse, linked from every publication.
    pub licence_url: Option<String>,
    /// The board's website, linked from the credit.
    pub website: Option<String>,
}

impl Default for PartnerTerms {
    fn default() -> Self {
        Self {
            redistribution: true,
            attribution: None,
            logo_url: None,
            link_back: true,
            max_age_days: None,
            licence_url: None,
            website: None,
        }
    }
}

/// The terms of one source, whatever its kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceTerms {
    /// Source id (`francetravail`, `hellowork`).
    pub id: String,
    /// Name shown to people (`France Travail`, `HelloWork`).
    pub name: String,
    /// The credit shown with each offer (`Offre France Travail`).
    pub credit: String,
    /// The source's website.
    pub website: Option<String>,
    /// Logo shown with the credit.
    pub logo_url: Option<String>,
    /// Name of the licence or terms of reuse.
    pub licence_name: String,
    /// Link to them, shown with every publication.
    pub licence_url: Option<String>,
    /// Whether its offers may be published at all.
    pub redistribution: bool,
    /// Whether each publication links to the offer's page at the source.
    pub link_back: bool,
    /// Offers published longer ago than this are not shown.
    pub max_age_days: Option<u32>,
    /// Whether an offer's page must show the whole content the source gives (France Travail's
    /// art. 5.3: nothing left out, nothing altered in meaning).
    pub full_content: bool,
    /// The source must be read at least this often for its offers to count as current
    /// (France Travail's art. 5.2: every 24 hours).
    pub refresh_hours: Option<u32>,
}

impl SourceTerms {
    /// France Travail's licence for the reuse of its offers: attribution with the date of the
    /// last update and the licence link (art. 4), the whole content on an offer's page
    /// (art. 5.3), a read at least every 24 hours (art. 5.2).
    pub fn france_travail(licence_url: impl Into<String>) -> Self {
        // Without a link the credit is incomplete (art. 4): fall back to the API's page.
        let licence_url = Some(licence_url.into())
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| FRANCE_TRAVAIL_LICENCE_URL.to_owned());
        Self {
            id: FRANCE_TRAVAIL.to_owned(),
            name: "France Travail".to_owned(),
            credit: "Offre France Travail".to_owned(),
            website: Some("https://www.francetravail.fr".to_owned()),
            logo_url: None,
            licence_name: "Licence de réutilisation des offres d'emploi de France Travail"
                .to_owned(),
            licence_url: Some(licence_url),
            redistribution: true,
            link_back: true,
            max_age_days: None,
            full_content: true,
            refresh_hours: Some(24),
        }
    }

    /// A partner board's terms from its configuration.
    pub fn partner(id: impl Into<String>, name: impl Into<String>, terms: &PartnerTerms) -> Self {
        let name = name.into();
        Self {
            id: id.into(),
            credit: terms
                .attribution
                .clone()
                .unwrap_or_else(|| format!("Offre publiée sur {name}")),
            licence_name: format!("Conditions de réutilisation de {name}"),
            name,
            website: terms.website.clone(),
            logo_url: terms.logo_url.clone(),
            licence_url: terms.licence_url.clone(),
            redistribution: terms.redistribution,
            link_back: terms.link_back,
            max_age_days: terms.max_age_days,
            full_content: false,
            refresh_hours: None,
        }
    }
}
