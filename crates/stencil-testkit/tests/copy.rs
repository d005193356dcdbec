//! CopyImage through the real server: a copy in another region exports the same bytes, stays
//! whole when the source goes, moves only missing chunks, can be cancelled, and an encrypted
//! copy holds none of the plaintext.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use stencil_testkit::TestServer;
use stencil_testkit::lifecycle::{identical, make_raw};

const HZ: &str = "cn-hangzhou";
const SH: &str = "cn-shanghai";

async fn import(s: &TestServer, raw: &Path, key: &str) -> String {
    s.put_object(HZ, key, raw);
    let r = s
        .client()
        .call(
            "ImportImage",
            &[
                ("RegionId", HZ),
                ("DiskDeviceMapping.1.OSSBucket", "stencil-cn-hangzhou"),
                ("DiskDeviceMapping.1.OSSObject", key),
            ],
        )
        .await
        .expect("ImportImage");
    let t = s.wait_task(HZ, r["TaskId"].as_str().unwrap()).await;
    assert_eq!(t["TaskStatus"], "Finished", "{t}");
    r["ImageId"].as_str().unwrap().to_string()
}

async fn copy(s: &TestServer, image: &str, extra: &[(&str, &str)]) -> Result<String, Value> {
    let mut p = vec![
        ("RegionId", HZ),
        ("ImageId", image),
        ("DestinationRegionId", SH),
    ];
    p.extend_from_slice(extra);
    match s.client().call("CopyImage", &p).await {
        Ok(r) => Ok(r["ImageId"].as_str().unwrap().to_string()),
        Err(e) => Err(serde_json::to_value(e.to_string()).unwrap()),
    }
}

/// Waits until the copy leaves Waiting/Creating; returns it.
async fn settle(s: &TestServer, region: &str, image: &str) -> Value {
    let start = Instant::now();
    loop {
        let img = s.image(region, image).await.expect("the copy exists");
        if !matches!(img["Status"].as_str(), Some("Waiting" | "Creating")) {
            return img;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "copy still {}",
            img["Status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The finished CopyImage task of `image` and its `CopiedBytes`.
async fn copied_bytes(s: &TestServer, image: &str) -> u64 {
    let tasks = s
        .client()
        .call(
            "DescribeTasks",
            &[
                ("RegionId", SH),
                ("TaskAction", "CopyImage"),
                ("PageSize", "100"),
            ],
        )
        .await
        .expect("DescribeTasks");
    let task = tasks["TaskSet"]["Task"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ResourceId"] == image)
        .unwrap_or_else(|| panic!("no copy task for {image}: {tasks}"))
        .clone();
    let t = s
        .client()
        .call(
            "DescribeTaskAttribute",
            &[
                ("RegionId", SH),
                ("TaskId", task["TaskId"].as_str().unwrap()),
            ],
        )
        .await
        .unwrap();
    t["OperationProgressSet"]["OperationProgress"][0]["RelatedItemSet"]["RelatedItem"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Name"] == "CopiedBytes")
        .and_then(|i| i["Value"].as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("no CopiedBytes in {t}"))
}

async fn export(s: &TestServer, region: &str, image: &str) -> std::path::PathBuf {
    let bucket = format!("stencil-{region}");
    let r = s
        .client()
        .call(
            "ExportImage",
            &[
                ("RegionId", region),
                ("ImageId", image),
                ("OSSBucket", bucket.as_str()),
                ("ImageFormat", "qcow2"),
            ],
        )
        .await
        .expect("ExportImage");
    let t = s.wait_task(region, r["TaskId"].as_str().unwrap()).await;
    assert_eq!(t["TaskStatus"], "Finished", "{t}");
    let key = t["OperationProgressSet"]["OperationProgress"][0]["RelatedItemSet"]["RelatedItem"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Name"] == "OSSObject")
        .unwrap()["Value"]
        .as_str()
        .unwrap()
        .to_string();
    s.bucket_dir(region).join(key)
}

fn store_bytes(dir: &Path) -> u64 {
    fn walk(d: &Path) -> u64 {
        std::fs::read_dir(d).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
    }
    walk(&dir.join("chunks"))
}

#[tokio::test]
async fn a_copy_exports_the_same_bytes_outlives_its_source_and_moves_only_missing_chunks() {
    let s = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("d.raw");
    make_raw(&raw, 64, &[(0, 6, 0x5a), (20, 8, 0xc3), (60, 4, 0x11)]);
    let source = import(&s, &raw, "d.raw").await;

    let copy_id = copy(&s, &source, &[("DestinationImageName", "the-copy")])
        .await
        .expect("CopyImage");
    let img = settle(&s, SH, &copy_id).await;
    assert_eq!(img["Status"], "Available", "{img}");
    assert_eq!(img["IsCopied"], true);
    assert_eq!(img["ImageName"], "the-copy");
    let snap = img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["SnapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(snap.starts_with("s-"), "{img}");
    let moved = copied_bytes(&s, &copy_id).await;
    assert_eq!(
        moved,
        store_bytes(&s.chunk_dir(SH)),
        "every stored chunk byte was sent once"
    );
    assert!(identical(&raw, &export(&s, SH, &copy_id).await));

    // Independent of the source: its image and snapshots go, the copy still exports the same.
    s.client()
        .call(
            "DeleteImage",
            &[("RegionId", HZ), ("ImageId", source.as_str())],
        )
        .await
        .expect("DeleteImage");
    assert!(identical(&raw, &export(&s, SH, &copy_id).await));

    // A new image of the same bytes: nothing to send.
    let again = import(&s, &raw, "again.raw").await;
    let t0 = Instant::now();
    let second = copy(&s, &again, &[]).await.expect("CopyImage");
    assert_eq!(settle(&s, SH, &second).await["Status"], "Available");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(copied_bytes(&s, &second).await, 0);
    s.stop().await;
}

#[tokio::test]
async fn copies_are_refused_with_the_reference_codes() {
    let s = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("d.raw");
    make_raw(&raw, 8, &[(0, 2, 0x21)]);
    let source = import(&s, &raw, "d.raw").await;
    let code = |e: Value| e.as_str().unwrap().to_string();
    let same = s
        .client()
        .call(
            "CopyImage",
            &[
                ("RegionId", HZ),
                ("ImageId", source.as_str()),
                ("DestinationRegionId", HZ),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(same.contains("IncorrectDestinationRegion"), "{same}");
    let r = s
        .client()
        .call(
            "CopyImage",
            &[
                ("RegionId", HZ),
                ("ImageId", source.as_str()),
                ("DestinationRegionId", "xx-nowhere-1"),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(r.contains("DestinationRegion.NotFound"), "{r}");
    let r = code(
        copy(
            &s,
            &source,
            &[("Encrypted", "true"), ("KMSKeyId", "no-such-key")],
        )
        .await
        .unwrap_err(),
    );
    assert!(r.contains("InvalidParameter.KMSKeyId.NotFound"), "{r}");
    let r = code(copy(&s, &source, &[("KMSKeyId", "k")]).await.unwrap_err());
    assert!(r.contains("InvalidParameter.EncryptedIllegal"), "{r}");
    let r = code(copy(&s, "m-doesnotexist", &[]).await.unwrap_err());
    assert!(r.contains("InvalidImageId.NotFound"), "{r}");
    // Another account cannot see it.
    let r = s
        .client_for(1)
        .call(
            "CopyImage",
            &[
                ("RegionId", HZ),
                ("ImageId", source.as_str()),
                ("DestinationRegionId", SH),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(r.contains("InvalidImageId.NotFound"), "{r}");
    // CancelCopyImage on an image that is not a copy, and on a finished copy.
    let r = s
        .client()
        .call(
            "CancelCopyImage",
            &[("RegionId", HZ), ("ImageId", source.as_str())],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(r.contains("ImageCreatedNotFromCopy"), "{r}");
    let c = copy(&s, &source, &[]).await.unwrap();
    assert_eq!(settle(&s, SH, &c).await["Status"], "Available");
    let r = s
        .client()
        .call(
            "CancelCopyImage",
            &[("RegionId", SH), ("ImageId", c.as_str())],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        r.contains("IncorrectImageStatus") && r.contains("completed"),
        "{r}"
    );
    s.stop().await;
}

// Multi-threaded: qemu tools block the test's thread while the in-process server serves NBD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_copy_holds_no_plaintext_chunk() {
    let keydir = tempfile::tempdir().unwrap();
    let key_file = keydir.path().join("sh.key");
    std::fs::write(&key_file, "ab".repeat(32)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let kf = key_file.clone();
    let s = TestServer::start_with(move |c| {
        c.kms_keys.push(stencil_server::config::KmsKeyConfig {
            id: "key-sh-1".into(),
            region: SH.into(),
            key_file: kf,
            service: false,
        });
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("d.raw");
    make_raw(&raw, 16, &[(0, 3, 0x5a), (8, 2, 0x77)]);
    let source = import(&s, &raw, "d.raw").await;
    let plain_copy = copy(&s, &source, &[]).await.unwrap();
    assert_eq!(settle(&s, SH, &plain_copy).await["Status"], "Available");
    let plain_files = files(&s.chunk_dir(SH));
    let enc = copy(
        &s,
        &source,
        &[("Encrypted", "true"), ("KMSKeyId", "key-sh-1")],
    )
    .await
    .expect("encrypted CopyImage");
    let img = settle(&s, SH, &enc).await;
    assert_eq!(img["Status"], "Available", "{img}");
    assert_eq!(
        img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Encrypted"], true,
        "{img}"
    );
    assert!(
        copied_bytes(&s, &enc).await > 0,
        "re-encrypted chunks are new bytes"
    );
    let new_files: Vec<_> = files(&s.chunk_dir(SH))
        .into_iter()
        .filter(|f| !plain_files.contains(f))
        .collect();
    let chunk_names: Vec<String> = plain_files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().to_string()))
        .filter(|n| n.len() == 64)
        .collect();
    assert!(!chunk_names.is_empty());
    let mut checked = 0;
    for f in &new_files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !chunk_names.contains(&name),
            "a plaintext digest names {name}"
        );
        let bytes = std::fs::read(f).unwrap();
        for n in &chunk_names {
            let raw_digest: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&n[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            assert!(
                !bytes.windows(32).any(|w| w == raw_digest.as_slice()),
                "{} holds {n}",
                f.display()
            );
        }
        assert!(
            !bytes.windows(64).any(|w| w.iter().all(|b| *b == 0x5a)),
            "{} holds plaintext",
            f.display()
        );
        checked += 1;
    }
    assert!(
        checked > 1,
        "the encrypted copy wrote its own chunks and index"
    );
    // An instance of the encrypted copy reads the original bytes over NBD; what it writes and
    // snapshots stays encrypted with the same key.
    let inst = s.run_instance(SH, &enc, &[]).await;
    let disk = s.system_disk(SH, &inst).await;
    let url = s.nbd_url(&disk);
    assert!(stencil_testkit::instances::disk_equals_file(&raw, &url));
    let shown = s.disk(SH, &disk).await.unwrap();
    assert_eq!(
        (shown["Encrypted"].clone(), shown["KMSKeyId"].clone()),
        (Value::Bool(true), Value::from("key-sh-1")),
        "{shown}"
    );
    stencil_testkit::instances::nbd_io(&url, &["write -P 0x5a 4M 1M"]);
    let before = files(&s.chunk_dir(SH));
    let snap = s.act("CreateSnapshot", &[("DiskId", disk.as_str())]).await["SnapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    let start = Instant::now();
    loop {
        let body = s
            .act(
                "DescribeSnapshots",
                &[("RegionId", SH), ("SnapshotIds", &format!("[\"{snap}\"]"))],
            )
            .await;
        let st = body["Snapshots"]["Snapshot"][0].clone();
        if st["Status"] == "accomplished" {
            assert_eq!(st["Encrypted"], true, "{st}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for f in files(&s.chunk_dir(SH))
        .into_iter()
        .filter(|f| !before.contains(f))
    {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(64).any(|w| w.iter().all(|b| *b == 0x5a)),
            "{} holds plaintext",
            f.display()
        );
    }
    // Encrypted images are not exported.
    let r = s
        .client()
        .call(
            "ExportImage",
            &[
                ("RegionId", SH),
                ("ImageId", enc.as_str()),
                ("OSSBucket", "stencil-cn-shanghai"),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(r.to_lowercase().contains("encrypt"), "{r}");
    s.stop().await;
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}
