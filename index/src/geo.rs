//! Radius searches: offers carry the grid cells of their point as terms, at several sizes; a
//! radius query asks for the cells a disc touches, at the finest size that keeps their number
//! small, and the collector keeps the offers whose point really is within the radius (cells
//! refined by distance, never a float range over the whole index).
//!
//! One size for every radius would make small discs read far too many offers: a 5 km disc
//! covers 80 km², the four 0.2° cells around it 1 400 km². The finest cells the disc needs
//! at most [`MAX_CELLS`] of keep the offers read within about twice the offers found.

use relais_territory::Point;

/// Steps of the packed coordinates: 1e-7 degree, about a centimetre.
const STEPS_PER_DEGREE: f64 = 1e7;

/// An offer's point in one integer, so that a radius check reads one value of one column that
/// every offer has (two optional `f64` columns cost two rank lookups and two reads per match):
/// the latitude's steps above −90° in the high half, the longitude's above −180° in the low
/// half, both plus one so that 0 stays [`NO_POINT`].
pub(crate) fn pack_point(point: &Point) -> u64 {
    let steps =
        |degrees: f64, offset: f64| ((degrees + offset) * STEPS_PER_DEGREE).round() as u64 + 1;
    (steps(point.latitude, 90.0) << 32) | steps(point.longitude, 180.0)
}

/// The packed value of an offer with no point.
pub(crate) const NO_POINT: u64 = 0;

/// Latitude and longitude of a packed point ([`NO_POINT`]: none).
pub(crate) fn unpack_point(packed: u64) -> Option<(f64, f64)> {
    (packed != NO_POINT).then(|| {
        let degrees = |steps: u64, offset: f64| (steps - 1) as f64 / STEPS_PER_DEGREE - offset;
        (
            degrees(packed >> 32, 90.0),
            degrees(packed & 0xffff_ffff, 180.0),
        )
    })
}

/// Sides of the cells in steps of 1e-7 degree, finest first (0.05°, about 5.6 km of latitude;
/// 0.2°; 0.8°): each is four times the one before, so that a cell is exactly sixteen cells of
/// the size below, computed on integers (a float division would put a point lying on a line of
/// the grid in one cell at one size and in the neighbour's child at the next).
const CELL_STEPS: [i64; 3] = [500_000, 2_000_000, 8_000_000];

/// Most cells a radius query asks for at a size finer than the coarsest.
const MAX_CELLS: usize = 128;

/// The steps of a coordinate, as [`pack_point`] rounds them.
fn steps(degrees: f64) -> i64 {
    (degrees * STEPS_PER_DEGREE).round() as i64
}

fn cell(level: usize, latitude: f64, longitude: f64) -> (i64, i64) {
    let side = CELL_STEPS[level];
    (
        steps(latitude).div_euclid(side),
        steps(longitude).div_euclid(side),
    )
}

fn term(level: usize, (row, column): (i64, i64)) -> String {
    format!("{level}/{row}:{column}")
}

/// The terms of the cells holding `point`, one per size.
pub(crate) fn cell_terms(point: &Point) -> impl Iterator<Item = String> + '_ {
    (0..CELL_STEPS.len()).map(|level| term(level, cell(level, point.latitude, point.longitude)))
}

/// The cells a radius query reads: the offers of an `inside` cell are all within the radius,
/// those of an `edge` cell must be checked one by one. Every point of the disc lies in exactly
/// one of them.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct DiscCover {
    pub inside: Vec<String>,
    pub edge: Vec<String>,
}

/// How a cell lies against the disc.
#[derive(Debug, PartialEq)]
enum Placement {
    Inside,
    Edge,
    Outside,
}

/// Where the cell lies against the disc. Over a cell (a box of latitudes and longitudes far
/// smaller than a hemisphere) the distance to a point is greatest at a corner, so a cell whose
/// four corners are within the radius lies inside. A cell is left out only when its point
/// nearest the centre, as the box clamps it, is clearly farther than the radius (the margin
/// covers the small bend of great circles across a cell).
fn placement(level: usize, (row, column): (i64, i64), center: &Point, radius_km: f64) -> Placement {
    let side = CELL_STEPS[level] as f64 / STEPS_PER_DEGREE;
    let (south, west) = (row as f64 * side, column as f64 * side);
    let (north, east) = (south + side, west + side);
    let distance = |latitude: f64, longitude: f64| {
        center.distance_km(&Point {
            latitude,
            longitude,
        })
    };
    let corners = [(south, west), (south, east), (north, west), (north, east)];
    if corners
        .iter()
        .all(|&(latitude, longitude)| distance(latitude, longitude) < radius_km * (1.0 - 1e-9))
    {
        return Placement::Inside;
    }
    let nearest = distance(
        center.latitude.clamp(south, north),
        center.longitude.clamp(west, east),
    );
    if nearest > radius_km * 1.02 + 0.5 {
        Placement::Outside
    } else {
        Placement::Edge
    }
}

/// The cells of a disc of `radius_km` around `center`: at the finest size where the cells of
/// its bounding box are at most [`MAX_CELLS`], the cells inside it, and its edge cells split
/// once into the size below (a thinner edge: fewer offers read, fewer checked), the cells of
/// which that lie clearly outside are left out.
pub(crate) fn disc_cover(center: &Point, radius_km: f64) -> DiscCover {
    // 111.2 km per degree of latitude; a degree of longitude shrinks with the cosine.
    let lat_span = radius_km / 111.2;
    let cos = center
        .latitude
        .abs()
        .max((center.latitude.abs() + lat_span).min(89.9))
        .to_radians()
        .cos()
        .max(0.001);
    let lon_span = (radius_km / (111.2 * cos)).min(180.0);
    let coarsest = CELL_STEPS.len() - 1;
    let (level, (low_row, low_column), (high_row, high_column)) = (0..=coarsest)
        .map(|level| {
            (
                level,
                cell(
                    level,
                    center.latitude - lat_span,
                    center.longitude - lon_span,
                ),
                cell(
                    level,
                    center.latitude + lat_span,
                    center.longitude + lon_span,
                ),
            )
        })
        .find(|(level, low, high)| {
            let cells = (high.0 - low.0 + 1) * (high.1 - low.1 + 1);
            *level == coarsest || cells <= MAX_CELLS as i64
        })
        .unwrap_or_default();
    let mut cover = DiscCover::default();
    for row in low_row..=high_row {
        for column in low_column..=high_column {
            match placement(level, (row, column), center, radius_km) {
                Placement::Inside => cover.inside.push(term(level, (row, column))),
                Placement::Outside => {}
                Placement::Edge if level == 0 => cover.edge.push(term(level, (row, column))),
                Placement::Edge => {
                    let ratio = CELL_STEPS[level] / CELL_STEPS[level - 1];
                    for child_row in row * ratio..(row + 1) * ratio {
                        for child_column in column * ratio..(column + 1) * ratio {
                            let child = (child_row, child_column);
                            match placement(level - 1, child, center, radius_km) {
                                Placement::Inside => cover.inside.push(term(level - 1, child)),
                                Placement::Edge => cover.edge.push(term(level - 1, child)),
                                Placement::Outside => {}
                            }
                        }
                    }
                }
            }
        }
    }
    cover
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points around several centres, at several radii: each point within the radius lies in
    /// exactly one cell of the cover, and in an inside cell only if it is within the radius.
    #[test]
    fn a_cover_holds_every_point_of_its_disc_once() {
        let centers = [
            (48.8566, 2.3522),
            (44.4475, 1.4406),
            (-21.1151, 55.5364),
            (48.2, 2.2),
            (64.0, -51.0),
        ];
        for (latitude, longitude) in centers {
            let center = Point::new(latitude, longitude).unwrap();
            for radius in [1.0, 5.0, 20.0, 50.0, 200.0] {
                let cover = disc_cover(&center, radius);
                let disc = relais_territory::Disc::new(center, radius);
                let span = radius / 111.2 * 1.5;
                let mut checked = 0;
                for i in 0..=60 {
                    for j in 0..=60 {
                        let point = Point {
                            latitude: latitude - span + 2.0 * span * f64::from(i) / 60.0,
                            longitude: longitude - span * 3.0 + 6.0 * span * f64::from(j) / 60.0,
                        };
                        let terms: Vec<String> = cell_terms(&point).collect();
                        let inside = terms.iter().filter(|t| cover.inside.contains(t)).count();
                        let edge = terms.iter().filter(|t| cover.edge.contains(t)).count();
                        let within = disc.contains(point.latitude, point.longitude);
                        assert!(inside + edge <= 1, "{point:?} in two cells of the cover");
                        if within {
                            checked += 1;
                            assert_eq!(inside + edge, 1, "{point:?} within {radius} km left out");
                        } else {
                            assert_eq!(
                                inside, 0,
                                "{point:?} outside {radius} km in an inside cell"
                            );
                        }
                    }
                }
                assert!(checked > 100, "{checked} points within {radius} km");
            }
        }
    }

    #[test]
    fn a_point_on_a_line_of_the_grid_lies_in_nested_cells() {
        let point = Point {
            latitude: 48.2,
            longitude: 2.4,
        };
        let rows: Vec<i64> = (0..3)
            .map(|level| cell(level, point.latitude, point.longitude).0)
            .collect();
        assert_eq!(rows[0].div_euclid(4), rows[1]);
        assert_eq!(rows[1].div_euclid(4), rows[2]);
    }

    #[test]
    fn packed_points_keep_a_centimetre_everywhere() {
        for (latitude, longitude) in [
            (44.4475, 1.4406),
            (-90.0, -180.0),
            (90.0, 180.0),
            (-21.1151, 55.5364),
            (0.0, 0.0),
        ] {
            let packed = pack_point(&Point {
                latitude,
                longitude,
            });
            assert_ne!(packed, NO_POINT);
            let (lat, lon) = unpack_point(packed).unwrap();
            assert!(
                (lat - latitude).abs() < 1e-7 && (lon - longitude).abs() < 1e-7,
                "{lat} {lon}"
            );
        }
        assert_eq!(unpack_point(NO_POINT), None);
    }
}
