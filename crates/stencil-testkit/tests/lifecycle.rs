//! The image lifecycle through the real server: import, export, create from snapshots,
//! delete, and what stays in the chunk store afterwards.

use std::path::Path;

use serde_json::Value;
use stencil_testkit::TestServer;
use stencil_testkit::lifecycle::{convert, identical, make_raw};

const HZ: &str = "cn-hangzhou";

async fn import(s: &TestServer, key: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut p = vec![
        ("RegionId", HZ),
        ("DiskDeviceMapping.1.OSSBucket", "stencil-cn-hangzhou"),
        ("DiskDeviceMapping.1.OSSObject", key),
    ];
    p.extend_from_slice(extra);
    let r = s
        .client()
        .call("ImportImage", &p)
        .await
        .expect("ImportImage");
    (
        r["ImageId"].as_str().unwrap().to_string(),
        r["TaskId"].as_str().unwrap().to_string(),
    )
}

async fn export(s: &TestServer, image: &str, format: &str) -> String {
    let r = s
        .client()
        .call(
            "ExportImage",
            &[
                ("RegionId", HZ),
                ("ImageId", image),
                ("OSSBucket", "stencil-cn-hangzhou"),
                ("ImageFormat", format),
            ],
        )
        .await
        .expect("ExportImage");
    let task = s.wait_task(HZ, r["TaskId"].as_str().unwrap()).await;
    assert_eq!(task["TaskStatus"], "Finished", "{task}");
    related(&task, "OSSObject")
}

fn related(task: &Value, name: &str) -> String {
    task["OperationProgressSet"]["OperationProgress"][0]["RelatedItemSet"]["RelatedItem"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Name"] == name)
        .map(|i| i["Value"].as_str().unwrap().to_string())
        .unwrap()
}

fn blobs(dir: &Path) -> usize {
    walk(&dir.join("chunks"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

#[tokio::test]
async fn an_imported_qcow2_exports_as_the_same_bytes_in_every_format() {
    let s = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("disk.raw");
    make_raw(&raw, 48, &[(1, 3, 0x5a), (30, 2, 0xc3)]);
    let qcow = tmp.path().join("disk.qcow2");
    convert(&raw, "qcow2", &qcow);
    s.put_object(HZ, "disk.qcow2", &qcow);
    let (image, task) = import(&s, "disk.qcow2", &[("ImageName", "round-trip")]).await;
    let t = s.wait_task(HZ, &task).await;
    assert_eq!(t["TaskStatus"], "Finished", "{t}");
    let img = s.image(HZ, &image).await.unwrap();
    assert_eq!(img["Status"], "Available");
    assert_eq!(img["Progress"], "100%");
    let disk = &img["DiskDeviceMappings"]["DiskDeviceMapping"][0];
    assert!(disk["SnapshotId"].as_str().unwrap().starts_with("s-bp1"));
    assert_eq!(disk["Format"], "qcow2");
    for format in ["raw", "qcow2", "vhd", "vmdk", "vdi"] {
        let key = export(&s, &image, format).await;
        let out = s.bucket_dir(HZ).join(&key);
        assert!(key.ends_with(&format!(".{format}")), "{key}");
        assert!(identical(&raw, &out), "{format} export differs");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_failed_import_leaves_nothing_that_gc_does_not_free() {
    let s = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("big.raw");
    make_raw(&raw, 40, &[(0, 8, 0x11)]);
    s.put_object(HZ, "big.raw", &raw);
    let before = blobs(&s.chunk_dir(HZ));
    // 40 MiB does not fit a 0 GiB limit... the smallest limit is 1 GiB, so declare a format
    // that is wrong instead: the task fails after reading the header.
    let (image, task) = import(&s, "big.raw", &[("DiskDeviceMapping.1.Format", "QCOW2")]).await;
    let t = s.wait_task(HZ, &task).await;
    assert_eq!(t["TaskStatus"], "Failed", "{t}");
    let op = &t["OperationProgressSet"]["OperationProgress"][0];
    assert_eq!(op["ErrorCode"], "InvalidImageFormat.NotMatch", "{t}");
    assert!(op["ErrorMsg"].as_str().unwrap().contains("big.raw"), "{t}");
    let img = s.image(HZ, &image).await.unwrap();
    assert_eq!(img["Status"], "CreateFailed");
    assert_eq!(blobs(&s.chunk_dir(HZ)), before, "no chunk was stored");
    s.stop().await;
}

#[tokio::test]
async fn an_image_made_from_a_snapshot_shares_its_data_and_keeps_it_after_delete() {
    let s = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("d.raw");
    make_raw(&raw, 16, &[(2, 2, 0x7e)]);
    s.put_object(HZ, "d.raw", &raw);
    let (image, task) = import(&s, "d.raw", &[]).await;
    s.wait_task(HZ, &task).await;
    let img = s.image(HZ, &image).await.unwrap();
    let snap = img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["SnapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .client()
        .call(
            "CreateImage",
            &[
                ("RegionId", HZ),
                ("SnapshotId", &snap),
                ("ImageName", "from-snapshot"),
                ("ImageFamily", "fam"),
            ],
        )
        .await
        .unwrap();
    let copy = r["ImageId"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.image(HZ, &copy).await.unwrap()["Status"] != "Available" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The snapshot backs two images now: it cannot go.
    let err = s
        .client()
        .call("DeleteSnapshot", &[("SnapshotId", &snap)])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SnapshotCreatedImage"));
    for id in [&image, &copy] {
        s.client()
            .call("DeleteImage", &[("RegionId", HZ), ("ImageId", id)])
            .await
            .unwrap();
    }
    let snaps = s
        .client()
        .call(
            "DescribeSnapshots",
            &[("RegionId", HZ), ("SnapshotIds", &format!("[\"{snap}\"]"))],
        )
        .await
        .unwrap();
    assert_eq!(
        snaps["Snapshots"]["Snapshot"][0]["Usage"], "none",
        "{snaps}"
    );
    s.client()
        .call("DeleteSnapshot", &[("SnapshotId", &snap)])
        .await
        .unwrap();
    s.stop().await;
}

#[tokio::test]
async fn public_images_have_a_stored_blank_system_disk() {
    let s = TestServer::start().await;
    let body = s
        .client()
        .call(
            "DescribeImages",
            &[
                ("RegionId", HZ),
                ("ImageOwnerAlias", "system"),
                ("PageSize", "100"),
            ],
        )
        .await
        .unwrap();
    let images = body["Images"]["Image"].as_array().unwrap();
    assert!(!images.is_empty());
    let store = stencil_chunks::ChunkStore::new(
        std::sync::Arc::new(
            stencil_chunks::backend::local::LocalBackend::open(s.chunk_dir(HZ)).unwrap(),
        ),
        stencil_chunks::StoreConfig::default(),
    )
    .unwrap();
    for img in images {
        let disk = &img["DiskDeviceMappings"]["DiskDeviceMapping"][0];
        let snap = disk["SnapshotId"]
            .as_str()
            .expect("public image has a snapshot");
        let index = store.load_index(snap).unwrap();
        let size: u64 = disk["Size"].as_str().unwrap().parse().unwrap();
        assert_eq!(index.virtual_size(), size << 30);
        assert_eq!(index.data_bytes(), 0, "a blank disk holds no chunk");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_catalog_image_file_is_imported_at_first_start() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("tiny.raw");
    make_raw(&raw, 8, &[(1, 1, 0x42)]);
    let qcow = tmp.path().join("tiny.qcow2");
    convert(&raw, "qcow2", &qcow);
    let catalog = tmp.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        r#"format_version = 1

[[image]]
id = "tiny_linux_x64_1G_alibase_20260101.vhd"
family = "acs:tiny_linux"
os_name = "Tiny Linux"
os_name_en = "Tiny Linux"
platform = "Others Linux"
architecture = "x86_64"
boot_mode = "BIOS"
size_gib = 1
nvme_support = "unsupported"
creation_time = 2026-01-01T00:00:00Z
regions = ["cn-hangzhou"]
image_file = "tiny.qcow2"
"#,
    )
    .unwrap();
    let s = TestServer::start_with(|c| c.catalog.public_images = Some(catalog.clone())).await;
    let id = "tiny_linux_x64_1G_alibase_20260101.vhd";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let img = loop {
        let img = s.image(HZ, id).await.expect("published");
        if img["Status"] == "Available" {
            break img;
        }
        assert_eq!(img["Status"], "Creating", "{img}");
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let snap = img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["SnapshotId"]
        .as_str()
        .unwrap();
    let store = stencil_chunks::ChunkStore::new(
        std::sync::Arc::new(
            stencil_chunks::backend::local::LocalBackend::open(s.chunk_dir(HZ)).unwrap(),
        ),
        stencil_chunks::StoreConfig::default(),
    )
    .unwrap();
    let index = store.load_index(snap).unwrap();
    assert!(index.data_bytes() > 0);
    let reader = stencil_chunks::DiskReader::new(store.clone(), std::sync::Arc::new(index));
    let mut buf = vec![0u8; 4096];
    reader.read_at(&mut buf, 1 << 20).unwrap();
    assert!(buf.iter().all(|&b| b == 0x42));
    s.stop().await;
}
