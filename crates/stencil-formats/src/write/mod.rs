//! One-pass streaming writers: every output is produced front to back with no seeks, from an
//! allocation map plus a data source, so it can go straight to an object store or an HTTP
//! response. Layouts are computed from the map before any data is read.

mod batch;
mod qcow2;
mod raw;
mod vdi;
mod vhd;
mod vmdk;

use std::io::Write;

pub use raw::{SparseFileWriter, write_raw_sparse};

use crate::error::{Error, ErrorKind, Result};
use crate::extent::{Extent, validate_extents};
use crate::format::OutputFormat;
use crate::reader::DiskReader;

/// Where writers get guest bytes for `Data` extents. Called from several threads at once.
pub trait DataSource: Sync {
    /// Fills `buf` with guest bytes at `offset`.
    fn read_data(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl<T: DiskReader + ?Sized> DataSource for T {
    fn read_data(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.read_at(buf, offset).map_err(Into::into)
    }
}

/// A [`DataSource`] from a closure `(buf, offset) -> io::Result<()>`.
pub struct FnSource<F>(pub F);

impl<F> std::fmt::Debug for FnSource<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnSource")
    }
}

impl<F: Fn(&mut [u8], u64) -> std::io::Result<()> + Sync> DataSource for FnSource<F> {
    fn read_data(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        (self.0)(buf, offset)
    }
}

/// What a writer produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Bytes written to the output.
    pub bytes_written: u64,
    /// Guest bytes read from the source.
    pub data_read: u64,
}

/// Writes an image of `format` in one pass to `out`.
///
/// `extents` must be sorted, contiguous and cover `[0, virtual_size)` (as
/// [`DiskReader::extents`] returns them). Only `Data` extents are read from `source`; zero and
/// unallocated ranges are left unallocated in the output (raw streams write zeros).
/// Sector-based formats (VHD, VMDK, VDI) round the size up to a multiple of 512.
pub fn write<S: DataSource + ?Sized>(
    format: OutputFormat,
    virtual_size: u64,
    extents: &[Extent],
    source: &S,
    out: &mut dyn Write,
) -> Result<WriteStats> {
    let source: &dyn DataSource = &SizedSource(source);
    validate_extents(extents, virtual_size)?;
    if virtual_size > crate::limits::MAX_VIRTUAL_SIZE {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("Virtual size {virtual_size:#x} is too large"),
        ));
    }
    let mut out = Counter {
        inner: out,
        written: 0,
    };
    let data_read = match format {
        OutputFormat::Raw => raw::write_stream(virtual_size, extents, source, &mut out)?,
        OutputFormat::Qcow2 => qcow2::write(virtual_size, extents, source, &mut out)?,
        OutputFormat::VhdDynamic => vhd::write_dynamic(virtual_size, extents, source, &mut out)?,
        OutputFormat::VhdFixed => vhd::write_fixed(virtual_size, extents, source, &mut out)?,
        OutputFormat::VmdkStreamOptimized => vmdk::write(virtual_size, extents, source, &mut out)?,
        OutputFormat::VdiDynamic => vdi::write(virtual_size, extents, source, &mut out)?,
    };
    out.inner
        .flush()
        .map_err(|e| Error::io(e, "Cannot flush output"))?;
    Ok(WriteStats {
        bytes_written: out.written,
        data_read,
    })
}

/// Makes any (possibly unsized) source usable as `&dyn DataSource`.
pub(crate) struct SizedSource<'a, S: ?Sized>(pub(crate) &'a S);

impl<S: DataSource + ?Sized> DataSource for SizedSource<'_, S> {
    fn read_data(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.0.read_data(buf, offset)
    }
}

/// Counts bytes and maps I/O errors.
pub(crate) struct Counter<'a> {
    inner: &'a mut dyn Write,
    written: u64,
}

impl Counter<'_> {
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner
            .write_all(bytes)
            .map_err(|e| Error::io(e, "Cannot write output").at(self.written))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes `n` zero bytes.
    pub(crate) fn zeros(&mut self, mut n: u64) -> Result<()> {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        while n > 0 {
            let k = n.min(ZEROS.len() as u64) as usize;
            self.put(&ZEROS[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    pub(crate) fn position(&self) -> u64 {
        self.written
    }
}

/// Pseudo-random 16 bytes for image UUIDs (time and address based; uniqueness, not secrecy).
pub(crate) fn pseudo_uuid() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    for (i, half) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i as u64);
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}
