//! Normalisation of the API's `Offre` into [`Offer`].
//!
//! Reading is lenient: a field of the wrong type or shape becomes `None` plus a warning on the
//! offer, never an error. Only a record without an `id` cannot be stored (it has no key).
//! Labels whose format drifted over the years are parsed in all known forms:
//! `Annuel de 20148,00 Euros à 25000,00 Euros sur 12 mois` (2022) and
//! `Mensuel de 2275.0 Euros à 3033.0 Euros sur 12.0 mois` (2024);
//! `Mission intérimaire - 6 Mois` and `Intérim - 5 Jour(s)`.

use chrono::{DateTime, Utc};
use relais_model::{
    Contact, Contract, ContractDuration, ContractKind, Coordinates, DepartementCode, DurationUnit,
    Employer, Experience, ExperienceRequirement, InseeCode, Job, Location, Offer, OfferKey,
    OfferWarning, OriginKind, PartnerOrigin, Requirement, RomeCode, Salary, SalaryPeriod,
    SourceDates, SourceId, WarningKind, WorkingTime, WorkingTimeKind,
};
use relais_territory::{LocationQuery, ResolutionMethod, resolve_location};
use serde_json::Value;

/// Why a record could not become an offer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub reason: String,
}

/// Normalises one `Offre` JSON document received at `seen_at`.
pub fn normalise_offer(
    source: &SourceId,
    raw: &str,
    seen_at: DateTime<Utc>,
) -> Result<Offer, Rejection> {
    let value: Value = serde_json::from_str(raw).map_err(|e| Rejection {
        reason: format!("not json: {e}"),
    })?;
    let id = text(&value["id"]).ok_or_else(|| Rejection {
        reason: "no `id`".into(),
    })?;
    let key = OfferKey::new(source.clone(), &id).map_err(|e| Rejection {
        reason: e.to_string(),
    })?;
    let mut warnings = Vec::new();
    let mut warn = |kind, field: &str, message: String| {
        warnings.push(OfferWarning {
            kind,
            field: field.to_owned(),
            message,
        })
    };

    let title = text(&value["intitule"]).unwrap_or_else(|| {
        warn(
            WarningKind::MissingField,
            "intitule",
            "the offer has no title".into(),
        );
        String::new()
    });
    let description = text(&value["description"]).unwrap_or_else(|| {
        warn(
            WarningKind::MissingField,
            "description",
            "the offer has no description".into(),
        );
        String::new()
    });
    let mut offer = Offer::new(key, &title, &description, seen_at);
    offer.dates = SourceDates {
        created_at: date(&value["dateCreation"], "dateCreation", seen_at, &mut warn),
        updated_at: date(
            &value["dateActualisation"],
            "dateActualisation",
            seen_at,
            &mut warn,
        ),
        expires_at: None,
    };
    offer.location = location(&value["lieuTravail"], &mut warn);
    offer.job = Job {
        rome_code: text(&value["romeCode"]).and_then(|code| {
            RomeCode::parse(&code)
                .map_err(|e| warn(WarningKind::InvalidCode, "romeCode", e.to_string()))
                .ok()
        }),
        rome_label: text(&value["romeLibelle"]),
        appellation_label: text(&value["appellationlibelle"]),
    };
    let company = &value["entreprise"];
    offer.employer = Employer {
        name: text(&company["nom"]),
        siret: None,
        description: text(&company["description"]),
        logo_url: text(&company["logo"]),
        url: text(&company["url"]),
        adapted_company: value["entrepriseAdaptee"]
            .as_bool()
            .or(company["entrepriseAdaptee"].as_bool()),
        disability_committed: value["employeurHandiEngage"].as_bool(),
    };
    offer.contract = contract(&value, &mut warn);
    offer.working_time = working_time(&value);
    offer.salary = salary(&value["salaire"], &mut warn);
    offer.experience = Experience {
        requirement: match text(&value["experienceExige"]).as_deref() {
            Some("D") => Some(ExperienceRequirement::BeginnerAccepted),
            Some("S") => Some(ExperienceRequirement::Desired),
            Some("E") => Some(ExperienceRequirement::Required),
            _ => None,
        },
        label: text(&value["experienceLibelle"]),
        comment: text(&value["experienceCommentaire"]),
    };
    offer.qualification = text(&value["qualificationLibelle"]).map(|label| Requirement {
        kind: "qualification".into(),
        code: text(&value["qualificationCode"]),
        label,
        detail: None,
        required: None,
    });
    offer.requirements = requirements(&value);
    offer.sector = text(&value["secteurActiviteLibelle"]).map(|label| Requirement {
        kind: "sector".into(),
        code: text(&value["codeNAF"]),
        label,
        detail: None,
        required: None,
    });
    offer.positions = value["nombrePostes"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok());
    offer.accessible_to_disabled_workers = value["accessibleTH"].as_bool();
    offer.work_context = work_context(&value);
    let contact = &value["contact"];
    let mut lines: Vec<String> = ["coordonnees1", "coordonnees2", "coordonnees3"]
        .iter()
        .filter_map(|f| text(&contact[*f]))
        .collect();
    lines.extend(
        ["courriel", "telephone"]
            .iter()
            .filter_map(|f| text(&value["agence"][*f]).map(|v| format!("Agence : {v}"))),
    );
    offer.contact = Contact {
        name: text(&contact["nom"]),
        lines,
        phone: text(&contact["telephone"]),
        email: text(&contact["courriel"]),
        recruiter_url: text(&contact["urlRecruteur"]),
        comment: text(&contact["commentaire"]),
    };
    offer.apply_url = text(&contact["urlPostulation"]);
    let origin = &value["origineOffre"];
    offer.offer_url = text(&origin["urlOrigine"]);
    offer.origin = match text(&origin["origine"]).as_deref() {
        Some("1") => Some(OriginKind::Source),
        Some("2") => Some(OriginKind::Partner),
        _ => None,
    };
    offer.partner_origins = array(&origin["partenaires"])
        .map(|p| PartnerOrigin {
            name: text(&p["nom"]),
            url: text(&p["url"]),
            logo_url: text(&p["logo"]),
        })
        .collect();
    offer.warnings = warnings;
    Ok(offer)
}

/// A trimmed, non-empty string; numbers and booleans are accepted as their text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn array(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn date(
    value: &Value,
    field: &str,
    now: DateTime<Utc>,
    warn: &mut impl FnMut(WarningKind, &str, String),
) -> Option<DateTime<Utc>> {
    let raw = text(value)?;
    match DateTime::parse_from_rfc3339(&raw) {
        Ok(at) => {
            let at = at.with_timezone(&Utc);
            let earliest = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
                .expect("constant")
                .with_timezone(&Utc);
            if at < earliest || at > now + chrono::Duration::days(1) {
                warn(
                    WarningKind::InvalidDate,
                    field,
                    format!("`{raw}` is not a plausible date"),
                );
                None
            } else {
                Some(at)
            }
        }
        Err(_) => {
            warn(
                WarningKind::InvalidDate,
                field,
                format!("`{raw}` is not an RFC 3339 date"),
            );
            None
        }
    }
}

fn location(place: &Value, warn: &mut impl FnMut(WarningKind, &str, String)) -> Location {
    let label = text(&place["libelle"]);
    let coordinates = match (place["latitude"].as_f64(), place["longitude"].as_f64()) {
        (Some(latitude), Some(longitude)) if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 => {
            Some(Coordinates {
                latitude,
                longitude,
            })
        }
        _ => None,
    };
    let postal_code = text(&place["codePostal"]);
    let insee = text(&place["commune"]);
    let found = resolve_location(LocationQuery {
        text: label.as_deref(),
        postal_code: postal_code.as_deref(),
        insee: insee.as_deref(),
    });
    let by_code = matches!(
        found.method,
        ResolutionMethod::InseeCode
            | ResolutionMethod::ArrondissementCode
            | ResolutionMethod::FormerOrDelegatedCode
    );
    if let Some(code) = insee.as_deref().filter(|_| !by_code) {
        warn(
            WarningKind::InvalidCode,
            "lieuTravail.commune",
            format!("`{code}` is not a commune of the COG"),
        );
    }
    if found.commune.is_none() && found.departement.is_none() && found.region.is_none() {
        warn(
            WarningKind::UnresolvedLocation,
            "lieuTravail",
            format!(
                "no commune, département or région in `{}`",
                label.as_deref().unwrap_or("")
            ),
        );
    }
    Location {
        label,
        commune: found.commune.and_then(|c| InseeCode::parse(c).ok()),
        postal_code,
        departement: found
            .departement
            .and_then(|d| DepartementCode::parse(d).ok()),
        region: found.region.map(str::to_owned),
        coordinates,
        resolution: found.method,
    }
}

fn contract(value: &Value, warn: &mut impl FnMut(WarningKind, &str, String)) -> Contract {
    let code = text(&value["typeContrat"]);
    let label = text(&value["typeContratLibelle"]);
    let work_study = value["alternance"].as_bool().unwrap_or(false);
    let kind = match code.as_deref() {
        _ if work_study => ContractKind::Apprenticeship,
        Some("CDI") => ContractKind::Permanent,
        Some("CDD" | "DDI") => ContractKind::FixedTerm,
        Some("MIS" | "DIN" | "TTI") => ContractKind::Temporary,
        Some("SAI") => ContractKind::Seasonal,
        Some("LIB" | "FRA" | "REP" | "CCE") => ContractKind::SelfEmployed,
        _ => ContractKind::Other,
    };
    let duration = label
        .as_deref()
        .and_then(|l| l.split_once(" - "))
        .and_then(|(_, d)| {
            let parsed = parse_duration(d);
            if parsed.is_none() {
                warn(
                    WarningKind::UnparsedLabel,
                    "typeContratLibelle",
                    format!("duration `{d}` not understood"),
                );
            }
            parsed
        });
    Contract {
        kind,
        code,
        label,
        nature: text(&value["natureContrat"]),
        duration,
        work_study,
    }
}

/// `6 Mois`, `5 Jour(s)`, `2 An(s)`, `3 Semaine(s)`, `1,5 Mois`.
fn parse_duration(text: &str) -> Option<ContractDuration> {
    let (number, unit) = text.trim().split_once(' ')?;
    let value: f32 = number.replace(',', ".").parse().ok()?;
    let unit = unit.trim().to_lowercase();
    let unit = if unit.starts_with("mois") {
        DurationUnit::Month
    } else if unit.starts_with("jour") {
        DurationUnit::Day
    } else if unit.starts_with("an") {
        DurationUnit::Year
    } else if unit.starts_with("semaine") {
        DurationUnit::Week
    } else {
        return None;
    };
    Some(ContractDuration { value, unit })
}

fn working_time(value: &Value) -> WorkingTime {
    let label = text(&value["dureeTravailLibelle"]);
    let converted = text(&value["dureeTravailLibelleConverti"]).map(|c| c.to_lowercase());
    let kind = match converted.as_deref().or(label.as_deref().map(|_| "")) {
        Some(c) if c.contains("plein") => WorkingTimeKind::FullTime,
        Some(c) if c.contains("partiel") => WorkingTimeKind::PartTime,
        _ if label
            .as_deref()
            .is_some_and(|l| l.to_lowercase().contains("partiel")) =>
        {
            WorkingTimeKind::PartTime
        }
        _ => WorkingTimeKind::Unknown,
    };
    // `35H Horaires normaux`, `35H30`, `24H`.
    let weekly_hours = label.as_deref().and_then(|l| {
        let (hours, rest) = l.split_once(['H', 'h'])?;
        let hours: f32 = hours.trim().parse().ok()?;
        let minutes: f32 = rest.get(..2).and_then(|m| m.parse().ok()).unwrap_or(0.0);
        Some(hours + minutes / 60.0)
    });
    WorkingTime {
        kind,
        label,
        weekly_hours,
    }
}

fn salary(value: &Value, warn: &mut impl FnMut(WarningKind, &str, String)) -> Option<Salary> {
    if !value.is_object() {
        return None;
    }
    let mut salary = Salary {
        label: text(&value["libelle"]),
        comment: text(&value["commentaire"]),
        ..Salary::default()
    };
    salary.complements = ["complement1", "complement2"]
        .iter()
        .filter_map(|f| text(&value[*f]))
        .collect();
    salary
        .complements
        .extend(array(&value["listeComplements"]).filter_map(|c| text(&c["libelle"])));
    if let Some(label) = salary.label.clone() {
        match parse_salary_label(&label) {
            Some((period, min, max, months)) => {
                salary.period = Some(period);
                salary.min = Some(min);
                salary.max = max;
                salary.months = months;
            }
            None => warn(
                WarningKind::UnparsedLabel,
                "salaire.libelle",
                format!("`{label}` not understood"),
            ),
        }
    }
    Some(salary)
}

/// `Mensuel de 2275.0 Euros à 3033.0 Euros sur 12.0 mois`, `Annuel de 20148,00 Euros à 25000,00 Euros sur 12 mois`,
/// `Horaire de 11.65 Euros sur 12.0 mois`.
fn parse_salary_label(label: &str) -> Option<(SalaryPeriod, f64, Option<f64>, Option<f32>)> {
    let lower = label.to_lowercase();
    let period = if lower.starts_with("mensuel") {
        SalaryPeriod::Month
    } else if lower.starts_with("annuel") {
        SalaryPeriod::Year
    } else if lower.starts_with("horaire") {
        SalaryPeriod::Hour
    } else if lower.starts_with("cachet") {
        SalaryPeriod::Engagement
    } else {
        return None;
    };
    let number = |s: &str| {
        s.trim()
            .replace(' ', "")
            .replace(',', ".")
            .parse::<f64>()
            .ok()
    };
    let after_de = lower.split_once(" de ")?.1;
    let (amounts, months) = match after_de.split_once(" sur ") {
        Some((amounts, months)) => (
            amounts,
            months
                .trim()
                .trim_end_matches("mois")
                .trim()
                .replace(',', ".")
                .parse::<f32>()
                .ok(),
        ),
        None => (after_de, None),
    };
    let mut bounds = amounts
        .split(" à ")
        .map(|part| part.trim().trim_end_matches("euros").trim());
    let min = number(bounds.next()?)?;
    let max = match bounds.next() {
        Some(max) => Some(number(max)?),
        None => None,
    };
    Some((period, min, max, months))
}

fn requirement(
    kind: &str,
    item: &Value,
    label: Option<String>,
    code: Option<String>,
    detail: Option<String>,
) -> Option<Requirement> {
    Some(Requirement {
        kind: kind.into(),
        code,
        label: label?,
        detail,
        required: match text(&item["exigence"]).as_deref() {
            Some("E") => Some(true),
            Some("S") => Some(false),
            _ => None,
        },
    })
}

fn requirements(value: &Value) -> Vec<Requirement> {
    let mut all = Vec::new();
    all.extend(
        array(&value["competences"])
            .filter_map(|c| requirement("skill", c, text(&c["libelle"]), text(&c["code"]), None)),
    );
    all.extend(
        array(&value["langues"])
            .filter_map(|l| requirement("language", l, text(&l["libelle"]), None, None)),
    );
    all.extend(
        array(&value["permis"])
            .filter_map(|p| requirement("licence", p, text(&p["libelle"]), None, None)),
    );
    all.extend(array(&value["formations"]).filter_map(|f| {
        let label = [text(&f["niveauLibelle"]), text(&f["domaineLibelle"])]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" — ");
        requirement(
            "training",
            f,
            Some(label).filter(|l| !l.is_empty()),
            text(&f["codeFormation"]),
            text(&f["commentaire"]),
        )
    }));
    all.extend(array(&value["qualitesProfessionnelles"]).filter_map(|q| {
        requirement(
            "quality",
            q,
            text(&q["libelle"]),
            None,
            text(&q["description"]),
        )
    }));
    all.extend(
        array(&value["outilsBureautiques"])
            .filter_map(|t| requirement("office_tool", &Value::Null, text(t), None, None)),
    );
    all
}

fn work_context(value: &Value) -> Vec<String> {
    let mut context = Vec::new();
    let context_of = &value["contexteTravail"];
    context.extend(array(&context_of["horaires"]).filter_map(text));
    context.extend(array(&context_of["conditionsExercice"]).filter_map(text));
    context.extend(
        ["complementExercice", "conditionExercice"]
            .iter()
            .filter_map(|f| text(&value[*f])),
    );
    if let Some(travel) = text(&value["deplacementLibelle"]) {
        context.push(format!("Déplacements : {travel}"));
    }
    if let Some(size) = text(&value["trancheEffectifEtab"]) {
        context.push(format!("Effectif de l'établissement : {size}"));
    }
    context
}

#[cfg(test)]
mod tests;
