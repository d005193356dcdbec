//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use stencil_chunks::backend::ChunkBackend;
use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::backend::object::ObjectBackend;
use stencil_chunks::{ChunkStore, ChunkerParams, StoreConfig};

/// Small chunks keep tests fast while exercising every path.
pub const SMALL_CDC: ChunkerParams = ChunkerParams::Cdc {
    min: 16 << 10,
    avg: 64 << 10,
    max: 256 << 10,
};

pub fn local(dir: &tempfile::TempDir) -> Arc<dyn ChunkBackend> {
    Arc::new(LocalBackend::open(dir.path().join("store")).expect("open local store"))
}

pub fn memory() -> Arc<dyn ChunkBackend> {
    Arc::new(
        ObjectBackend::new(Arc::new(object_store::memory::InMemory::new()), "pfx")
            .expect("memory store"),
    )
}

pub fn store(
    backend: Arc<dyn ChunkBackend>,
    chunker: ChunkerParams,
    compress: bool,
    key: Option<[u8; 32]>,
) -> ChunkStore {
    let config = StoreConfig {
        chunker,
        compress,
        key,
        workers: 2,
        chunk_threads: 2,
        uploaders: 2,
        read_ahead: 3,
        touch_slack: std::time::Duration::ZERO,
    };
    ChunkStore::new(backend, config).expect("store")
}

/// Deterministic pseudo-random bytes (xorshift), mixed with compressible text when `text`.
pub fn bytes(n: usize, seed: u64, text: bool) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if text && x.is_multiple_of(3) {
            out.extend_from_slice(b"Nov 23 kernel: session opened for user root ");
        } else {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.truncate(n);
    out
}
