//! The conformance suite every backend passes. Tests call [`run`] with a freshly opened, empty
//! store; it panics with a message naming the failed expectation.

use chrono::{TimeZone, Utc};
use stencil_domain::filter::OnlineFeature;
use stencil_domain::{
    AccountId, Architecture, BootMode, DiskDeviceMapping, DiskType, Image, ImageFeatures, ImageId,
    ImageKind, ImageStatus, OsType, Platform, SnapshotId, StatusFilter, Support, Tag, TraitCombo,
    Usage,
};

use crate::{ImageQuery, MetaError, MetaStore, Visibility};

mod instances;
mod leases;
mod lifecycle;
mod shares;
mod snapshots;
mod tasks;
mod visibility;

pub use instances::{sample_disk, sample_instance};
pub use snapshots::sample_snapshot;
pub use tasks::sample_task;

/// A custom image owned by `owner` with sensible defaults, created `minute` minutes after
/// 2026-01-01.
pub fn sample_image(region: &str, owner: &str, name: &str, minute: i64) -> Image {
    Image {
        id: ImageId::generate(region),
        region: region.to_string(),
        kind: ImageKind::Custom,
        owner: AccountId::parse(owner),
        name: name.to_string(),
        description: String::new(),
        family: String::new(),
        version: String::new(),
        status: ImageStatus::Available,
        progress: 100,
        creation_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::minutes(minute),
        size_gib: 20,
        architecture: Architecture::X86_64,
        os_type: OsType::Linux,
        platform: Platform::default(),
        os_name: String::new(),
        os_name_en: String::new(),
        boot_mode: BootMode::Bios,
        is_support_cloudinit: true,
        is_support_io_optimized: true,
        login_as_non_root_supported: false,
        license_type: String::new(),
        license_billed: false,
        features: ImageFeatures::default(),
        resource_group_id: String::new(),
        usage: Usage::None,
        is_copied: false,
        is_public: false,
        product_code: String::new(),
        supplier_name: String::new(),
        disks: vec![DiskDeviceMapping {
            disk_type: DiskType::System,
            device: "/dev/xvda".into(),
            size_gib: 20,
            snapshot_id: Some(SnapshotId::generate(region)),
            format: None,
            import_oss_bucket: None,
            import_oss_object: None,
            progress: 100,
            encrypted: false,
        }],
        tags: Vec::new(),
    }
}

fn own(account: &str) -> Visibility {
    Visibility {
        owned_by: AccountId::parse(account),
        ..Visibility::default()
    }
}

async fn ids(store: &MetaStore, q: &ImageQuery) -> Vec<String> {
    store
        .list_images(q)
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.id.to_string())
        .collect()
}

/// Runs every expectation against `store`.
pub async fn run(store: &MetaStore) {
    round_trip_and_conflict(store).await;
    listing_filters_and_paging(store).await;
    counts_follow_writes(store).await;
    visibility::visibility_rules(store).await;
    visibility::catalog_sync_replaces_only_its_kind(store).await;
    tasks::tasks_round_trip_and_a_duplicate_id_conflicts(store).await;
    tasks::task_listing_filters_and_pages_newest_first(store).await;
    tasks::unfinished_tasks_are_waiting_or_processing_oldest_first(store).await;
    tasks::task_counts_follow_owner_action_and_status(store).await;
    snapshots::snapshots_round_trip_with_their_tags(store).await;
    snapshots::snapshot_listing_filters_and_pages_newest_first(store).await;
    snapshots::images_using_a_snapshot_are_found_in_every_region(store).await;
    lifecycle::quota_counts_cover_custom_images_and_families(store).await;
    lifecycle::client_tokens_are_written_once_per_key(store).await;
    lifecycle::a_batch_commits_every_write_together(store).await;
    lifecycle::replacing_an_image_that_changed_since_it_was_read_conflicts(store).await;
    lifecycle::a_batch_whose_last_write_conflicts_leaves_nothing_written(store).await;
    lifecycle::tag_listing_returns_every_tag_of_matching_resources(store).await;
    instances::instances_and_disks_round_trip_and_a_duplicate_conflicts(store).await;
    instances::instance_and_disk_listings_filter_and_page_newest_first(store).await;
    instances::replacing_an_instance_or_disk_that_changed_conflicts(store).await;
    shares::shares_list_oldest_first_and_keep_the_first_time(store).await;
    shares::a_share_shows_the_image_to_that_account_only_until_unshared(store).await;
    shares::subscriptions_are_per_account_and_product(store).await;
    shares::the_share_limit_is_checked_inside_the_batch(store).await;
    leases::a_lease_has_one_holder_until_it_expires(store).await;
    leases::racing_nodes_get_a_lease_once(store).await;
    leases::a_nonce_is_accepted_once_per_access_key_within_the_window(store).await;
}

async fn round_trip_and_conflict(store: &MetaStore) {
    let mut img = sample_image("r-rt", "111", "round-trip", 0);
    img.tags = vec![Tag {
        key: "env".into(),
        value: "prod".into(),
    }];
    store.insert_image(&img).await.expect("insert");
    assert_eq!(
        store
            .get_image("r-rt", img.id.as_str())
            .await
            .unwrap()
            .as_ref(),
        Some(&img)
    );
    assert!(
        matches!(store.insert_image(&img).await, Err(MetaError::Conflict(_))),
        "duplicate insert"
    );
    assert!(
        store
            .image_name_taken("r-rt", "111", "round-trip")
            .await
            .unwrap()
    );
    assert!(
        !store
            .image_name_taken("r-rt", "222", "round-trip")
            .await
            .unwrap()
    );

    img.name = "renamed".into();
    img.status = ImageStatus::Deprecated;
    store.update_image(&img).await.expect("update");
    let back = store
        .get_image("r-rt", img.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.name.as_str(), back.status),
        ("renamed", ImageStatus::Deprecated)
    );
    assert!(store.delete_image("r-rt", img.id.as_str()).await.unwrap());
    assert!(!store.delete_image("r-rt", img.id.as_str()).await.unwrap());
    assert!(
        store
            .get_image("r-rt", img.id.as_str())
            .await
            .unwrap()
            .is_none()
    );
}

async fn listing_filters_and_paging(store: &MetaStore) {
    let r = "r-list";
    let mut made = Vec::new();
    for n in 0..25 {
        let mut img = sample_image(r, "111", &format!("web-{n:02}"), n);
        if n % 5 == 0 {
            img.os_type = OsType::Windows;
            img.architecture = Architecture::I386;
        }
        if n % 2 == 0 {
            img.tags = vec![Tag {
                key: "env".into(),
                value: if n % 4 == 0 { "prod" } else { "dev" }.into(),
            }];
        }
        if n == 11 {
            img.features.cpu_online_upgrade = Some(Support::Supported);
        }
        if n == 7 {
            img.status = ImageStatus::Creating;
            img.family = "fam".into();
        }
        store.insert_image(&img).await.unwrap();
        made.push(img);
    }
    let mut q = ImageQuery::new(r, own("111"));
    q.limit = 10;
    let page = store.list_images(&q).await.unwrap();
    assert_eq!(page.total, 24, "default status filter is Available only");
    assert_eq!(page.items.len(), 10);
    assert_eq!(page.items[0].name, "web-24", "newest first");
    q.offset = 20;
    assert_eq!(
        store.list_images(&q).await.unwrap().items.len(),
        4,
        "last page"
    );

    let mut q = ImageQuery::new(r, own("111"));
    q.filter.statuses = StatusFilter::All;
    q.filter.family = Some("fam".into());
    assert_eq!(
        ids(store, &q).await,
        vec![made[7].id.to_string()],
        "family + ALL"
    );

    let mut q = ImageQuery::new(r, own("111"));
    q.limit = 100;
    q.filter.os_type = Some(OsType::Windows);
    assert_eq!(store.list_images(&q).await.unwrap().total, 5, "OSType");
    q.filter.os_type = None;
    q.filter.architectures = Some(vec![Architecture::X86_64]);
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        19,
        "architecture"
    );
    q.filter.architectures = None;
    q.filter.tags = vec![("env".into(), Some("prod".into()))];
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        7,
        "tag key=value"
    );
    q.filter.tags = vec![("env".into(), None)];
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        13,
        "tag key only"
    );
    q.filter.tags.clear();
    q.filter.name_contains = Some("WEB-1".into());
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        10,
        "name is a case-insensitive substring"
    );
    q.filter.name_contains = Some("_".into());
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        0,
        "LIKE wildcards are literal"
    );
    q.filter.name_contains = None;
    q.filter.ids = vec![
        made[3].id.to_string(),
        made[4].id.to_string(),
        "m-none".into(),
    ];
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        2,
        "ImageId list"
    );
    q.filter.ids.clear();
    let snap = made[9].disks[0].snapshot_id.clone().unwrap();
    q.filter.snapshot_id = Some(snap.to_string());
    assert_eq!(
        ids(store, &q).await,
        vec![made[9].id.to_string()],
        "SnapshotId"
    );
    q.filter.snapshot_id = None;
    q.filter.compatible = Some(vec![TraitCombo {
        architecture: Architecture::I386,
        boot_mode: BootMode::Bios,
        os_type: OsType::Windows,
        nvme: false,
    }]);
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        5,
        "trait combinations"
    );
    q.filter.compatible = Some(Vec::new());
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        0,
        "no combination admits nothing"
    );
    q.filter.compatible = None;
    q.filter.online_features = vec![(OnlineFeature::CpuOnlineUpgrade, true)];
    assert_eq!(
        ids(store, &q).await,
        vec![made[11].id.to_string()],
        "online feature supported"
    );
    q.filter.online_features = vec![(OnlineFeature::CpuOnlineUpgrade, false)];
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        23,
        "online feature unsupported"
    );
    q.filter.online_features.clear();
    q.filter.created_from = Some(made[20].creation_time);
    q.filter.created_to = Some(made[22].creation_time);
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        3,
        "creation time bounds are inclusive"
    );
}

async fn counts_follow_writes(store: &MetaStore) {
    let r = "r-count";
    let q = ImageQuery::new(r, own("111"));
    assert_eq!(store.list_images(&q).await.unwrap().total, 0);
    let mut img = sample_image(r, "111", "first", 0);
    store.insert_image(&img).await.unwrap();
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        1,
        "a repeated listing sees the insert"
    );
    img.status = ImageStatus::Deprecated;
    store.update_image(&img).await.unwrap();
    assert_eq!(
        store.list_images(&q).await.unwrap().total,
        0,
        "and the update"
    );
    store.delete_image(r, img.id.as_str()).await.unwrap();
    let mut all = ImageQuery::new(r, own("111"));
    all.filter.statuses = StatusFilter::All;
    assert_eq!(
        store.list_images(&all).await.unwrap().total,
        0,
        "and the delete"
    );
}

/// Two stores on one database (two nodes): a listing's total follows the other store's image,
/// share and delete writes at once. Only for backends several nodes share (PostgreSQL).
pub async fn listing_totals_follow_writes_of_another_node(a: &MetaStore, b: &MetaStore) {
    let r = "r-nodes";
    let q = ImageQuery::new(r, own("555"));
    let total = |s: &MetaStore| {
        let q = q.clone();
        let s = s.clone();
        async move { s.list_images(&q).await.unwrap().total }
    };
    assert_eq!(total(a).await, 0);
    let first = sample_image(r, "555", "first", 0);
    b.insert_image(&first).await.unwrap();
    assert_eq!(total(a).await, 1, "an insert on the other node");
    assert_eq!(total(a).await, 1, "cached");
    b.insert_image(&sample_image(r, "555", "second", 1))
        .await
        .unwrap();
    assert_eq!(total(a).await, 2);
    b.delete_image(r, first.id.as_str()).await.unwrap();
    assert_eq!(total(a).await, 1, "a delete on the other node");
}
