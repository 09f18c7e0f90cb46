//! The fixed-size key a request id is stored under.
//!
//! HMAC-SHA-256 under a random key drawn when the store is made, truncated to
//! 128 bits. Keyed, so that nobody who sends request ids can aim them at one
//! shard or one probe run (hash flooding), nor precompute a collision.
//! Treating the digest as a random function, the chance that any two of `n`
//! distinct ids held at once share a digest is about `n² / 2¹²⁹`: about
//! 1.5 × 10⁻²⁷ for a million entries. A collision would make the second id
//! look like the first (a duplicate answered without running).

use aws_lc_rs::hmac;

/// 128 bits of HMAC-SHA-256 of a request id, as four words: word 0 places the
/// entry in its shard's table, word 1 picks the shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Digest(pub(super) [u32; 4]);

impl std::hash::Hash for Digest {
    /// The digest is already uniform: one word is enough for a hash map.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0[2]) << 32 | u64::from(self.0[3]));
    }
}

/// Computes [`Digest`]s under the store's key.
pub(super) struct Digester {
    key: hmac::Key,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digester { key: <random> }")
    }
}

impl Digester {
    /// A digester under a fresh random 256-bit key.
    pub(super) fn random() -> Self {
        // Two owner tokens: 256 random bits (with the tokens' own fallback
        // should the system RNG ever fail).
        let key = format!(
            "{}{}",
            super::super::new_owner_token(),
            super::super::new_owner_token()
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        }
    }

    pub(super) fn digest(&self, request_id: &str) -> Digest {
        let tag = hmac::sign(&self.key, request_id.as_bytes());
        let mut words = [0u32; 4];
        for (word, bytes) in words.iter_mut().zip(tag.as_ref().chunks_exact(4)) {
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            *word = u32::from_le_bytes(b);
        }
        Digest(words)
    }
}

/// A hasher that passes a [`Digest`]'s word through (for the claims map).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    /// Not used by [`Digest`]; folds bytes so that any key still hashes.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

/// Builds [`PassThrough`] hashers.
pub(super) type PassThroughState = std::hash::BuildHasherDefault<PassThrough>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_digest_distinct_ids_distinct_keys_differ() {
        let a = Digester::random();
        let b = Digester::random();
        let id = "amzn1.echo-api.request.0000";
        assert_eq!(a.digest(id), a.digest(id));
        assert_ne!(a.digest(id), a.digest("amzn1.echo-api.request.0001"));
        // Keyed: another store files the same id elsewhere.
        assert_ne!(a.digest(id), b.digest(id));
    }
}
