//! Conformance cases for quota counts, client tokens, atomic batches and tag listing.

use stencil_domain::{ImageKind, ImageStatus, StatusFilter, TagResourceType, TaskAction};

use super::snapshots::{sample_snapshot, tag};
use super::tasks::sample_task;
use super::{own, sample_image};
use crate::{
    ClientToken, ImageQuery, MetaError, MetaStore, SnapshotQuery, TagListQuery, TagRow, Write,
};

fn token(owner: &str, action: &str, token: &str, fingerprint: &str) -> ClientToken {
    ClientToken {
        owner: owner.into(),
        region: "r-token".into(),
        action: action.into(),
        token: token.into(),
        fingerprint: fingerprint.into(),
        result: format!("result-of-{fingerprint}"),
    }
}

pub(super) async fn quota_counts_cover_custom_images_and_families(store: &MetaStore) {
    let r = "r-quota";
    for (n, (owner, family, status)) in [
        ("111", "a", ImageStatus::Available),
        ("111", "a", ImageStatus::Creating),
        ("111", "b", ImageStatus::Deprecated),
        ("111", "", ImageStatus::Available),
        ("222", "c", ImageStatus::Available),
    ]
    .into_iter()
    .enumerate()
    {
        let mut img = sample_image(r, owner, &format!("q-{n}"), n as i64);
        img.family = family.into();
        img.status = status;
        store.insert_image(&img).await.unwrap();
    }
    let mut public = sample_image(r, "111", "catalog", 9);
    public.kind = ImageKind::Public;
    public.family = "a".into();
    store.insert_image(&public).await.unwrap();
    let other_region = sample_image("r-quota-other", "111", "q", 0);
    store.insert_image(&other_region).await.unwrap();

    let n = store.count_custom_images(r, "111").await.unwrap();
    assert_eq!(n, 4, "custom images in any status, not catalog ones");
    assert_eq!(store.count_custom_images(r, "333").await.unwrap(), 0);
    let n = store.count_family_images(r, "111", "a").await.unwrap();
    assert_eq!(n, 2, "images of one family");
    let n = store.count_family_images(r, "111", "c").await.unwrap();
    assert_eq!(n, 0, "another owner's family");
    let n = store.count_families(r, "111").await.unwrap();
    assert_eq!(n, 2, "distinct non-empty families");
}

pub(super) async fn client_tokens_are_written_once_per_key(store: &MetaStore) {
    let first = token("111", "CreateImage", "tok-1", "fp-1");
    assert_eq!(
        store
            .get_client_token("111", "r-token", "CreateImage", "tok-1")
            .await
            .unwrap(),
        None,
        "an unknown token"
    );
    store
        .apply(vec![Write::InsertToken(first.clone())])
        .await
        .expect("first token");
    let get = || store.get_client_token("111", "r-token", "CreateImage", "tok-1");
    assert_eq!(get().await.unwrap().as_ref(), Some(&first), "reads back");
    let retry = token("111", "CreateImage", "tok-1", "fp-2");
    assert!(
        matches!(
            store.apply(vec![Write::InsertToken(retry)]).await,
            Err(MetaError::Conflict(_))
        ),
        "a second token with the same key is a conflict"
    );
    assert_eq!(get().await.unwrap(), Some(first), "the first one stays");
    for other in [
        token("111", "CopyImage", "tok-1", "fp-3"),
        token("222", "CreateImage", "tok-1", "fp-4"),
    ] {
        store
            .apply(vec![Write::InsertToken(other)])
            .await
            .expect("the key is owner, region, action and token");
    }
}

pub(super) async fn a_batch_commits_every_write_together(store: &MetaStore) {
    let r = "r-batch";
    let mut all = ImageQuery::new(r, own("111"));
    all.filter.statuses = StatusFilter::All;
    assert_eq!(store.list_images(&all).await.unwrap().total, 0);

    let mut snap = sample_snapshot(r, "111", "disk", 0);
    snap.tags = vec![tag("env", "prod")];
    let mut image = sample_image(r, "111", "made", 0);
    image.status = ImageStatus::Creating;
    image.disks[0].snapshot_id = Some(snap.id.clone());
    let task = sample_task(r, "111", TaskAction::CreateImage, image.id.as_str(), 0);
    let tok = ClientToken {
        region: r.into(),
        ..token("111", "CreateImage", "tok-batch", "fp")
    };
    store
        .apply(vec![
            Write::InsertSnapshot(snap.clone()),
            Write::InsertImage(image.clone()),
            Write::InsertTask(task.clone()),
            Write::InsertToken(tok.clone()),
        ])
        .await
        .expect("batch");
    assert_eq!(
        store.list_images(&all).await.unwrap().total,
        1,
        "a batch that writes an image refreshes listing counts"
    );
    assert_eq!(
        store.get_image(r, image.id.as_str()).await.unwrap(),
        Some(image.clone())
    );
    assert_eq!(store.get_task(task.id.as_str()).await.unwrap(), Some(task));
    assert_eq!(
        store.get_snapshot(snap.id.as_str()).await.unwrap(),
        Some(snap.clone())
    );
    let got = store
        .get_client_token("111", r, "CreateImage", "tok-batch")
        .await
        .unwrap();
    assert_eq!(got, Some(tok));

    let mut done = image.clone();
    done.status = ImageStatus::Available;
    let mut gone = snap.clone();
    gone.tags.clear();
    store
        .apply(vec![
            Write::PutImage(done.clone()),
            Write::PutSnapshot(gone),
            Write::DeleteSnapshot(snap.id.to_string()),
        ])
        .await
        .expect("put and delete");
    assert_eq!(
        store.get_image(r, image.id.as_str()).await.unwrap(),
        Some(done),
        "PutImage replaces"
    );
    assert!(
        store
            .get_snapshot(snap.id.as_str())
            .await
            .unwrap()
            .is_none(),
        "writes apply in order"
    );
    store
        .apply(vec![Write::DeleteImage {
            region: r.into(),
            id: image.id.to_string(),
        }])
        .await
        .unwrap();
    assert_eq!(
        store.list_images(&all).await.unwrap().total,
        0,
        "a batch that deletes an image refreshes listing counts"
    );
}

pub(super) async fn a_batch_whose_last_write_conflicts_leaves_nothing_written(store: &MetaStore) {
    let r = "r-batch-fail";
    let kept = sample_image(r, "111", "kept", 0);
    store.insert_image(&kept).await.unwrap();
    let tok = ClientToken {
        region: r.into(),
        ..token("111", "CreateImage", "tok-taken", "fp")
    };
    store
        .apply(vec![Write::InsertToken(tok.clone())])
        .await
        .unwrap();
    let mut all = ImageQuery::new(r, own("111"));
    all.filter.statuses = StatusFilter::All;
    assert_eq!(store.list_images(&all).await.unwrap().total, 1);

    let mut snap = sample_snapshot(r, "111", "new", 1);
    snap.tags = vec![tag("env", "prod")];
    let mut image = sample_image(r, "111", "new", 1);
    image.tags = vec![tag("env", "prod")];
    let task = sample_task(r, "111", TaskAction::ImportImage, image.id.as_str(), 1);
    let mut changed = kept.clone();
    changed.name = "changed".into();
    let result = store
        .apply(vec![
            Write::InsertImage(image.clone()),
            Write::InsertTask(task.clone()),
            Write::InsertSnapshot(snap.clone()),
            Write::PutImage(changed),
            Write::DeleteImage {
                region: r.into(),
                id: kept.id.to_string(),
            },
            Write::InsertToken(ClientToken {
                fingerprint: "other".into(),
                ..tok.clone()
            }),
        ])
        .await;
    assert!(
        matches!(result, Err(MetaError::Conflict(_))),
        "the last write conflicts: {result:?}"
    );
    assert!(
        store
            .get_image(r, image.id.as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_task(task.id.as_str()).await.unwrap().is_none());
    assert!(
        store
            .get_snapshot(snap.id.as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.get_image(r, kept.id.as_str()).await.unwrap(),
        Some(kept),
        "the earlier put and delete are rolled back"
    );
    let images = store.list_images(&all).await.unwrap().total;
    assert_eq!(images, 1, "listing counts are unchanged");
    let mut sq = SnapshotQuery::new(r);
    sq.tags = vec![tag("env", "prod")];
    assert_eq!(store.list_snapshots(&sq).await.unwrap().total, 0);
    for kind in [TagResourceType::Image, TagResourceType::Snapshot] {
        let rows = store
            .list_tag_rows(&TagListQuery::new(r, "111", kind))
            .await
            .unwrap();
        assert!(rows.is_empty(), "no {kind} tag rows are left: {rows:?}");
    }
    let got = store
        .get_client_token("111", r, "CreateImage", "tok-taken")
        .await
        .unwrap();
    assert_eq!(got, Some(tok), "the stored token is untouched");
}

fn rows(rows: &[(&str, &str, &str)]) -> Vec<TagRow> {
    let mut out: Vec<TagRow> = rows
        .iter()
        .map(|(id, k, v)| TagRow {
            resource_id: id.to_string(),
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect();
    out.sort_by(|a, b| (&a.resource_id, &a.key).cmp(&(&b.resource_id, &b.key)));
    out
}

pub(super) async fn tag_listing_returns_every_tag_of_matching_resources(store: &MetaStore) {
    let r = "r-tags";
    let mut a = sample_image(r, "111", "a", 0);
    a.tags = vec![tag("env", "prod"), tag("team", "x")];
    let mut b = sample_image(r, "111", "b", 1);
    b.tags = vec![tag("env", "dev")];
    let mut theirs = sample_image(r, "222", "theirs", 2);
    theirs.tags = vec![tag("env", "prod")];
    let mut elsewhere = sample_image("r-tags-other", "111", "elsewhere", 3);
    elsewhere.tags = vec![tag("env", "prod")];
    let mut s = sample_snapshot(r, "111", "s", 0);
    s.tags = vec![tag("env", "prod"), tag("disk", "sys")];
    let mut their_snap = sample_snapshot(r, "222", "t", 0);
    their_snap.tags = vec![tag("env", "prod")];
    let mut writes: Vec<Write> = [a.clone(), b.clone(), theirs, elsewhere]
        .into_iter()
        .map(Write::InsertImage)
        .collect();
    writes.push(Write::InsertSnapshot(s.clone()));
    writes.push(Write::InsertSnapshot(their_snap));
    store.apply(writes).await.unwrap();
    let (a, b, s) = (a.id.to_string(), b.id.to_string(), s.id.to_string());

    let mut q = TagListQuery::new(r, "111", TagResourceType::Image);
    let all = rows(&[(&a, "env", "prod"), (&a, "team", "x"), (&b, "env", "dev")]);
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(got, all, "the owner's image tags in the region, in order");
    q.offset = 1;
    q.limit = 1;
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(got, all[1..2].to_vec(), "rows page");
    q.offset = 0;
    q.limit = 50;
    q.tags = vec![("env".into(), Some("prod".into()))];
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(
        got,
        rows(&[(&a, "env", "prod"), (&a, "team", "x")]),
        "every tag of a matching resource"
    );
    q.tags = vec![("env".into(), None), ("team".into(), None)];
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(got.len(), 2, "all listed keys must be present");
    q.tags = vec![
        ("env".into(), Some("prod".into())),
        ("team".into(), Some("y".into())),
    ];
    let got = store.list_tag_rows(&q).await.unwrap();
    assert!(got.is_empty(), "values are exact");
    q.tags.clear();
    q.resource_ids = vec![b.clone(), "m-unknown".into()];
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(got, rows(&[(&b, "env", "dev")]), "resource IDs");

    let mut q = TagListQuery::new(r, "111", TagResourceType::Snapshot);
    let got = store.list_tag_rows(&q).await.unwrap();
    assert_eq!(
        got,
        rows(&[(&s, "disk", "sys"), (&s, "env", "prod")]),
        "snapshot tags"
    );
    q.tags = vec![("disk".into(), Some("data".into()))];
    assert!(store.list_tag_rows(&q).await.unwrap().is_empty());
}

pub(super) async fn replacing_an_image_that_changed_since_it_was_read_conflicts(store: &MetaStore) {
    let r = "r-cas";
    let image = sample_image(r, "111", "cas", 0);
    store.insert_image(&image).await.unwrap();
    let read = store
        .get_image(r, image.id.as_str())
        .await
        .unwrap()
        .unwrap();

    let mut tagged = read.clone();
    tagged.tags = vec![tag("env", "prod")];
    store
        .apply(vec![Write::ReplaceImage {
            expected: Box::new(read.clone()),
            new: Box::new(tagged.clone()),
        }])
        .await
        .expect("the record is as read: replaced");

    let mut stale = read.clone();
    stale.status = ImageStatus::Deprecated;
    let err = store
        .apply(vec![Write::ReplaceImage {
            expected: Box::new(read),
            new: Box::new(stale),
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.get_image(r, image.id.as_str()).await.unwrap(),
        Some(tagged),
        "the newer write stays"
    );
}
