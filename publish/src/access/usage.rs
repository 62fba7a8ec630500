//! Each key's use of the current day (Europe/Paris): requests answered and offers returned,
//! counted in memory, written to the store with the traffic counters, and read back at start so
//! that a restart does not reset a quota.

use std::collections::HashMap;

use relais_storage::KeyUsage;

/// The day's use of every key, and what is not yet written.
#[derive(Debug, Default)]
pub(crate) struct DailyUsage {
    day: String,
    /// Today's totals, stored or not.
    totals: HashMap<String, KeyUsage>,
    /// Not yet written to the store: `(key id, day)`.
    pending: HashMap<(String, String), KeyUsage>,
}

impl DailyUsage {
    /// Today's use of `key`, after moving to `day` if it changed.
    pub(crate) fn today(&mut self, key: &str, day: &str) -> KeyUsage {
        self.roll(day);
        self.totals.get(key).copied().unwrap_or_default()
    }

    /// Adds to `key`'s use of `day`.
    pub(crate) fn add(&mut self, key: &str, day: &str, requests: i64, offers: i64) {
        self.roll(day);
        for used in [
            self.totals.entry(key.to_owned()).or_default(),
            self.pending
                .entry((key.to_owned(), day.to_owned()))
                .or_default(),
        ] {
            used.requests += requests;
            used.offers += offers;
        }
    }

    /// What was stored for `day` (at start).
    pub(crate) fn load(&mut self, day: &str, stored: Vec<(String, KeyUsage)>) {
        self.roll(day);
        for (key, used) in stored {
            let total = self.totals.entry(key).or_default();
            total.requests += used.requests;
            total.offers += used.offers;
        }
    }

    /// Takes what is not yet written.
    pub(crate) fn take_pending(&mut self) -> Vec<(String, String, KeyUsage)> {
        self.pending
            .drain()
            .map(|((key, day), used)| (key, day, used))
            .collect()
    }

    /// Puts back what could not be written.
    pub(crate) fn restore_pending(&mut self, rows: Vec<(String, String, KeyUsage)>) {
        for (key, day, used) in rows {
            let pending = self.pending.entry((key, day)).or_default();
            pending.requests += used.requests;
            pending.offers += used.offers;
        }
    }

    fn roll(&mut self, day: &str) {
        if self.day != day {
            self.day = day.to_owned();
            self.totals.clear();
        }
    }
}
