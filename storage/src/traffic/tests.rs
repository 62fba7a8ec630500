//! Traffic counters on both backends.

use crate::testing::store_suite;
use crate::{Store, TrafficRow};

fn row(day: &str, channel: &str, id: &str, counts: (i64, i64, i64)) -> TrafficRow {
    TrafficRow {
        day: day.into(),
        collectivite: "grand-cahors".into(),
        channel: channel.into(),
        source: "francetravail".into(),
        source_offer_id: id.into(),
        impressions: counts.0,
        views: counts.1,
        apply_clicks: counts.2,
    }
}

/// Flushes add to what the store holds; a period is read with both ends included, in order of
/// day, source, channel and offer, and only for its collectivité.
async fn counters_add_up_and_read_by_period(store: Store) {
    store
        .add_traffic(&[
            row("2026-12-05", "widget", "200B", (10, 2, 1)),
            row("2026-12-05", "feed", "200A", (4, 0, 0)),
            row("2026-12-06", "api", "200A", (1, 1, 0)),
            row("2026-12-07", "page", "200A", (0, 1, 1)),
        ])
        .await
        .unwrap();
    let mut other = row("2026-12-05", "widget", "200B", (100, 100, 100));
    other.collectivite = "figeac".into();
    store
        .add_traffic(&[row("2026-12-05", "widget", "200B", (5, 1, 0)), other])
        .await
        .unwrap();

    assert_eq!(
        store
            .traffic("grand-cahors", "2026-12-05", "2026-12-06")
            .await
            .unwrap(),
        [
            row("2026-12-05", "feed", "200A", (4, 0, 0)),
            row("2026-12-05", "widget", "200B", (15, 3, 1)),
            row("2026-12-06", "api", "200A", (1, 1, 0)),
        ]
    );
    assert_eq!(
        store
            .traffic("figeac", "2026-12-01", "2026-12-31")
            .await
            .unwrap()[0]
            .impressions,
        100
    );
    assert!(
        store
            .traffic("grand-cahors", "2026-11-01", "2026-11-30")
            .await
            .unwrap()
            .is_empty()
    );
}

store_suite!(counters_add_up_and_read_by_period);
