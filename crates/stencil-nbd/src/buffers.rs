//! Reply buffers, reused: a 2 MiB READ reply allocated fresh each time costs a page fault per
//! 4 KiB and a zeroing pass, about a fifth of the server's CPU on a sequential read. A buffer
//! taken from the pool is fully overwritten before it is sent: the header here, the payload
//! by `BlockDevice::read_at`, whose contract is to fill the whole buffer (a failed read sends
//! an error reply built anew, never the buffer).

use std::sync::Mutex;

/// Buffers kept (one per request in flight on one busy connection).
const POOL_BUFFERS: usize = 16;
/// Larger buffers are not kept.
const POOL_BUFFER_MAX: usize = 4 << 20;
/// Smaller ones are not kept either: every reply comes back here, and a READ that took a
/// small one would grow it, zeroing what it is about to overwrite.
const POOL_BUFFER_MIN: usize = 64 << 10;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of exactly `len` bytes (contents unspecified).
pub(crate) fn take(len: usize) -> Vec<u8> {
    let mut buf = POOL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    if buf.len() >= len {
        buf.truncate(len);
    } else {
        buf.resize(len, 0);
    }
    buf
}

/// Returns a buffer once its bytes are sent.
pub(crate) fn give(buf: Vec<u8>) {
    if !(POOL_BUFFER_MIN..=POOL_BUFFER_MAX).contains(&buf.capacity()) {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < POOL_BUFFERS {
        pool.push(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_buffer_has_the_asked_length_whatever_came_back() {
        give(vec![7u8; 100 << 10]);
        assert_eq!(take(10).len(), 10);
        give(vec![7u8; 10]);
        let b = take(1000);
        assert_eq!(b.len(), 1000);
        give(vec![0u8; (4 << 20) + 1]);
        give(vec![0u8; 100]);
        assert!(
            POOL.lock()
                .unwrap()
                .iter()
                .all(|b| { (POOL_BUFFER_MIN..=POOL_BUFFER_MAX).contains(&b.capacity()) })
        );
    }
}
