//! Times one export from a chunk store straight into a file, the way ExportImage writes:
//! `export_bench STORE_DIR INDEX FORMAT OUT`. Prints `seconds=… bytes=…`.

use std::sync::Arc;
use std::time::Instant;

use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::{ChunkStore, DiskReader, StoreConfig};

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, name, format, out] = &args[..] else {
        return Err("usage: export_bench STORE_DIR INDEX FORMAT OUT".into());
    };
    let store = ChunkStore::new(Arc::new(LocalBackend::open(dir)?), StoreConfig::default())?;
    let start = Instant::now();
    let index = Arc::new(store.load_index(name)?);
    let extents: Vec<stencil_formats::Extent> = index
        .allocation()
        .into_iter()
        .map(|e| stencil_formats::Extent {
            offset: e.offset,
            length: e.length,
            kind: match e.kind {
                stencil_chunks::ExtentKind::Data => stencil_formats::ExtentKind::Data,
                stencil_chunks::ExtentKind::Zero => stencil_formats::ExtentKind::Zero,
                stencil_chunks::ExtentKind::Unallocated => stencil_formats::ExtentKind::Unallocated,
            },
        })
        .collect();
    let reader = DiskReader::new(store, index.clone());
    let source = stencil_formats::FnSource(|buf: &mut [u8], off: u64| {
        reader.read_at(buf, off).map_err(std::io::Error::other)
    });
    let file = std::fs::File::create(out)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &file);
    let stats = stencil_formats::write(
        format.parse()?,
        index.virtual_size(),
        &extents,
        &source,
        &mut w,
    )?;
    drop(w);
    let written = start.elapsed().as_secs_f64();
    file.sync_all()?;
    eprintln!("written after {written:.3}s");
    println!(
        "seconds={:.3} bytes={}",
        start.elapsed().as_secs_f64(),
        stats.bytes_written
    );
    Ok(())
}
