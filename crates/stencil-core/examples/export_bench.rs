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
    let extents = stencil_core::jobs::export::writer_extents(&index);
    let reader = DiskReader::new(store, index.clone());
    let source = stencil_formats::FnSource(|buf: &mut [u8], off: u64| {
        reader.read_at(buf, off).map_err(std::io::Error::other)
    });
    if std::env::var("VIA_BUCKET").is_ok() {
        use stencil_core::buckets::Bucket;
        let out = std::path::Path::new(out);
        let bucket = stencil_core::buckets::FileBucket::open("b", "r", out.parent().unwrap())?;
        let mut w = bucket.create(out.file_name().unwrap().to_str().unwrap())?;
        let stats = stencil_formats::write(
            format.parse()?,
            index.virtual_size(),
            &extents,
            &source,
            &mut *w,
        )?;
        w.finish()?;
        println!(
            "seconds={:.3} bytes={} (bucket)",
            start.elapsed().as_secs_f64(),
            stats.bytes_written
        );
        return Ok(());
    }
    let file = std::fs::File::create(out)?;
    let early = std::env::var("EARLY_SYNC").is_ok();
    let syncer = file.try_clone()?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
    let flusher = std::thread::spawn(move || {
        while rx.recv().is_ok() {
            let _ = syncer.sync_data();
        }
    });
    struct Early<'a> {
        f: &'a std::fs::File,
        since: u64,
        tx: Option<std::sync::mpsc::SyncSender<()>>,
    }
    impl std::io::Write for Early<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let n = std::io::Write::write(&mut self.f, b)?;
            self.since += n as u64;
            if self.since >= 128 << 20 {
                self.since = 0;
                if let Some(tx) = &self.tx {
                    let _ = tx.try_send(());
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let inner = Early {
        f: &file,
        since: 0,
        tx: early.then_some(tx),
    };
    let mut w = std::io::BufWriter::with_capacity(8 << 20, inner);
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
    let _ = flusher.join();
    eprintln!("written after {written:.3}s");
    println!(
        "seconds={:.3} bytes={}",
        start.elapsed().as_secs_f64(),
        stats.bytes_written
    );
    Ok(())
}
