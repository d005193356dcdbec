//! Driver for `bench/formats`: converts one image with this crate and prints seconds, bytes
//! written and guest bytes read.
//!
//! ```text
//! fmtbench read  <image> <out.raw>          any readable format → sparse raw (2 reader threads)
//! fmtbench write <format> <src.raw> <out>   raw → RAW | QCOW2 | VHD | VHD-FIXED | VMDK | VDI
//!                                          (streamed through SparseFileWriter)
//! ```

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Instant;

use stencil_formats::{OutputFormat, SparseFileWriter, open, write, write_raw_sparse};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    let (bytes, data) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["read", image, out] => {
            let r = open(File::open(image)?, None, Path::new(image))?;
            let map = r.extents()?;
            let f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(out)?;
            let stats = write_raw_sparse(&f, r.virtual_size(), &map, r.as_ref())?;
            sync_if_asked(&f)?;
            (stats.bytes_written, stats.data_read)
        }
        ["write", format, src, out] => {
            let format: OutputFormat = format.parse()?;
            let r = open(File::open(src)?, None, Path::new(src))?;
            let map = r.extents()?;
            let f = File::create(out)?;
            let mut w = SparseFileWriter::new(&f)?;
            let stats = write(format, r.virtual_size(), &map, r.as_ref(), &mut w)?;
            w.finish()?;
            sync_if_asked(&f)?;
            (stats.bytes_written, stats.data_read)
        }
        _ => anyhow::bail!(
            "usage: fmtbench read <image> <out.raw> | fmtbench write <format> <src.raw> <out>"
        ),
    };
    println!("{:.3} {bytes} {data}", start.elapsed().as_secs_f64());
    Ok(())
}

/// `qemu-img convert` (10.x) does not fsync its output, so by default neither do we;
/// `FMTBENCH_FSYNC=1` adds an fsync to measure durable writes.
fn sync_if_asked(f: &File) -> std::io::Result<()> {
    if std::env::var_os("FMTBENCH_FSYNC").is_some_and(|v| v == "1") {
        f.sync_all()?;
    }
    Ok(())
}
