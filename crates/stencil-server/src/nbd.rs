//! The NBD listener: every disk this node serves is an export named by its disk ID.

use std::future::Future;
use std::io;
use std::sync::Arc;

use stencil_core::disks::{DiskDevice, DiskRegistry};
use stencil_nbd::{BlockDevice, Exports, Extent};

/// A disk as an NBD block device.
#[derive(Debug)]
struct NbdDisk(Arc<DiskDevice>);

impl BlockDevice for NbdDisk {
    fn size(&self) -> u64 {
        self.0.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(buf, offset)
    }

    fn write_at(&self, offset: u64, data: &[u8], fua: bool) -> io::Result<()> {
        self.0.write_at(offset, data, fua)
    }

    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }

    fn trim(&self, offset: u64, len: u64) -> io::Result<()> {
        self.0.zero(offset, len, false)
    }

    fn write_zeroes(&self, offset: u64, len: u64, _may_trim: bool, fua: bool) -> io::Result<()> {
        // Zeroed granules are always holes in the overlay: reads return zeros either way.
        self.0.zero(offset, len, fua)
    }

    fn block_status(&self, offset: u64, len: u64) -> io::Result<Vec<Extent>> {
        // Enough extents for one reply; the client asks again from where they end.
        let len = len.min(1 << 30);
        Ok(self
            .0
            .allocation(offset, len)?
            .into_iter()
            .map(|a| Extent {
                length: a.length,
                hole: a.hole,
                zero: a.zero,
            })
            .collect())
    }
}

/// The registry as NBD exports.
#[derive(Debug)]
struct DiskExports(DiskRegistry);

impl Exports for DiskExports {
    fn open(&self, name: &str) -> io::Result<Option<Arc<dyn BlockDevice>>> {
        Ok(self
            .0
            .get(name)
            .map(|d| Arc::new(NbdDisk(d)) as Arc<dyn BlockDevice>))
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.0.names())
    }
}

/// Serves the disks of `registry` over NBD on `listener` until `shutdown` completes.
pub async fn serve_nbd(
    listener: tokio::net::TcpListener,
    registry: DiskRegistry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    stencil_nbd::serve(listener, Arc::new(DiskExports(registry)), shutdown).await
}
