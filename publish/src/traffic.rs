//! Traffic, counted without personal data: impressions (an offer listed in a widget, a feed page
//! or a search response), views (an offer page, the detail API) and apply clicks (the `/r/{key}`
//! redirect), per day (Europe/Paris) × collectivité × channel × source × offer.
//!
//! Nothing about the visitor is kept: no IP address (the server never asks for one), no cookie,
//! no user agent. The user agent is read once, to leave known robots out ([`is_robot`], the
//! `isbot` crate's list), and forgotten. Counts are added up in memory and written to the store
//! by [`crate::AppState::flush_traffic`] (every few seconds in `relais serve`, and at shutdown):
//! a process killed outright loses at most what was counted since the last write.

pub(crate) mod beacon;

use std::sync::{LazyLock, Mutex};

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
// hashbrown for `entry_ref` (a key allocated only when new) and its fast hasher: a feed page
// sent counts twenty offers, mostly counted already, under the counter's lock.
use hashbrown::HashMap;
use relais_storage::TrafficRow;

/// Where an offer was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Channel {
    /// The widget, in either form.
    Widget,
    /// A feed (JSON, RSS, Atom).
    Feed,
    /// The search API (a key's app).
    Api,
    /// The offer's page.
    Page,
}

impl Channel {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Widget => "widget",
            Channel::Feed => "feed",
            Channel::Api => "api",
            Channel::Page => "page",
        }
    }

    /// Every channel, in the order of their declaration: `channel as usize` is its place here.
    const ALL: [Channel; 4] = [Channel::Widget, Channel::Feed, Channel::Api, Channel::Page];

    fn named(name: &str) -> Channel {
        match name {
            "widget" => Channel::Widget,
            "feed" => Channel::Feed,
            "api" => Channel::Api,
            _ => Channel::Page,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    impressions: i64,
    views: i64,
    apply_clicks: i64,
}

/// The counts of one day and collectivité: per channel, per offer key (`source:id`).
type ByOffer = [HashMap<String, Counts>; 4];

/// What was counted and not yet written: per day (in France), per collectivité. Nested by the
/// parts of the key, so that counting an offer already counted allocates nothing (a feed page
/// counts twenty offers per request, mostly the same ones).
#[derive(Debug, Default)]
pub(crate) struct TrafficCounter {
    pending: Mutex<HashMap<NaiveDate, HashMap<String, ByOffer>>>,
}

/// What is counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Impression,
    View,
    ApplyClick,
}

impl TrafficCounter {
    /// Counts `event` for each offer key (`source:id`).
    pub(crate) fn count<'a>(
        &self,
        now: DateTime<Utc>,
        collectivite: &str,
        channel: Channel,
        event: Event,
        keys: impl IntoIterator<Item = &'a str>,
    ) {
        let day = now.with_timezone(&Paris).date_naive();
        let mut pending = self.pending.lock().expect("traffic lock");
        let by_offer = &mut pending
            .entry(day)
            .or_default()
            .entry_ref(collectivite)
            .or_default()[channel as usize];
        for key in keys {
            if !key.contains(':') {
                continue;
            }
            let counts = by_offer.entry_ref(key).or_default();
            match event {
                Event::Impression => counts.impressions += 1,
                Event::View => counts.views += 1,
                Event::ApplyClick => counts.apply_clicks += 1,
            }
        }
    }

    /// Takes what is not yet written.
    pub(crate) fn take(&self) -> Vec<TrafficRow> {
        let drained = std::mem::take(&mut *self.pending.lock().expect("traffic lock"));
        let mut rows = Vec::new();
        for (day, collectivites) in drained {
            let day = day.format("%Y-%m-%d").to_string();
            for (collectivite, channels) in collectivites {
                for (channel, offers) in Channel::ALL.into_iter().zip(channels) {
                    for (key, counts) in offers {
                        let (source, id) = key.split_once(':').expect("counted with a colon");
                        rows.push(TrafficRow {
                            day: day.clone(),
                            collectivite: collectivite.clone(),
                            channel: channel.as_str().to_owned(),
                            source: source.to_owned(),
                            source_offer_id: id.to_owned(),
                            impressions: counts.impressions,
                            views: counts.views,
                            apply_clicks: counts.apply_clicks,
                        });
                    }
                }
            }
        }
        rows
    }

    /// Puts back rows that could not be written (the store was unavailable).
    pub(crate) fn restore(&self, rows: Vec<TrafficRow>) {
        let mut pending = self.pending.lock().expect("traffic lock");
        for row in rows {
            let Ok(day) = NaiveDate::parse_from_str(&row.day, "%Y-%m-%d") else {
                // Rows come from `take`, which writes days so: nothing else to put back.
                tracing::error!(day = %row.day, "a traffic row with no readable day, dropped");
                continue;
            };
            let channel = Channel::named(&row.channel);
            let by_offer = &mut pending
                .entry(day)
                .or_default()
                .entry_ref(row.collectivite.as_str())
                .or_default()[channel as usize];
            let key = format!("{}:{}", row.source, row.source_offer_id);
            let counts = by_offer.entry(key).or_default();
            counts.impressions += row.impressions;
            counts.views += row.views;
            counts.apply_clicks += row.apply_clicks;
        }
    }
}

/// The day of `now` in France (metropolitan time), `YYYY-MM-DD`: the day of the reports.
pub(crate) fn paris_day(now: DateTime<Utc>) -> String {
    now.with_timezone(&Paris).format("%Y-%m-%d").to_string()
}

/// Seconds until the next French day starts (when daily quotas reset).
pub(crate) fn seconds_to_next_day(now: DateTime<Utc>) -> u64 {
    let local = now.with_timezone(&Paris).date_naive();
    let next = local
        .checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|midnight| Paris.from_local_datetime(&midnight).earliest());
    next.map_or(3600, |next| {
        (next.with_timezone(&Utc) - now).num_seconds().max(1) as u64
    })
}

static ROBOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);

/// Whether the request's user agent is a known robot (crawler, link preview, monitoring, HTTP
/// library): its traffic is not counted. The user agent is not kept.
pub(crate) fn is_robot(headers: &HeaderMap) -> bool {
    match headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        Some(agent) if !agent.trim().is_empty() => ROBOTS.is_bot(agent),
        // No user agent at all: not a browser.
        _ => true,
    }
}

impl crate::AppState {
    /// Writes the traffic counted since the last write, and the keys' use, to the store; on
    /// failure keeps them for the next write. Returns the counter rows written.
    pub async fn flush_traffic(&self) -> Result<usize, relais_storage::StorageError> {
        let Some(store) = &self.inner.store else {
            return Ok(0);
        };
        let rows = self.inner.traffic.take();
        let written = rows.len();
        if !rows.is_empty()
            && let Err(error) = store.add_traffic(&rows).await
        {
            self.inner.traffic.restore(rows);
            return Err(error);
        }
        let usage = self.inner.access.take_usage();
        if !usage.is_empty()
            && let Err(error) = store.add_key_usage(&usage).await
        {
            self.inner.access.restore_usage(usage);
            return Err(error);
        }
        Ok(written)
    }

    /// Counts `event` for these offers, shown through `feed` on `channel`, unless the request
    /// comes from a robot. The traffic goes to the feed's collectivité.
    pub(crate) fn count_for_feed<'a>(
        &self,
        headers: &axum::http::HeaderMap,
        feed: &str,
        channel: Channel,
        event: Event,
        keys: impl IntoIterator<Item = &'a str>,
    ) {
        if is_robot(headers) {
            return;
        }
        let collectivite = self.inner.access.feed_owner(feed).unwrap_or_default();
        self.inner
            .traffic
            .count(self.now(), &collectivite, channel, event, keys);
    }

    /// Counts a view or an apply click of an offer's page reached through `via` (a feed's name
    /// or a collectivité's id; else the traffic belongs to no collectivité), unless the request
    /// comes from a robot.
    pub(crate) fn count_via(
        &self,
        headers: &axum::http::HeaderMap,
        via: Option<&str>,
        event: Event,
        key: &str,
    ) {
        if is_robot(headers) {
            return;
        }
        let access = &self.inner.access;
        let collectivite = via
            .and_then(|via| {
                access
                    .feed_owner(via)
                    .or_else(|| access.collectivite(via).map(|c| c.definition.id.clone()))
            })
            .unwrap_or_default();
        self.inner
            .traffic
            .count(self.now(), &collectivite, Channel::Page, event, [key]);
    }

    /// Counts `event` for these offers, served to a key's app on `channel`: the traffic goes
    /// to the key's collectivité (an app is not a robot: no user-agent rule).
    pub(crate) fn count_for_caller<'a>(
        &self,
        caller: &crate::access::Caller,
        channel: Channel,
        event: Event,
        keys: impl IntoIterator<Item = &'a str>,
    ) {
        self.inner.traffic.count(
            self.now(),
            &caller.collectivite.definition.id,
            channel,
            event,
            keys,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut rows: Vec<TrafficRow>) -> Vec<String> {
        rows.sort_by(|a, b| {
            (&a.day, &a.collectivite, &a.channel, &a.source_offer_id).cmp(&(
                &b.day,
                &b.collectivite,
                &b.channel,
                &b.source_offer_id,
            ))
        });
        rows.iter()
            .map(|r| {
                format!(
                    "{} {} {} {}:{} {}/{}/{}",
                    r.day,
                    r.collectivite,
                    r.channel,
                    r.source,
                    r.source_offer_id,
                    r.impressions,
                    r.views,
                    r.apply_clicks
                )
            })
            .collect()
    }

    #[test]
    fn counts_add_up_per_day_collectivite_channel_and_offer_and_come_back_when_not_written() {
        let counter = TrafficCounter::default();
        let noon = "2026-12-06T11:00:00Z".parse().unwrap();
        // 00:30 in Paris (UTC+1 in winter): already the next day there.
        let late = "2026-12-06T23:30:00Z".parse().unwrap();
        let page = ["francetravail:1", "hellowork:a:b", "no-colon"];
        counter.count(noon, "cahors", Channel::Feed, Event::Impression, page);
        counter.count(noon, "cahors", Channel::Feed, Event::Impression, page);
        counter.count(
            noon,
            "cahors",
            Channel::Page,
            Event::View,
            ["francetravail:1"],
        );
        counter.count(
            noon,
            "figeac",
            Channel::Page,
            Event::ApplyClick,
            ["francetravail:1"],
        );
        counter.count(
            late,
            "cahors",
            Channel::Widget,
            Event::Impression,
            ["francetravail:1"],
        );
        let expected = vec![
            "2026-12-06 cahors feed francetravail:1 2/0/0",
            "2026-12-06 cahors feed hellowork:a:b 2/0/0",
            "2026-12-06 cahors page francetravail:1 0/1/0",
            "2026-12-06 figeac page francetravail:1 0/0/1",
            "2026-12-07 cahors widget francetravail:1 1/0/0",
        ];
        let rows = counter.take();
        assert_eq!(sorted(rows.clone()), expected);
        assert!(counter.take().is_empty(), "taken once");
        // Not written: put back, and added to what was counted meanwhile.
        counter.count(
            noon,
            "cahors",
            Channel::Feed,
            Event::Impression,
            ["francetravail:1"],
        );
        counter.restore(rows);
        let mut again = expected.clone();
        again[0] = "2026-12-06 cahors feed francetravail:1 3/0/0";
        assert_eq!(sorted(counter.take()), again);
    }
}
