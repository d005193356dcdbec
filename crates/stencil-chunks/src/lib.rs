//! The content-addressed chunk store: chunker, blob and index formats, backends, verify and GC.
//! This crate depends on no other Stencil crate.
//!
//! # Data model
//!
//! ```text
//!  guest disk ──(allocation map + bytes)──▶ chunker ──▶ chunks ──▶ blobs   chunks/<hex[0..4]>/<hex>
//!                                                        │
//!                                                        └──────▶ index   indexes/<name>.idx
//!  writer sessions (one per import in progress) ──────────────────────▶   sessions/<id>.session
//! ```
//!
//! | object | what it holds | format | written |
//! |---|---|---|---|
//! | blob | one chunk, named by its [`Digest`] (BLAKE3-256 of the plaintext; keyed BLAKE3 in encrypted stores) | [`blob`]: magic, version, flags, CRC-32 of the stored bytes, zstd level 2 with uncompressed literals (raw when it saves < 3 %), optional AES-256-GCM (digest as AAD) | once, insert-if-absent: temp file, fsync, link (never overwrites), dir fsync before any index names it |
//! | index | one disk version: virtual size, chunker, entries `(end offset, digest or ZERO)`, 64 KiB allocation bitmap, content digest | [`index`]: versioned header + 40-byte entries + bitmap | once, after all its chunks are durable ([`store::WriteSession::commit`]) |
//! | session | an open writer's start time | text record, versioned | at [`ChunkStore::begin_session`], removed at finish/drop |
//!
//! Chunking ([`chunker`]): FastCDC v2020 256 KiB / 1 MiB / 4 MiB (or fixed 4 MiB per store),
//! cut at holes of 8 MiB or more and at zero runs of 1 MiB or more; all-zero chunks are ZERO
//! entries and store nothing. With `StoreConfig::chunk_threads > 1` the import pipeline cuts
//! 32 MiB segments on several threads and reconciles them where their chunk chains meet
//! (`segment.rs`), giving exactly the sequential cuts; hash/compress workers and uploaders
//! follow, all over bounded channels.
//!
//! # Locking and GC
//!
//! There are no locks and no reference counts. Safety comes from ordering and times:
//!
//! | actor | does | why it is safe |
//! |---|---|---|
//! | importer | registers a session, then writes or *touches* every chunk it uses, then commits the index after `missing()` is empty and `sync()` | a blob it relies on has a modified time ≥ its session start |
//! | GC | reads sessions at start `t0`; `cutoff = min(t0, oldest session start) − margin`; marks from every committed index; deletes blobs that are unmarked **and** modified before `cutoff`, re-reading the time just before each delete | anything an open or later writer uses is newer than the cutoff; anything committed is marked |
//! | deleter | removes an index only | space comes back at the next GC |
//! | verify | reads everything, changes nothing | – |
//!
//! Residual risk: a touch landing between GC's final time check and its delete (microseconds),
//! and sessions of killed processes, which hold the cutoff back until `session_expiry`.
//!
//! # Entry points for stencil-core
//!
//! [`ChunkStore::new`] over a [`backend::local::LocalBackend`] or [`backend::object::ObjectBackend`];
//! [`ChunkStore::begin_session`] → [`store::WriteSession::import`] (a [`GuestSource`]) →
//! [`store::WriteSession::commit`]; [`ChunkStore::missing`]; [`read::DiskReader`] for `read_at`,
//! allocation map and streaming export; [`verify::verify`]; [`gc::gc`].
//! Copy-on-write snapshots: [`store::WriteSession::import_delta`] re-chunks only the written ranges.
//! Cross-region copies: [`transfer::transfer_index`] sends only the chunks the destination lacks.

pub mod backend;
pub mod blob;
pub mod chunker;
mod delta;
pub mod digest;
pub mod error;
pub mod gc;
mod hinted;
mod import;
pub mod index;
pub mod read;
mod segment;
pub mod source;
pub mod store;
pub mod transfer;
pub mod verify;

pub use blob::ReadCheck;
pub use digest::{ChunkHasher, Digest};
pub use error::{Error, Result};
pub use import::ImportStats;
pub use index::{ChunkerParams, Index};
pub use read::DiskReader;
pub use source::{Extent, ExtentKind, GuestSource};
pub use store::{ChunkStore, StoreConfig, WriteSession};
