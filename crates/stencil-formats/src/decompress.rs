//! Cluster/grain decompression with per-thread reusable decoder state.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};
use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use crate::error::{Error, ErrorKind, Result};

/// Largest zstd window a compressed cluster may use (2^23 = 8 MiB; qcow2 clusters are at
/// most 2 MiB), so a hostile frame cannot make us allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Deflate framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deflate {
    /// Raw deflate (qcow2).
    Raw,
    /// zlib header and trailer (VMDK grains).
    Zlib,
}

thread_local! {
    static RAW_INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
    static ZLIB_INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    static ZSTD: RefCell<Option<Decoder<'static>>> = const { RefCell::new(None) };
}

/// Inflates `input` into `out`, which must be filled completely; trailing input is ignored.
pub(crate) fn inflate(input: &[u8], out: &mut [u8], framing: Deflate) -> Result<()> {
    let run = |d: &mut Decompress, out: &mut [u8]| -> Result<usize> {
        d.reset(framing == Deflate::Zlib);
        d.decompress(input, out, FlushDecompress::Finish)
            .map_err(|e| Error::new(ErrorKind::CorruptData, "Bad deflate data").with_source(e))?;
        Ok(d.total_out() as usize)
    };
    let produced = match framing {
        Deflate::Raw => RAW_INFLATE.with(|d| run(&mut d.borrow_mut(), out))?,
        Deflate::Zlib => ZLIB_INFLATE.with(|d| run(&mut d.borrow_mut(), out))?,
    };
    if produced != out.len() {
        return Err(Error::new(
            ErrorKind::CorruptData,
            format!(
                "Compressed data inflates to {produced} bytes, expected {}",
                out.len()
            ),
        ));
    }
    Ok(())
}

/// Inflates a deflate stream into `out` and returns how many bytes it produced (VMDK grains
/// may be shorter than a grain at the end of the disk).
pub(crate) fn inflate_partial(input: &[u8], out: &mut [u8]) -> Result<usize> {
    ZLIB_INFLATE.with(|d| {
        let mut d = d.borrow_mut();
        d.reset(true);
        let status = d
            .decompress(input, out, FlushDecompress::Finish)
            .map_err(|e| Error::new(ErrorKind::CorruptData, "Bad deflate data").with_source(e))?;
        if status != Status::StreamEnd && (d.total_out() as usize) < out.len() {
            return Err(Error::new(
                ErrorKind::CorruptData,
                "Deflate stream ends early",
            ));
        }
        Ok(d.total_out() as usize)
    })
}

/// Decodes a zstd frame into `out`, which must be filled completely; trailing input (sector
/// padding) is ignored, as qemu does.
pub(crate) fn unzstd(input: &[u8], out: &mut [u8]) -> Result<()> {
    ZSTD.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            let mut d = Decoder::new().map_err(|e| Error::io(e, "Cannot create zstd decoder"))?;
            d.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                .map_err(|e| Error::io(e, "Cannot configure zstd decoder"))?;
            *slot = Some(d);
        }
        let d = slot.as_mut().expect("decoder just created");
        d.reinit()
            .map_err(|e| Error::io(e, "Cannot reset zstd decoder"))?;
        let total = out.len();
        let mut inb = InBuffer::around(input);
        let mut outb = OutBuffer::around(out);
        while outb.pos() < total {
            let (in_before, out_before) = (inb.pos(), outb.pos());
            if let Err(e) = d.run(&mut inb, &mut outb) {
                *slot = None;
                return Err(Error::new(ErrorKind::CorruptData, "Bad zstd data").with_source(e));
            }
            if inb.pos() == in_before && outb.pos() == out_before {
                return Err(Error::new(
                    ErrorKind::CorruptData,
                    format!("zstd data ends after {} of {total} bytes", outb.pos()),
                ));
            }
        }
        Ok(())
    })
}
