//! Radius searches: offers carry the grid cells of their point as terms, at several sizes; a
//! radius query asks for the cells a disc touches, at the finest size that keeps their number
//! small, and the collector keeps the offers whose point really is within the radius (cells
//! refined by distance, never a float range over the whole index).
//!
//! One size for every radius would make small discs read far too many offers: a 5 km disc
//! covers 80 km², the four 0.2° cells around it 1 400 km². The finest cells the disc needs
//! at most [`MAX_CELLS`] of keep the offers read within about twice the offers found.

use relais_territory::Point;

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
