//! The report as CSV and as HTML.

use askama::Template;

use super::charts::{Series, bars};
use super::{Report, Totals};

/// The CSV: one line per day, source and channel, then the period's totals.
pub fn csv(report: &Report) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "date",
        "source",
        "channel",
        "impressions",
        "views",
        "apply_clicks",
    ]);
    for day in &report.days {
        let _ = writer.write_record([
            day.date.as_str(),
            &day.source,
            &day.channel,
            &day.impressions.to_string(),
            &day.views.to_string(),
            &day.apply_clicks.to_string(),
        ]);
    }
    let totals = &report.totals;
    let _ = writer.write_record([
        "total",
        "",
        "",
        &totals.impressions.to_string(),
        &totals.views.to_string(),
        &totals.apply_clicks.to_string(),
    ]);
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A row of a table of the HTML report.
struct Line {
    label: String,
    totals: Totals,
}

/// A source's licence, as the report mentions it.
struct SourceLicence {
    name: String,
    licence: String,
    url: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    report: &'a Report,
    period: String,
    licences: Vec<SourceLicence>,
    edited: String,
    daily_chart: String,
    channel_chart: String,
    days: Vec<Line>,
    sources: Vec<Line>,
    channels: Vec<Line>,
    method_url: &'a str,
}

/// The French name of a channel.
fn channel_name(channel: &str) -> String {
    match channel {
        "widget" => "Widget",
        "feed" => "Flux (JSON, RSS, Atom)",
        "api" => "API (applications)",
        "page" => "Pages d'offres",
        other => other,
    }
    .to_owned()
}

pub(crate) fn french_day(day: &str) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| day.to_owned())
}

/// The three figures of a report, as the series of a chart over `totals` (one bar each).
fn figures(totals: &std::collections::BTreeMap<String, Totals>) -> [Series<'static>; 3] {
    let column = |pick: fn(&Totals) -> i64| totals.values().map(pick).collect::<Vec<_>>();
    [
        Series {
            name: "affichages",
            colour: "#9ec5e8",
            values: column(|t| t.impressions),
        },
        Series {
            name: "vues",
            colour: "#0b5394",
            values: column(|t| t.views),
        },
        Series {
            name: "clics « Postuler »",
            colour: "#b45309",
            values: column(|t| t.apply_clicks),
        },
    ]
}

/// A rate as a French percentage (`12,5 %`), or a dash.
pub(crate) fn percent(rate: &Option<f64>) -> String {
    match rate {
        Some(rate) => format!("{:.1} %", rate * 100.0).replace('.', ","),
        None => "–".to_owned(),
    }
}

/// The HTML report, in French: period, collectivité, charts, tables, and the licence mention
/// of each source in it (names and licences from `licence`; `method_url` says what relais
/// changes in the offers).
pub fn html(
    report: &Report,
    licence: &relais_licence::Licence,
    method_url: &str,
) -> Result<String, askama::Error> {
    let source_name = |id: &str| {
        licence
            .terms(id)
            .map_or_else(|| id.to_owned(), |t| t.name.clone())
    };
    let mut licences: Vec<SourceLicence> = licence
        .sources()
        .filter(|t| t.id == "francetravail" || report.per_source.contains_key(&t.id))
        .map(|t| SourceLicence {
            name: t.name.clone(),
            licence: t.licence_name.clone(),
            url: t.licence_url.clone(),
        })
        .collect();
    licences.sort_by_key(|l| l.name != "France Travail");
    let labels: Vec<String> = report
        .per_day
        .keys()
        .map(|d| french_day(d).chars().take(5).collect())
        .collect();
    let daily_chart = bars(
        "Affichages, vues et clics « Postuler » par jour",
        &labels,
        &figures(&report.per_day),
    );
    let channel_labels: Vec<String> = report.per_channel.keys().map(|c| channel_name(c)).collect();
    let channel_chart = bars(
        "Affichages, vues et clics par canal",
        &channel_labels,
        &figures(&report.per_channel),
    );
    let lines = |map: &std::collections::BTreeMap<String, Totals>,
                 name: &dyn Fn(&str) -> String| {
        map.iter()
            .map(|(k, t)| Line {
                label: name(k),
                totals: *t,
            })
            .collect()
    };
    ReportPage {
        report,
        period: format!(
            "du {} au {}",
            french_day(&report.from),
            french_day(&report.to)
        ),
        licences,
        edited: crate::traffic::paris_day(chrono::Utc::now()),
        daily_chart,
        channel_chart,
        days: lines(&report.per_day, &french_day),
        sources: lines(&report.per_source, &source_name),
        channels: lines(&report.per_channel, &channel_name),
        method_url,
    }
    .render()
}
