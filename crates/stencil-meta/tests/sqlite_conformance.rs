//! The metadata conformance suite on SQLite.

#[tokio::test]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    let store = stencil_meta::MetaStore::open(&url).await.unwrap();
    stencil_meta::conformance::run(&store).await;
    store.close().await;
}

#[tokio::test]
async fn reopening_keeps_data_and_reruns_migrations_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    let store = stencil_meta::MetaStore::open(&url).await.unwrap();
    let img = stencil_meta::conformance::sample_image("r", "1", "kept", 0);
    store.insert_image(&img).await.unwrap();
    store.close().await;
    let store = stencil_meta::MetaStore::open(&url).await.unwrap();
    assert_eq!(
        store.get_image("r", img.id.as_str()).await.unwrap(),
        Some(img)
    );
}

#[tokio::test]
async fn unknown_url_scheme_is_a_config_error() {
    let err = stencil_meta::MetaStore::open("mysql://x")
        .await
        .unwrap_err();
    assert!(matches!(err, stencil_meta::MetaError::Config(_)), "{err}");
}
