//! Resolution of a location, as sources give it, to a current commune, or failing that to a
//! département or a région, with the method recorded.
//!
//! Order: INSEE code (an arrondissement → its commune, a delegated or former code → the current
//! commune, a Corsican numeric code `20xxx` → `2A`/`2B`); postal code, with the town name when the
//! code is shared; an arrondissement named in the text (`PARIS 14`, `Lyon 7e`); département and
//! name; a name unique nationally; otherwise the département or région the text names.
//! Coordinates are not used yet: relais does not ship commune centroids yet.

use serde::Serialize;

use crate::geography::{Geography, geography};
use crate::names::normalise_place_name;

/// What a source says about a location.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocationQuery<'a> {
    /// Free text: `59 - MARCQ EN BAROEUL`, `Lot (46)`, `PARIS 14ème arrondissement`, `46000 Cahors`.
    pub text: Option<&'a str>,
    /// A postal code given apart.
    pub postal_code: Option<&'a str>,
    /// An INSEE code given apart.
    pub insee: Option<&'a str>,
}

/// How a location was resolved: the model's [`LocationResolution`], stored on each offer.
pub use relais_model::LocationResolution as ResolutionMethod;

/// Where a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The current commune.
    pub commune: Option<&'static str>,
    /// Its département, or the département named.
    pub departement: Option<&'static str>,
    /// Its région, or the région named.
    pub region: Option<&'static str>,
    /// How it was found.
    pub method: ResolutionMethod,
}

impl Resolution {
    fn commune(geography: &Geography, id: u32, method: ResolutionMethod) -> Self {
        let commune = geography.commune(id);
        Self {
            commune: Some(commune.code),
            departement: Some(commune.departement),
            region: Some(commune.region),
            method,
        }
    }

    fn departement(geography: &Geography, code: &str) -> Option<Self> {
        let (_, region) = geography.departement(code)?;
        let code = geography.departement_code(code)?;
        Some(Self {
            commune: None,
            departement: Some(code),
            region: Some(region),
            method: ResolutionMethod::Departement,
        })
    }

    const UNRESOLVED: Self = Self {
        commune: None,
        departement: None,
        region: None,
        method: ResolutionMethod::Unresolved,
    };
}

/// Resolves a location.
pub fn resolve_location(query: LocationQuery<'_>) -> Resolution {
    let geography = geography();
    if let Some(resolution) = query
        .insee
        .and_then(|code| by_insee_code(geography, code.trim()))
    {
        return resolution;
    }
    let text = Parsed::of(query.text.unwrap_or_default());
    if let Some(resolution) = query
        .postal_code
        .or(text.postal_code.as_deref())
        .and_then(|cp| by_postal_code(geography, cp.trim(), &text))
    {
        return resolution;
    }
    if let Some(resolution) = by_arrondissement_name(geography, &text.name) {
        return resolution;
    }
    // `25 - Doubs` names the département Doubs, not its commune Doubs (25204); Paris is both.
    let names_its_departement = text.departement.as_deref().is_some_and(|d| {
        d != "75" && geography.departement_with_normalised_name(&text.name) == Some(d)
    });
    if let Some(departement) = text
        .departement
        .as_deref()
        .filter(|_| !names_its_departement)
    {
        let within = |named: &[u32]| -> Vec<u32> {
            named
                .iter()
                .copied()
                .filter(|&id| geography.commune(id).departement == departement)
                .collect()
        };
        let mut within_named = within(geography.communes_with_normalised_name(&text.name));
        if within_named.is_empty() {
            within_named = within(geography.communes_with_former_name(&text.name));
        }
        if let [id] = within_named[..] {
            return Resolution::commune(geography, id, ResolutionMethod::DepartementAndName);
        }
    }
    // A name unique in France (a current name, else a former one), unless the text places it in
    // another département.
    let named = match geography.communes_with_normalised_name(&text.name) {
        [] => geography.communes_with_former_name(&text.name),
        named => named,
    };
    if !names_its_departement
        && let [id] = named
        && text
            .departement
            .as_deref()
            .is_none_or(|d| geography.commune(*id).departement == d)
    {
        return Resolution::commune(geography, *id, ResolutionMethod::UniqueName);
    }
    if let Some(resolution) = text
        .departement
        .as_deref()
        .and_then(|d| Resolution::departement(geography, d))
    {
        return resolution;
    }
    if let Some(code) = geography.departement_with_normalised_name(&text.name) {
        return Resolution::departement(geography, code).unwrap_or(Resolution::UNRESOLVED);
    }
    if let Some(region) = geography.region_with_normalised_name(&text.name) {
        return Resolution {
            commune: None,
            departement: None,
            region: Some(region),
            method: ResolutionMethod::Region,
        };
    }
    Resolution::UNRESOLVED
}

fn by_insee_code(geography: &Geography, code: &str) -> Option<Resolution> {
    if let Some(id) = geography.current_commune(code) {
        return Some(Resolution::commune(
            geography,
            id,
            ResolutionMethod::InseeCode,
        ));
    }
    // Corsica was département 20 until 1976; some sources still write 20xxx.
    let corsican = code
        .strip_prefix("20")
        .map(|rest| [format!("2A{rest}"), format!("2B{rest}")]);
    for candidate in std::iter::once(code.to_owned()).chain(corsican.into_iter().flatten()) {
        if let Some(id) = geography.current_commune(&candidate) {
            return Some(Resolution::commune(
                geography,
                id,
                ResolutionMethod::InseeCode,
            ));
        }
        if let Some(id) = geography.current_commune_of(&candidate) {
            let arrondissement = geography
                .rows_with_code(&candidate)
                .any(|c| c.kind == crate::CommuneKind::Arrondissement);
            let method = if arrondissement {
                ResolutionMethod::ArrondissementCode
            } else {
                ResolutionMethod::FormerOrDelegatedCode
            };
            return Some(Resolution::commune(geography, id, method));
        }
    }
    None
}

fn by_postal_code(geography: &Geography, postal_code: &str, text: &Parsed) -> Option<Resolution> {
    let candidates = geography.communes_with_postal_code(postal_code);
    match candidates {
        [] => None,
        [id] => Some(Resolution::commune(
            geography,
            *id,
            ResolutionMethod::PostalCode,
        )),
        many => {
            let among = |named: &[u32]| -> Vec<u32> {
                many.iter()
                    .copied()
                    .filter(|id| named.contains(id))
                    .collect()
            };
            let mut matching = among(geography.communes_with_normalised_name(&text.name));
            if matching.is_empty() {
                matching = among(geography.communes_with_former_name(&text.name));
            }
            match matching[..] {
                [id] => Some(Resolution::commune(
                    geography,
                    id,
                    ResolutionMethod::PostalCodeAndName,
                )),
                _ => {
                    // Several communes and no name to choose: keep the département if they share one.
                    let departement = geography.commune(many[0]).departement;
                    many.iter()
                        .all(|&id| geography.commune(id).departement == departement)
                        .then(|| Resolution::departement(geography, departement))
                        .flatten()
                }
            }
        }
    }
}

/// `PARIS 14`, `PARIS 14EME ARRONDISSEMENT`, `LYON 7E`, `MARSEILLE 1ER`.
fn by_arrondissement_name(geography: &Geography, name: &str) -> Option<Resolution> {
    let mut words = name.split(' ');
    let commune = match words.next()? {
        "PARIS" => "75056",
        "LYON" => "69123",
        "MARSEILLE" => "13055",
        _ => return None,
    };
    let number = words.next()?;
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    let suffix = &number[digits.len()..];
    if digits.is_empty() || !matches!(suffix, "" | "E" | "EME" | "ER" | "EMR") {
        return None;
    }
    let id = geography.current_commune(commune)?;
    Some(Resolution::commune(
        geography,
        id,
        ResolutionMethod::ArrondissementName,
    ))
}

/// A location text taken apart.
#[derive(Debug, Default)]
struct Parsed {
    name: String,
    postal_code: Option<String>,
    departement: Option<String>,
}

impl Parsed {
    /// `59 - MARCQ EN BAROEUL`, `Lot (46)`, `Cahors (46000)`, `46000 Cahors`, `Grenoble, Isère`, `Cahors`.
    fn of(text: &str) -> Self {
        let mut parsed = Parsed::default();
        let mut rest = text.trim().to_owned();
        if let Some((prefix, name)) = rest.split_once(" - ")
            && is_departement_code(prefix.trim())
        {
            parsed.departement = Some(prefix.trim().to_uppercase());
            rest = name.to_owned();
        }
        // `Grenoble, Isère`, `Puteaux, Hauts-de-Seine`: a trailing département name.
        if let Some((head, tail)) = rest.rsplit_once(',')
            && let Some(code) = geography().departement_named(tail)
        {
            parsed.departement.get_or_insert_with(|| code.to_owned());
            rest = head.to_owned();
        }
        let mut kept = Vec::new();
        for token in rest
            .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
            .filter(|t| !t.is_empty())
        {
            if token.len() == 5 && token.bytes().all(|b| b.is_ascii_digit()) {
                parsed.postal_code.get_or_insert_with(|| token.to_owned());
            } else if parsed.departement.is_none()
                && is_departement_code(token)
                && text.contains(&format!("({token})"))
            {
                parsed.departement = Some(token.to_uppercase());
            } else {
                kept.push(token);
            }
        }
        parsed.name = normalise_place_name(&kept.join(" "));
        parsed
    }
}

fn is_departement_code(code: &str) -> bool {
    geography().departement(&code.to_uppercase()).is_some()
}

#[cfg(test)]
mod tests;
