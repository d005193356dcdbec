//! Chunk digests: BLAKE3-256 of the plaintext, keyed for encrypted stores.

use std::fmt;

/// Context string for deriving the chunk-naming key of an encrypted store from its master key.
pub const DIGEST_KEY_CONTEXT: &str = "stencil 2026 chunk-id v1";

/// A 32-byte chunk name. The all-zero value is reserved for ZERO entries in indexes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The reserved value that marks an all-zero chunk in an index (never a stored blob).
    pub const ZERO: Digest = Digest([0; 32]);

    /// Wraps raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// True for the reserved ZERO marker.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// Lower-case hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn parse_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Digest(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Names chunks: plain BLAKE3 for unencrypted stores, keyed BLAKE3 for encrypted ones, so two keys
/// never share chunk names.
#[derive(Clone)]
pub struct ChunkHasher {
    key: Option<[u8; 32]>,
}

impl fmt::Debug for ChunkHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkHasher")
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl ChunkHasher {
    /// Plain BLAKE3-256.
    pub fn plain() -> Self {
        ChunkHasher { key: None }
    }

    /// Keyed BLAKE3 with a key derived from the store's master key.
    pub fn keyed(master_key: &[u8; 32]) -> Self {
        ChunkHasher {
            key: Some(blake3::derive_key(DIGEST_KEY_CONTEXT, master_key)),
        }
    }

    /// The digest of `data`. Never returns [`Digest::ZERO`] for real data (probability 2^-256).
    pub fn digest(&self, data: &[u8]) -> Digest {
        let hash = match &self.key {
            None => blake3::hash(data),
            Some(key) => blake3::keyed_hash(key, data),
        };
        Digest(*hash.as_bytes())
    }
}

/// True when every byte of `buf` is zero (word-at-a-time).
pub fn is_all_zero(buf: &[u8]) -> bool {
    let words = buf.chunks_exact(16);
    let rest = words.remainder();
    words
        .into_iter()
        .all(|w| u128::from_ne_bytes(w.try_into().unwrap_or([1; 16])) == 0)
        && rest.iter().all(|&b| b == 0)
}

/// Length of the run of zero bytes at the start of `buf`.
pub fn zero_prefix_len(buf: &[u8]) -> usize {
    let mut n = 0;
    for w in buf.chunks_exact(16) {
        if u128::from_ne_bytes(w.try_into().unwrap_or([1; 16])) != 0 {
            break;
        }
        n += 16;
    }
    n + buf[n..].iter().take_while(|&&b| b == 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_short_hex() {
        let d = ChunkHasher::plain().digest(b"abc");
        assert_eq!(format!("{d:?}").len(), "Digest()".len() + 12);
        assert_eq!(Digest::parse_hex(&d.to_hex()), Some(d));
    }

    #[test]
    fn keyed_digests_differ_between_keys() {
        let a = ChunkHasher::keyed(&[1; 32]).digest(b"x");
        let b = ChunkHasher::keyed(&[2; 32]).digest(b"x");
        assert_ne!(a, b);
        assert_ne!(a, ChunkHasher::plain().digest(b"x"));
    }

    #[test]
    fn zero_checks() {
        let mut v = vec![0u8; 1000];
        assert!(is_all_zero(&v));
        assert_eq!(zero_prefix_len(&v), 1000);
        v[999] = 1;
        assert!(!is_all_zero(&v));
        assert_eq!(zero_prefix_len(&v), 999);
        v[3] = 1;
        assert_eq!(zero_prefix_len(&v), 3);
    }
}
