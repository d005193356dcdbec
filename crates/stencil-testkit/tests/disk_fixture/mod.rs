//! The fixture the disk tests share: a server with a small patterned image imported, and
//! helpers to read what the region's chunk store and the disks hold. Each test file uses part
//! of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stencil_testkit::TestServer;
use stencil_testkit::instances::{
    DISK_BYTES, differences, expected_disk, make_patterned_raw, read_file_range,
};

pub const HZ: &str = "cn-hangzhou";

/// Size of the imported image, MiB.
pub const IMAGE_MIB: u64 = 32;
/// Where the imported image holds data, `(offset MiB, length MiB)`; holes elsewhere.
pub const IMAGE_DATA: [(u64, u64); 2] = [(0, 3), (20, 2)];

/// A test's server, temp dir and imported image.
pub struct Fixture {
    pub s: TestServer,
    pub tmp: tempfile::TempDir,
    /// The imported raw file.
    pub raw: PathBuf,
    pub image: String,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let s = TestServer::start().await;
        let tmp = tempfile::tempdir().unwrap();
        let raw = tmp.path().join("image.raw");
        make_patterned_raw(&raw, IMAGE_MIB, &IMAGE_DATA);
        let image = s.import_raw(HZ, &raw, "image.raw").await;
        Fixture { s, tmp, raw, image }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// A file holding what a new disk made from the image holds.
    pub fn expected(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        expected_disk(&self.raw, DISK_BYTES, &p);
        p
    }

    /// A running instance from the image and its system disk's NBD URL.
    pub async fn instance(&self, extra: &[(&str, &str)]) -> (String, String, String) {
        let id = self.s.run_instance(HZ, &self.image, extra).await;
        let disk = self.s.system_disk(HZ, &id).await;
        let url = self.s.nbd_url(&disk);
        (id, disk, url)
    }
}

/// The names of the committed indexes in the region's chunk store.
pub fn index_names(s: &TestServer) -> Vec<String> {
    let backend = stencil_chunks::backend::local::LocalBackend::open(s.chunk_dir(HZ)).unwrap();
    stencil_chunks::ChunkStore::new(
        std::sync::Arc::new(backend),
        stencil_chunks::StoreConfig::default(),
    )
    .unwrap()
    .list_indexes()
    .unwrap()
}

/// The bytes `qemu-io write -P byte` writes.
pub fn fill(byte: u8, len: u64) -> Vec<u8> {
    vec![byte; len as usize]
}

/// Asserts the first `len` bytes of `got` equal those of `want` (both raw files), naming the
/// first differing ranges.
pub fn assert_head_equal(got: &Path, want: &Path, len: u64) {
    let (g, w) = (read_file_range(got, 0, len), read_file_range(want, 0, len));
    assert!(
        g == w,
        "bytes differ at (offset, length) {:?}",
        differences(&g, &w, 8)
    );
}
