//! NBD (network block device) server, fixed newstyle, over a block-device trait.
//!
//! [`serve`] accepts TCP connections and offers the devices of an [`Exports`] to NBD clients
//! (the Linux kernel's `nbd-client`, qemu, nbdkit's tools, libnbd).
//!
//! # Handshake
//!
//! Only the fixed newstyle handshake is spoken (`NBDMAGIC`, `IHAVEOPT`, handshake flags
//! `FIXED_NEWSTYLE | NO_ZEROES`). Supported options: `EXPORT_NAME` (an unknown name closes the
//! connection, as the protocol leaves no other way), `GO` and `INFO` (export size and flags, the
//! name when asked, block sizes min 1 / preferred 4096 / max 32 MiB), `LIST`, `ABORT`,
//! `STRUCTURED_REPLY`, and `LIST_META_CONTEXT` / `SET_META_CONTEXT` for the one context
//! `base:allocation` (only after structured replies). Anything else is answered `ERR_UNSUP`; TLS
//! is not offered. An option payload over 64 KiB is skipped without being buffered and refused
//! with `ERR_TOO_BIG`; export names and queries are limited to 4096 bytes.
//!
//! # Transmission and concurrency
//!
//! Each connection has one reader, which parses requests, and one writer task, which sends the
//! replies. Every device call runs on tokio's blocking pool, with up to [`MAX_IN_FLIGHT`]
//! requests (and at most 64 MiB of READ/WRITE payload) of one connection at once, so pipelining
//! clients are served concurrently. Replies go out in completion order, which NBD allows; small
//! replies queued together leave in one flush, a READ reply is one buffer (header then data) that
//! is written without further copies. No lock is held across a device call.
//!
//! Commands: `READ`, `WRITE`, `DISC`, `FLUSH`, `TRIM`, `WRITE_ZEROES` (`NO_HOLE`, `FUA`) and,
//! with `base:allocation`, `BLOCK_STATUS` (`REQ_ONE` honoured). With structured replies a READ is
//! answered by one `OFFSET_DATA` chunk (so `DF` is always satisfied) and errors by an `ERROR`
//! chunk. READ/WRITE payloads are limited to 32 MiB.
//!
//! # Errors
//!
//! Zero-length, out-of-range or oversized requests and unknown commands or flags get `EINVAL`,
//! writes to a read-only export `EPERM`, device errors `EIO` (`ENOSPC` for
//! [`std::io::ErrorKind::StorageFull`], `EPERM`, `EINVAL`, `ENOMEM` for the matching kinds). A
//! failing or even panicking device call fails that request only. A protocol violation (bad
//! magic) closes that connection only; the server keeps serving the others.
//!
//! # Durability
//!
//! A WRITE is acknowledged when [`BlockDevice::write_at`] returns; with `FUA` the device is told
//! to make it durable first. `FLUSH` calls [`BlockDevice::flush`], which must cover every write
//! completed before it on *any* connection; on that promise the server advertises
//! `CAN_MULTI_CONN`. A `TRIM` with `FUA` is followed by a flush.
//!
//! # Shutdown
//!
//! When the `shutdown` future given to [`serve`] completes, the listener closes, connections
//! stop reading new requests, answer those in flight and close; connections still in the
//! handshake close at once. `serve` returns when all are closed (30 s at most).
//!
//! # Modules
//!
//! - [`proto`]: wire constants.
//! - `device`: [`BlockDevice`], [`Extent`], [`Exports`] and the simple [`ExportMap`].
//! - `mem`: [`MemDevice`], a sparse in-memory device for tests and examples.
//! - `handshake`, `transmission`, `reply`, `server`: the protocol engine.

mod buffers;
mod device;
mod error;
mod handshake;
mod mem;
pub mod proto;
mod reply;
mod server;
mod transmission;
mod wire;

pub use device::{BlockDevice, ExportMap, Exports, Extent};
pub use mem::MemDevice;
pub use server::serve;
pub use transmission::MAX_IN_FLIGHT;
