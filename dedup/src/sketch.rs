//! How many offers contain a sentence or a shingle: a counting sketch of fixed size (one row of
//! saturating 8-bit counters), so that boilerplate and template text can be recognised at any
//! scale without a table of every shingle ever seen.

/// Document frequencies, estimated from above (collisions only add).
#[derive(Debug, Clone)]
pub struct FrequencySketch {
    counters: Vec<u8>,
    mask: u64,
}

impl FrequencySketch {
    /// A sketch of `2^bits` counters (one byte each).
    pub fn new(bits: u32) -> Self {
        Self {
            counters: vec![0; 1 << bits],
            mask: (1u64 << bits) - 1,
        }
    }

    fn slot(&self, key: u64) -> usize {
        (mix(key) & self.mask) as usize
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.counters.len()
    }

    /// Counts one more offer containing `key`.
    pub fn add(&mut self, key: u64) {
        let slot = self.slot(key);
        self.counters[slot] = self.counters[slot].saturating_add(1);
    }

    /// At least how many offers contain `key` (saturates at 255).
    pub fn count(&self, key: u64) -> u32 {
        u32::from(self.counters[self.slot(key)])
    }
}

/// A strong 64-bit finaliser (splitmix64), so that neighbouring keys land far apart.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A stable hash of a word (FNV-1a then mixed): the same on every machine and every run.
pub fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A hash of a sequence of word hashes.
pub fn sequence_hash(hashes: &[u64], salt: u64) -> u64 {
    hashes
        .iter()
        .fold(salt, |acc, &h| mix(acc.rotate_left(13) ^ h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_distinct_keys_stay_apart() {
        let mut sketch = FrequencySketch::new(16);
        for _ in 0..300 {
            sketch.add(42);
        }
        sketch.add(43);
        assert_eq!(sketch.count(42), 255);
        assert_eq!(sketch.count(43), 1);
        assert_eq!(sketch.count(44), 0);
        assert_eq!(word_hash("agent"), word_hash("agent"));
        assert_ne!(sequence_hash(&[1, 2], 0), sequence_hash(&[2, 1], 0));
    }
}
