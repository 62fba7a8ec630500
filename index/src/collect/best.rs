//! The best hits of a segment, at most `limit`.
//!
//! A page deep in a feed keeps thousands of hits (the skipped ones too), which arrive in the
//! page's order from a segment kept newest first: pushed one by one, each new hit (the last so
//! far) climbed the whole binary heap. Until the page is full nothing is dropped, so the hits
//! are gathered in a vector and made a heap at once (in linear time) when it fills.

use std::collections::BinaryHeap;

use super::Ranked;

pub(crate) struct Best {
    limit: usize,
    /// The hits while fewer than `limit`.
    filling: Vec<Ranked>,
    /// The hits once `limit` were offered; its top is the one that comes last.
    full: BinaryHeap<Ranked>,
}

impl Best {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            filling: Vec::new(),
            full: BinaryHeap::new(),
        }
    }

    /// The hit that comes last, once the page is full (a new hit must come before it).
    pub fn last_when_full(&self) -> Option<&Ranked> {
        self.full.peek()
    }

    /// Keeps `hit`, dropping the last one when the page is full: the caller has checked that
    /// `hit` comes before it.
    pub fn push(&mut self, hit: Ranked) {
        if self.full.is_empty() {
            self.filling.push(hit);
            if self.filling.len() >= self.limit {
                self.full = BinaryHeap::from(std::mem::take(&mut self.filling));
            }
        } else {
            self.full.pop();
            self.full.push(hit);
        }
    }

    /// The hits kept, in no order.
    pub fn iter(&self) -> impl Iterator<Item = &Ranked> {
        self.filling.iter().chain(self.full.iter())
    }

    pub fn into_vec(self) -> Vec<Ranked> {
        let mut hits = self.filling;
        hits.extend(self.full);
        hits
    }
}
