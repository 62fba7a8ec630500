//! The schema.org `JobPosting` of an offer's page, with Google's required properties (title,
//! description, datePosted, hiringOrganization, jobLocation) and the recommended ones the source
//! gives (validThrough, employmentType, identifier, baseSalary, the point).

use relais_model::{ContractKind, Offer, SalaryPeriod, WorkingTimeKind};
use relais_territory::geography;
use serde_json::{Value, json};

fn employment_types(offer: &Offer) -> Vec<&'static str> {
    let mut types = Vec::new();
    match offer.working_time.kind {
        WorkingTimeKind::FullTime => types.push("FULL_TIME"),
        WorkingTimeKind::PartTime => types.push("PART_TIME"),
        WorkingTimeKind::Unknown => {}
    }
    match offer.contract.kind {
        ContractKind::FixedTerm | ContractKind::Temporary | ContractKind::Seasonal => {
            types.push("TEMPORARY")
        }
        ContractKind::SelfEmployed => types.push("CONTRACTOR"),
        ContractKind::Apprenticeship => types.push("INTERN"),
        ContractKind::Permanent | ContractKind::Other => {}
    }
    if types.is_empty() {
        types.push("OTHER");
    }
    types
}

fn address(offer: &Offer) -> Value {
    let geography = geography();
    let commune = offer
        .location
        .commune
        .as_ref()
        .and_then(|code| geography.current_commune(code.as_str()))
        .map(|id| geography.commune(id));
    let region_code = commune
        .map(|c| c.region)
        .or(offer.location.region.as_deref());
    let mut address = json!({"@type": "PostalAddress", "addressCountry": "FR"});
    let locality = commune
        .map(|c| c.name.to_owned())
        .or_else(|| offer.location.label.clone());
    if let Some(locality) = locality {
        address["addressLocality"] = json!(locality);
    }
    let postal = offer
        .location
        .postal_code
        .clone()
        .or_else(|| commune.and_then(|c| c.postal_codes.first().map(|p| p.to_string())));
    if let Some(postal) = postal {
        address["postalCode"] = json!(postal);
    }
    if let Some(region) = region_code.and_then(|code| geography.region_name(code)) {
        address["addressRegion"] = json!(region);
    }
    address
}

fn base_salary(offer: &Offer) -> Option<Value> {
    let salary = offer.salary.as_ref()?;
    let unit = match salary.period? {
        SalaryPeriod::Hour => "HOUR",
        SalaryPeriod::Month => "MONTH",
        SalaryPeriod::Year => "YEAR",
        SalaryPeriod::Engagement => return None,
    };
    let mut value = json!({"@type": "QuantitativeValue", "unitText": unit});
    match (salary.min, salary.max) {
        (Some(min), Some(max)) if min < max => {
            value["minValue"] = json!(min);
            value["maxValue"] = json!(max);
        }
        (Some(one), _) | (None, Some(one)) => value["value"] = json!(one),
        (None, None) => return None,
    }
    Some(json!({"@type": "MonetaryAmount", "currency": "EUR", "value": value}))
}

/// The JSON-LD, safe inside a `<script>` element (`</` is written `<\/`).
pub(crate) fn job_posting(offer: &Offer, canonical: &str, description: &str) -> String {
    let mut posting = json!({
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": offer.title,
        "description": description,
        "datePosted": offer.dates.created_at.unwrap_or(offer.first_seen_at).to_rfc3339(),
        "hiringOrganization": {
            "@type": "Organization",
            "name": offer.employer.name.as_deref().unwrap_or("Employeur non communiqué"),
        },
        "jobLocation": {"@type": "Place", "address": address(offer)},
        "employmentType": employment_types(offer),
        "identifier": {
            "@type": "PropertyValue",
            "name": offer.key.source().as_str(),
            "value": offer.key.source_offer_id(),
        },
        "url": canonical,
        "directApply": false,
    });
    if let Some(expires) = offer.dates.expires_at {
        posting["validThrough"] = json!(expires.to_rfc3339());
    }
    if let Some(logo) = &offer.employer.logo_url {
        posting["hiringOrganization"]["logo"] = json!(logo);
    }
    if let Some(site) = &offer.employer.url {
        posting["hiringOrganization"]["sameAs"] = json!(site);
    }
    if let Some(point) = &offer.location.coordinates {
        posting["jobLocation"]["geo"] = json!({
            "@type": "GeoCoordinates",
            "latitude": point.latitude,
            "longitude": point.longitude,
        });
    }
    if let Some(salary) = base_salary(offer) {
        posting["baseSalary"] = salary;
    }
    if let Some(qualification) = &offer.qualification {
        posting["qualifications"] = json!(qualification.label);
    }
    if let Some(experience) = &offer.experience.label {
        posting["experienceRequirements"] = json!(experience);
    }
    posting.to_string().replace("</", "<\\/")
}
