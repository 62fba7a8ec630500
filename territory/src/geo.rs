//! Commune points and distances: radius territories, the communes near a point, and the commune
//! a pair of coordinates falls in (the nearest point, within a bound).

use std::collections::HashMap;

use serde::Serialize;

use crate::TerritoryError;
use crate::geography::{Geography, geography};

/// Mean Earth radius (IUGG), in km.
const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Side of a grid cell, in degrees: about 28 km of latitude.
const CELL_DEGREES: f64 = 0.25;

/// Beyond this distance from every commune point, coordinates are not in a French commune (the
/// sea, abroad). A commune's point is rarely more than 15 km from its edge in mainland France…
const NEAREST_MAX_KM: f64 = 15.0;
/// …but the communes of Guyane are as large as a département (Maripasoula: 18 360 km²).
const NEAREST_MAX_KM_GUYANE: f64 = 90.0;

/// WGS 84 coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Latitude in degrees, −90 to 90.
    pub latitude: f64,
    /// Longitude in degrees, −180 to 180.
    pub longitude: f64,
}

impl Point {
    /// A point from coordinates, refused when out of range or not numbers.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, TerritoryError> {
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return Err(TerritoryError::InvalidCoordinates {
                latitude,
                longitude,
            });
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Great-circle distance in km (haversine).
    pub fn distance_km(&self, other: &Point) -> f64 {
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let d_lat = lat2 - lat1;
        let d_lon = (other.longitude - self.longitude).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

/// A disc on the globe, for testing many points against one radius: most points are decided by
/// a flat bound without trigonometry, the ones near the edge by the exact distance.
#[derive(Debug, Clone, Copy)]
pub struct Disc {
    center: Point,
    km: f64,
    /// The cosine of the latitude over the disc's band of latitudes: the scale of a degree of
    /// longitude lies between these (times the km of a degree).
    cos_low: f64,
    cos_high: f64,
}

/// km per degree of latitude (and of longitude at the equator).
const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

/// How far the flat bounds may stray from the great-circle distance within the disc (the
/// second-order term is below 0.1 % under 500 km).
const FLAT_MARGIN: f64 = 0.005;

impl Disc {
    /// The points within `km` of `center`.
    pub fn new(center: Point, km: f64) -> Self {
        let band = km / KM_PER_DEGREE;
        let nearest = if center.latitude.abs() <= band {
            0.0
        } else {
            center.latitude.abs() - band
        };
        let farthest = (center.latitude.abs() + band).min(90.0);
        Self {
            center,
            km,
            cos_low: farthest.to_radians().cos(),
            cos_high: nearest.to_radians().cos(),
        }
    }

    /// Whether the point at `latitude`, `longitude` is within the disc (as
    /// [`Point::distance_km`] measures).
    pub fn contains(&self, latitude: f64, longitude: f64) -> bool {
        let north = (latitude - self.center.latitude).abs() * KM_PER_DEGREE;
        // The great-circle distance is at least the difference of latitude.
        if north > self.km {
            return false;
        }
        if self.km <= 500.0 {
            let degrees = (longitude - self.center.longitude).abs();
            let east = degrees.min(360.0 - degrees) * KM_PER_DEGREE;
            let (east_low, east_high) = (east * self.cos_low, east * self.cos_high);
            let near = north * north + east_high * east_high;
            let far = north * north + east_low * east_low;
            let limit = self.km * self.km;
            if near <= limit * (1.0 - FLAT_MARGIN) {
                return true;
            }
            if far >= limit * (1.0 + FLAT_MARGIN) {
                return false;
            }
        }
        self.center.distance_km(&Point {
            latitude,
            longitude,
        }) <= self.km
    }
}

/// How a commune's point was found (see `scripts/derive-commune-points.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointMethod {
    /// GeoNames' point for the commune itself (postal code and name, or its INSEE code).
    Exact,
    /// The point of a part of the commune (a commune déléguée, a former commune), or the mean
    /// of its postal codes' places.
    Approximate,
    /// No point is known.
    None,
}

/// Commune ids by grid cell, so that a radius looks at a few cells and not 35 000 points.
#[derive(Debug, Default)]
pub(crate) struct CellIndex {
    cells: HashMap<(i32, i32), Vec<u32>>,
}

fn cell_of(point: &Point) -> (i32, i32) {
    (
        (point.latitude / CELL_DEGREES).floor() as i32,
        (point.longitude / CELL_DEGREES).floor() as i32,
    )
}

impl CellIndex {
    pub(crate) fn build(points: &[Option<Point>]) -> Self {
        let mut cells: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (id, point) in points.iter().enumerate() {
            if let Some(point) = point {
                cells.entry(cell_of(point)).or_default().push(id as u32);
            }
        }
        Self { cells }
    }

    /// Ids in the cells a disc of `radius_km` around `center` touches (a superset of the disc).
    fn candidates(&self, center: &Point, radius_km: f64) -> impl Iterator<Item = u32> + '_ {
        let lat_cells = (radius_km / 111.0 / CELL_DEGREES).ceil() as i32 + 1;
        // A degree of longitude shrinks with the latitude; near the poles, take every column.
        let shrink = center.latitude.to_radians().cos().abs().max(0.01);
        let lon_cells = ((radius_km / (111.0 * shrink) / CELL_DEGREES).ceil() as i32 + 1)
            .min((360.0 / CELL_DEGREES) as i32);
        let (row, column) = cell_of(center);
        (row - lat_cells..=row + lat_cells)
            .flat_map(move |r| (column - lon_cells..=column + lon_cells).map(move |c| (r, c)))
            .filter_map(|cell| self.cells.get(&cell))
            .flatten()
            .copied()
    }
}

impl Geography {
    /// Current communes whose point lies within `radius_km` of `center`, nearest first, with
    /// their distance in km.
    pub fn communes_within(&self, center: &Point, radius_km: f64) -> Vec<(u32, f64)> {
        let mut found: Vec<(u32, f64)> = self
            .cells
            .candidates(center, radius_km)
            .filter_map(|id| {
                let point = self.commune_point(id).0?;
                let distance = center.distance_km(&point);
                (distance <= radius_km).then_some((id, distance))
            })
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }

    /// The commune whose point is nearest to `point`, with the distance, within `max_km`.
    pub fn nearest_commune(&self, point: &Point, max_km: f64) -> Option<(u32, f64)> {
        self.communes_within(point, max_km).into_iter().next()
    }
}

/// The commune coordinates fall in: the one whose point is nearest, if near enough to be inside
/// France (15 km; 90 km in Guyane). Coordinates in the sea or abroad are an error that says so.
pub fn commune_at(point: &Point) -> Result<(&'static str, f64), TerritoryError> {
    let geography = geography();
    let outside = || {
        let nearest = geography
            .nearest_commune(point, 300.0)
            .map(|(id, km)| (geography.commune(id).code.to_owned(), km));
        TerritoryError::OutsideFrance {
            latitude: point.latitude,
            longitude: point.longitude,
            nearest,
        }
    };
    let (id, distance) = geography
        .nearest_commune(point, NEAREST_MAX_KM_GUYANE)
        .ok_or_else(outside)?;
    let commune = geography.commune(id);
    let bound = if commune.departement == "973" {
        NEAREST_MAX_KM_GUYANE
    } else {
        NEAREST_MAX_KM
    };
    if distance > bound {
        return Err(outside());
    }
    Ok((commune.code, distance))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_disc_contains_exactly_the_points_within_its_distance() {
        use super::{Disc, Point};
        let mut seed = 42u64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1_000_000) as f64 / 1_000_000.0
        };
        for (latitude, longitude) in [
            (44.45, 1.44),
            (48.86, 2.35),
            (-21.1, 55.5),
            (89.5, 179.9),
            (0.0, -179.95),
        ] {
            let center = Point::new(latitude, longitude).unwrap();
            for km in [1.0, 5.0, 20.0, 50.0, 200.0, 1_000.0] {
                let disc = Disc::new(center, km);
                let reach = 2.0 * km / 111.0;
                for _ in 0..2_000 {
                    let point = Point {
                        latitude: (latitude + (random() - 0.5) * reach).clamp(-90.0, 90.0),
                        longitude: {
                            let l = longitude + (random() - 0.5) * reach * 4.0;
                            if l > 180.0 {
                                l - 360.0
                            } else if l < -180.0 {
                                l + 360.0
                            } else {
                                l
                            }
                        },
                    };
                    assert_eq!(
                        disc.contains(point.latitude, point.longitude),
                        center.distance_km(&point) <= km,
                        "{center:?} {km} km {point:?}: {}",
                        center.distance_km(&point)
                    );
                }
            }
        }
    }

    use super::*;

    fn point_of(code: &str) -> Point {
        let geography = geography();
        geography
            .commune_point(geography.current_commune(code).unwrap())
            .0
            .unwrap()
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        let paris = point_of("75056");
        let marseille = point_of("13055");
        let km = paris.distance_km(&marseille);
        assert!((655.0..670.0).contains(&km), "Paris–Marseille {km} km");
        assert_eq!(paris.distance_km(&paris), 0.0);
    }

    #[test]
    fn most_communes_have_a_point() {
        let geography = geography();
        let with_point = (0..geography.commune_count() as u32)
            .filter(|&id| geography.commune_point(id).0.is_some())
            .count();
        assert!(
            with_point * 1000 >= geography.commune_count() * 995,
            "{with_point}"
        );
        assert_eq!(
            geography
                .commune_point(geography.current_commune("46042").unwrap())
                .1,
            PointMethod::Exact
        );
    }

    #[test]
    fn communes_within_a_radius_are_nearest_first_and_inside_the_radius() {
        let geography = geography();
        let cahors = point_of("46042");
        let near = geography.communes_within(&cahors, 20.0);
        assert_eq!(geography.commune(near[0].0).code, "46042");
        assert!(near.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(near.iter().all(|&(_, km)| km <= 20.0));
        // The same set as a scan of every commune.
        let scanned = (0..geography.commune_count() as u32)
            .filter(|&id| {
                geography
                    .commune_point(id)
                    .0
                    .is_some_and(|p| p.distance_km(&cahors) <= 20.0)
            })
            .count();
        assert_eq!(near.len(), scanned);
        assert!(near.len() > 30, "{}", near.len());
    }

    #[test]
    fn coordinates_resolve_to_a_commune_or_say_why_not() {
        let (code, km) = commune_at(&Point::new(44.4475, 1.4410).unwrap()).unwrap();
        assert_eq!(code, "46042");
        assert!(km < 2.0);
        // Bay of Biscay, Atlantic: far from every commune.
        assert!(matches!(
            commune_at(&Point::new(45.0, -5.0).unwrap()),
            Err(TerritoryError::OutsideFrance { .. })
        ));
        // Madrid: abroad.
        assert!(matches!(
            commune_at(&Point::new(40.4168, -3.7038).unwrap()),
            Err(TerritoryError::OutsideFrance { nearest: None, .. })
        ));
        // Cayenne, Guyane.
        assert_eq!(
            commune_at(&Point::new(4.9333, -52.3333).unwrap())
                .unwrap()
                .0,
            "97302"
        );
        assert!(Point::new(91.0, 0.0).is_err());
        assert!(Point::new(0.0, f64::NAN).is_err());
    }
}
