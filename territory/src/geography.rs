//! The reference geography, parsed once from the compiled-in tables.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::geo::{CellIndex, Point, PointMethod};
use crate::names::normalise_place_name;

const COMMUNES: &str = include_str!("../data/communes.tsv");
const GROUPINGS: &str = include_str!("../data/groupings.tsv");
const DEPARTEMENTS: &str = include_str!("../data/departements.tsv");
const REGIONS: &str = include_str!("../data/regions.tsv");
const POINTS: &str = include_str!("../data/points.tsv");
const FORMER_NAMES: &str = include_str!("../data/former-names.tsv");

/// What a row of the COG is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommuneKind {
    /// A current commune.
    Current,
    /// An arrondissement municipal of Paris, Lyon or Marseille.
    Arrondissement,
    /// A commune déléguée of a commune nouvelle.
    Delegated,
    /// A commune associée.
    Associated,
}

/// One row of the COG.
#[derive(Debug, Clone)]
pub struct Commune {
    /// INSEE code.
    pub code: &'static str,
    /// What it is.
    pub kind: CommuneKind,
    /// Official name.
    pub name: &'static str,
    /// Département code.
    pub departement: &'static str,
    /// Région code.
    pub region: &'static str,
    /// EPCI SIREN (current communes).
    pub epci: Option<&'static str>,
    /// EPT SIREN (Grand Paris).
    pub ept: Option<&'static str>,
    /// Municipal population, when known.
    pub population: u64,
    /// Postal codes.
    pub postal_codes: Vec<&'static str>,
    /// The current commune it belongs to (arrondissements, delegated and associated communes).
    pub parent: Option<&'static str>,
    /// Former codes now merged into this commune.
    pub former_codes: Vec<&'static str>,
}

/// An EPCI or EPT.
#[derive(Debug, Clone)]
pub struct Grouping {
    /// `EPCI` or `EPT`.
    pub kind: &'static str,
    /// Name.
    pub name: &'static str,
    /// Indexes of its member communes among the current communes.
    pub members: Vec<u32>,
}

/// The whole reference geography.
#[derive(Debug)]
pub struct Geography {
    /// Every row of the COG.
    pub rows: Vec<Commune>,
    /// Positions in `rows` of the current communes; a commune's index in this list is its id.
    pub current: Vec<u32>,
    current_by_code: HashMap<&'static str, u32>,
    rows_by_code: HashMap<&'static str, Vec<u32>>,
    former_codes: HashMap<&'static str, u32>,
    groupings: HashMap<&'static str, Grouping>,
    departements: HashMap<&'static str, (&'static str, &'static str, Vec<u32>)>,
    regions: HashMap<&'static str, (&'static str, Vec<u32>)>,
    by_postal_code: HashMap<&'static str, Vec<u32>>,
    by_name: HashMap<String, Vec<u32>>,
    /// Names of delegated and associated communes (former communes, most of them), and the
    /// names communes bore in earlier vintages of the COG, normalised, to the current commune
    /// they belong to, when it bears another name.
    by_former_name: HashMap<String, Vec<u32>>,
    departement_by_name: HashMap<String, &'static str>,
    region_by_name: HashMap<String, &'static str>,
    /// Point of each current commune, by id (GeoNames, see `data/SOURCE.md`).
    points: Vec<Option<Point>>,
    point_methods: Vec<PointMethod>,
    pub(crate) cells: CellIndex,
}

/// The geography, parsed on first use.
pub fn geography() -> &'static Geography {
    static GEOGRAPHY: LazyLock<Geography> = LazyLock::new(Geography::parse);
    &GEOGRAPHY
}

fn table_rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').collect())
}

fn optional(value: &'static str) -> Option<&'static str> {
    Some(value).filter(|v| !v.is_empty())
}

fn words(value: &'static str) -> Vec<&'static str> {
    value.split(' ').filter(|v| !v.is_empty()).collect()
}

impl Geography {
    fn parse() -> Self {
        let rows: Vec<Commune> = table_rows(COMMUNES)
            .map(|f| Commune {
                code: f[0],
                kind: match f[1] {
                    "COM" => CommuneKind::Current,
                    "ARM" => CommuneKind::Arrondissement,
                    "COMD" => CommuneKind::Delegated,
                    _ => CommuneKind::Associated,
                },
                name: f[2],
                departement: f[3],
                region: f[4],
                epci: optional(f[5]),
                ept: optional(f[6]),
                population: f[7].parse().unwrap_or(0),
                postal_codes: words(f[8]),
                parent: optional(f[9]),
                former_codes: words(f[10]),
            })
            .collect();
        let current: Vec<u32> = (0..rows.len() as u32)
            .filter(|&i| rows[i as usize].kind == CommuneKind::Current)
            .collect();
        let mut geography = Geography {
            current_by_code: current
                .iter()
                .enumerate()
                .map(|(id, &row)| (rows[row as usize].code, id as u32))
                .collect(),
            rows_by_code: HashMap::new(),
            former_codes: HashMap::new(),
            groupings: table_rows(GROUPINGS)
                .map(|f| {
                    (
                        f[0],
                        Grouping {
                            kind: f[1],
                            name: f[3],
                            members: Vec::new(),
                        },
                    )
                })
                .collect(),
            departements: table_rows(DEPARTEMENTS)
                .map(|f| (f[0], (f[1], f[2], Vec::new())))
                .collect(),
            regions: table_rows(REGIONS)
                .map(|f| (f[0], (f[1], Vec::new())))
                .collect(),
            by_postal_code: HashMap::new(),
            by_name: HashMap::new(),
            by_former_name: HashMap::new(),
            departement_by_name: table_rows(DEPARTEMENTS)
                .map(|f| (normalise_place_name(f[1]), f[0]))
                .collect(),
            region_by_name: table_rows(REGIONS)
                .map(|f| (normalise_place_name(f[1]), f[0]))
                .collect(),
            rows,
            current,
            points: Vec::new(),
            point_methods: Vec::new(),
            cells: CellIndex::default(),
        };
        geography.load_points();
        for (position, row) in geography.rows.iter().enumerate() {
            geography
                .rows_by_code
                .entry(row.code)
                .or_default()
                .push(position as u32);
        }
        for (id, &position) in geography.current.iter().enumerate() {
            let id = id as u32;
            let commune = &geography.rows[position as usize];
            for code in &commune.former_codes {
                geography.former_codes.insert(code, id);
            }
            for siren in [commune.epci, commune.ept].into_iter().flatten() {
                if let Some(grouping) = geography.groupings.get_mut(siren) {
                    grouping.members.push(id);
                }
            }
            if let Some(departement) = geography.departements.get_mut(commune.departement) {
                departement.2.push(id);
            }
            if let Some(region) = geography.regions.get_mut(commune.region) {
                region.1.push(id);
            }
            for postal_code in &commune.postal_codes {
                geography
                    .by_postal_code
                    .entry(postal_code)
                    .or_default()
                    .push(id);
            }
            geography
                .by_name
                .entry(normalise_place_name(commune.name))
                .or_default()
                .push(id);
        }
        let delegated = geography
            .rows
            .iter()
            .filter(|row| matches!(row.kind, CommuneKind::Delegated | CommuneKind::Associated))
            .filter_map(|row| Some((row.name, row.parent?)));
        // Earlier vintages (`data/former-names.tsv`): communes merged without a delegated commune,
        // or renamed, whose old name offers still carry.
        let earlier = table_rows(FORMER_NAMES).map(|f| (f[1], f[4]));
        let former: Vec<(&'static str, &'static str)> = delegated.chain(earlier).collect();
        for (name, commune) in former {
            let Some(id) = geography.current_commune(commune) else {
                continue;
            };
            let name = normalise_place_name(name);
            if name != normalise_place_name(geography.commune(id).name) {
                let ids = geography.by_former_name.entry(name).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        geography
    }

    fn load_points(&mut self) {
        self.points = vec![None; self.current.len()];
        self.point_methods = vec![PointMethod::None; self.current.len()];
        for f in table_rows(POINTS) {
            let Some(id) = self.current_commune(f[0]) else {
                continue;
            };
            let (Ok(latitude), Ok(longitude)) = (f[1].parse::<f64>(), f[2].parse::<f64>()) else {
                continue;
            };
            self.points[id as usize] = Some(Point {
                latitude,
                longitude,
            });
            self.point_methods[id as usize] = match f[3] {
                "exact" => PointMethod::Exact,
                _ => PointMethod::Approximate,
            };
        }
        self.cells = CellIndex::build(&self.points);
    }

    /// The point of the current commune `id` (about 99.6 % have one), and how it was found.
    pub fn commune_point(&self, id: u32) -> (Option<Point>, PointMethod) {
        let id = id as usize;
        (
            self.points.get(id).copied().flatten(),
            self.point_methods
                .get(id)
                .copied()
                .unwrap_or(PointMethod::None),
        )
    }

    /// Number of current communes.
    pub fn commune_count(&self) -> usize {
        self.current.len()
    }

    /// The current commune with this id.
    pub fn commune(&self, id: u32) -> &Commune {
        &self.rows[self.current[id as usize] as usize]
    }

    /// The id of the current commune with this code.
    pub fn current_commune(&self, code: &str) -> Option<u32> {
        self.current_by_code.get(code).copied()
    }

    /// The current commune a code designates: itself, the commune of an arrondissement or of a
    /// delegated or associated commune, or the commune a former code was merged into.
    pub fn current_commune_of(&self, code: &str) -> Option<u32> {
        if let Some(id) = self.current_commune(code) {
            return Some(id);
        }
        let parent = self
            .rows_by_code
            .get(code)
            .into_iter()
            .flatten()
            .find_map(|&row| self.rows[row as usize].parent);
        parent
            .and_then(|p| self.current_commune(p))
            .or_else(|| self.former_codes.get(code).copied())
    }

    /// Rows of the COG with this code (a commune nouvelle and its delegated commune share one).
    pub fn rows_with_code(&self, code: &str) -> impl Iterator<Item = &Commune> {
        self.rows_by_code
            .get(code)
            .into_iter()
            .flatten()
            .map(|&row| &self.rows[row as usize])
    }

    /// Members of an EPCI or EPT.
    pub fn grouping(&self, siren: &str) -> Option<&Grouping> {
        self.groupings.get(siren)
    }

    /// Current communes of a département.
    pub fn departement_communes(&self, code: &str) -> Option<&[u32]> {
        self.departements.get(code).map(|d| d.2.as_slice())
    }

    /// Codes of every département (in no particular order).
    pub fn departement_codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.departements.keys().copied()
    }

    /// Codes of every région (in no particular order).
    pub fn region_codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.regions.keys().copied()
    }

    /// Name of a région.
    pub fn region_name(&self, code: &str) -> Option<&'static str> {
        self.regions.get(code).map(|r| r.0)
    }

    /// Name and région of a département.
    pub fn departement(&self, code: &str) -> Option<(&'static str, &'static str)> {
        self.departements.get(code).map(|d| (d.0, d.1))
    }

    /// The département's code as stored (for a `&'static` reference).
    pub fn departement_code(&self, code: &str) -> Option<&'static str> {
        self.departements.get_key_value(code).map(|(k, _)| *k)
    }

    /// The département with this name, compared after normalisation.
    pub fn departement_named(&self, name: &str) -> Option<&'static str> {
        self.departement_by_name
            .get(&normalise_place_name(name))
            .copied()
    }

    /// The région with this name, compared after normalisation.
    pub fn region_named(&self, name: &str) -> Option<&'static str> {
        self.region_by_name
            .get(&normalise_place_name(name))
            .copied()
    }

    /// Current communes of a région.
    pub fn region_communes(&self, code: &str) -> Option<&[u32]> {
        self.regions.get(code).map(|r| r.1.as_slice())
    }

    /// Current communes served by a postal code.
    pub fn communes_with_postal_code(&self, postal_code: &str) -> &[u32] {
        self.by_postal_code
            .get(postal_code)
            .map_or(&[], Vec::as_slice)
    }

    /// Current communes with this name, compared after [`normalise_place_name`].
    pub fn communes_named(&self, name: &str) -> &[u32] {
        self.communes_with_normalised_name(&normalise_place_name(name))
    }

    /// Current communes whose normalised name is `normalised` (already passed through [`normalise_place_name`]).
    pub fn communes_with_normalised_name(&self, normalised: &str) -> &[u32] {
        self.by_name.get(normalised).map_or(&[], Vec::as_slice)
    }

    /// Current communes that a delegated or associated commune named `normalised` (already
    /// passed through [`normalise_place_name`]) belongs to: offers still name former communes.
    pub fn communes_with_former_name(&self, normalised: &str) -> &[u32] {
        self.by_former_name
            .get(normalised)
            .map_or(&[], Vec::as_slice)
    }

    /// The département whose normalised name is `normalised`.
    pub fn departement_with_normalised_name(&self, normalised: &str) -> Option<&'static str> {
        self.departement_by_name.get(normalised).copied()
    }

    /// The région whose normalised name is `normalised`.
    pub fn region_with_normalised_name(&self, normalised: &str) -> Option<&'static str> {
        self.region_by_name.get(normalised).copied()
    }
}

#[cfg(test)]
mod tests;
