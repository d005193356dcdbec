//! Conformance cases for image shares (who sees a shared image, in which region, since when)
//! and marketplace subscriptions.

use chrono::{TimeZone, Utc};
use stencil_domain::AccountId;

use super::sample_image;
use crate::{ImageQuery, ImageShare, MetaError, MetaStore, Visibility, Write};

fn shared_with(account: &str) -> Visibility {
    Visibility {
        shared_with: AccountId::parse(account),
        ..Visibility::default()
    }
}

fn share(region: &str, image: &str, account: &str, minute: u32) -> Write {
    Write::ShareImage {
        region: region.into(),
        image_id: image.into(),
        account: account.into(),
        at: Utc.with_ymd_and_hms(2026, 3, 1, 0, minute, 0).unwrap(),
    }
}

pub(super) async fn shares_list_oldest_first_and_keep_the_first_time(store: &MetaStore) {
    let r = "r-share";
    let img = sample_image(r, "111", "shared", 0);
    store.insert_image(&img).await.unwrap();
    let id = img.id.to_string();
    store
        .apply(vec![
            share(r, &id, "333", 2),
            share(r, &id, "222", 1),
            share(r, &id, "444", 3),
        ])
        .await
        .unwrap();
    // Sharing again with a later time keeps the first one.
    store.apply(vec![share(r, &id, "222", 9)]).await.unwrap();
    assert_eq!(store.image_share_count(r, &id).await.unwrap(), 3);
    let page = store.list_image_shares(r, &id, 0, 2).await.unwrap();
    assert_eq!(page.total, 3, "total covers every share, not one page");
    assert_eq!(
        page.items,
        vec![
            ImageShare {
                account: "222".into(),
                shared_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 1, 0).unwrap(),
            },
            ImageShare {
                account: "333".into(),
                shared_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 2, 0).unwrap(),
            },
        ],
        "oldest share first, first time kept"
    );
    let page = store.list_image_shares(r, &id, 2, 2).await.unwrap();
    let accounts: Vec<_> = page.items.iter().map(|s| s.account.as_str()).collect();
    assert_eq!(accounts, ["444"], "second page");
    store
        .apply(vec![
            Write::UnshareImage {
                region: r.into(),
                image_id: id.clone(),
                account: "333".into(),
            },
            Write::UnshareImage {
                region: r.into(),
                image_id: id.clone(),
                account: "999".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        store.image_share_count(r, &id).await.unwrap(),
        2,
        "unsharing an account the image is not shared with is harmless"
    );
    let other = sample_image(r, "111", "private", 1);
    store.insert_image(&other).await.unwrap();
    let shared = store
        .shared_image_ids(r, &[id.clone(), other.id.to_string()])
        .await
        .unwrap();
    assert_eq!(shared.into_iter().collect::<Vec<_>>(), vec![id.clone()]);
    assert!(store.shared_image_ids(r, &[]).await.unwrap().is_empty());
    assert!(
        store
            .shared_image_ids("r-share-elsewhere", std::slice::from_ref(&id))
            .await
            .unwrap()
            .is_empty(),
        "a share belongs to its region"
    );
}

pub(super) async fn a_share_shows_the_image_to_that_account_only_until_unshared(store: &MetaStore) {
    let r = "r-share-vis";
    let img = sample_image(r, "111", "visible", 0);
    store.insert_image(&img).await.unwrap();
    let id = img.id.to_string();
    let q = ImageQuery::new(r, shared_with("222"));
    let listed = |page: crate::Page<stencil_domain::Image>| {
        (
            page.total,
            page.items
                .into_iter()
                .map(|i| i.id.to_string())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(listed(store.list_images(&q).await.unwrap()), (0, vec![]));
    store.apply(vec![share(r, &id, "222", 0)]).await.unwrap();
    assert_eq!(
        listed(store.list_images(&q).await.unwrap()),
        (1, vec![id.clone()]),
        "listed and counted at once (the count cache sees share writes)"
    );
    let q3 = ImageQuery::new(r, shared_with("333"));
    assert_eq!(
        store.list_images(&q3).await.unwrap().total,
        0,
        "not shared with 333"
    );
    let elsewhere = ImageQuery::new("r-share-vis-2", shared_with("222"));
    assert_eq!(store.list_images(&elsewhere).await.unwrap().total, 0);
    store
        .apply(vec![Write::UnshareImage {
            region: r.into(),
            image_id: id.clone(),
            account: "222".into(),
        }])
        .await
        .unwrap();
    assert_eq!(
        listed(store.list_images(&q).await.unwrap()),
        (0, vec![]),
        "unsharing takes effect at once"
    );
    store.apply(vec![share(r, &id, "222", 1)]).await.unwrap();
    store
        .apply(vec![Write::DeleteImage {
            region: r.into(),
            id: id.clone(),
        }])
        .await
        .unwrap();
    assert_eq!(
        store.image_share_count(r, &id).await.unwrap(),
        0,
        "deleting an image removes its shares"
    );
}

pub(super) async fn subscriptions_are_per_account_and_product(store: &MetaStore) {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let sub = |account: &str, code: &str| Write::Subscribe {
        account: account.into(),
        product_code: code.into(),
        at,
    };
    store
        .apply(vec![sub("111", "cmjj0001"), sub("111", "cmjj0001")])
        .await
        .unwrap();
    store.apply(vec![sub("222", "cmjj0002")]).await.unwrap();
    let codes = ["cmjj0001".to_string(), "cmjj0002".to_string()];
    let got = store.subscribed_products("111", &codes).await.unwrap();
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        vec!["cmjj0001".to_string()]
    );
    assert!(
        store
            .subscribed_products("333", &codes)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .subscribed_products("111", &[])
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn the_share_limit_is_checked_inside_the_batch(store: &MetaStore) {
    let r = "r-share-limit";
    let img = sample_image(r, "111", "limited", 0);
    store.insert_image(&img).await.unwrap();
    let id = img.id.to_string();
    let limit = |limit| Write::ShareLimit {
        region: r.into(),
        image_id: id.clone(),
        limit,
    };
    store
        .apply(vec![
            share(r, &id, "222", 0),
            share(r, &id, "333", 0),
            limit(2),
        ])
        .await
        .unwrap();
    let over = store.apply(vec![share(r, &id, "444", 0), limit(2)]).await;
    assert!(
        matches!(over, Err(MetaError::Conflict(_))),
        "a third account passes a limit of 2: {over:?}"
    );
    assert_eq!(
        store.image_share_count(r, &id).await.unwrap(),
        2,
        "the refused batch wrote nothing"
    );
    store
        .apply(vec![
            Write::UnshareImage {
                region: r.into(),
                image_id: id.clone(),
                account: "222".into(),
            },
            share(r, &id, "444", 0),
            limit(2),
        ])
        .await
        .expect("one out, one in stays within the limit");
}
