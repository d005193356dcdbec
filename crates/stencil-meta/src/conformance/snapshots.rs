//! Conformance cases for snapshots and the images that use them.

use chrono::{TimeZone, Utc};
use stencil_domain::{
    AccountId, DiskType, Snapshot, SnapshotId, SnapshotStatus, SnapshotUsage, Tag,
};

use super::sample_image;
use crate::{MetaError, MetaStore, SnapshotQuery};

/// An accomplished, unencrypted system-disk snapshot of `owner`, created `minute` minutes after
/// 2026-01-01.
pub fn sample_snapshot(region: &str, owner: &str, name: &str, minute: i64) -> Snapshot {
    Snapshot {
        id: SnapshotId::generate(region),
        region: region.to_string(),
        owner: AccountId::parse(owner),
        name: name.to_string(),
        description: String::new(),
        status: SnapshotStatus::Accomplished,
        progress: 100,
        creation_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::minutes(minute),
        source_disk_id: String::new(),
        source_disk_size_gib: 20,
        source_disk_type: DiskType::System,
        virtual_size: 20 << 30,
        data_bytes: 1 << 30,
        encrypted: false,
        kms_key_id: String::new(),
        source_image_id: String::new(),
        resource_group_id: String::new(),
        tags: Vec::new(),
    }
}

pub(super) fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

async fn ids(store: &MetaStore, q: &SnapshotQuery) -> Vec<String> {
    let page = store.list_snapshots(q).await.expect("list snapshots");
    page.items.into_iter().map(|s| s.id.to_string()).collect()
}

pub(super) async fn snapshots_round_trip_with_their_tags(store: &MetaStore) {
    let r = "r-snap-rt";
    let mut snap = sample_snapshot(r, "111", "rt", 0);
    snap.tags = vec![tag("env", "prod"), tag("team", "a")];
    store.insert_snapshot(&snap).await.expect("insert snapshot");
    assert_eq!(
        store.get_snapshot(snap.id.as_str()).await.unwrap().as_ref(),
        Some(&snap),
        "a snapshot reads back as written"
    );
    assert!(
        matches!(
            store.insert_snapshot(&snap).await,
            Err(MetaError::Conflict(_))
        ),
        "inserting an existing snapshot ID is a conflict"
    );
    let mut elsewhere = snap.clone();
    elsewhere.region = "r-snap-elsewhere".into();
    assert!(
        matches!(
            store.insert_snapshot(&elsewhere).await,
            Err(MetaError::Conflict(_))
        ),
        "snapshot IDs are unique across regions"
    );

    snap.tags = vec![tag("env", "dev")];
    snap.name = "renamed".into();
    store.update_snapshot(&snap).await.expect("update snapshot");
    assert_eq!(
        store.get_snapshot(snap.id.as_str()).await.unwrap().as_ref(),
        Some(&snap),
        "an update replaces the whole snapshot"
    );
    let mut q = SnapshotQuery::new(r);
    q.tags = vec![tag("team", "a")];
    assert_eq!(
        store.list_snapshots(&q).await.unwrap().total,
        0,
        "an update replaces the tags"
    );
    q.tags = vec![tag("env", "dev")];
    assert_eq!(store.list_snapshots(&q).await.unwrap().total, 1);

    assert!(store.delete_snapshot(snap.id.as_str()).await.unwrap());
    assert!(
        !store.delete_snapshot(snap.id.as_str()).await.unwrap(),
        "a second delete finds nothing"
    );
    assert!(
        store
            .get_snapshot(snap.id.as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_snapshots(&q).await.unwrap().total,
        0,
        "a deleted snapshot's tags are gone"
    );
}

pub(super) async fn snapshot_listing_filters_and_pages_newest_first(store: &MetaStore) {
    let r = "r-snap-list";
    let mut made = Vec::new();
    for n in 0..10 {
        let owner = if n == 9 { "222" } else { "111" };
        let mut s = sample_snapshot(r, owner, &format!("snap-{n}"), n);
        if n % 2 == 1 {
            s.source_disk_type = DiskType::Data;
        }
        if n % 3 == 0 {
            s.encrypted = true;
        }
        if n == 4 {
            s.status = SnapshotStatus::Progressing;
            s.source_disk_id = "d-disk4".into();
        }
        if n < 4 {
            s.tags = vec![tag("env", if n < 2 { "prod" } else { "dev" })];
            if n == 0 {
                s.tags.push(tag("team", "a"));
            }
        }
        store.insert_snapshot(&s).await.unwrap();
        made.push(s);
    }
    store
        .insert_snapshot(&sample_snapshot("r-snap-other", "111", "snap-0", 3))
        .await
        .unwrap();
    // Snapshots 5 and 6 back images, 6 in another region.
    for (n, region) in [(5, r), (6, "r-snap-image-elsewhere")] {
        let mut img = sample_image(region, "111", &format!("from-{n}"), 0);
        img.disks[0].snapshot_id = Some(made[n].id.clone());
        store.insert_image(&img).await.unwrap();
    }
    let id = |n: usize| made[n].id.to_string();

    let mut q = SnapshotQuery::new(r);
    q.limit = 4;
    let page = store.list_snapshots(&q).await.unwrap();
    assert_eq!(page.total, 10, "no owner means every owner, one region");
    assert_eq!(
        page.items
            .iter()
            .map(|s| s.id.to_string())
            .collect::<Vec<_>>(),
        vec![id(9), id(8), id(7), id(6)],
        "newest first"
    );
    q.offset = 8;
    assert_eq!(ids(store, &q).await, vec![id(1), id(0)], "last page");

    let mut q = SnapshotQuery::new(r);
    q.limit = 100;
    q.owner = Some("111".into());
    assert_eq!(store.list_snapshots(&q).await.unwrap().total, 9, "owner");
    q.ids = vec![id(2), id(9), "s-unknown".into()];
    assert_eq!(ids(store, &q).await, vec![id(2)], "ID list");
    q.ids.clear();
    q.name = Some("snap-3".into());
    assert_eq!(ids(store, &q).await, vec![id(3)], "name is exact");
    q.name = Some("snap".into());
    assert_eq!(
        ids(store, &q).await,
        Vec::<String>::new(),
        "not a substring"
    );
    q.name = None;
    q.status = Some(SnapshotStatus::Progressing);
    assert_eq!(ids(store, &q).await, vec![id(4)], "status");
    q.status = None;
    q.disk_type = Some(DiskType::Data);
    assert_eq!(
        ids(store, &q).await,
        vec![id(7), id(5), id(3), id(1)],
        "disk type"
    );
    q.disk_type = None;
    q.encrypted = Some(true);
    assert_eq!(ids(store, &q).await, vec![id(6), id(3), id(0)], "encrypted");
    q.encrypted = Some(false);
    assert_eq!(store.list_snapshots(&q).await.unwrap().total, 6, "plain");
    q.encrypted = None;
    q.disk_id = Some("d-disk4".into());
    assert_eq!(ids(store, &q).await, vec![id(4)], "source disk");
    q.disk_id = None;
    q.tags = vec![tag("env", "prod")];
    assert_eq!(ids(store, &q).await, vec![id(1), id(0)], "one tag");
    q.tags = vec![tag("env", "prod"), tag("team", "a")];
    assert_eq!(ids(store, &q).await, vec![id(0)], "every tag must match");
    q.tags = vec![tag("env", "pro")];
    assert_eq!(
        store.list_snapshots(&q).await.unwrap().total,
        0,
        "exact value"
    );
    q.tags.clear();
    q.usage = Some(SnapshotUsage::Image);
    assert_eq!(
        ids(store, &q).await,
        vec![id(6), id(5)],
        "used by an image in any region"
    );
    q.usage = Some(SnapshotUsage::None);
    assert_eq!(store.list_snapshots(&q).await.unwrap().total, 7, "unused");
    for usage in [SnapshotUsage::Disk, SnapshotUsage::ImageDisk] {
        q.usage = Some(usage);
        assert_eq!(
            store.list_snapshots(&q).await.unwrap().total,
            0,
            "no snapshot is a disk's source yet"
        );
    }
    assert_eq!(store.count_snapshots(r, "111").await.unwrap(), 9, "count");
    assert_eq!(store.count_snapshots(r, "222").await.unwrap(), 1);
    assert_eq!(store.count_snapshots(r, "333").await.unwrap(), 0);
}

pub(super) async fn images_using_a_snapshot_are_found_in_every_region(store: &MetaStore) {
    let snap = sample_snapshot("r-snap-use", "111", "shared", 0);
    store.insert_snapshot(&snap).await.unwrap();
    assert!(
        store
            .images_using_snapshot(snap.id.as_str())
            .await
            .unwrap()
            .is_empty(),
        "a new snapshot backs nothing"
    );
    let mut made = Vec::new();
    for region in ["r-snap-use", "r-snap-use-copy"] {
        let mut img = sample_image(region, "111", "user", 0);
        img.disks[0].snapshot_id = Some(snap.id.clone());
        store.insert_image(&img).await.unwrap();
        made.push(img.id.to_string());
    }
    let mut want = made.clone();
    want.sort();
    assert_eq!(
        store.images_using_snapshot(snap.id.as_str()).await.unwrap(),
        want,
        "image IDs, sorted"
    );
    store.delete_image("r-snap-use", &made[0]).await.unwrap();
    assert_eq!(
        store.images_using_snapshot(snap.id.as_str()).await.unwrap(),
        vec![made[1].clone()],
        "a deleted image no longer uses it"
    );
}
