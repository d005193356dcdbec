//! The metadata conformance suite on PostgreSQL, when `STENCIL_TEST_POSTGRES_URL` names a
//! server (`postgres://user@host:port/postgres`); skipped otherwise. Each run creates and
//! drops its own database, so the suite always starts from an empty store.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

const URL_VAR: &str = "STENCIL_TEST_POSTGRES_URL";

#[tokio::test]
async fn postgres_store_passes_the_conformance_suite() {
    let Ok(admin_url) = std::env::var(URL_VAR) else {
        eprintln!("{URL_VAR} is not set: skipping the PostgreSQL conformance suite");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let db = format!("stencil_conformance_{}_{nanos}", std::process::id());
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("URL has a database path");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();

    let url = format!("{base}/{db}");
    let store = stencil_meta::MetaStore::open(&url).await.unwrap();
    assert_eq!(store.backend(), stencil_meta::Backend::Postgres);
    stencil_meta::conformance::run(&store).await;
    let other = stencil_meta::MetaStore::open(&url).await.unwrap();
    stencil_meta::conformance::listing_totals_follow_writes_of_another_node(&store, &other).await;
    other.close().await;
    store.close().await;
    // Opening again reruns the migrations harmlessly.
    let store = stencil_meta::MetaStore::open(&url).await.unwrap();
    store.close().await;

    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
}
