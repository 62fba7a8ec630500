//! Radius searches: offers carry the grid cell of their point as a term; a radius query asks
//! for the cells a disc touches, and the collector keeps the offers whose point really is
//! within the radius (cells refined by distance, never a float range over the whole index).

use relais_territory::Point;

/// Side of a cell in degrees (about 22 km of latitude).
const CELL_DEGREES: f64 = 0.2;

fn cell(latitude: f64, longitude: f64) -> (i32, i32) {
    (
        (latitude / CELL_DEGREES).floor() as i32,
        (longitude / CELL_DEGREES).floor() as i32,
    )
}

/// The term of the cell holding `point`.
pub(crate) fn cell_term(point: &Point) -> String {
    let (row, column) = cell(point.latitude, point.longitude);
    format!("{row}:{column}")
}

/// The terms of every cell a disc of `radius_km` around `center` touches.
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
    let (low_row, low_column) = cell(center.latitude - lat_span, center.longitude - lon_span);
    let (high_row, high_column) = cell(center.latitude + lat_span, center.longitude + lon_span);
    (low_row..=high_row)
        .flat_map(|row| (low_column..=high_column).map(move |column| format!("{row}:{column}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disc_covers_every_point_within_its_radius() {
        let center = Point::new(44.4491, 1.4366).unwrap();
        let cells = disc_cells(&center, 20.0);
        for step in 0..360 {
            let bearing = f64::from(step).to_radians();
            for km in [1.0, 10.0, 19.9] {
                let point = Point::new(
                    center.latitude + km / 111.2 * bearing.cos(),
                    center.longitude
                        + km / (111.2 * center.latitude.to_radians().cos()) * bearing.sin(),
                )
                .unwrap();
                if center.distance_km(&point) <= 20.0 {
                    assert!(cells.contains(&cell_term(&point)), "{point:?}");
                }
            }
        }
        assert!(cells.len() < 20, "{}", cells.len());
    }
}
