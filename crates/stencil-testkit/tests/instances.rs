//! Instances and disks with real bytes, through the real server: disks read and written over
//! NBD with the qemu tools, snapshots, images made from instances, resets, system disk
//! replacement and deletion (restarts and durability: `disk_durability.rs`). Every disk is a sparse 20 GiB view over a small
//! imported image (32 MiB, data in two places, holes elsewhere).

mod disk_fixture;

use std::process::Command;

use disk_fixture::*;
use stencil_testkit::instances::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_written_over_nbd_read_back_above_the_image_data() {
    let f = Fixture::new().await;
    let (_, _, url) = f.instance(&[]).await;
    let expected = f.expected("expected.raw");
    // Untouched, the disk is the image followed by zeros.
    assert!(
        disk_equals_file(&expected, &url),
        "a new disk is not its image"
    );

    // Aligned: 4 MiB across the end of the image's first data range into a hole.
    nbd_io(&url, &["write -P 0xab 1M 4M"]);
    patch(&expected, MIB, &fill(0xab, 4 * MIB));
    // Unaligned and small, inside one granule of image data: the rest of it stays.
    nbd_io(&url, &["write -P 0xcd 100 1000"]);
    patch(&expected, 100, &fill(0xcd, 1000));
    // Unaligned at both ends, across granules, over image data.
    nbd_io(&url, &["write -P 0xee 8000 5000"]);
    patch(&expected, 8000, &fill(0xee, 5000));
    // Unaligned over the end of the second data range.
    let at = 22 * MIB - 3000;
    nbd_io(&url, &[&format!("write -P 0x42 {at} 10000")]);
    patch(&expected, at, &fill(0x42, 10000));
    // Far beyond the image, at the very end of the disk.
    let end = DISK_BYTES - 512;
    nbd_io(&url, &[&format!("write -P 0x77 {end} 512")]);
    patch(&expected, end, &fill(0x77, 512));

    let out = f.path("out.raw");
    read_disk(&url, &out);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), DISK_BYTES);
    assert_head_equal(&out, &expected, IMAGE_MIB * MIB);
    assert_eq!(read_file_range(&out, end, 512), fill(0x77, 512));
    assert!(
        compare(
            "raw",
            &out.to_string_lossy(),
            "raw",
            &expected.to_string_lossy()
        ),
        "the disk read with qemu-img convert is not the image with the writes"
    );
    // The neighbours of the small write are the image's bytes.
    let head = read_file_range(&out, 0, 4096);
    assert_eq!(head[99], pattern_byte(99));
    assert_eq!(head[1100], pattern_byte(1100));
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_img_map_shows_holes_where_neither_the_image_nor_a_write_put_data() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[]).await;
    assert_eq!(
        data_ranges(&url),
        vec![(0, 3 * MIB), (20 * MIB, 22 * MIB)],
        "a new disk has data where its image has"
    );
    nbd_io(&url, &["write -P 0x11 8M 1M", "write -P 0x12 10G 64k"]);
    assert_eq!(
        data_ranges(&url),
        vec![
            (0, 3 * MIB),
            (8 * MIB, 9 * MIB),
            (20 * MIB, 22 * MIB),
            (10 << 30, (10 << 30) + 65536),
        ]
    );
    // A disk reset to a snapshot has the snapshot's allocation.
    let written = data_ranges(&url);
    let snap = f.s.create_snapshot(HZ, &disk).await;
    nbd_io(&url, &["write -P 0x13 15M 1M"]);
    f.s.stop_instance(HZ, &id).await;
    f.s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
        .await;
    assert_eq!(data_ranges(&url), written, "after ResetDisk");
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeroed_and_discarded_ranges_read_as_zeros_and_stay_zero_in_a_snapshot() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[]).await;
    let expected = f.expected("expected.raw");
    // Zero 1 MiB of image data (whole granules) and a piece that is not granule-aligned;
    // discard another MiB of image data.
    nbd_io(
        &url,
        &[
            "write -z 1M 1M",
            "write -z 20M 5000",
            "discard 21M 1M",
            "write -P 0x31 2M 4k",
        ],
    );
    patch(&expected, MIB, &fill(0, MIB));
    patch(&expected, 20 * MIB, &fill(0, 5000));
    patch(&expected, 21 * MIB, &fill(0, MIB));
    patch(&expected, 2 * MIB, &fill(0x31, 4096));
    assert!(
        disk_equals_file(&expected, &url),
        "zeroed ranges do not read as zeros"
    );
    let snap = f.s.create_snapshot(HZ, &disk).await;
    // Data written over the zeros afterwards; the reset must bring the zeros back.
    nbd_io(&url, &["write -P 0x99 1M 1M", "write -P 0x98 21M 1M"]);
    f.s.stop_instance(HZ, &id).await;
    f.s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
        .await;
    assert!(
        disk_equals_file(&expected, &url),
        "the snapshot lost the zeroing of base data"
    );
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_made_from_an_instance_exports_as_the_bytes_of_its_disk() {
    let f = Fixture::new().await;
    // Stopped instance (CreateInstance leaves it Stopped).
    let stopped = f.s.launch("CreateInstance", HZ, &f.image, &[]).await;
    let disk = f.s.system_disk(HZ, &stopped).await;
    let url = f.s.nbd_url(&disk);
    nbd_io(&url, &["write -P 0x5c 4M 2M", "write -P 0x5d 100 1000"]);
    assert_eq!(
        f.s.instance(HZ, &stopped).await.unwrap()["Status"],
        "Stopped"
    );
    let made =
        f.s.act("CreateImage", &[("RegionId", HZ), ("InstanceId", &stopped)])
            .await;
    let image = made["ImageId"].as_str().unwrap().to_string();
    let img = f.s.wait_image(HZ, &image).await;
    let mappings = img["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(mappings.len(), 1, "{img}");
    let snap = mappings[0]["SnapshotId"].as_str().unwrap();
    let s = f.s.wait_snapshot(HZ, snap).await;
    assert_eq!(s["SourceDiskId"], disk.as_str(), "{s}");
    let files = f.s.export_to_bucket(HZ, &image, "qcow2").await;
    assert_eq!(files.len(), 1);
    assert!(
        compare("qcow2", &files[0].to_string_lossy(), "raw", &url),
        "the exported image of a stopped instance differs from its disk"
    );
    let at_image = f.expected("at-image.raw");
    patch(&at_image, 4 * MIB, &fill(0x5c, 2 * MIB));
    patch(&at_image, 100, &fill(0x5d, 1000));
    assert!(compare(
        "qcow2",
        &files[0].to_string_lossy(),
        "raw",
        &at_image.to_string_lossy()
    ));
    // Writes after the image do not reach it: it names a snapshot, not the disk.
    nbd_io(&url, &["write -P 0x5e 4M 1M", "write -P 0x5f 9G 1M"]);
    let files = f.s.export_to_bucket(HZ, &image, "qcow2").await;
    assert!(
        compare(
            "qcow2",
            &files[0].to_string_lossy(),
            "raw",
            &at_image.to_string_lossy()
        ),
        "a write after CreateImage reached the image"
    );
    assert!(!compare("qcow2", &files[0].to_string_lossy(), "raw", &url));
    // An instance launched from the image starts with the bytes the disk had.
    let child = f.s.run_instance(HZ, &image, &[]).await;
    let child_disk = f.s.system_disk(HZ, &child).await;
    assert!(
        disk_equals_file(&at_image, &f.s.nbd_url(&child_disk)),
        "an instance of an image made from an instance does not have its bytes"
    );

    // Running instance with a data disk.
    let running =
        f.s.run_instance(HZ, &f.image, &[("DataDisk.1.Size", "20")])
            .await;
    let disks = f.s.disks_of(HZ, &running).await;
    assert_eq!(disks.len(), 2, "{disks:?}");
    assert_eq!(disks[1]["Type"], "data");
    let ids: Vec<String> = disks
        .iter()
        .map(|d| d["DiskId"].as_str().unwrap().to_string())
        .collect();
    let urls: Vec<String> = ids.iter().map(|d| f.s.nbd_url(d)).collect();
    nbd_io(&urls[0], &["write -P 0x61 12M 1M"]);
    nbd_io(
        &urls[1],
        &[
            "write -P 0x62 0 1M",
            "write -P 0x63 7G 4k",
            "write -P 0x64 333 33",
        ],
    );
    let made =
        f.s.act(
            "CreateImage",
            &[
                ("RegionId", HZ),
                ("InstanceId", &running),
                ("ImageName", "from-running"),
            ],
        )
        .await;
    let image = made["ImageId"].as_str().unwrap().to_string();
    let img = f.s.wait_image(HZ, &image).await;
    let mappings = img["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(mappings.len(), 2, "{img}");
    for (m, disk) in mappings.iter().zip(&ids) {
        let s =
            f.s.wait_snapshot(HZ, m["SnapshotId"].as_str().unwrap())
                .await;
        assert_eq!(s["SourceDiskId"], disk.as_str(), "{s}");
    }
    let files = f.s.export_to_bucket(HZ, &image, "qcow2").await;
    assert_eq!(files.len(), 2, "{files:?}");
    for (file, url) in files.iter().zip(&urls) {
        assert!(
            compare("qcow2", &file.to_string_lossy(), "raw", url),
            "{} differs from {url}",
            file.display()
        );
    }
    // Not the other way round: the two disks differ, so the comparison can fail.
    assert!(!compare(
        "qcow2",
        &files[1].to_string_lossy(),
        "raw",
        &urls[0]
    ));
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_writing_the_same_range_of_two_disks_at_once_each_see_their_own() {
    let f = Fixture::new().await;
    let (_, _, url_a) = f.instance(&[]).await;
    let (_, _, url_b) = f.instance(&[]).await;
    // Many writes each, unaligned ones too, over image data and holes.
    let cmds = |byte: u8| -> Vec<String> {
        let mut c: Vec<String> = (0..24)
            .map(|i| format!("write -P {byte:#x} {} 256k", i * 256 * 1024))
            .collect();
        c.push(format!("write -P {byte:#x} 6001 10000"));
        c
    };
    let spawn = |url: &str, byte: u8| {
        let mut c = Command::new("qemu-io");
        c.args(["-f", "raw", url])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for cmd in cmds(byte) {
            c.args(["-c", &cmd]);
        }
        c.spawn().expect("qemu-io starts")
    };
    let (a, b) = (spawn(&url_a, 0xaa), spawn(&url_b, 0xbb));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    for (url, byte, name) in [(&url_a, 0xaa, "a.raw"), (&url_b, 0xbb, "b.raw")] {
        let expected = f.expected(&format!("expected-{name}"));
        patch(&expected, 0, &fill(byte, 6 * MIB));
        let out = f.path(name);
        read_disk(url, &out);
        assert_head_equal(&out, &expected, IMAGE_MIB * MIB);
        assert!(
            compare(
                "raw",
                &out.to_string_lossy(),
                "raw",
                &expected.to_string_lossy()
            ),
            "{url}"
        );
    }
    // The image is unchanged.
    let files = f.s.export_to_bucket(HZ, &f.image, "raw").await;
    assert_eq!(files.len(), 1);
    assert!(
        compare(
            "raw",
            &files[0].to_string_lossy(),
            "raw",
            &f.raw.to_string_lossy()
        ),
        "writes to disks changed their image"
    );
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_disk_returns_to_a_snapshot_and_reinit_disk_to_the_image() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[]).await;
    nbd_io(&url, &["write -P 0x11 4M 2M", "write -P 0x12 1000 100"]);
    let at_snapshot = f.expected("at-snapshot.raw");
    patch(&at_snapshot, 4 * MIB, &fill(0x11, 2 * MIB));
    patch(&at_snapshot, 1000, &fill(0x12, 100));
    let snap = f.s.create_snapshot(HZ, &disk).await;
    let s = f.s.snapshot(HZ, &snap).await.unwrap();
    assert_eq!(s["SourceDiskId"], disk.as_str(), "{s}");

    // Something else written after the snapshot.
    nbd_io(
        &url,
        &[
            "write -P 0x21 5M 2M",
            "write -P 0x22 0 64k",
            "write -P 0x23 3G 1M",
        ],
    );
    assert!(!disk_equals_file(&at_snapshot, &url));

    // Running: refused, and nothing changes.
    let code =
        f.s.refused("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
            .await;
    assert_eq!(code, "IncorrectInstanceStatus");
    let code = f.s.refused("ReInitDisk", &[("DiskId", &disk)]).await;
    assert_eq!(code, "IncorrectInstanceStatus");

    f.s.stop_instance(HZ, &id).await;
    // Another disk's snapshot: refused.
    let other = f.s.launch("CreateInstance", HZ, &f.image, &[]).await;
    let other_disk = f.s.system_disk(HZ, &other).await;
    let other_snap = f.s.create_snapshot(HZ, &other_disk).await;
    let code =
        f.s.refused(
            "ResetDisk",
            &[("DiskId", &disk), ("SnapshotId", &other_snap)],
        )
        .await;
    assert_eq!(code, "InvalidParameter.Mismatch");

    // Another account cannot reset the disk.
    let err =
        f.s.client_for(1)
            .call("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
            .await
            .unwrap_err();
    assert_eq!(err.code(), Some("InvalidDiskId.NotFound"), "{err}");

    // A client connected across the reset sees the new bytes on the same connection.
    let mut conn = RawNbd::connect(f.s.nbd_addr, &disk).unwrap();
    assert_eq!(conn.read(5 * MIB, 65536).unwrap(), fill(0x21, 65536));
    f.s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
        .await;
    assert_eq!(
        conn.read(5 * MIB, 65536).unwrap(),
        fill(0x11, 65536),
        "an open connection still reads the bytes from before the reset"
    );
    conn.disconnect().unwrap();
    assert!(
        disk_equals_file(&at_snapshot, &url),
        "ResetDisk did not bring back the snapshot's bytes"
    );
    let out = f.path("reset.raw");
    read_disk(&url, &out);
    assert_head_equal(&out, &at_snapshot, IMAGE_MIB * MIB);

    // The reset disk takes writes, and snapshots again from its new base.
    f.s.start_instance(HZ, &id).await;
    nbd_io(&url, &["write -P 0x44 9M 1M"]);
    let after_reset = f.path("after-reset.raw");
    sparse_copy(&at_snapshot, &after_reset);
    patch(&after_reset, 9 * MIB, &fill(0x44, MIB));
    let snap2 = f.s.create_snapshot(HZ, &disk).await;
    nbd_io(&url, &["write -P 0x45 9M 2M"]);
    f.s.stop_instance(HZ, &id).await;
    f.s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap2)])
        .await;
    assert!(
        disk_equals_file(&after_reset, &url),
        "a snapshot taken after a reset is not the disk's bytes"
    );

    f.s.act("ReInitDisk", &[("DiskId", &disk)]).await;
    let fresh = f.expected("fresh.raw");
    assert!(
        disk_equals_file(&fresh, &url),
        "ReInitDisk did not bring back the image's bytes"
    );
    // The first snapshot still resets the disk after a re-initialisation.
    f.s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
        .await;
    assert!(disk_equals_file(&at_snapshot, &url));
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_system_disk_gives_a_new_disk_with_the_second_image() {
    let f = Fixture::new().await;
    let second_raw = f.path("second.raw");
    make_patterned_raw(&second_raw, 16, &[(5, 1)]);
    // Make it differ from the first image where they overlap.
    nbd_io(&second_raw.to_string_lossy(), &["write -P 0x3c 0 1M"]);
    let second = f.s.import_raw(HZ, &second_raw, "second.raw").await;

    let (id, old_disk, old_url) = f.instance(&[]).await;
    nbd_io(&old_url, &["write -P 0x71 0 1M"]);
    let code =
        f.s.refused(
            "ReplaceSystemDisk",
            &[("InstanceId", &id), ("ImageId", &second)],
        )
        .await;
    assert_eq!(code, "IncorrectInstanceStatus");
    f.s.stop_instance(HZ, &id).await;
    let r =
        f.s.act(
            "ReplaceSystemDisk",
            &[
                ("InstanceId", &id),
                ("ImageId", &second),
                ("SystemDisk.Size", "20"),
            ],
        )
        .await;
    let new_disk = r["DiskId"].as_str().unwrap().to_string();
    assert_ne!(new_disk, old_disk);
    assert!(new_disk.starts_with("d-"), "{r}");

    let out = qemu_io(&old_url, &["read 0 4k"]);
    assert!(
        !out.status.success(),
        "the old disk is still served: {out:?}"
    );
    assert!(f.s.disk(HZ, &old_disk).await.is_none(), "old disk listed");

    let new_url = f.s.nbd_url(&new_disk);
    let expected = f.path("second-expected.raw");
    expected_disk(&second_raw, DISK_BYTES, &expected);
    assert!(
        disk_equals_file(&expected, &new_url),
        "the new system disk is not the second image"
    );
    let i = f.s.instance(HZ, &id).await.unwrap();
    assert_eq!(i["ImageId"], second.as_str(), "{i}");
    assert_eq!(f.s.system_disk(HZ, &id).await, new_disk);
    let d = f.s.disk(HZ, &new_disk).await.unwrap();
    assert_eq!(d["ImageId"], second.as_str(), "{d}");
    assert_eq!(d["InstanceId"], id.as_str(), "{d}");
    // The first image is no longer in use; the second is.
    let first = f.s.image(HZ, &f.image).await.unwrap();
    assert_eq!(first["Usage"], "none", "{first}");
    let img = f.s.image(HZ, &second).await.unwrap();
    assert_eq!(img["Usage"], "instance", "{img}");
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_deleting_a_used_image_keeps_the_disk_bytes_but_stops_reinit() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[]).await;
    let img = f.s.image(HZ, &f.image).await.unwrap();
    assert_eq!(img["Usage"], "instance", "{img}");
    let err =
        f.s.client()
            .call("DeleteImage", &[("RegionId", HZ), ("ImageId", &f.image)])
            .await
            .unwrap_err();
    assert_eq!(err.code(), Some("ImageUsingByInstance"), "{err}");
    assert!(
        matches!(err, stencil_testkit::ClientError::Api { status: 403, .. }),
        "{err}"
    );
    f.s.act(
        "DeleteImage",
        &[("RegionId", HZ), ("ImageId", &f.image), ("Force", "true")],
    )
    .await;
    assert!(
        f.s.image(HZ, &f.image).await.is_none(),
        "image still listed"
    );
    let expected = f.expected("expected.raw");
    assert!(
        disk_equals_file(&expected, &url),
        "the disk lost its bytes with its image"
    );
    nbd_io(&url, &["write -P 0x13 2M 2M"]);
    f.s.stop_instance(HZ, &id).await;
    let code = f.s.refused("ReInitDisk", &[("DiskId", &disk)]).await;
    assert_eq!(code, "InvalidDiskId.OperationNotSupported");
    // Refused without touching the bytes.
    patch(&expected, 2 * MIB, &fill(0x13, 2 * MIB));
    assert!(disk_equals_file(&expected, &url));
    // The instance of a deleted image can still go.
    f.s.act("DeleteInstance", &[("InstanceId", &id)]).await;
    assert!(f.s.instance(HZ, &id).await.is_none());
    f.s.stop().await;
}
