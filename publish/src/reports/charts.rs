//! The report's charts as inline SVG, drawn here: no script, no font, nothing fetched.

use std::fmt::Write as _;

/// One series of a bar chart.
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) colour: &'a str,
    pub(crate) values: Vec<i64>,
}

const WIDTH: f64 = 680.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

/// Grouped vertical bars, one group per label, with a value axis and a legend.
pub(crate) fn bars(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = nice_ceiling(max);
    let plot_width = WIDTH - LEFT - 8.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let group = plot_width / labels.len().max(1) as f64;
    let bar = (group * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" class="graphique"><title>{title}</title>"#,
        height = HEIGHT + 18.0,
        title = escape(title),
    );
    for step in 0..=4 {
        let value = top * step / 4;
        let y = TOP + plot_height - plot_height * value as f64 / top as f64;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#d0d7de" stroke-width="1"/><text x="{tx}" y="{ty:.1}" text-anchor="end" font-size="10" fill="#545b63">{value}</text>"##,
            x2 = WIDTH - 8.0,
            tx = LEFT - 4.0,
            ty = y + 3.5,
        );
    }
    let label_every = (labels.len() / 12).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + group * i as f64 + group * 0.1;
        for (j, s) in series.iter().enumerate() {
            let value = s.values.get(i).copied().unwrap_or(0);
            let h = plot_height * value as f64 / top as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{colour}"><title>{label} : {value} {name}</title></rect>"#,
                x = x0 + bar * j as f64,
                y = TOP + plot_height - h,
                colour = s.colour,
                label = escape(label),
                name = escape(s.name),
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y}" text-anchor="middle" font-size="10" fill="#545b63">{label}</text>"##,
                x = LEFT + group * (i as f64 + 0.5),
                y = HEIGHT - BOTTOM + 14.0,
                label = escape(label),
            );
        }
    }
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/><text x="{tx}" y="{ty}" font-size="11" fill="#1f2328">{name}</text>"##,
            y = HEIGHT - 4.0,
            colour = s.colour,
            tx = x + 14.0,
            ty = HEIGHT + 5.0,
            name = escape(s.name),
        );
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

/// 1, 2 or 5 times a power of ten, at least `value`.
fn nice_ceiling(value: i64) -> i64 {
    let mut power = 1;
    loop {
        for step in [1, 2, 5] {
            if step * power >= value {
                return step * power;
            }
        }
        power *= 10;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_value_and_every_value_is_drawn() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(501), 1000);
        let svg = bars(
            "Vues <par> jour",
            &["01/12".into(), "02/12".into()],
            &[Series {
                name: "vues",
                colour: "#0b5394",
                values: vec![3, 0],
            }],
        );
        assert!(svg.contains("Vues &lt;par&gt; jour"));
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 1,
            "two bars and a legend key"
        );
        assert!(svg.contains("01/12 : 3 vues"));
    }
}
