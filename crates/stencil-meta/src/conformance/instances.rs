//! Instances and disks: round trips, filters, compare-and-swap and the lookups the services
//! make (instances of an image, disks of an instance or from a snapshot).

use chrono::{TimeZone, Utc};
use stencil_domain::{
    AccountId, Architecture, Disk, DiskCategory, DiskId, DiskStatus, DiskType, ImageId, Instance,
    InstanceId, InstanceStatus, OsType, SnapshotId, Tag,
};

use crate::{DiskQuery, InstanceQuery, MetaError, MetaStore, Write};

/// A Running instance of `owner` from `image` in `region`, created `minute` minutes after
/// 2026-01-01.
pub fn sample_instance(region: &str, owner: &str, image: &str, minute: i64) -> Instance {
    let id = InstanceId::generate(region);
    Instance {
        name: id.to_string(),
        id,
        region: region.to_string(),
        zone_id: format!("{region}-a"),
        owner: AccountId::parse(owner).expect("owner"),
        description: String::new(),
        host_name: "host".into(),
        instance_type: "ecs.g7.large".into(),
        cpu: 2,
        memory_mib: 8192,
        image_id: ImageId::parse(image).expect("image"),
        os_type: OsType::Linux,
        os_name: "Linux".into(),
        architecture: Architecture::X86_64,
        status: InstanceStatus::Running,
        creation_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::minutes(minute),
        start_time: None,
        system_disk: DiskId::generate(region),
        data_disks: Vec::new(),
        product_code: String::new(),
        io_optimized: true,
        tags: Vec::new(),
    }
}

/// The system disk of `instance`.
pub fn sample_disk(instance: &Instance, snapshot: Option<&str>) -> Disk {
    Disk {
        id: instance.system_disk.clone(),
        region: instance.region.clone(),
        zone_id: instance.zone_id.clone(),
        owner: instance.owner.clone(),
        instance_id: Some(instance.id.clone()),
        name: String::new(),
        description: String::new(),
        disk_type: DiskType::System,
        category: DiskCategory::CloudEssd,
        size_gib: 40,
        device: "/dev/xvda".into(),
        status: DiskStatus::InUse,
        creation_time: instance.creation_time,
        attached_time: Some(instance.creation_time),
        image_id: Some(instance.image_id.clone()),
        source_snapshot_id: snapshot.and_then(SnapshotId::parse),
        delete_with_instance: true,
        product_code: String::new(),
        encrypted: false,
        kms_key_id: String::new(),
        base_index: Disk::base_index_name(&instance.system_disk, 0),
        generation: 0,
        node: String::new(),
        tags: Vec::new(),
    }
}

/// Stores an instance with its system disk.
async fn insert(store: &MetaStore, i: &Instance, d: &Disk) {
    store
        .apply(vec![
            Write::InsertInstance(Box::new(i.clone())),
            Write::InsertDisk(Box::new(d.clone())),
        ])
        .await
        .expect("insert instance and disk");
}

pub(super) async fn instances_and_disks_round_trip_and_a_duplicate_conflicts(store: &MetaStore) {
    let mut i = sample_instance("r-inst", "111", "m-img1", 0);
    i.tags = vec![Tag {
        key: "env".into(),
        value: "prod".into(),
    }];
    let d = sample_disk(&i, Some("s-src1"));
    insert(store, &i, &d).await;
    assert_eq!(
        store.get_instance(i.id.as_str()).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        store.get_disk(d.id.as_str()).await.unwrap(),
        Some(d.clone())
    );
    let dup = store
        .apply(vec![Write::InsertInstance(Box::new(i.clone()))])
        .await;
    assert!(matches!(dup, Err(MetaError::Conflict(_))), "{dup:?}");
    assert_eq!(
        store.disks_of_instance(i.id.as_str()).await.unwrap(),
        vec![d.clone()]
    );
    assert_eq!(
        store.disks_from_snapshot("s-src1").await.unwrap(),
        vec![d.clone()]
    );
    assert_eq!(
        store.disks_from_image("r-inst", "m-img1").await.unwrap(),
        vec![d.clone()]
    );
    assert!(store.all_disks().await.unwrap().contains(&d));
    store
        .apply(vec![
            Write::DeleteInstance(i.id.to_string()),
            Write::DeleteDisk(d.id.to_string()),
        ])
        .await
        .unwrap();
    assert_eq!(store.get_instance(i.id.as_str()).await.unwrap(), None);
    assert_eq!(store.get_disk(d.id.as_str()).await.unwrap(), None);
    let mut q = InstanceQuery::new("r-inst");
    q.tags = i.tags.clone();
    assert_eq!(
        store.list_instances(&q).await.unwrap().total,
        0,
        "tags go too"
    );
}

pub(super) async fn instance_and_disk_listings_filter_and_page_newest_first(store: &MetaStore) {
    let region = "r-list-inst";
    let mut made = Vec::new();
    for (n, (owner, image, status)) in [
        ("111", "m-a", InstanceStatus::Running),
        ("111", "m-a", InstanceStatus::Stopped),
        ("111", "m-b", InstanceStatus::Running),
        ("222", "m-a", InstanceStatus::Running),
    ]
    .into_iter()
    .enumerate()
    {
        let mut i = sample_instance(region, owner, image, n as i64);
        i.status = status;
        if n == 2 {
            i.tags = vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }];
        }
        let d = sample_disk(&i, None);
        insert(store, &i, &d).await;
        made.push((i, d));
    }
    let mut q = InstanceQuery::new(region);
    q.owner = Some("111".into());
    let page = store.list_instances(&q).await.unwrap();
    assert_eq!(page.total, 3);
    let ids: Vec<_> = page.items.iter().map(|i| i.id.clone()).collect();
    assert_eq!(
        ids,
        vec![
            made[2].0.id.clone(),
            made[1].0.id.clone(),
            made[0].0.id.clone()
        ],
        "newest first"
    );
    q.status = Some(InstanceStatus::Running);
    assert_eq!(store.list_instances(&q).await.unwrap().total, 2);
    q.status = None;
    q.image_id = Some("m-a".into());
    assert_eq!(store.list_instances(&q).await.unwrap().total, 2);
    q.image_id = None;
    q.tags = made[2].0.tags.clone();
    assert_eq!(
        store.list_instances(&q).await.unwrap().items[0].id,
        made[2].0.id
    );
    q.tags.clear();
    q.ids = vec![made[0].0.id.to_string(), made[3].0.id.to_string()];
    assert_eq!(
        store.list_instances(&q).await.unwrap().total,
        1,
        "ids of others are not listed"
    );
    q.ids.clear();
    q.limit = 1;
    q.offset = 1;
    let page = store.list_instances(&q).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));
    assert_eq!(page.items[0].id, made[1].0.id);
    assert_eq!(
        store
            .count_instances_using_image(region, "m-a")
            .await
            .unwrap(),
        3,
        "every owner's instances count"
    );

    let mut dq = DiskQuery::new(region);
    dq.owner = Some("222".into());
    assert_eq!(
        store.list_disks(&dq).await.unwrap().items,
        vec![made[3].1.clone()]
    );
    dq.owner = None;
    dq.instance_id = Some(made[1].0.id.to_string());
    assert_eq!(
        store.list_disks(&dq).await.unwrap().items,
        vec![made[1].1.clone()]
    );
    dq.instance_id = None;
    dq.disk_type = Some(DiskType::Data);
    assert_eq!(store.list_disks(&dq).await.unwrap().total, 0);
    dq.disk_type = Some(DiskType::System);
    dq.status = Some(DiskStatus::InUse);
    assert_eq!(store.list_disks(&dq).await.unwrap().total, 4);
}

pub(super) async fn replacing_an_instance_or_disk_that_changed_conflicts(store: &MetaStore) {
    let i = sample_instance("r-cas-inst", "111", "m-c", 0);
    let d = sample_disk(&i, None);
    insert(store, &i, &d).await;
    let mut stopped = i.clone();
    stopped.status = InstanceStatus::Stopped;
    store
        .apply(vec![Write::ReplaceInstance {
            expected: Box::new(i.clone()),
            new: Box::new(stopped.clone()),
        }])
        .await
        .expect("first swap wins");
    let mut again = i.clone();
    again.status = InstanceStatus::Pending;
    let lost = store
        .apply(vec![Write::ReplaceInstance {
            expected: Box::new(i.clone()),
            new: Box::new(again),
        }])
        .await;
    assert!(matches!(lost, Err(MetaError::Conflict(_))), "{lost:?}");
    assert_eq!(
        store.get_instance(i.id.as_str()).await.unwrap(),
        Some(stopped)
    );

    let mut reset = d.clone();
    reset.generation = 1;
    let stale = Disk {
        generation: 7,
        ..d.clone()
    };
    let lost = store
        .apply(vec![Write::ReplaceDisk {
            expected: Box::new(stale),
            new: Box::new(reset.clone()),
        }])
        .await;
    assert!(matches!(lost, Err(MetaError::Conflict(_))), "{lost:?}");
    store
        .apply(vec![Write::ReplaceDisk {
            expected: Box::new(d.clone()),
            new: Box::new(reset.clone()),
        }])
        .await
        .unwrap();
    assert_eq!(store.get_disk(d.id.as_str()).await.unwrap(), Some(reset));
}
