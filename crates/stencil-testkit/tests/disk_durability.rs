//! Disk durability and consistency through the real server: flushed and acknowledged writes
//! across restarts, deletion releasing every trace of a disk, and snapshots taken while
//! writes keep arriving. The fixture is shared with `instances.rs`.

mod disk_fixture;

use disk_fixture::*;
use stencil_testkit::instances::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_writes_survive_a_restart() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[]).await;
    nbd_io(
        &url,
        &["write -P 0x55 1M 3M", "write -P 0x56 12345 678", "flush"],
    );
    let expected = f.expected("expected.raw");
    patch(&expected, MIB, &fill(0x55, 3 * MIB));
    patch(&expected, 12345, &fill(0x56, 678));

    // A second disk, reset to a snapshot, with writes since: its generation survives too.
    let (id2, disk2, url2) = f.instance(&[]).await;
    nbd_io(&url2, &["write -P 0x57 0 1M"]);
    let snap = f.s.create_snapshot(HZ, &disk2).await;
    f.s.stop_instance(HZ, &id2).await;
    f.s.act("ResetDisk", &[("DiskId", &disk2), ("SnapshotId", &snap)])
        .await;
    nbd_io(&url2, &["write -P 0x58 8M 1M", "flush"]);
    let expected2 = f.expected("expected2.raw");
    patch(&expected2, 0, &fill(0x57, MIB));
    patch(&expected2, 8 * MIB, &fill(0x58, MIB));
    assert!(disk_equals_file(&expected2, &url2));

    let Fixture { s, tmp, raw, .. } = f;
    let s = s.restart().await;
    let url = s.nbd_url(&disk);
    assert!(
        disk_equals_file(&expected, &url),
        "flushed writes were lost by a restart"
    );
    let out = tmp.path().join("out.raw");
    read_disk(&url, &out);
    assert_head_equal(&out, &expected, IMAGE_MIB * MIB);
    assert!(
        disk_equals_file(&expected2, &s.nbd_url(&disk2)),
        "a reset disk's writes were lost by a restart"
    );
    let i = s.instance(HZ, &id).await.unwrap();
    assert_eq!(i["Status"], "Running", "{i}");
    // Still usable: a snapshot after the restart has the bytes.
    let snap = s.create_snapshot(HZ, &disk).await;
    s.stop_instance(HZ, &id).await;
    s.act("ReInitDisk", &[("DiskId", &disk)]).await;
    let fresh = tmp.path().join("fresh.raw");
    expected_disk(&raw, DISK_BYTES, &fresh);
    assert!(disk_equals_file(&fresh, &url));
    s.act("ResetDisk", &[("DiskId", &disk), ("SnapshotId", &snap)])
        .await;
    assert!(disk_equals_file(&expected, &url));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_instance_needs_force_while_running_and_then_releases_its_disks() {
    let f = Fixture::new().await;
    let (id, disk, url) = f.instance(&[("DataDisk.1.Size", "20")]).await;
    let disks = f.s.disks_of(HZ, &id).await;
    assert_eq!(disks.len(), 2);
    let data = disks[1]["DiskId"].as_str().unwrap().to_string();
    let data_url = f.s.nbd_url(&data);
    nbd_io(&url, &["write -P 0x66 0 1M"]);
    nbd_io(&data_url, &["read 0 1M"]);

    let code = f.s.refused("DeleteInstance", &[("InstanceId", &id)]).await;
    assert_eq!(code, "IncorrectInstanceStatus");
    assert_eq!(f.s.instance(HZ, &id).await.unwrap()["Status"], "Running");
    nbd_io(&url, &["read -P 0x66 0 1M"]);

    // A client connected while the instance goes.
    let mut conn = RawNbd::connect(f.s.nbd_addr, &disk).unwrap();
    assert_eq!(conn.read(0, 4096).unwrap(), fill(0x66, 4096));
    let before = index_names(&f.s);
    for d in [&disk, &data] {
        assert!(
            before.iter().any(|n| n.starts_with(&format!("disk-{d}-g"))),
            "{d} has no base index among {before:?}"
        );
        assert!(f.s.data_dir().join("disks").join(d).exists());
    }

    f.s.act("DeleteInstance", &[("InstanceId", &id), ("Force", "true")])
        .await;
    assert!(
        f.s.instance(HZ, &id).await.is_none(),
        "instance still listed"
    );
    assert!(f.s.disks_of(HZ, &id).await.is_empty(), "disks still listed");
    for (d, u) in [(&disk, &url), (&data, &data_url)] {
        assert!(f.s.disk(HZ, d).await.is_none(), "{d} still listed");
        let out = qemu_io(u, &["read 0 4k"]);
        assert!(!out.status.success(), "{d} is still served: {out:?}");
    }
    assert!(
        conn.write(0, &fill(0x67, 4096)).is_err(),
        "an open connection still writes to a deleted disk"
    );
    let after = index_names(&f.s);
    for d in [&disk, &data] {
        assert!(
            !after.iter().any(|n| n.starts_with(&format!("disk-{d}-g"))),
            "{d}'s base index is left: {after:?}"
        );
        assert!(
            !f.s.data_dir().join("disks").join(d).exists(),
            "{d}'s overlay is left"
        );
    }
    let img = f.s.image(HZ, &f.image).await.unwrap();
    assert_eq!(img["Usage"], "none", "{img}");
    f.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_before_stop_instance_survive_a_restart_without_a_flush() {
    let f = Fixture::new().await;
    let (id, disk, _) = f.instance(&[]).await;
    let mut conn = RawNbd::connect(f.s.nbd_addr, &disk).unwrap();
    conn.write(3 * MIB, &fill(0x81, 2 * MIB)).unwrap();
    conn.write(777, &fill(0x82, 333)).unwrap();
    conn.disconnect().unwrap();
    // StopInstance flushes the disks, as a guest does at shutdown.
    f.s.stop_instance(HZ, &id).await;
    let expected = f.expected("expected.raw");
    patch(&expected, 3 * MIB, &fill(0x81, 2 * MIB));
    patch(&expected, 777, &fill(0x82, 333));
    let Fixture { s, tmp: _tmp, .. } = f;
    let s = s.restart().await;
    assert!(
        disk_equals_file(&expected, &s.nbd_url(&disk)),
        "writes before StopInstance were lost by a restart"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_without_a_flush_survive_a_graceful_server_restart() {
    let f = Fixture::new().await;
    let (_, disk, _) = f.instance(&[]).await;
    // A client that writes and disconnects cleanly (NBD_CMD_DISC) without ever flushing; the
    // server then stops gracefully. Nothing crashed, so nothing acknowledged may be lost.
    let mut conn = RawNbd::connect(f.s.nbd_addr, &disk).unwrap();
    conn.write(4 * MIB, &fill(0x91, MIB)).unwrap();
    assert_eq!(conn.read(4 * MIB, 4096).unwrap(), fill(0x91, 4096));
    conn.disconnect().unwrap();
    let expected = f.expected("expected.raw");
    patch(&expected, 4 * MIB, &fill(0x91, MIB));
    let Fixture { s, tmp: _tmp, .. } = f;
    let s = s.restart().await;
    assert!(
        disk_equals_file(&expected, &s.nbd_url(&disk)),
        "acknowledged writes were lost by a graceful stop (no FLUSH was sent)"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_during_sequential_writes_holds_a_prefix_of_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const BLOCK: u64 = 4096;
    const BLOCKS: u64 = 8192;
    const AT: u64 = 64 * MIB;
    let f = Fixture::new().await;
    let (_, disk, _) = f.instance(&[]).await;
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let mut conn = RawNbd::connect(f.s.nbd_addr, &disk).unwrap();
        std::thread::spawn(move || {
            for i in 0..BLOCKS {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                conn.write(AT + i * BLOCK, &fill(0xd7, BLOCK)).unwrap();
                acked.store(i + 1, Ordering::Release);
            }
            conn.disconnect().unwrap();
        })
    };
    while acked.load(Ordering::Acquire) < 64 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before = acked.load(Ordering::Acquire);
    let snap = f.s.create_snapshot(HZ, &disk).await;
    let after = acked.load(Ordering::Acquire);
    stop.store(true, Ordering::Release);
    writer.join().unwrap();

    // Read the snapshot through a data disk made from it.
    let reader =
        f.s.launch(
            "CreateInstance",
            HZ,
            &f.image,
            &[("DataDisk.1.SnapshotId", &snap)],
        )
        .await;
    let disks = f.s.disks_of(HZ, &reader).await;
    let data = disks[1]["DiskId"].as_str().unwrap().to_string();
    let mut conn = RawNbd::connect(f.s.nbd_addr, &data).unwrap();
    let mut bytes = Vec::new();
    for i in 0..BLOCKS * BLOCK / MIB {
        bytes.extend(conn.read(AT + i * MIB, MIB as u32).unwrap());
    }
    conn.disconnect().unwrap();
    let written = bytes
        .chunks(BLOCK as usize)
        .take_while(|b| b.iter().all(|&x| x == 0xd7))
        .count() as u64;
    assert!(
        bytes[(written * BLOCK) as usize..].iter().all(|&x| x == 0),
        "the snapshot holds writes after a block it lacks (prefix of {written} blocks)"
    );
    assert!(
        (before..=after + 1).contains(&written),
        "the snapshot holds {written} blocks; {before} were acknowledged before CreateSnapshot \
         and {after} (one more in flight) when it was accomplished"
    );
    f.s.stop().await;
}
