//! MinHash signatures and their LSH bands.

use crate::sketch::mix;

/// `count` hash functions `x ↦ (a·x + b) >> 32` with odd `a`, fixed by `seed`.
#[derive(Debug, Clone)]
pub struct MinHasher {
    coefficients: Vec<(u64, u64)>,
}

impl MinHasher {
    /// `count` functions.
    pub fn new(count: usize, seed: u64) -> Self {
        let coefficients = (0..count as u64)
            .map(|i| {
                let a = mix(seed ^ (2 * i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
                let b = mix(seed.rotate_left(7) ^ (2 * i + 2).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                (a, b)
            })
            .collect();
        Self { coefficients }
    }

    /// The signature of a set of shingles (empty set: empty signature).
    pub fn signature(&self, shingles: impl Iterator<Item = u32> + Clone) -> Vec<u32> {
        let mut minimums = vec![u32::MAX; self.coefficients.len()];
        let mut any = false;
        for shingle in shingles {
            any = true;
            let x = u64::from(shingle);
            for (slot, (a, b)) in minimums.iter_mut().zip(&self.coefficients) {
                let h = (a.wrapping_mul(x).wrapping_add(*b) >> 32) as u32;
                *slot = (*slot).min(h);
            }
        }
        if any { minimums } else { Vec::new() }
    }
}

/// The bucket keys of a signature cut in bands of `rows` values; `salt` keeps families apart.
pub fn band_keys(signature: &[u32], rows: usize, salt: u64, out: &mut Vec<u64>) {
    for (band, values) in signature.chunks_exact(rows).enumerate() {
        let key = values.iter().fold(mix(salt ^ band as u64), |acc, &v| {
            mix(acc.rotate_left(11) ^ u64::from(v))
        });
        out.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreement(a: &[u32], b: &[u32]) -> f64 {
        a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
    }

    #[test]
    fn the_share_of_equal_minimums_estimates_jaccard() {
        let hasher = MinHasher::new(400, 7);
        let a: Vec<u32> = (0..1000).collect();
        let b: Vec<u32> = (500..1500).collect(); // Jaccard 1/3
        let estimate = agreement(
            &hasher.signature(a.iter().copied()),
            &hasher.signature(b.iter().copied()),
        );
        assert!((estimate - 1.0 / 3.0).abs() < 0.07, "{estimate}");
        assert!(hasher.signature(std::iter::empty()).is_empty());
    }
}
