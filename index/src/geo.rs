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

/// Sides of the cells in degrees, finest first (0.05° is about 5.6 km of latitude).
const CELL_DEGREES: [f64; 3] = [0.05, 0.2, 0.8];

/// Most cells a radius query asks for at a size finer than the coarsest.
const MAX_CELLS: usize = 128;

fn cell(level: usize, latitude: f64, longitude: f64) -> (i32, i32) {
    let side = CELL_DEGREES[level];
    (
        (latitude / side).floor() as i32,
        (longitude / side).floor() as i32,
    )
}

fn term(level: usize, (row, column): (i32, i32)) -> String {
    format!("{level}/{row}:{column}")
}

/// The terms of the cells holding `point`, one per size.
pub(crate) fn cell_terms(point: &Point) -> impl Iterator<Item = String> + '_ {
    (0..CELL_DEGREES.len()).map(|level| term(level, cell(level, point.latitude, point.longitude)))
}

/// The terms of every cell a disc of `radius_km` around `center` touches, at the finest size
/// where they are at most [`MAX_CELLS`].
pub(crate) fn disc_cells(center: &Point, radius_km: f64) -> Vec<String> {
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
    let coarsest = CELL_DEGREES.len() - 1;
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
            let cells = (i64::from(high.0 - low.0) + 1) * (i64::from(high.1 - low.1) + 1);
            *level == coarsest || cells <= MAX_CELLS as i64
        })
        .unwrap_or_default();
    (low_row..=high_row)
        .flat_map(|row| (low_column..=high_column).map(move |column| term(level, (row, column))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
