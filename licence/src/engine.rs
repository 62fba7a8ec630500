//! Verdicts: whether an offer may reach a surface, with which credit and which fields.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use relais_model::{Contact, Offer};
use serde::{Deserialize, Serialize};

use crate::terms::SourceTerms;

/// Where an offer is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// A feed's JSON.
    FeedJson,
    /// An RSS 2.0 feed.
    Rss,
    /// An Atom 1.0 feed.
    Atom,
    /// The embeddable widget.
    Widget,
    /// The offer's own HTML page.
    Page,
    /// The search API's list of results.
    Search,
    /// The search API's whole offer (`GET /v1/offers/{key}`).
    Detail,
    /// A sitemap.
    Sitemap,
}

impl Surface {
    /// Whether the surface may show the offer's contact data: only its page, where a candidate
    /// reads how to apply (the content the source gives, art. 5.3); never a feed, a list or an
    /// export (art. 8).
    fn shows_contact(self) -> bool {
        self == Surface::Page
    }
}

/// What the engine needs to know of an offer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfferFacts<'a> {
    /// Its source id.
    pub source: &'a str,
    /// Whether it is available at its source.
    pub active: bool,
    /// Its publication (creation) date at the source.
    pub published_at: Option<DateTime<Utc>>,
    /// Its last update at the source.
    pub updated_at: Option<DateTime<Utc>>,
    /// Its page at the source.
    pub offer_url: Option<&'a str>,
}

/// A value the engine can judge: an offer, or what a surface shows of one.
pub trait Licensable {
    /// The facts the verdict reads.
    fn facts(&self) -> OfferFacts<'_>;
    /// Removes what `surface` may not show.
    fn redact(&mut self, _surface: Surface) {}
}

impl Licensable for Offer {
    fn facts(&self) -> OfferFacts<'_> {
        OfferFacts {
            source: self.key.source().as_str(),
            active: self.status.is_active(),
            published_at: self.dates.created_at,
            updated_at: self.dates.updated_at,
            offer_url: self.offer_url.as_deref(),
        }
    }

    fn redact(&mut self, surface: Surface) {
        if !surface.shows_contact() {
            self.contact = Contact::default();
        }
        // Internal bookkeeping, not content of the offer.
        self.warnings.clear();
    }
}

/// Why an offer may not be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// Its source has no terms configured (a source removed from the configuration).
    UnknownSource {
        /// The source id.
        source: String,
    },
    /// Its source's terms forbid redistribution.
    NotRedistributable {
        /// The source id.
        source: String,
    },
    /// It was published longer ago than its source allows.
    TooOld {
        /// The source id.
        source: String,
        /// Its age in days.
        age_days: i64,
        /// The most the source allows.
        max_age_days: u32,
    },
    /// It is no longer available at its source.
    Withdrawn,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownSource { source } => write!(f, "source `{source}` has no terms"),
            Refusal::NotRedistributable { source } => {
                write!(f, "source `{source}` does not allow redistribution")
            }
            Refusal::TooOld {
                source,
                age_days,
                max_age_days,
            } => write!(
                f,
                "published {age_days} days ago, `{source}` allows {max_age_days}"
            ),
            Refusal::Withdrawn => f.write_str("withdrawn at its source"),
        }
    }
}

/// The credit of one source, as every surface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceCredit {
    /// Source id (`francetravail`, `hellowork`).
    pub source: String,
    /// Source name (`France Travail`).
    pub name: String,
    /// The credit to show (`Offre France Travail`).
    pub text: String,
    /// The source's website.
    pub url: Option<String>,
    /// The source's logo.
    pub logo_url: Option<String>,
    /// The licence or terms of reuse.
    pub licence: String,
    /// Link to them.
    pub licence_url: Option<String>,
}

impl SourceCredit {
    fn of(terms: &SourceTerms) -> Self {
        Self {
            source: terms.id.clone(),
            name: terms.name.clone(),
            text: terms.credit.clone(),
            url: terms.website.clone(),
            logo_url: terms.logo_url.clone(),
            licence: terms.licence_name.clone(),
            licence_url: terms.licence_url.clone(),
        }
    }
}

/// The credit of one offer: its source's, the date of its last update and, when the terms ask
/// for it, the link back to its page at the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credit {
    /// Its source.
    #[serde(flatten)]
    pub source: SourceCredit,
    /// The offer's last update at the source (its publication date when the source gives no
    /// update).
    pub updated_at: Option<DateTime<Utc>>,
    /// The offer's page at its source, when the source's terms ask for a link back.
    pub link_back: Option<String>,
}

/// The credit of a list (a feed's channel, a page of results): the sources of its offers, the
/// last update among them, and the page that says what relais changes in the offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelCredit {
    /// The sources of the offers listed (every source that may be published when none is).
    pub sources: Vec<SourceCredit>,
    /// The last update among the offers listed.
    pub updated_at: Option<DateTime<Utc>>,
    /// What relais changes in the offers, and the reference data it uses.
    pub method_url: String,
}

/// A value the engine allowed on a surface, with its credit. Only this crate constructs one:
/// whoever renders it has been through the verdict.
#[derive(Debug, Clone)]
pub struct Licensed<T> {
    value: T,
    credit: Credit,
}

impl<T> Licensed<T> {
    /// The value, redacted for its surface.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Its credit.
    pub fn credit(&self) -> &Credit {
        &self.credit
    }

    /// The value and its credit.
    pub fn into_parts(self) -> (T, Credit) {
        (self.value, self.credit)
    }

    /// What a surface renders of the value, keeping its credit.
    pub fn map<U>(self, render: impl FnOnce(T) -> U) -> Licensed<U> {
        Licensed {
            value: render(self.value),
            credit: self.credit,
        }
    }
}

/// What a list keeps: the offers allowed, each with its credit, the channel's credit, and why
/// the others were left out.
#[derive(Debug, Clone)]
pub struct LicensedList<T> {
    /// The offers allowed, in their order.
    pub items: Vec<Licensed<T>>,
    /// The credit of the list.
    pub channel: ChannelCredit,
    /// How many were left out, and the first reason.
    pub refused: usize,
    /// The first refusal, for the logs.
    pub first_refusal: Option<Refusal>,
}

/// The terms of every source, and the verdicts.
#[derive(Debug, Clone)]
pub struct Licence {
    sources: BTreeMap<String, SourceTerms>,
    method_url: String,
}

impl Default for Licence {
    /// France Travail's terms alone, with the default licence link.
    fn default() -> Self {
        Self::new(
            [SourceTerms::france_travail(
                crate::terms::FRANCE_TRAVAIL_LICENCE_URL,
            )],
            "/methode",
        )
    }
}

impl Licence {
    /// The engine over these sources' terms; `method_url` is the page that says what relais
    /// changes in the offers (`/methode`).
    pub fn new(
        sources: impl IntoIterator<Item = SourceTerms>,
        method_url: impl Into<String>,
    ) -> Self {
        Self {
            sources: sources.into_iter().map(|t| (t.id.clone(), t)).collect(),
            method_url: method_url.into(),
        }
    }

    /// The page that says what relais changes in the offers.
    pub fn method_url(&self) -> &str {
        &self.method_url
    }

    /// The terms of a source.
    pub fn terms(&self, source: &str) -> Option<&SourceTerms> {
        self.sources.get(source)
    }

    /// Every source's terms, by id.
    pub fn sources(&self) -> impl Iterator<Item = &SourceTerms> {
        self.sources.values()
    }

    /// The sources whose offers may never be shown: the index leaves them out.
    pub fn unpublishable_sources(&self) -> Vec<String> {
        self.sources
            .values()
            .filter(|t| !t.redistribution)
            .map(|t| t.id.clone())
            .collect()
    }

    /// For each source with a maximum age, the oldest publication date it allows at `now`: a
    /// search leaves out that source's offers published before it, so that totals and pages
    /// agree with the verdicts.
    pub fn oldest_allowed(&self, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        self.sources
            .values()
            .filter(|t| t.redistribution)
            .filter_map(|t| {
                let days = t.max_age_days?;
                Some((t.id.clone(), now - Duration::days(i64::from(days))))
            })
            .collect()
    }

    /// Whether an offer may be shown at `now`, and under which terms.
    pub fn verdict(
        &self,
        facts: &OfferFacts<'_>,
        now: DateTime<Utc>,
    ) -> Result<&SourceTerms, Refusal> {
        let Some(terms) = self.sources.get(facts.source) else {
            return Err(Refusal::UnknownSource {
                source: facts.source.to_owned(),
            });
        };
        if !terms.redistribution {
            return Err(Refusal::NotRedistributable {
                source: terms.id.clone(),
            });
        }
        if !facts.active {
            return Err(Refusal::Withdrawn);
        }
        if let (Some(max_age_days), Some(published)) = (terms.max_age_days, facts.published_at) {
            // Past the limit by any part of a day: the search filter cuts at the same instant.
            if published < now - Duration::days(i64::from(max_age_days)) {
                return Err(Refusal::TooOld {
                    source: terms.id.clone(),
                    age_days: (now - published).num_days(),
                    max_age_days,
                });
            }
        }
        Ok(terms)
    }

    /// The value on `surface` with its credit, redacted for the surface, or why not.
    pub fn license<T: Licensable>(
        &self,
        mut value: T,
        surface: Surface,
        now: DateTime<Utc>,
    ) -> Result<Licensed<T>, Refusal> {
        let facts = value.facts();
        let terms = self.verdict(&facts, now)?;
        let credit = Credit {
            source: SourceCredit::of(terms),
            updated_at: facts.updated_at.or(facts.published_at),
            link_back: terms
                .link_back
                .then(|| facts.offer_url.map(str::to_owned))
                .flatten(),
        };
        value.redact(surface);
        Ok(Licensed { value, credit })
    }

    /// The values allowed on `surface`, in their order, with the list's credit.
    pub fn license_all<T: Licensable>(
        &self,
        values: impl IntoIterator<Item = T>,
        surface: Surface,
        now: DateTime<Utc>,
    ) -> LicensedList<T> {
        let mut items = Vec::new();
        let mut refused = 0;
        let mut first_refusal = None;
        for value in values {
            match self.license(value, surface, now) {
                Ok(item) => items.push(item),
                Err(refusal) => {
                    refused += 1;
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        let channel = self.channel(items.iter().map(Licensed::credit));
        LicensedList {
            items,
            channel,
            refused,
            first_refusal,
        }
    }

    /// The credit of a list of offers with these credits (every publishable source when the
    /// list is empty).
    pub fn channel<'a>(&self, credits: impl Iterator<Item = &'a Credit>) -> ChannelCredit {
        let mut sources: BTreeMap<&str, &SourceCredit> = BTreeMap::new();
        let mut updated_at = None;
        for credit in credits {
            sources
                .entry(credit.source.source.as_str())
                .or_insert(&credit.source);
            updated_at = updated_at.max(credit.updated_at);
        }
        let sources = if sources.is_empty() {
            self.sources
                .values()
                .filter(|t| t.redistribution)
                .map(SourceCredit::of)
                .collect()
        } else {
            sources.into_values().cloned().collect()
        };
        ChannelCredit {
            sources,
            updated_at,
            method_url: self.method_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
