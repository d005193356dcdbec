//! Disk image formats: detection, readers with allocation maps, and one-pass streaming
//! writers. This crate depends on no other Stencil crate.
//!
//! # Model
//!
//! ```text
//!  File ──detect()──▶ Detected { format, subformat }
//!    │                    │ declared format must agree (else FormatMismatch)
//!    └──────open()────────▶ Box<dyn DiskReader>
//!                             ├─ virtual_size()
//!                             ├─ extents()   Data / Zero / Unallocated, from metadata only
//!                             └─ read_at()   &self, positional, thread-safe
//!
//!  (virtual_size, &[Extent], &impl DataSource) ──write()──────────▶ any std::io::Write
//!                                              └─write_raw_sparse()─▶ a sparse local file
//! ```
//!
//! A reader never reads guest data to build its allocation map, and `read_at` keeps no
//! seek position (`pread` only), so callers can decode compressed clusters on every core.
//!
//! Writers take the same map back: only `Data` extents are read from the [`DataSource`]
//! (any [`DiskReader`], a [`FnSource`] closure, or a chunk store); `Zero` and `Unallocated`
//! ranges stay unallocated in the output. Every writer emits its bytes front to back with
//! no seeks (metadata is laid out from the map before any data is read), reading the source
//! on reader threads in 4 MiB batches. [`SparseFileWriter`] adapts a local file as the
//! `Write` target and keeps zero runs as holes.
//!
//! ```no_run
//! # fn main() -> stencil_formats::Result<()> {
//! use std::{fs::File, path::Path};
//! use stencil_formats::{Format, OutputFormat, open, write};
//! let path = Path::new("disk.vmdk");
//! let reader = open(File::open(path).map_err(|e| stencil_formats::Error::io(e, "open"))?, Some(Format::Vmdk), path)?;
//! let map = reader.extents()?;
//! let mut out = Vec::new();
//! write(OutputFormat::Qcow2, reader.virtual_size(), &map, reader.as_ref(), &mut out)?;
//! # Ok(()) }
//! ```
//!
//! # Formats
//!
//! | format | detect | read | write |
//! |---|---|---|---|
//! | raw | fallback | regular files (holes via `SEEK_DATA`/`SEEK_HOLE`; all data where the file system has no hole support) and bytes in memory ([`open_bytes`]) | stream (zeros written) or sparse file |
//! | qcow2 v2/v3 | `QFI\xfb` | plain, zlib, zstd, zero clusters, extended L2, all cluster sizes, snapshots (active layer) | v3, 64 KiB clusters |
//! | VHD | `conectix` footer | fixed, dynamic | fixed, dynamic (2 MiB blocks) |
//! | VMDK | `KDMV` | monolithicSparse, streamOptimized | streamOptimized (deflate grains) |
//! | VDI | `0xbeda107f` at 0x40 | unsupported | dynamic (1 MiB blocks) |
//! | VHDX, ISO 9660, VHD differencing, multi-file VMDK, qcow v1 | magic | unsupported: convert with `qemu-img convert -O qcow2` | – |
//!
//! The qcow2 reader is our own rather than `imago`: imago refuses zstd-compressed clusters
//! (incompatible bit 3), and owning the L2 walk gives the allocation map (zero flags,
//! extended-L2 subclusters) directly, without a mapping call per cluster. It reads L2
//! entries on demand with one `pread` per request and table, so there is no cache to lock.
//!
//! Sizes follow qemu: VHD uses CHS geometry unless the creator app is one qemu trusts for
//! `current_size` (our writer says `qem2`); VMDK and VHD writers round up to 512 bytes.
//!
//! # Safety rules for untrusted files
//!
//! * No file is ever opened by name, and [`open`] takes regular files only (a pipe or device
//!   has no size to check against: spool streams to a file first). qcow2 backing files and
//!   external data files, and VMDK descriptors naming extents or parents, are
//!   [`ErrorKind::ExternalFile`].
//! * qcow2 encryption, the corrupt bit and unknown incompatible feature bits are
//!   [`ErrorKind::UnsupportedFeature`].
//! * Every offset, size and count from a header is checked against the file size and the
//!   fixed limits in [`limits`] before use; metadata held in memory stays under 64 MiB
//!   (L1 ≤ 32 MiB, BAT/GD ≤ 32/16 MiB, extent lists ≤ 24 MiB).
//! * Errors are an [`Error`] with a stable [`ErrorKind`] plus context (field, offset, path).

mod decompress;
mod detect;
mod error;
mod extent;
mod format;
pub mod limits;
pub mod qcow2;
mod raw;
mod reader;
mod source;
pub mod vhd;
pub mod vmdk;
mod write;

pub use detect::{DETECT_HEAD_LEN, DETECT_TAIL_LEN, detect, detect_bytes};
pub use error::{Error, ErrorKind, Result};
pub use extent::{Extent, ExtentKind, validate_extents};
pub use format::{Detected, Format, OutputFormat, Subformat};
pub use reader::{DiskReader, check_declared, open, open_at, open_bytes};
pub use source::ReadAt;
pub use write::{DataSource, FnSource, SparseFileWriter, WriteStats, write, write_raw_sparse};
