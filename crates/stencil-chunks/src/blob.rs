//! The blob format: how one chunk is stored.
//!
//! ```text
//! offset  size  field
//!      0     8  BLOB_MAGIC "STNCBLOB"
//!      8     2  format version (BLOB_VERSION), u16 LE
//!     10     2  flags (FLAG_ZSTD | FLAG_AES_GCM), u16 LE
//!     12     4  CRC-32 (IEEE) of every byte after the header, u32 LE
//!     16     4  plaintext length, u32 LE
//!     20     4  length of the rest of the blob, u32 LE
//!     24    12  [encrypted only] AES-256-GCM nonce (random)
//!     36    16  [encrypted only] AES-256-GCM tag; associated data = the chunk digest
//!  24|52     *  body: plaintext, zstd frame, or ciphertext of either
//! ```
//!
//! The CRC covers the stored bytes, so anyone (a server or a cross-region receiver without the
//! key) can check a blob's integrity. A full check decrypts, decompresses and recomputes the digest.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::digest::{ChunkHasher, Digest};
use crate::error::{Error, Result};

/// Magic at offset 0 of every blob.
pub const BLOB_MAGIC: [u8; 8] = *b"STNCBLOB";
/// Current blob format version.
pub const BLOB_VERSION: u16 = 1;
/// Size of the fixed header.
pub const BLOB_HEADER_LEN: usize = 24;
/// Size of the nonce + tag extension of encrypted blobs.
pub const BLOB_CRYPT_LEN: usize = NONCE_LEN + TAG_LEN;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Body is a zstd frame.
pub const FLAG_ZSTD: u16 = 1 << 0;
/// Body is AES-256-GCM ciphertext; the nonce and tag follow the header.
pub const FLAG_AES_GCM: u16 = 1 << 1;
/// zstd level used for every chunk, with literals left uncompressed (no Huffman stage; see
/// [`new_compressor`]).
pub const ZSTD_LEVEL: i32 = 2;
/// Compression is kept only if it saves at least this many percent.
pub const MIN_SAVING_PERCENT: usize = 3;
/// Largest plaintext a blob may hold (the chunker never exceeds 16 MiB).
pub const MAX_PLAIN_LEN: usize = 64 << 20;
/// Context string deriving the AES key from a store's master key.
pub const CIPHER_KEY_CONTEXT: &str = "stencil 2026 chunk-cipher v1";

const OFF_VERSION: usize = 8;
const OFF_FLAGS: usize = 10;
const OFF_CRC: usize = 12;
const OFF_PLAIN_LEN: usize = 16;
const OFF_REST_LEN: usize = 20;

/// Compile-time layout of the fixed header (each field as bytes, no padding).
#[repr(C)]
struct BlobHeaderLayout {
    _magic: [u8; 8],
    _version: [u8; 2],
    _flags: [u8; 2],
    _crc: [u8; 4],
    _plain_len: [u8; 4],
    _rest_len: [u8; 4],
}
const _: () = assert!(std::mem::size_of::<BlobHeaderLayout>() == BLOB_HEADER_LEN);
const _: () = assert!(OFF_REST_LEN + 4 == BLOB_HEADER_LEN);

/// How blobs of one store are encoded and decoded: compression on/off and the optional key.
#[derive(Clone)]
pub struct BlobCodec {
    compress: bool,
    cipher: Option<Aes256Gcm>,
}

impl std::fmt::Debug for BlobCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobCodec")
            .field("compress", &self.compress)
            .field("encrypted", &self.cipher.is_some())
            .finish()
    }
}

/// Parsed fixed header of a blob.
#[derive(Debug, Clone, Copy)]
pub struct BlobHeader {
    /// Flags field.
    pub flags: u16,
    /// Plaintext length.
    pub plain_len: u32,
}

/// Checks magic, version, lengths and CRC without any key. Returns the parsed header.
pub fn check_stored(digest: &Digest, blob: &[u8]) -> Result<BlobHeader> {
    if blob.len() < BLOB_HEADER_LEN {
        return Err(corrupt(digest, "shorter than the header"));
    }
    let (head, rest) = blob.split_at(BLOB_HEADER_LEN);
    check_parts(digest, head, rest)
}

/// [`check_stored`] for a blob read in two pieces: the fixed header and everything after it.
pub fn check_parts(digest: &Digest, head: &[u8], rest: &[u8]) -> Result<BlobHeader> {
    if head.len() != BLOB_HEADER_LEN {
        return Err(corrupt(digest, "shorter than the header"));
    }
    if head[..8] != BLOB_MAGIC {
        return Err(corrupt(digest, "bad magic"));
    }
    if u16_at(head, OFF_VERSION) != BLOB_VERSION {
        return Err(corrupt(digest, "unknown blob version"));
    }
    let flags = u16_at(head, OFF_FLAGS);
    if flags & !(FLAG_ZSTD | FLAG_AES_GCM) != 0 {
        return Err(corrupt(digest, "unknown flags"));
    }
    if u32_at(head, OFF_REST_LEN) as usize != rest.len() {
        return Err(corrupt(digest, "length does not match the header"));
    }
    if flags & FLAG_AES_GCM != 0 && rest.len() < BLOB_CRYPT_LEN {
        return Err(corrupt(digest, "encrypted blob without nonce and tag"));
    }
    if crc32fast::hash(rest) != u32_at(head, OFF_CRC) {
        return Err(corrupt(digest, "checksum mismatch"));
    }
    let plain_len = u32_at(head, OFF_PLAIN_LEN);
    if plain_len as usize > MAX_PLAIN_LEN {
        return Err(corrupt(digest, "plaintext length too large"));
    }
    Ok(BlobHeader { flags, plain_len })
}

/// The body length of a blob stored as plain bytes (neither compressed nor encrypted), read from
/// its fixed header alone; `None` for any other blob or for bytes that are not a blob header.
/// Nothing is checked beyond that: [`check_parts`] still has to pass once the body is read.
pub fn plain_body_len(head: &[u8]) -> Option<usize> {
    let plain = head.len() == BLOB_HEADER_LEN
        && head[..8] == BLOB_MAGIC
        && u16_at(head, OFF_VERSION) == BLOB_VERSION
        && u16_at(head, OFF_FLAGS) == 0
        && u32_at(head, OFF_REST_LEN) == u32_at(head, OFF_PLAIN_LEN);
    plain.then(|| u32_at(head, OFF_REST_LEN) as usize)
}

/// How much a read checks beyond what every read checks (magic, lengths, the CRC-32 of every
/// stored byte, and the AES-GCM tag of an encrypted blob, whose associated data is the digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadCheck {
    /// Also recompute the plaintext's digest and compare it with the blob's name.
    Digest,
    /// Nothing more: the stored bytes are the ones written under this name, which hashed the
    /// plaintext to name it (an encrypted blob is bound to its name by the tag as well).
    Stored,
}

impl BlobCodec {
    /// A codec; `master_key` enables AES-256-GCM with a key derived from it.
    pub fn new(compress: bool, master_key: Option<&[u8; 32]>) -> Self {
        let cipher = master_key.map(|k| {
            let key = blake3::derive_key(CIPHER_KEY_CONTEXT, k);
            Aes256Gcm::new(&key.into())
        });
        BlobCodec { compress, cipher }
    }

    /// Encodes one chunk. `compressor` is reused by each worker thread.
    pub fn encode(
        &self,
        digest: &Digest,
        plain: &[u8],
        compressor: &mut Option<zstd::bulk::Compressor<'static>>,
    ) -> Result<Vec<u8>> {
        if plain.len() > MAX_PLAIN_LEN {
            return Err(Error::InvalidArgument(format!(
                "chunk of {} bytes is too large",
                plain.len()
            )));
        }
        let mut flags = 0u16;
        let crypt_len = if self.cipher.is_some() {
            BLOB_CRYPT_LEN
        } else {
            0
        };
        let mut out = vec![0u8; BLOB_HEADER_LEN + crypt_len];
        let mut stored_plain = true;
        if self.compress {
            if compressor.is_none() {
                *compressor = new_compressor();
            }
            if let Some(c) = compressor.as_mut() {
                let limit = plain.len() - plain.len() * MIN_SAVING_PERCENT / 100;
                out.reserve(limit);
                let zstd_bytes = c.compress(plain).ok();
                if let Some(z) = zstd_bytes.filter(|z| z.len() < limit) {
                    out.extend_from_slice(&z);
                    flags |= FLAG_ZSTD;
                    stored_plain = false;
                }
            }
        }
        if stored_plain {
            out.extend_from_slice(plain);
        }
        if let Some(cipher) = &self.cipher {
            flags |= FLAG_AES_GCM;
            let nonce_bytes: [u8; NONCE_LEN] = rand::random();
            let nonce = Nonce::from(nonce_bytes);
            let body = &mut out[BLOB_HEADER_LEN + BLOB_CRYPT_LEN..];
            let tag = cipher
                .encrypt_inout_detached(&nonce, digest.as_bytes(), body.into())
                .map_err(|_| Error::InvalidArgument("chunk too large to encrypt".into()))?;
            out[BLOB_HEADER_LEN..BLOB_HEADER_LEN + NONCE_LEN].copy_from_slice(&nonce_bytes);
            out[BLOB_HEADER_LEN + NONCE_LEN..BLOB_HEADER_LEN + BLOB_CRYPT_LEN]
                .copy_from_slice(&tag);
        }
        let rest_len = (out.len() - BLOB_HEADER_LEN) as u32;
        let crc = crc32fast::hash(&out[BLOB_HEADER_LEN..]);
        out[..8].copy_from_slice(&BLOB_MAGIC);
        out[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&BLOB_VERSION.to_le_bytes());
        out[OFF_FLAGS..OFF_FLAGS + 2].copy_from_slice(&flags.to_le_bytes());
        out[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        out[OFF_PLAIN_LEN..OFF_PLAIN_LEN + 4].copy_from_slice(&(plain.len() as u32).to_le_bytes());
        out[OFF_REST_LEN..OFF_REST_LEN + 4].copy_from_slice(&rest_len.to_le_bytes());
        Ok(out)
    }

    /// Decodes a blob fully: CRC, decryption (digest as associated data), decompression, and the
    /// digest of the plaintext. Wrong bytes are never returned.
    pub fn decode(
        &self,
        digest: &Digest,
        hasher: &ChunkHasher,
        mut blob: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let (header, body_start) = self.open(digest, &mut blob)?;
        let plain = if header.flags & FLAG_ZSTD != 0 {
            let mut out = Vec::with_capacity(header.plain_len as usize);
            with_decompressor(|d| d.decompress_to_buffer(&blob[body_start..], &mut out))
                .map_err(|_| corrupt(digest, "zstd frame does not decode"))?;
            out
        } else {
            blob.drain(..body_start);
            blob
        };
        if plain.len() != header.plain_len as usize {
            return Err(corrupt(digest, "plaintext length mismatch"));
        }
        check_digest(digest, hasher, ReadCheck::Digest, &plain)?;
        Ok(plain)
    }

    /// Like [`BlobCodec::decode`], into `out`, which must be exactly the plaintext's length (the
    /// index entry says it): no allocation, no copy from a decoded buffer. On an error `out`
    /// holds unspecified bytes.
    pub fn decode_into(
        &self,
        digest: &Digest,
        hasher: &ChunkHasher,
        check: ReadCheck,
        blob: &mut [u8],
        out: &mut [u8],
    ) -> Result<()> {
        let (header, body_start) = self.open(digest, blob)?;
        if header.plain_len as usize != out.len() {
            return Err(corrupt(digest, "chunk length differs from its index entry"));
        }
        let body = &blob[body_start..];
        if header.flags & FLAG_ZSTD != 0 {
            let n = with_decompressor(|d| d.decompress_to_buffer(body, &mut *out))
                .map_err(|_| corrupt(digest, "zstd frame does not decode"))?;
            if n != out.len() {
                return Err(corrupt(digest, "plaintext length mismatch"));
            }
        } else if body.len() == out.len() {
            out.copy_from_slice(body);
        } else {
            return Err(corrupt(digest, "plaintext length mismatch"));
        }
        check_digest(digest, hasher, check, out)
    }

    /// Finishes a read of a blob stored as plain bytes whose body was read straight into `out`
    /// (see [`plain_body_len`]): the same checks as [`BlobCodec::decode_into`], no copy.
    pub fn check_plain_read(
        &self,
        digest: &Digest,
        hasher: &ChunkHasher,
        check: ReadCheck,
        head: &[u8],
        out: &[u8],
    ) -> Result<()> {
        let header = check_parts(digest, head, out)?;
        if header.flags != 0 || header.plain_len as usize != out.len() {
            return Err(corrupt(digest, "plaintext length mismatch"));
        }
        check_digest(digest, hasher, check, out)
    }

    /// Checks the CRC and decrypts the body in place; returns the header and where the body
    /// (a zstd frame or the plaintext) starts.
    fn open(&self, digest: &Digest, blob: &mut [u8]) -> Result<(BlobHeader, usize)> {
        let header = check_stored(digest, blob)?;
        let mut body_start = BLOB_HEADER_LEN;
        if header.flags & FLAG_AES_GCM != 0 {
            let cipher = self
                .cipher
                .as_ref()
                .ok_or(Error::KeyRequired { digest: *digest })?;
            let mut nonce_bytes = [0u8; NONCE_LEN];
            nonce_bytes.copy_from_slice(&blob[BLOB_HEADER_LEN..BLOB_HEADER_LEN + NONCE_LEN]);
            let mut tag_bytes = [0u8; TAG_LEN];
            tag_bytes.copy_from_slice(
                &blob[BLOB_HEADER_LEN + NONCE_LEN..BLOB_HEADER_LEN + BLOB_CRYPT_LEN],
            );
            body_start += BLOB_CRYPT_LEN;
            let body = &mut blob[body_start..];
            cipher
                .decrypt_inout_detached(
                    &Nonce::from(nonce_bytes),
                    digest.as_bytes(),
                    body.into(),
                    &Tag::from(tag_bytes),
                )
                .map_err(|_| corrupt(digest, "authentication failed (wrong key or tampered)"))?;
        }
        Ok((header, body_start))
    }
}

/// The compressor of every chunk: zstd level 2 with uncompressed literals. Measured against
/// the level 1 used before, on 600 MiB of the benchmark disk in 1 MiB pieces (2 cores, three
/// compression and seven interleaved decoding passes): ratio 2.47 against 2.58, decoding
/// 1.27 GB/s against 0.91 (the Huffman decoding of literals was a sixth of a sequential NBD
/// read's CPU), compressing 6 % slower. Level 3 without Huffman compresses better (2.67) but
/// 28 % slower, which imports cannot afford. Frames stay standard zstd: any decoder reads
/// them, and blobs written at other levels read as before.
fn new_compressor() -> Option<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::{CParameter, ParamSwitch};
    let mut c = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok()?;
    c.set_parameter(CParameter::LiteralCompressionMode(ParamSwitch::Disable))
        .ok()?;
    Some(c)
}

fn check_digest(
    digest: &Digest,
    hasher: &ChunkHasher,
    check: ReadCheck,
    plain: &[u8],
) -> Result<()> {
    if check == ReadCheck::Digest && hasher.digest(plain) != *digest {
        return Err(corrupt(digest, "digest mismatch"));
    }
    Ok(())
}

fn corrupt(digest: &Digest, reason: &'static str) -> Error {
    Error::CorruptChunk {
        digest: *digest,
        reason,
    }
}

thread_local! {
    /// One zstd decompression context per thread, reused: making one per chunk costs an
    /// allocation and initialisation of about 100 KiB each time.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn with_decompressor<R>(
    f: impl FnOnce(&mut zstd::bulk::Decompressor<'static>) -> std::io::Result<R>,
) -> std::io::Result<R> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(d) => f(d),
            None => Err(std::io::Error::other("no zstd decompressor")),
        }
    })
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(compress: bool, key: Option<&[u8; 32]>, plain: &[u8]) {
        let codec = BlobCodec::new(compress, key);
        let hasher = key.map_or_else(ChunkHasher::plain, ChunkHasher::keyed);
        let d = hasher.digest(plain);
        let blob = codec.encode(&d, plain, &mut None).expect("encode");
        assert_eq!(
            codec.decode(&d, &hasher, blob.clone()).expect("decode"),
            plain
        );
        let mut out = vec![0u8; plain.len()];
        codec
            .decode_into(&d, &hasher, ReadCheck::Digest, &mut blob.clone(), &mut out)
            .expect("decode_into");
        assert_eq!(out, plain);
        let mut short = vec![0u8; plain.len().saturating_sub(1)];
        assert!(matches!(
            codec.decode_into(
                &d,
                &hasher,
                ReadCheck::Digest,
                &mut blob.clone(),
                &mut short
            ),
            Err(Error::CorruptChunk { .. })
        ));
        for i in [0, 13, blob.len() / 2, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 0x40;
            for check in [ReadCheck::Digest, ReadCheck::Stored] {
                assert!(matches!(
                    codec.decode_into(&d, &hasher, check, &mut bad.clone(), &mut out),
                    Err(Error::CorruptChunk { .. })
                ));
            }
            assert!(matches!(
                codec.decode(&d, &hasher, bad),
                Err(Error::CorruptChunk { .. })
            ));
        }
    }

    #[test]
    fn blobs_round_trip_and_reject_any_flipped_byte() {
        let text = b"hello world ".repeat(10_000);
        let random: Vec<u8> = (0..100_000).map(|_| rand::random::<u8>()).collect();
        for key in [None, Some(&[7u8; 32])] {
            for compress in [false, true] {
                round_trip(compress, key, &text);
                round_trip(compress, key, &random);
                round_trip(compress, key, b"x");
            }
        }
    }

    #[test]
    fn incompressible_chunks_are_stored_raw() {
        let random: Vec<u8> = (0..100_000).map(|_| rand::random::<u8>()).collect();
        let codec = BlobCodec::new(true, None);
        let d = ChunkHasher::plain().digest(&random);
        let blob = codec.encode(&d, &random, &mut None).expect("encode");
        assert_eq!(u16_at(&blob, OFF_FLAGS) & FLAG_ZSTD, 0);
        assert_eq!(blob.len(), BLOB_HEADER_LEN + random.len());
    }

    #[test]
    fn encrypted_blob_is_checkable_without_the_key() {
        let codec = BlobCodec::new(true, Some(&[1; 32]));
        let d = ChunkHasher::keyed(&[1; 32]).digest(b"secret");
        let blob = codec.encode(&d, b"secret", &mut None).expect("encode");
        assert!(check_stored(&d, &blob).is_ok());
        let no_key = BlobCodec::new(true, None);
        assert!(matches!(
            no_key.decode(&d, &ChunkHasher::plain(), blob.clone()),
            Err(Error::KeyRequired { .. })
        ));
        let wrong = BlobCodec::new(true, Some(&[2; 32]));
        assert!(matches!(
            wrong.decode(&d, &ChunkHasher::keyed(&[2; 32]), blob),
            Err(Error::CorruptChunk { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics_or_succeeds(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let codec = BlobCodec::new(true, Some(&[1; 32]));
            let d = Digest::from_bytes([3; 32]);
            let mut blob = BLOB_MAGIC.to_vec();
            blob.extend_from_slice(&bytes);
            proptest::prop_assert!(codec.decode(&d, &ChunkHasher::keyed(&[1; 32]), blob).is_err());
            let _ = check_stored(&d, &bytes);
        }
    }
}
