//! Encoding of transmission-phase replies, and running one command against the device.
//!
//! Every reply is built as one contiguous buffer (header in front of the data, for READ too), so
//! the writer sends it with a single write and read data is never copied after the device call.

use std::io;

use crate::device::{BlockDevice, Extent};
use crate::proto::*;

/// A validated command, ready to run on a blocking thread.
#[derive(Debug)]
pub(crate) enum Command {
    Read {
        offset: u64,
        len: u32,
    },
    Write {
        offset: u64,
        data: Vec<u8>,
        fua: bool,
    },
    Flush,
    Trim {
        offset: u64,
        len: u32,
        fua: bool,
    },
    WriteZeroes {
        offset: u64,
        len: u32,
        may_trim: bool,
        fua: bool,
    },
    BlockStatus {
        offset: u64,
        len: u32,
        req_one: bool,
    },
}

/// NBD error number for a device error.
pub(crate) fn errno(e: &io::Error) -> u32 {
    use io::ErrorKind::*;
    match e.kind() {
        StorageFull | QuotaExceeded => ENOSPC,
        PermissionDenied | ReadOnlyFilesystem => EPERM,
        InvalidInput => EINVAL,
        OutOfMemory => ENOMEM,
        _ => EIO,
    }
}

/// Simple reply header (no payload).
pub(crate) fn simple(cookie: u64, error: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIMPLE_REPLY_HEADER_LEN);
    out.extend_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&cookie.to_be_bytes());
    out
}

fn chunk_header(out: &mut [u8], flags: u16, kind: u16, cookie: u64, len: u32) {
    out[0..4].copy_from_slice(&STRUCTURED_REPLY_MAGIC.to_be_bytes());
    out[4..6].copy_from_slice(&flags.to_be_bytes());
    out[6..8].copy_from_slice(&kind.to_be_bytes());
    out[8..16].copy_from_slice(&cookie.to_be_bytes());
    out[16..20].copy_from_slice(&len.to_be_bytes());
}

/// Final NBD_REPLY_TYPE_ERROR chunk.
pub(crate) fn structured_error(cookie: u64, error: u32, message: &str) -> Vec<u8> {
    let message = &message.as_bytes()[..message.len().min(4096)];
    let len = 6 + message.len();
    let mut out = vec![0u8; STRUCTURED_REPLY_HEADER_LEN];
    chunk_header(
        &mut out,
        REPLY_FLAG_DONE,
        REPLY_TYPE_ERROR,
        cookie,
        len as u32,
    );
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&(message.len() as u16).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// An error reply in the form the connection uses for this command.
pub(crate) fn error(cookie: u64, error: u32, structured: bool, message: &str) -> Vec<u8> {
    if structured {
        structured_error(cookie, error, message)
    } else {
        simple(cookie, error)
    }
}

/// Run `command` on `device` and encode the reply. Blocking.
pub(crate) fn execute(
    device: &dyn BlockDevice,
    cookie: u64,
    command: Command,
    structured: bool,
) -> Vec<u8> {
    let result = match command {
        Command::Read { offset, len } => return read(device, cookie, offset, len, structured),
        Command::BlockStatus {
            offset,
            len,
            req_one,
        } => return block_status(device, cookie, offset, len, req_one),
        Command::Write { offset, data, fua } => device.write_at(offset, &data, fua),
        Command::Flush => device.flush(),
        Command::Trim { offset, len, fua } => device
            .trim(offset, u64::from(len))
            .and_then(|()| if fua { device.flush() } else { Ok(()) }),
        Command::WriteZeroes {
            offset,
            len,
            may_trim,
            fua,
        } => device.write_zeroes(offset, u64::from(len), may_trim, fua),
    };
    match result {
        Ok(()) => simple(cookie, 0),
        Err(e) => {
            tracing::debug!(error = %e, "device call failed");
            error(cookie, errno(&e), structured, &e.to_string())
        }
    }
}

fn read(device: &dyn BlockDevice, cookie: u64, offset: u64, len: u32, structured: bool) -> Vec<u8> {
    let header = if structured {
        STRUCTURED_REPLY_HEADER_LEN + 8
    } else {
        SIMPLE_REPLY_HEADER_LEN
    };
    let mut out = crate::buffers::take(header + len as usize);
    if let Err(e) = device.read_at(offset, &mut out[header..]) {
        tracing::debug!(error = %e, offset, len, "device read failed");
        return error(cookie, errno(&e), structured, &e.to_string());
    }
    if structured {
        // One data chunk covering the whole request, final: it also satisfies NBD_CMD_FLAG_DF.
        chunk_header(
            &mut out,
            REPLY_FLAG_DONE,
            REPLY_TYPE_OFFSET_DATA,
            cookie,
            8 + len,
        );
        out[STRUCTURED_REPLY_HEADER_LEN..header].copy_from_slice(&offset.to_be_bytes());
    } else {
        out[..header].copy_from_slice(&simple(cookie, 0));
    }
    out
}

fn block_status(
    device: &dyn BlockDevice,
    cookie: u64,
    offset: u64,
    len: u32,
    req_one: bool,
) -> Vec<u8> {
    let extents = match device.block_status(offset, u64::from(len)) {
        Ok(extents) => extents,
        Err(e) => return structured_error(cookie, errno(&e), &e.to_string()),
    };
    let max = if req_one { 1 } else { MAX_EXTENTS };
    let descriptors = normalize(&extents, len, max);
    if descriptors.is_empty() {
        return structured_error(cookie, EIO, "device reported no extents");
    }
    let payload = 4 + 8 * descriptors.len();
    let mut out = vec![0u8; STRUCTURED_REPLY_HEADER_LEN];
    chunk_header(
        &mut out,
        REPLY_FLAG_DONE,
        REPLY_TYPE_BLOCK_STATUS,
        cookie,
        payload as u32,
    );
    out.extend_from_slice(&BASE_ALLOCATION_ID.to_be_bytes());
    for (length, flags) in descriptors {
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
    }
    out
}

/// Turn device extents into at most `max` descriptors: empty extents dropped, neighbours with the
/// same flags merged, the total clipped to `len`.
pub(crate) fn normalize(extents: &[Extent], len: u32, max: usize) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut left = len;
    for extent in extents {
        if left == 0 {
            break;
        }
        let length = extent.length.min(u64::from(left)) as u32;
        if length == 0 {
            continue;
        }
        let flags =
            if extent.hole { STATE_HOLE } else { 0 } | if extent.zero { STATE_ZERO } else { 0 };
        let full = out.len() == max;
        match out.last_mut() {
            Some(last) if last.1 == flags => last.0 += length,
            _ if full => break,
            _ => out.push((length, flags)),
        }
        left -= length;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_merges_clips_and_limits() {
        let extents = [
            Extent::hole(10),
            Extent::hole(5),
            Extent::data(0),
            Extent::data(100),
            Extent::hole(7),
        ];
        assert_eq!(
            normalize(&extents, 1000, 16),
            vec![(15, 3), (100, 0), (7, 3)]
        );
        assert_eq!(normalize(&extents, 20, 16), vec![(15, 3), (5, 0)]);
        assert_eq!(normalize(&extents, 1000, 1), vec![(15, 3)]);
        assert!(normalize(&[], 10, 16).is_empty());
        assert_eq!(
            normalize(&[Extent::data(u64::MAX)], u32::MAX, 4),
            vec![(u32::MAX, 0)]
        );
    }

    #[test]
    fn errno_maps_storage_full() {
        assert_eq!(errno(&io::Error::from(io::ErrorKind::StorageFull)), ENOSPC);
        assert_eq!(errno(&io::Error::other("boom")), EIO);
    }
}
