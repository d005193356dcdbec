//! Adapters between the formats readers, the chunk store and the writers, with progress
//! counting and cancellation at every read.

use stencil_chunks::error::SourceError;
use stencil_chunks::{Extent, ExtentKind, GuestSource};

use super::JobCtx;

/// A formats reader seen as a chunk-store source.
pub(crate) struct FormatSource<'a> {
    pub reader: &'a dyn stencil_formats::DiskReader,
    pub ctx: &'a JobCtx,
}

/// The chunk store's extent kind for a formats extent kind.
pub(crate) fn chunk_kind(k: stencil_formats::ExtentKind) -> ExtentKind {
    match k {
        stencil_formats::ExtentKind::Data => ExtentKind::Data,
        stencil_formats::ExtentKind::Zero => ExtentKind::Zero,
        stencil_formats::ExtentKind::Unallocated => ExtentKind::Unallocated,
    }
}

/// The formats extent kind for a chunk-store extent kind.
pub(crate) fn format_kind(k: ExtentKind) -> stencil_formats::ExtentKind {
    match k {
        ExtentKind::Data => stencil_formats::ExtentKind::Data,
        ExtentKind::Zero => stencil_formats::ExtentKind::Zero,
        ExtentKind::Unallocated => stencil_formats::ExtentKind::Unallocated,
    }
}

/// Cancelled work reports this as its source error.
#[derive(Debug, thiserror::Error)]
#[error("Cancelled")]
pub(crate) struct Cancelled;

impl GuestSource for FormatSource<'_> {
    fn virtual_size(&self) -> u64 {
        self.reader.virtual_size()
    }

    fn extents(&self) -> Result<Vec<Extent>, SourceError> {
        Ok(self
            .reader
            .extents()?
            .into_iter()
            .map(|e| Extent {
                offset: e.offset,
                length: e.length,
                kind: chunk_kind(e.kind),
            })
            .collect())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError> {
        if self.ctx.is_cancelled() {
            return Err(Box::new(Cancelled));
        }
        self.reader.read_at(buf, offset)?;
        self.ctx.advance(buf.len() as u64);
        Ok(())
    }
}

/// A stored disk seen as a writer's data source.
pub(crate) struct CountingSource<'a> {
    pub reader: &'a stencil_chunks::DiskReader,
    pub ctx: &'a JobCtx,
}

impl stencil_formats::DataSource for CountingSource<'_> {
    fn read_data(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        if self.ctx.is_cancelled() {
            return Err(std::io::Error::other(Cancelled));
        }
        self.reader
            .read_at(buf, offset)
            .map_err(std::io::Error::other)?;
        self.ctx.advance(buf.len() as u64);
        Ok(())
    }
}

/// Bytes of `Data` extents: the work an import or export reads.
pub(crate) fn data_bytes(extents: &[Extent]) -> u64 {
    extents
        .iter()
        .filter(|e| e.kind == ExtentKind::Data)
        .map(|e| e.length)
        .sum()
}
