//! Fixed limits that bound metadata memory whatever a header claims. Per open image the
//! largest resident table (qcow2 L1 ≤ 32 MiB, VHD BAT ≤ 32 MiB, VMDK GD ≤ 16 MiB) plus an
//! extent list (≤ 24 MiB) stays under 64 MiB.

/// Largest virtual disk we accept: 64 TiB (qcow2, VHD, VMDK alike).
pub const MAX_VIRTUAL_SIZE: u64 = 64 << 40;
/// Largest qcow2 L1 table in bytes (qemu's `QCOW_MAX_L1_SIZE`).
pub const MAX_QCOW2_L1_BYTES: u64 = 32 << 20;
/// Largest qcow2 refcount table in bytes (qemu's `QCOW_MAX_REFTABLE_SIZE`).
pub const MAX_QCOW2_REFTABLE_BYTES: u64 = 8 << 20;
/// Most internal snapshots a qcow2 may declare (qemu's `QCOW_MAX_SNAPSHOTS`).
pub const MAX_QCOW2_SNAPSHOTS: u32 = 65536;
/// Largest VHD BAT in bytes (8 Mi entries: 16 TiB in 2 MiB blocks); kept as read.
pub const MAX_VHD_BAT_BYTES: u64 = 32 << 20;
/// Largest VHD block size (VHD allows any power of two; qemu writes 2 MiB).
pub const MAX_VHD_BLOCK_SIZE: u64 = 256 << 20;
/// Largest VMDK grain directory in bytes.
pub const MAX_VMDK_GD_BYTES: u64 = 16 << 20;
/// Largest VMDK grain in bytes (qemu allows 2 MiB grains at most in practice).
pub const MAX_VMDK_GRAIN_BYTES: u64 = 2 << 20;
/// Largest embedded VMDK descriptor in bytes.
pub const MAX_VMDK_DESCRIPTOR_BYTES: u64 = 1 << 20;
/// Most extents an allocation map may hold (24 bytes each: 24 MiB).
pub const MAX_EXTENTS: usize = 1 << 20;
