//! Offer key → slot, without a second copy of each key: the table holds slots alone and reads
//! the keys from the records (at a million offers, the copies and their allocations were about
//! 60 MB).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::features::Record;

#[derive(Debug, Default)]
pub(crate) struct SlotIndex {
    table: HashTable<u32>,
}

fn hash(key: &str) -> u64 {
    FxBuildHasher.hash_one(key)
}

fn key_of(records: &[Option<Record>], slot: u32) -> &str {
    records[slot as usize]
        .as_ref()
        .map_or("", |record| &*record.key)
}

impl SlotIndex {
    /// The slot of `key`.
    pub fn get(&self, records: &[Option<Record>], key: &str) -> Option<u32> {
        self.table
            .find(hash(key), |&slot| key_of(records, slot) == key)
            .copied()
    }

    /// Indexes `slot` under its record's key (not yet indexed).
    pub fn insert(&mut self, records: &[Option<Record>], slot: u32) {
        let key = key_of(records, slot);
        self.table
            .insert_unique(hash(key), slot, |&s| hash(key_of(records, s)));
    }

    /// Forgets `slot`, whose record (already taken out) had `key`.
    pub fn remove(&mut self, key: &str, slot: u32) {
        if let Ok(entry) = self.table.find_entry(hash(key), |&s| s == slot) {
            entry.remove();
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Buckets allocated.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }
}
