//! Conformance cases for who sees which images, and the catalog sync.

use stencil_domain::{AccountId, ImageKind};

use super::{ids, sample_image};
use crate::{ImageQuery, MetaStore, Visibility};

pub(super) async fn visibility_rules(store: &MetaStore) {
    let r = "r-vis";
    let mine = sample_image(r, "111", "mine", 0);
    let mut community = sample_image(r, "222", "community", 1);
    community.is_public = true;
    let theirs = sample_image(r, "222", "theirs", 2);
    let mut public = sample_image(r, "111", "public", 3);
    public.kind = ImageKind::Public;
    public.owner = None;
    for img in [&mine, &community, &theirs, &public] {
        store.insert_image(img).await.unwrap();
    }
    let everything = Visibility {
        system: true,
        marketplace: true,
        owned_by: AccountId::parse("111"),
        shared_with: AccountId::parse("111"),
        community_for: AccountId::parse("111"),
    };
    let mut q = ImageQuery::new(r, everything);
    q.limit = 100;
    let mut seen = ids(store, &q).await;
    seen.sort();
    let mut want = vec![
        mine.id.to_string(),
        community.id.to_string(),
        public.id.to_string(),
    ];
    want.sort();
    assert_eq!(seen, want, "another account's private image stays hidden");
    let q = ImageQuery::new(
        r,
        Visibility {
            system: true,
            ..Visibility::default()
        },
    );
    assert_eq!(
        ids(store, &q).await,
        vec![public.id.to_string()],
        "system only"
    );
}

pub(super) async fn catalog_sync_replaces_only_its_kind(store: &MetaStore) {
    let r = "r-cat";
    let custom = sample_image(r, "111", "custom", 0);
    store.insert_image(&custom).await.unwrap();
    let mk = |name: &str| {
        let mut i = sample_image(r, "111", name, 1);
        i.kind = ImageKind::Public;
        i.owner = None;
        i
    };
    let (a, b) = (mk("a"), mk("b"));
    store
        .sync_catalog(ImageKind::Public, &[a.clone(), b.clone()])
        .await
        .unwrap();
    store
        .sync_catalog(ImageKind::Public, std::slice::from_ref(&b))
        .await
        .unwrap();
    assert!(
        store.get_image(r, a.id.as_str()).await.unwrap().is_none(),
        "dropped entry removed"
    );
    assert!(store.get_image(r, b.id.as_str()).await.unwrap().is_some());
    assert!(
        store
            .get_image(r, custom.id.as_str())
            .await
            .unwrap()
            .is_some(),
        "custom untouched"
    );
    assert!(
        store
            .sync_catalog(ImageKind::Public, std::slice::from_ref(&custom))
            .await
            .is_err(),
        "kind checked"
    );
}
