//! The traits the server is written against: a block device and a set of named exports.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

/// A byte-addressed device served over NBD.
///
/// Every method may be called from several threads at once (the server runs up to
/// [`crate::MAX_IN_FLIGHT`] requests of one connection concurrently, and several connections may
/// share a device). Calls are made from blocking threads, so implementations may do blocking I/O.
/// The server checks bounds before calling: `offset + len <= size()` and `len > 0` always hold.
pub trait BlockDevice: Send + Sync + 'static {
    /// Size in bytes (exported size).
    fn size(&self) -> u64;
    /// True when writes must be refused (NBD_FLAG_READ_ONLY, writes answered with EPERM).
    fn read_only(&self) -> bool {
        false
    }
    /// Fill `buf` with the bytes at `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// `fua`: the write must be durable before returning (NBD_CMD_FLAG_FUA).
    fn write_at(&self, offset: u64, data: &[u8], fua: bool) -> io::Result<()>;
    /// Returns only when every completed write is durable.
    ///
    /// This must cover writes made through any connection: the server advertises
    /// NBD_FLAG_CAN_MULTI_CONN on that promise.
    fn flush(&self) -> io::Result<()>;
    /// Hint that `[offset, offset+len)` is no longer needed; its contents become unspecified.
    fn trim(&self, offset: u64, len: u64) -> io::Result<()>;
    /// Make `[offset, offset+len)` read as zeroes.
    /// `may_trim` false when the client sent NBD_CMD_FLAG_NO_HOLE.
    fn write_zeroes(&self, offset: u64, len: u64, may_trim: bool, fua: bool) -> io::Result<()>;
    /// Allocation of [offset, offset+len): consecutive extents starting at `offset`, covering at
    /// least one byte and at most `len` bytes (the server clips / merges as needed).
    fn block_status(&self, offset: u64, len: u64) -> io::Result<Vec<Extent>>;
}

/// One run of bytes with the same `base:allocation` state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Length in bytes.
    pub length: u64,
    /// Not allocated (NBD_STATE_HOLE).
    pub hole: bool,
    /// Reads as zeroes (NBD_STATE_ZERO).
    pub zero: bool,
}

impl Extent {
    /// An allocated extent with unknown contents.
    pub fn data(length: u64) -> Self {
        Extent {
            length,
            hole: false,
            zero: false,
        }
    }

    /// An unallocated extent that reads as zeroes.
    pub fn hole(length: u64) -> Self {
        Extent {
            length,
            hole: true,
            zero: true,
        }
    }
}

/// The set of devices a server offers, by export name.
pub trait Exports: Send + Sync + 'static {
    /// The device exported under `name`, or None (client gets NBD_REP_ERR_UNKNOWN).
    fn open(&self, name: &str) -> io::Result<Option<Arc<dyn BlockDevice>>>;
    /// Names for NBD_OPT_LIST.
    fn list(&self) -> io::Result<Vec<String>>;
}

/// A fixed map of export names to devices; the simplest [`Exports`].
#[derive(Default)]
pub struct ExportMap {
    devices: BTreeMap<String, Arc<dyn BlockDevice>>,
}

impl ExportMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) the export `name`.
    pub fn insert(&mut self, name: impl Into<String>, device: Arc<dyn BlockDevice>) {
        self.devices.insert(name.into(), device);
    }

    /// Builder form of [`ExportMap::insert`].
    pub fn with(mut self, name: impl Into<String>, device: Arc<dyn BlockDevice>) -> Self {
        self.insert(name, device);
        self
    }
}

impl std::fmt::Debug for ExportMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportMap")
            .field("names", &self.devices.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Exports for ExportMap {
    fn open(&self, name: &str) -> io::Result<Option<Arc<dyn BlockDevice>>> {
        Ok(self.devices.get(name).cloned())
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.devices.keys().cloned().collect())
    }
}
