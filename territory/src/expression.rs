//! Territory expressions and the sets of communes they compile to.
//!
//! ```text
//! expression := term (OP term)*          OP: `|` (union) or `-` (exclusion), left to right, space-separated
//! term       := commune:CODE              a commune (an arrondissement, delegated or former code names its commune)
//!             | commune:CODE+NNkm         the communes whose point is within NN km (up to 1000, decimals allowed)
//!                                         of the commune's point (GeoNames points, see data/SOURCE.md)
//!             | epci:SIREN | ept:SIREN    an EPCI or an EPT of the Grand Paris
//!             | dep:CODE                  a département, or 69D (Rhône without the Métropole de Lyon),
//!                                         69M (Métropole de Lyon), 6AE (Alsace: 67 and 68), 20R (Corse: 2A and 2B)
//!             | region:CODE               a région
//!             | list:CODE,CODE,...        explicit communes
//! ```

use crate::TerritoryError;
use crate::geography::{Geography, geography};

/// SIREN of the Métropole de Lyon, whose communes are département 69 but not 69D.
const METROPOLE_DE_LYON: &str = "200046977";

/// A set of current communes with constant-time membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Territory {
    bits: Vec<u64>,
    /// Départements entirely inside the territory: offers known only at département level belong to it.
    whole_departements: Vec<&'static str>,
    /// Régions entirely inside the territory.
    whole_regions: Vec<&'static str>,
}

impl Territory {
    fn empty(geography: &Geography) -> Self {
        Self {
            bits: vec![0; geography.commune_count().div_ceil(64)],
            whole_departements: Vec::new(),
            whole_regions: Vec::new(),
        }
    }

    fn insert_all(&mut self, ids: &[u32]) {
        for &id in ids {
            self.bits[id as usize / 64] |= 1 << (id % 64);
        }
    }

    fn union(&mut self, other: &Territory) {
        self.bits
            .iter_mut()
            .zip(&other.bits)
            .for_each(|(a, b)| *a |= b);
    }

    fn exclude(&mut self, other: &Territory) {
        self.bits
            .iter_mut()
            .zip(&other.bits)
            .for_each(|(a, b)| *a &= !b);
    }

    /// Whether the current commune `id` is inside.
    pub fn contains(&self, id: u32) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    /// Whether the current commune with this INSEE code is inside.
    pub fn contains_code(&self, code: &str) -> bool {
        geography()
            .current_commune_of(code)
            .is_some_and(|id| self.contains(id))
    }

    /// Whether a whole département is inside (an offer located only by its département belongs then).
    pub fn contains_departement(&self, code: &str) -> bool {
        self.whole_departements.contains(&code)
    }

    /// Whether a whole région is inside.
    pub fn contains_region(&self, code: &str) -> bool {
        self.whole_regions.contains(&code)
    }

    /// The départements entirely inside.
    pub fn whole_departements(&self) -> &[&'static str] {
        &self.whole_departements
    }

    /// The régions entirely inside.
    pub fn whole_regions(&self) -> &[&'static str] {
        &self.whole_regions
    }

    /// The territory covering every one of `territories` (`None` when there are none).
    pub fn union_of(territories: impl IntoIterator<Item = Territory>) -> Option<Territory> {
        let mut territories = territories.into_iter();
        let mut all = territories.next()?;
        for territory in territories {
            all.union(&territory);
        }
        Some(all.with_whole_areas(geography()))
    }

    /// Ids of the communes inside, in order.
    pub fn commune_ids(&self) -> impl Iterator<Item = u32> + '_ {
        // Bit by bit over the set words only: a search naming a commune runs this over the
        // 35 000 bits of the country.
        self.bits
            .iter()
            .enumerate()
            .filter(|(_, word)| **word != 0)
            .flat_map(|(word_index, &word)| {
                let mut rest = word;
                std::iter::from_fn(move || {
                    (rest != 0).then(|| {
                        let bit = rest.trailing_zeros();
                        rest &= rest - 1;
                        (word_index * 64) as u32 + bit
                    })
                })
            })
    }

    /// Number of communes inside.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether no commune is inside.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sum of the municipal populations of the communes inside.
    pub fn population(&self) -> u64 {
        let geography = geography();
        self.commune_ids()
            .map(|id| geography.commune(id).population)
            .sum()
    }

    /// INSEE codes of the communes inside, sorted.
    pub fn codes(&self) -> Vec<&'static str> {
        let geography = geography();
        self.commune_ids()
            .map(|id| geography.commune(id).code)
            .collect()
    }

    fn with_whole_areas(mut self, geography: &Geography) -> Self {
        // Per département and région (about 120 checks, most ending at their first commune),
        // not per commune row: this runs for every search request that names a place.
        let inside = |ids: &[u32]| !ids.is_empty() && ids.iter().all(|&id| self.contains(id));
        let mut departements: Vec<&'static str> = geography
            .departement_codes()
            .filter(|d| geography.departement_communes(d).is_some_and(inside))
            .collect();
        departements.sort_unstable();
        let mut regions: Vec<&'static str> = geography
            .region_codes()
            .filter(|r| geography.region_communes(r).is_some_and(inside))
            .collect();
        regions.sort_unstable();
        self.whole_departements = departements;
        self.whole_regions = regions;
        self
    }
}

/// Compiles a territory expression.
pub fn parse_territory(expression: &str) -> Result<Territory, TerritoryError> {
    let geography = geography();
    let syntax = |reason: &str| TerritoryError::Syntax {
        expression: expression.to_owned(),
        reason: reason.to_owned(),
    };
    let mut tokens = expression.split_whitespace();
    let first = tokens.next().ok_or_else(|| syntax("it is empty"))?;
    let mut territory = term(geography, first, &syntax)?;
    while let Some(operator) = tokens.next() {
        let operand = tokens
            .next()
            .ok_or_else(|| syntax("an operator must be followed by a term"))?;
        let operand = term(geography, operand, &syntax)?;
        match operator {
            "|" => territory.union(&operand),
            "-" => territory.exclude(&operand),
            other => {
                return Err(syntax(&format!(
                    "`{other}` is not an operator: use `|` or `-` between terms"
                )));
            }
        }
    }
    Ok(territory.with_whole_areas(geography))
}

fn term(
    geography: &Geography,
    text: &str,
    syntax: &dyn Fn(&str) -> TerritoryError,
) -> Result<Territory, TerritoryError> {
    let (kind, value) = text
        .split_once(':')
        .ok_or_else(|| syntax(&format!("`{text}` is not of the form kind:value")))?;
    let mut territory = Territory::empty(geography);
    let unknown = |kind: &'static str| TerritoryError::Unknown {
        kind,
        code: value.to_owned(),
    };
    match kind {
        "commune" if value.contains('+') => {
            let (code, radius) = value.split_once('+').unwrap_or_default();
            let radius_km = radius
                .strip_suffix("km")
                .and_then(|r| r.parse::<f64>().ok())
                .filter(|r| (0.0..=1000.0).contains(r))
                .ok_or_else(|| {
                    syntax(&format!(
                        "`{text}`: a radius is written commune:CODE+NNkm, NN from 0 to 1000"
                    ))
                })?;
            let id = geography
                .current_commune_of(code)
                .ok_or_else(|| TerritoryError::Unknown {
                    kind: "commune",
                    code: code.to_owned(),
                })?;
            let center = geography
                .commune_point(id)
                .0
                .ok_or_else(|| TerritoryError::NoPoint(code.to_owned()))?;
            let within: Vec<u32> = geography
                .communes_within(&center, radius_km)
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            // The commune itself belongs, whatever the radius.
            territory.insert_all(&[id]);
            territory.insert_all(&within);
        }
        "commune" => territory.insert_all(&[geography
            .current_commune_of(value)
            .ok_or_else(|| unknown("commune"))?]),
        "list" => {
            for code in value.split(',').filter(|c| !c.is_empty()) {
                let id =
                    geography
                        .current_commune_of(code)
                        .ok_or_else(|| TerritoryError::Unknown {
                            kind: "commune",
                            code: code.to_owned(),
                        })?;
                territory.insert_all(&[id]);
            }
        }
        "epci" | "ept" => territory.insert_all(
            &geography
                .grouping(value)
                .ok_or_else(|| unknown("EPCI or EPT"))?
                .members,
        ),
        "dep" => match value {
            "69D" | "69M" => {
                let lyon = &geography
                    .grouping(METROPOLE_DE_LYON)
                    .ok_or_else(|| unknown("département"))?
                    .members;
                if value == "69M" {
                    territory.insert_all(lyon);
                } else {
                    territory.insert_all(geography.departement_communes("69").unwrap_or_default());
                    let mut metropole = Territory::empty(geography);
                    metropole.insert_all(lyon);
                    territory.exclude(&metropole);
                }
            }
            "6AE" | "20R" => {
                let parts = if value == "6AE" {
                    ["67", "68"]
                } else {
                    ["2A", "2B"]
                };
                for part in parts {
                    territory.insert_all(geography.departement_communes(part).unwrap_or_default());
                }
            }
            code => territory.insert_all(
                geography
                    .departement_communes(code)
                    .ok_or_else(|| unknown("département"))?,
            ),
        },
        "region" => territory.insert_all(
            geography
                .region_communes(value)
                .ok_or_else(|| unknown("région"))?,
        ),
        // The whole country: every current commune (an operator's key, a national feed).
        "pays" if value == "FR" => {
            let all: Vec<u32> = (0..geography.commune_count() as u32).collect();
            territory.insert_all(&all);
        }
        "pays" => return Err(unknown("pays")),
        other => {
            return Err(syntax(&format!(
                "unknown kind `{other}`: use commune, list, epci, ept, dep, region or pays"
            )));
        }
    }
    Ok(territory)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(expression: &str) -> usize {
        parse_territory(expression).unwrap().len()
    }

    #[test]
    fn counts_from_cog_2026() {
        assert_eq!(geography().commune_count(), 34_969);
        assert_eq!(count("pays:FR"), 34_969);
        assert!(parse_territory("pays:FR").unwrap().contains_region("76"));
        assert!(parse_territory("pays:BE").is_err());
        assert_eq!(count("epci:200023737"), 36);
        assert_eq!(count("dep:46"), 312);
        assert_eq!(count("region:76"), 4_446);
        assert_eq!(count("dep:69M"), 58);
        assert_eq!(count("dep:69D"), count("dep:69") - 58);
        assert_eq!(count("dep:6AE"), count("dep:67") + count("dep:68"));
        assert_eq!(count("dep:20R"), count("dep:2A") + count("dep:2B"));
    }

    #[test]
    fn unions_exclusions_and_lists() {
        assert_eq!(count("dep:46 | dep:12"), count("dep:46") + count("dep:12"));
        assert_eq!(count("dep:46 - commune:46042"), 311);
        assert_eq!(
            count("list:46042,46102,75114"),
            3,
            "an arrondissement names its commune"
        );
        let cahors = parse_territory("epci:200023737").unwrap();
        assert!(cahors.contains_code("46042"));
        assert!(!cahors.contains_code("75056"));
        assert_eq!(cahors.codes().len(), 36);
        assert!(cahors.population() > 40_000);
    }

    #[test]
    fn a_union_of_territories_is_their_union_expression() {
        let parts = [
            "dep:46 - commune:46042",
            "commune:46042",
            "dep:12",
            "commune:82121",
        ];
        let union = Territory::union_of(parts.iter().map(|p| parse_territory(p).unwrap()));
        let expected = parse_territory("dep:46 | dep:12 | commune:82121").unwrap();
        assert_eq!(
            union,
            Some(expected),
            "the whole départements computed again"
        );
        assert_eq!(Territory::union_of([]), None);
    }

    #[test]
    fn commune_ids_are_the_communes_inside_in_order() {
        let geography = geography();
        for expression in [
            "pays:FR",
            "dep:46",
            "list:46042,75114,97101",
            "commune:01001",
        ] {
            let territory = parse_territory(expression).unwrap();
            let slow: Vec<u32> = (0..geography.commune_count() as u32)
                .filter(|&id| territory.contains(id))
                .collect();
            assert_eq!(
                territory.commune_ids().collect::<Vec<_>>(),
                slow,
                "{expression}"
            );
        }
    }

    #[test]
    fn departement_level_offers_belong_only_to_territories_covering_the_whole_departement() {
        let lot = parse_territory("dep:46").unwrap();
        assert!(lot.contains_departement("46"));
        assert!(
            !parse_territory("epci:200023737")
                .unwrap()
                .contains_departement("46")
        );
        assert!(
            parse_territory("region:76")
                .unwrap()
                .contains_departement("46")
        );
        assert!(parse_territory("region:76").unwrap().contains_region("76"));
        let occitanie = parse_territory("region:76").unwrap();
        assert_eq!(occitanie.whole_departements().len(), 13);
        assert_eq!(occitanie.whole_regions(), ["76"]);
        let two = parse_territory("dep:46 | dep:12 | commune:82121").unwrap();
        assert_eq!(
            two.whole_departements(),
            ["12", "46"],
            "sorted, only the whole ones"
        );
        assert!(two.whole_regions().is_empty());
        assert!(
            !parse_territory("dep:46 - commune:46042")
                .unwrap()
                .contains_departement("46")
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            parse_territory(""),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("dep:99"),
            Err(TerritoryError::Unknown { .. })
        ));
        assert!(matches!(
            parse_territory("epci:123"),
            Err(TerritoryError::Unknown { .. })
        ));
        assert!(matches!(
            parse_territory("dep:46 &"),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("dep:46 & dep:12"),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("planet:earth"),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("commune:46042+20"),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("commune:46042+-3km"),
            Err(TerritoryError::Syntax { .. })
        ));
        assert!(matches!(
            parse_territory("commune:99999+3km"),
            Err(TerritoryError::Unknown { .. })
        ));
    }

    #[test]
    fn radius_around_a_commune() {
        let geography = geography();
        let cahors = parse_territory("commune:46042+20km").unwrap();
        let center = geography
            .commune_point(geography.current_commune("46042").unwrap())
            .0
            .unwrap();
        for id in 0..geography.commune_count() as u32 {
            let inside = geography
                .commune_point(id)
                .0
                .is_some_and(|p| p.distance_km(&center) <= 20.0);
            assert_eq!(
                cahors.contains(id),
                inside,
                "{}",
                geography.commune(id).code
            );
        }
        assert!(cahors.len() > 30);
        assert_eq!(count("commune:46042+0km"), 1);
        assert!(count("commune:46042+7.5km") < cahors.len());
        assert!(count("commune:46042+20km - commune:46042") == cahors.len() - 1);
    }
}
