//! The program behind `bench/chunks`: import, re-import and export through the chunk store,
//! reading images with `stencil_formats::open`. Prints one `key=value` line per run.
//!
//! ```text
//! chunks_bench import STORE_DIR IMAGE NAME [--fixed] [--hint INDEX]   import IMAGE (raw, qcow2, …) and
//!     commit NAME; with --hint, take the cuts of an earlier index where the bytes still match
//! chunks_bench export STORE_DIR NAME OUT.raw           export NAME as a sparse raw file (+ fsync)
//! chunks_bench sparse STORE_DIR VSIZE_GIB DATA_GIB      import a synthetic sparse disk (RSS test)
//! ```

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::chunker::READ_BLOCK;
use stencil_chunks::error::SourceError;
use stencil_chunks::{
    ChunkStore, ChunkerParams, DiskReader, Extent, ExtentKind, GuestSource, StoreConfig,
};

/// The stencil-core glue: a formats reader seen as a chunk-store source.
struct FormatSource(Box<dyn stencil_formats::DiskReader>);

impl GuestSource for FormatSource {
    fn virtual_size(&self) -> u64 {
        self.0.virtual_size()
    }
    fn extents(&self) -> Result<Vec<Extent>, SourceError> {
        let kind = |k| match k {
            stencil_formats::ExtentKind::Data => ExtentKind::Data,
            stencil_formats::ExtentKind::Zero => ExtentKind::Zero,
            stencil_formats::ExtentKind::Unallocated => ExtentKind::Unallocated,
        };
        Ok(self
            .0
            .extents()?
            .into_iter()
            .map(|e| Extent {
                offset: e.offset,
                length: e.length,
                kind: kind(e.kind),
            })
            .collect())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError> {
        Ok(self.0.read_at(buf, offset)?)
    }
}

/// 2 GiB (or any amount) of generated, half-compressible data spread over a large sparse disk.
struct SyntheticSparse {
    virtual_size: u64,
    extents: Vec<Extent>,
}

impl SyntheticSparse {
    fn new(virtual_size: u64, data: u64) -> Self {
        let pieces = 64u64;
        let piece = data / pieces;
        let stride = virtual_size / pieces;
        let extents = (0..pieces)
            .map(|i| Extent {
                offset: i * stride,
                length: piece,
                kind: ExtentKind::Data,
            })
            .collect();
        SyntheticSparse {
            virtual_size,
            extents,
        }
    }
}

impl GuestSource for SyntheticSparse {
    fn virtual_size(&self) -> u64 {
        self.virtual_size
    }
    fn extents(&self) -> Result<Vec<Extent>, SourceError> {
        Ok(self.extents.clone())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError> {
        for (i, word) in buf.chunks_mut(8).enumerate() {
            let pos = offset / 8 + i as u64;
            let mut x = pos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (pos >> 7);
            x ^= x >> 29;
            let v = if (pos >> 9).is_multiple_of(2) {
                x.to_le_bytes()
            } else {
                *b"syslog  "
            };
            word.copy_from_slice(&v[..word.len()]);
        }
        Ok(())
    }
}

fn store(dir: &Path, fixed: bool) -> Result<ChunkStore> {
    let backend = Arc::new(LocalBackend::open(dir)?);
    let chunker = if fixed {
        ChunkerParams::DEFAULT_FIXED
    } else {
        ChunkerParams::DEFAULT_CDC
    };
    Ok(ChunkStore::new(
        backend,
        StoreConfig {
            chunker,
            // STENCIL_CHUNK_THREADS=1 selects the sequential chunker (same cuts, for comparison).
            chunk_threads: std::env::var("STENCIL_CHUNK_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(StoreConfig::default().chunk_threads),
            ..StoreConfig::default()
        },
    )?)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .map(|v| v.trim().trim_end_matches(" kB").to_string())
            })
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn import(store: &ChunkStore, src: &dyn GuestSource, name: &str, hint: Option<&str>) -> Result<()> {
    let t = Instant::now();
    let session = store.begin_session()?;
    let (index, stats) = match hint {
        Some(h) => session.import_with_hint(src, &store.load_index(h)?)?,
        None => session.import(src)?,
    };
    let imported = t.elapsed().as_secs_f64();
    session.commit(name, &index)?;
    session.finish()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "op=import name={name} secs={secs:.3} import_secs={imported:.3} virtual={} data={} chunks={} new_chunks={} new_bytes={} stored_bytes={} data_mb_s={:.0} peak_rss_kib={}",
        stats.virtual_size,
        stats.data_bytes,
        stats.chunks,
        stats.new_chunks,
        stats.new_bytes,
        stats.stored_bytes,
        stats.data_bytes as f64 / 1e6 / secs,
        peak_rss_kib()
    );
    Ok(())
}

fn export(store: &ChunkStore, name: &str, out: &Path) -> Result<()> {
    let t = Instant::now();
    let index = Arc::new(store.load_index(name)?);
    let reader = DiskReader::new(store.clone(), index.clone());
    let file = File::create(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    file.set_len(index.virtual_size())?;
    let mut written = 0u64;
    for chunk in reader.stream(0, index.virtual_size())? {
        let chunk = chunk?;
        let Some(data) = chunk.data else { continue };
        // Write only blocks the source had allocated and that hold something: exact sparseness.
        for (i, block) in data.chunks(READ_BLOCK).enumerate() {
            let at = chunk.offset + (i * READ_BLOCK) as u64;
            if stencil_chunks::digest::is_all_zero(block) {
                continue;
            }
            file.write_all_at(block, at)?;
            written += block.len() as u64;
        }
    }
    file.sync_all()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "op=export name={name} secs={secs:.3} written={written} data_mb_s={:.0}",
        index.data_bytes() as f64 / 1e6 / secs
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["import", dir, image, name, rest @ ..] => {
            let store = store(Path::new(dir), rest.contains(&"--fixed"))?;
            let file = File::open(image).map_err(|e| format!("open {image}: {e}"))?;
            let reader = stencil_formats::open(file, None, Path::new(image))?;
            let hint = rest.iter().position(|a| *a == "--hint").and_then(|i| rest.get(i + 1)).copied();
            import(&store, &FormatSource(reader), name, hint)
        }
        ["export", dir, name, out] => export(&store(Path::new(dir), false)?, name, Path::new(out)),
        ["sparse", dir, vsize_gib, data_gib] => {
            let src = SyntheticSparse::new(vsize_gib.parse::<u64>()? << 30, data_gib.parse::<u64>()? << 30);
            import(&store(Path::new(dir), false)?, &src, "sparse", None)
        }
        _ => Err("usage: chunks_bench import STORE IMAGE NAME [--fixed] [--hint INDEX] | export STORE NAME OUT | sparse STORE VSIZE_GIB DATA_GIB".into()),
    }
}
