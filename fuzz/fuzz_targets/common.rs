//! Shared fuzz body: open, map, and read a bounded sample of the disk.

use stencil_formats::{Format, detect_bytes, open_bytes};

/// Most guest bytes one input may read (keeps each run fast whatever the header claims).
const READ_BUDGET: u64 = 4 << 20;

pub fn exercise(data: &[u8], declared: Option<Format>) {
    let tail = &data[data.len().saturating_sub(512)..];
    let _ = detect_bytes(&data[..data.len().min(64 << 10)], tail, data.len() as u64);
    let Ok(r) = open_bytes(data.to_vec(), declared) else { return };
    let size = r.virtual_size();
    let mut budget = READ_BUDGET;
    let mut buf = vec![0u8; 64 << 10];
    let mut read = |off: u64, len: u64, budget: &mut u64| {
        let len = len.min(size.saturating_sub(off)).min(buf.len() as u64).min(*budget);
        if len > 0 {
            *budget -= len;
            let _ = r.read_at(&mut buf[..len as usize], off);
        }
    };
    read(0, 65536, &mut budget);
    read(size.saturating_sub(4097), 4097, &mut budget);
    if let Ok(extents) = r.extents() {
        let mut pos = 0;
        for e in extents.iter().take(64) {
            assert_eq!(e.offset, pos);
            assert!(e.length > 0);
            pos = e.offset + e.length;
            read(e.offset, 8192, &mut budget);
            read(e.offset + e.length.saturating_sub(1000), 1000, &mut budget);
        }
        if extents.len() <= 64 {
            assert_eq!(pos, size);
        }
    }
    // Out-of-range reads must be errors, not panics.
    let mut one = [0u8; 1];
    assert!(r.read_at(&mut one, size).is_err());
}
