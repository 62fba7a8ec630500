//! A [`FeedRecord`] of any format → [`Offer`]. Absurd values become warnings and `None`, never
//! errors; only a record without an id or a title is rejected.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use relais_model::{
    Contract, ContractDuration, ContractKind, Coordinates, DepartementCode, DurationUnit, Employer,
    InseeCode, Location, Offer, OfferKey, OfferWarning, Requirement, RomeCode, Salary,
    SalaryPeriod, Siret, SourceId, WarningKind, WorkingTime, WorkingTimeKind,
};
use relais_territory::{LocationQuery, ResolutionMethod, resolve_location};

use super::config::Field;
use super::record::FeedRecord;
use super::sanitise::{clean_description, cut_at_char_boundary, plain_text};

/// Longest title kept, in bytes.
const MAX_TITLE_BYTES: usize = 300;

/// How a source's records are normalised.
#[derive(Debug, Clone)]
pub struct NormaliseOptions {
    /// The source.
    pub source: SourceId,
    /// chrono formats of naive dates, after RFC 3339 and RFC 2822.
    pub date_formats: Vec<String>,
    /// Time zone of naive dates.
    pub timezone: chrono_tz::Tz,
    /// Contract labels (lowercase) mapped to a family.
    pub contract_values: BTreeMap<String, ContractKind>,
    /// Family of records that give no contract.
    pub default_contract: Option<ContractKind>,
    /// Longest description kept.
    pub max_description_bytes: usize,
}

impl NormaliseOptions {
    /// Options with no date format, Paris time, no contract table, 64 KB descriptions.
    pub fn new(source: SourceId) -> Self {
        Self {
            source,
            date_formats: Vec::new(),
            timezone: chrono_tz::Europe::Paris,
            contract_values: BTreeMap::new(),
            default_contract: None,
            max_description_bytes: 64 * 1024,
        }
    }
}

/// Parses a contract family name as written in mappings (`fixed_term`…).
pub fn contract_kind_named(name: &str) -> Option<ContractKind> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).ok()
}

/// Why a record cannot become an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong.
    pub message: String,
}

/// Normalises one record seen at `now`.
pub fn normalise_record(
    mut record: FeedRecord,
    options: &NormaliseOptions,
    now: DateTime<Utc>,
) -> Result<(Offer, String), Rejection> {
    let id = record.get(Field::Id).ok_or_else(|| Rejection {
        message: "the record has no id".into(),
    })?;
    let key = OfferKey::new(options.source.clone(), id).map_err(|e| Rejection {
        message: format!("unusable id: {e}"),
    })?;
    let title = record.get(Field::Title).map(plain_text).unwrap_or_default();
    if title.is_empty() {
        return Err(Rejection {
            message: format!("offer `{}` has no title", key.source_offer_id()),
        });
    }
    let mut warnings = std::mem::take(&mut record.warnings);
    let mut warn = |kind: WarningKind, field: Field, message: String| {
        warnings.push(OfferWarning {
            kind,
            field: field.name(),
            message,
        });
    };
    let title = if title.len() > MAX_TITLE_BYTES {
        warn(
            WarningKind::OversizedField,
            Field::Title,
            format!("title of {} bytes cut", title.len()),
        );
        cut_at_char_boundary(&title, MAX_TITLE_BYTES).to_owned()
    } else {
        title
    };

    let description = clean_description(
        record.get(Field::Description).unwrap_or_default(),
        options.max_description_bytes,
    );
    if description.stripped_unsafe {
        warn(
            WarningKind::UnsafeContent,
            Field::Description,
            "scripts, handlers, styles or remote content removed".into(),
        );
    }
    if description.truncated {
        warn(
            WarningKind::OversizedField,
            Field::Description,
            format!("description cut to {} bytes", options.max_description_bytes),
        );
    }
    if description.text.is_empty() {
        warn(
            WarningKind::MissingField,
            Field::Description,
            "no description".into(),
        );
    }

    let mut offer = Offer::new(key, &title, &description.text, now);
    offer.description_html = description.html;
    let page_url = record
        .get(Field::Url)
        .and_then(|u| web_url(u, None, Field::Url, &mut warn));
    offer.apply_url = record
        .get(Field::ApplyUrl)
        .and_then(|u| web_url(u, page_url.as_deref(), Field::ApplyUrl, &mut warn));
    offer.employer = employer(&record, page_url.as_deref(), &mut warn);
    offer.offer_url = page_url;
    offer.location = location(&record, &mut warn);
    offer.contract = contract(&record, options);
    offer.working_time = working_time(record.get(Field::WorkingTime));
    offer.salary = salary(&record, &mut warn);
    offer.dates.created_at = date(&record, Field::PublishedAt, options, now, &mut warn);
    offer.dates.updated_at = date(&record, Field::UpdatedAt, options, now, &mut warn);
    offer.dates.expires_at = date(&record, Field::ExpiresAt, options, now, &mut warn);
    if let Some(code) = record.get(Field::RomeCode) {
        match RomeCode::parse(code) {
            Ok(code) => offer.job.rome_code = Some(code),
            Err(_) => warn(
                WarningKind::InvalidCode,
                Field::RomeCode,
                format!("`{code}` is not a ROME code"),
            ),
        }
    }
    if let Some(positions) = record.get(Field::Positions) {
        match positions.parse::<u32>() {
            Ok(n @ 1..=10_000) => offer.positions = Some(n),
            _ => warn(
                WarningKind::UnparsedLabel,
                Field::Positions,
                format!("`{positions}` is not a number of positions"),
            ),
        }
    }
    offer.qualification = record.get(Field::Qualification).map(|label| Requirement {
        kind: "qualification".into(),
        code: None,
        label: label.to_owned(),
        detail: None,
        required: None,
    });
    offer.sector = record.get(Field::Sector).map(|label| Requirement {
        kind: "sector".into(),
        code: None,
        label: label.to_owned(),
        detail: None,
        required: None,
    });
    offer.experience.label = record.get(Field::Experience).map(str::to_owned);
    offer.contact.email = record.get(Field::ApplyEmail).map(str::to_owned);
    offer.warnings = warnings;
    Ok((offer, record.raw_payload))
}

/// An absolute http(s) URL, resolved against `base` when relative; anything else is dropped.
fn web_url(
    value: &str,
    base: Option<&str>,
    field: Field,
    warn: &mut impl FnMut(WarningKind, Field, String),
) -> Option<String> {
    let parsed = reqwest::Url::parse(value).or_else(|error| {
        base.and_then(|b| reqwest::Url::parse(b).ok())
            .ok_or(error)
            .and_then(|b| b.join(value))
    });
    match parsed {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url.to_string()),
        _ => {
            warn(
                WarningKind::InvalidCode,
                field,
                format!(
                    "`{}` is not an http(s) URL",
                    cut_at_char_boundary(value, 200)
                ),
            );
            None
        }
    }
}

fn employer(
    record: &FeedRecord,
    page_url: Option<&str>,
    warn: &mut impl FnMut(WarningKind, Field, String),
) -> Employer {
    let siret = record.get(Field::Siret).and_then(|value| {
        let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match digits.len() {
            // A SIREN names the company, not the establishment: nothing to store as a SIRET.
            9 if digits.bytes().all(|b| b.is_ascii_digit()) => None,
            _ => match Siret::parse(&digits) {
                Ok(siret) => Some(siret),
                Err(_) => {
                    warn(
                        WarningKind::InvalidCode,
                        Field::Siret,
                        format!("`{value}` is neither a SIRET nor a SIREN"),
                    );
                    None
                }
            },
        }
    });
    Employer {
        name: record.get(Field::Employer).map(plain_text),
        siret,
        description: record
            .get(Field::EmployerDescription)
            .map(|d| clean_description(d, 16 * 1024).text),
        logo_url: record
            .get(Field::EmployerLogo)
            .and_then(|u| web_url(u, page_url, Field::EmployerLogo, warn)),
        url: record
            .get(Field::EmployerUrl)
            .and_then(|u| web_url(u, None, Field::EmployerUrl, warn)),
        adapted_company: None,
        disability_committed: None,
    }
}

/// Tries the most precise query first: INSEE code, postal code with the town, the town with its
/// département, then the free location text.
fn location(record: &FeedRecord, warn: &mut impl FnMut(WarningKind, Field, String)) -> Location {
    let city = record.get(Field::City);
    // An offer has one place in the model: the others are said, not dropped silently.
    for field in [Field::City, Field::Location] {
        let others: Vec<&str> = record.others(field).collect();
        if let (Some(kept), false) = (record.get(field), others.is_empty()) {
            warn(
                WarningKind::UnparsedLabel,
                field,
                format!(
                    "several places of work: `{kept}` kept; also {}",
                    others
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    // `6` for `06`: some boards drop the leading zero of a département code.
    let padded;
    let departement = match record.get(Field::Departement) {
        Some(code) if code.len() == 1 && code.as_bytes()[0].is_ascii_digit() => {
            padded = format!("0{code}");
            Some(padded.as_str())
        }
        other => other,
    };
    let free_text = record.get(Field::Location);
    let town = match (city, departement) {
        (Some(city), Some(dep))
            if dep.len() <= 3 && dep.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(format!("{dep} - {city}"))
        }
        (Some(city), Some(dep)) => Some(format!("{city}, {dep}")),
        (Some(city), None) => Some(city.to_owned()),
        (None, Some(dep)) => Some(dep.to_owned()),
        (None, None) => None,
    };
    let postal_code = record.get(Field::PostalCode);
    let insee = record.get(Field::Insee);
    let mut found = resolve_location(LocationQuery {
        text: town.as_deref(),
        postal_code,
        insee,
    });
    if found.commune.is_none()
        && let Some(text) = free_text
    {
        let combined = match city {
            Some(city) => format!("{city}, {text}"),
            None => text.to_owned(),
        };
        for candidate in [combined.as_str(), text] {
            let other = resolve_location(LocationQuery {
                text: Some(candidate),
                postal_code,
                insee: None,
            });
            if other.commune.is_some() || found.method == ResolutionMethod::Unresolved {
                found = other;
            }
            if found.commune.is_some() {
                break;
            }
        }
    }
    let by_code = matches!(
        found.method,
        ResolutionMethod::InseeCode
            | ResolutionMethod::ArrondissementCode
            | ResolutionMethod::FormerOrDelegatedCode
    );
    if let Some(code) = insee.filter(|_| !by_code) {
        warn(
            WarningKind::InvalidCode,
            Field::Insee,
            format!("`{code}` is not a commune of the COG"),
        );
    }
    let label = [town.as_deref(), free_text]
        .into_iter()
        .flatten()
        .next()
        .map(str::to_owned);
    if found.commune.is_none() && found.departement.is_none() && found.region.is_none() {
        warn(
            WarningKind::UnresolvedLocation,
            Field::Location,
            format!(
                "no commune, département or région in `{}`",
                label.as_deref().unwrap_or_default()
            ),
        );
    }
    Location {
        label,
        commune: found.commune.and_then(|c| InseeCode::parse(c).ok()),
        postal_code: postal_code.map(str::to_owned),
        departement: found
            .departement
            .and_then(|d| DepartementCode::parse(d).ok()),
        region: found.region.map(str::to_owned),
        coordinates: coordinates(record),
        resolution: found.method,
    }
}

fn coordinates(record: &FeedRecord) -> Option<Coordinates> {
    let number = |text: &str| text.trim().replace(',', ".").parse::<f64>().ok();
    let (latitude, longitude) = match (record.get(Field::Latitude), record.get(Field::Longitude)) {
        (Some(lat), Some(lon)) => (number(lat)?, number(lon)?),
        _ => {
            let geoloc = record.get(Field::Geoloc)?;
            let (lat, lon) = geoloc.split_once([',', ';', ' '])?;
            (number(lat)?, number(lon)?)
        }
    };
    (latitude.abs() <= 90.0 && longitude.abs() <= 180.0 && (latitude, longitude) != (0.0, 0.0))
        .then_some(Coordinates {
            latitude,
            longitude,
        })
}

/// The family of a contract label, in French or English.
pub fn classify_contract(label: &str) -> ContractKind {
    let folded = deunicode_lower(label);
    let has = |words: &[&str]| words.iter().any(|w| folded.contains(w));
    if has(&[
        "apprenti",
        "alternance",
        "professionnalisation",
        "work-study",
        "work study",
    ]) {
        ContractKind::Apprenticeship
    } else if has(&["interim", "temporary", "mission", "temp "]) || folded == "temp" {
        ContractKind::Temporary
    } else if has(&["saisonn", "seasonal"]) {
        ContractKind::Seasonal
    } else if has(&["cdd", "fixed", "duree determinee"]) {
        ContractKind::FixedTerm
    } else if has(&["cdi", "permanent", "duree indeterminee", "titulaire"]) {
        ContractKind::Permanent
    } else if has(&["contract", "contractuel", "vacataire"]) {
        ContractKind::FixedTerm
    } else if has(&[
        "freelance",
        "independant",
        "liberal",
        "franchise",
        "self-employed",
    ]) {
        ContractKind::SelfEmployed
    } else {
        ContractKind::Other
    }
}

fn deunicode_lower(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase().replace('_', " ")
}

fn contract(record: &FeedRecord, options: &NormaliseOptions) -> Contract {
    // Every value given (`CDI` and `Alternance / Apprentissage`): the family is the first that is
    // not work-study, and any work-study value sets the flag, so nothing is lost.
    let values: Vec<&str> = record
        .get(Field::Contract)
        .into_iter()
        .chain(record.others(Field::Contract))
        .collect();
    let kinds: Vec<ContractKind> = values
        .iter()
        .map(|label| {
            options
                .contract_values
                .get(&label.to_lowercase())
                .copied()
                .unwrap_or_else(|| classify_contract(label))
        })
        .collect();
    let work_study = kinds.contains(&ContractKind::Apprenticeship);
    let kind = kinds
        .iter()
        .copied()
        .find(|k| !matches!(k, ContractKind::Apprenticeship | ContractKind::Other))
        .or_else(|| work_study.then_some(ContractKind::Apprenticeship))
        .or_else(|| kinds.first().copied())
        .unwrap_or_else(|| options.default_contract.unwrap_or(ContractKind::Other));
    // A feed of apprenticeships only (`default_contract = "apprenticeship"`) is work-study too.
    let work_study = work_study || kind == ContractKind::Apprenticeship;
    Contract {
        kind,
        code: None,
        label: (!values.is_empty()).then(|| values.join(" / ")),
        nature: None,
        duration: record
            .get(Field::ContractDuration)
            .and_then(|text| contract_duration(text, options)),
        work_study,
    }
}

/// A contract's duration: `12 mois`, `6` (a bare number: months), `3 semaines`, `15 jours`,
/// `2 ans`, `1,5 mois`, or the period `du 01/03/2025 au 31/08/2025` (in months, else days).
fn contract_duration(text: &str, options: &NormaliseOptions) -> Option<ContractDuration> {
    let lower = deunicode_lower(text);
    let lower = lower.trim();
    if let Some(rest) = lower.strip_prefix("du ")
        && let Some((from, to)) = rest.split_once(" au ")
    {
        let (from, to) = (parse_date(from, options)?, parse_date(to, options)?);
        let days = (to - from).num_days() + 1;
        if days <= 0 {
            return None;
        }
        return Some(if days >= 28 {
            ContractDuration {
                value: ((days as f32 / 30.44) * 10.0).round() / 10.0,
                unit: DurationUnit::Month,
            }
        } else {
            ContractDuration {
                value: days as f32,
                unit: DurationUnit::Day,
            }
        });
    }
    let number_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(lower.len());
    let value: f32 = lower[..number_end].replace(',', ".").parse().ok()?;
    let unit = lower[number_end..].trim();
    let unit = if unit.is_empty() || unit.starts_with("mois") || unit.starts_with("month") {
        DurationUnit::Month
    } else if unit.starts_with("jour") || unit.starts_with("day") {
        DurationUnit::Day
    } else if unit.starts_with("semaine") || unit.starts_with("week") {
        DurationUnit::Week
    } else if unit.starts_with("an") || unit.starts_with("year") {
        DurationUnit::Year
    } else {
        return None;
    };
    (value > 0.0).then_some(ContractDuration { value, unit })
}

fn working_time(label: Option<&str>) -> WorkingTime {
    let weekly_hours = label.and_then(weekly_hours);
    let kind = match label.map(deunicode_lower) {
        Some(l) if l.contains("part") || l.contains("partiel") => WorkingTimeKind::PartTime,
        Some(l)
            if l.contains("full") || l.contains("temps plein") || l.contains("temps complet") =>
        {
            WorkingTimeKind::FullTime
        }
        // Hours alone: the legal full time is 35 hours a week.
        _ => match weekly_hours {
            Some(hours) if hours >= 35.0 => WorkingTimeKind::FullTime,
            Some(_) => WorkingTimeKind::PartTime,
            None => WorkingTimeKind::Unknown,
        },
    };
    WorkingTime {
        kind,
        label: label.map(str::to_owned),
        weekly_hours,
    }
}

/// Weekly hours in a label: a bare number (`35`, `24,5`), or hours with a unit (`35h`,
/// `35 h 30`, `35H30`, `28 heures`, `39h/semaine`, `Temps partiel 24h`); between 1 and 60.
fn weekly_hours(label: &str) -> Option<f32> {
    let text = deunicode_lower(label);
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let (before, from_number) = text.split_at(start);
    let number_len = from_number
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(from_number.len());
    let hours: f32 = from_number[..number_len]
        .trim_end_matches(['.', ','])
        .replace(',', ".")
        .parse()
        .ok()?;
    let after = from_number[number_len..].trim_start();
    let value = if let Some(rest) = after.strip_prefix('h') {
        // `35h30`, `35 h 30`, `35 heures`.
        let rest = rest.trim_start_matches("eures").trim_start();
        let minutes: f32 = rest
            .get(..2)
            .filter(|m| m.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|m| m.parse().ok())
            .unwrap_or(0.0);
        hours + minutes / 60.0
    } else if after.is_empty() && before.trim().is_empty() {
        // A bare number: the field holds hours.
        hours
    } else {
        return None;
    };
    (1.0..=60.0).contains(&value).then_some(value)
}

/// `1 823,00`, `33000.000`, `35 000 €` → a number.
fn amount(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect();
    let cleaned = match (cleaned.rfind(','), cleaned.rfind('.')) {
        (Some(comma), Some(dot)) if comma > dot => cleaned.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => cleaned.replace(',', ""),
        (Some(_), None) => cleaned.replace(',', "."),
        _ => cleaned,
    };
    cleaned.parse().ok()
}

fn salary_period(text: &str) -> Option<SalaryPeriod> {
    let text = deunicode_lower(text);
    if text.contains("hour") || text.contains("heure") || text.contains("horaire") {
        Some(SalaryPeriod::Hour)
    } else if text.contains("month") || text.contains("mois") || text.contains("mensuel") {
        Some(SalaryPeriod::Month)
    } else if text.contains("year")
        || text.contains("annuel")
        || text.contains(" an")
        || text.contains("annum")
    {
        Some(SalaryPeriod::Year)
    } else {
        None
    }
}

fn salary(
    record: &FeedRecord,
    warn: &mut impl FnMut(WarningKind, Field, String),
) -> Option<Salary> {
    let label = record.get(Field::Salary);
    let mut min = record.get(Field::SalaryMin).and_then(amount);
    let mut max = record.get(Field::SalaryMax).and_then(amount);
    if min.is_none()
        && max.is_none()
        && let Some(label) = label
    {
        // `710,00 - 1 823,00 EUR`, `35 000 €`: numbers separated by a dash or `à`.
        let lower = label.to_lowercase();
        let thousands = ["k€", "k eur", "keur", "k euros"]
            .iter()
            .any(|unit| lower.contains(unit));
        let factor = if thousands { 1000.0 } else { 1.0 };
        let mut bounds = label
            .split(['-', '–', 'à'])
            .filter_map(|part| amount(part).filter(|n| *n > 0.0))
            .map(|n| n * factor);
        min = bounds.next();
        max = bounds.next();
    }
    let period = record
        .get(Field::SalaryPeriod)
        .or(label)
        .and_then(salary_period);
    // What a salary in France can be for its period (gross, in euros): outside, the figure is
    // not published (the label still is) and the offer says why.
    let (low, high) = match period {
        Some(SalaryPeriod::Hour) => (5.0, 500.0),
        Some(SalaryPeriod::Month) => (300.0, 50_000.0),
        Some(SalaryPeriod::Year) => (3_000.0, 1_000_000.0),
        _ => (1.0, 10_000_000.0),
    };
    let mut plausible = |value: Option<f64>, field: Field| {
        value.filter(|v| {
            let ok = (low..=high).contains(v);
            if !ok {
                let per = match period {
                    Some(SalaryPeriod::Hour) => " an hour",
                    Some(SalaryPeriod::Month) => " a month",
                    Some(SalaryPeriod::Year) => " a year",
                    _ => "",
                };
                warn(
                    WarningKind::UnparsedLabel,
                    field,
                    format!(
                        "salary `{v}`{per} is not plausible (expected {low} to {high}): left out"
                    ),
                );
            }
            ok
        })
    };
    let min = plausible(min, Field::SalaryMin);
    let max = plausible(max, Field::SalaryMax);
    if label.is_none() && min.is_none() && max.is_none() {
        return None;
    }
    Some(Salary {
        label: label.map(str::to_owned),
        comment: None,
        min,
        max,
        period,
        months: None,
        complements: Vec::new(),
    })
}

fn date(
    record: &FeedRecord,
    field: Field,
    options: &NormaliseOptions,
    now: DateTime<Utc>,
    warn: &mut impl FnMut(WarningKind, Field, String),
) -> Option<DateTime<Utc>> {
    let raw = record.get(field)?;
    let Some(at) = parse_date(raw, options) else {
        warn(
            WarningKind::InvalidDate,
            field,
            format!(
                "`{}` is not a date in a known format",
                cut_at_char_boundary(raw, 100)
            ),
        );
        return None;
    };
    let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single()?;
    if field == Field::ExpiresAt && at > now + TimeDelta::days(3 * 366) {
        // `01/01/2050`, `2100-01-01`: a "never" sentinel says the offer has no end date.
        return None;
    }
    let latest = match field {
        Field::ExpiresAt => now + TimeDelta::days(3 * 366),
        _ => now + TimeDelta::days(1),
    };
    if at < earliest || at > latest {
        warn(
            WarningKind::InvalidDate,
            field,
            format!("`{raw}` is not a plausible date"),
        );
        return None;
    }
    Some(at)
}

/// RFC 3339, RFC 2822, then the source's formats as date-times, then as dates. A zone
/// designator at the end of the text (`UTC`, `GMT`, `Z`, `+01:00`, `+0100`), written literally
/// in the format or not, decides the zone; without one the source's `timezone` does.
pub fn parse_date(raw: &str, options: &NormaliseOptions) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_rfc2822(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let (text, zone) = split_zone(raw);
    let at_zone = |naive: NaiveDateTime| match zone {
        Some(offset) => offset
            .from_local_datetime(&naive)
            .single()
            .map(|at| at.with_timezone(&Utc)),
        None => options
            .timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|at| at.with_timezone(&Utc)),
    };
    for format in &options.date_formats {
        if let Ok(at) = DateTime::parse_from_str(raw, format) {
            return Some(at.with_timezone(&Utc));
        }
        // The format's own zone literal, if any, is the one the text ends with.
        let format = split_zone(format.trim()).0;
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return at_zone(naive);
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, format) {
            return at_zone(day.and_hms_opt(0, 0, 0)?);
        }
    }
    // ISO dates without a zone are common enough to try whatever the source says.
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return at_zone(naive);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| at_zone(d.and_hms_opt(0, 0, 0)?))
}

/// The text without its trailing zone designator, and the offset it designates: ` UTC`,
/// ` GMT`, `Z` (UTC), `+01:00`, `+0100`, `-05:00` (after a space or not).
fn split_zone(text: &str) -> (&str, Option<chrono::FixedOffset>) {
    let utc = chrono::FixedOffset::east_opt(0);
    for name in [" UTC", " GMT", "UTC", "GMT", "Z"] {
        if let Some(rest) = text.strip_suffix(name)
            && rest.ends_with(|c: char| c.is_ascii_digit() || c == ' ' || c == 'S')
        {
            return (rest.trim_end(), utc);
        }
    }
    let bytes = text.as_bytes();
    for width in [6, 5] {
        if bytes.len() <= width {
            continue;
        }
        let (rest, zone) = text.split_at(text.len() - width);
        let sign = match zone.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
        let well_formed = digits.len() == 4 && (width == 5 || zone.as_bytes()[3] == b':');
        // A date's own `-` (`2024-01-30`) is not an offset: an offset follows a time.
        if !well_formed
            || !rest
                .trim_end()
                .ends_with(|c: char| c.is_ascii_digit() || c == 'S')
        {
            continue;
        }
        if !rest.contains(':') && !rest.contains("%H") {
            continue;
        }
        let hours: i32 = digits[..2].parse().unwrap_or(99);
        let minutes: i32 = digits[2..].parse().unwrap_or(99);
        if hours > 14 || minutes > 59 {
            continue;
        }
        let offset = chrono::FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60));
        return (rest.trim_end(), offset);
    }
    (text, None)
}

/// Why a date format cannot be used, if it cannot: `%Z` and zone abbreviations other than
/// `UTC`/`GMT` read a zone name that the parser would ignore (the time would be read in the
/// default zone, silently off by an hour or more).
pub fn check_date_format(format: &str) -> Result<(), String> {
    if format.contains("%Z") {
        return Err(format!(
            "date format `{format}`: `%Z` reads a zone name that cannot be interpreted: write the zone literally (`UTC`), use `%z` for an offset, or set `timezone`"
        ));
    }
    let literal: String = {
        // Letters outside `%x` specifiers.
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c == '%' {
                chars.next();
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        out
    };
    for word in literal.split(|c: char| !c.is_ascii_alphabetic()) {
        if matches!(
            word,
            "CET"
                | "CEST"
                | "EST"
                | "EDT"
                | "PST"
                | "PDT"
                | "BST"
                | "WET"
                | "WEST"
                | "EET"
                | "EEST"
        ) {
            return Err(format!(
                "date format `{format}`: the zone `{word}` would be ignored: set `timezone` (e.g. `Europe/Paris`) and leave it out of the format"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
