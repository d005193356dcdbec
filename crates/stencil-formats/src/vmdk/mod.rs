//! VMDK hosted sparse extents (monolithicSparse, streamOptimized), per VMware's "Virtual
//! Disk Format 5.0" specification.

pub mod header;
mod reader;

pub(crate) use reader::{open, reject_descriptor};
