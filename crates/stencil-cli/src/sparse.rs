//! A local file written as a stream that leaves all-zero blocks as holes, so a downloaded raw
//! export of a mostly empty 20 GiB disk takes the space of its data, not 20 GiB.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Holes are made at this granularity (the allocation granularity of the chunk index).
pub const BLOCK: usize = 64 * 1024;

/// Writes a stream into a file, seeking over aligned all-zero blocks instead of writing them.
#[derive(Debug)]
pub struct SparseFile {
    file: File,
    block: Vec<u8>,
    /// Stream offset of `block[0]`.
    offset: u64,
    /// Where the file's cursor is.
    cursor: u64,
}

impl SparseFile {
    /// Wraps an empty file opened for writing.
    pub fn new(file: File) -> Self {
        SparseFile {
            file,
            block: Vec::with_capacity(BLOCK),
            offset: 0,
            cursor: 0,
        }
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        if self.block.iter().any(|&b| b != 0) {
            if self.cursor != self.offset {
                self.file.seek(SeekFrom::Start(self.offset))?;
            }
            self.file.write_all(&self.block)?;
            self.cursor = self.offset + self.block.len() as u64;
        }
        self.offset += self.block.len() as u64;
        self.block.clear();
        Ok(())
    }

    /// Writes what is buffered, sets the length (a trailing hole included), syncs, and returns
    /// the file and the number of bytes in the stream.
    pub fn finish(mut self) -> io::Result<(File, u64)> {
        self.flush_block()?;
        self.file.set_len(self.offset)?;
        self.file.sync_all()?;
        Ok((self.file, self.offset))
    }
}

impl Write for SparseFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK {
            self.flush_block()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // A partial block stays buffered: it may still become a full zero block.
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn zero_blocks_become_holes_and_the_content_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let mut data = vec![0u8; 64 * BLOCK + 1000];
        data[5] = 1;
        data[10 * BLOCK + 7] = 0xab;
        *data.last_mut().unwrap() = 9;
        let mut w = SparseFile::new(File::create(&path).unwrap());
        for piece in data.chunks(8192 + 3) {
            w.write_all(piece).unwrap();
        }
        let (_, n) = w.finish().unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let meta = std::fs::metadata(&path).unwrap();
        assert!(
            meta.blocks() * 512 < 16 * BLOCK as u64,
            "{} bytes allocated for 3 data blocks",
            meta.blocks() * 512
        );
    }

    #[test]
    fn a_stream_of_zeros_is_one_hole_of_the_right_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.raw");
        let mut w = SparseFile::new(File::create(&path).unwrap());
        w.write_all(&vec![0u8; 3 * BLOCK + 17]).unwrap();
        w.finish().unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            3 * BLOCK as u64 + 17
        );
        assert!(std::fs::read(&path).unwrap().iter().all(|&b| b == 0));
    }
}
