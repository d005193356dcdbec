//! Conformance cases for leases and signature nonces.

use crate::{LeaseState, MetaStore};

/// One node at a time holds a lease; it is taken over only once expired; renewal, release and
/// cancel requests behave the same on every backend.
pub async fn a_lease_has_one_holder_until_it_expires(store: &MetaStore) {
    let (t0, ttl) = (1_000_000_i64, 10_000_i64);
    assert!(
        store
            .acquire_lease("task:t-1", "node-a", t0, ttl)
            .await
            .unwrap()
    );
    // Another node cannot take it before it expires; the holder may take it again.
    assert!(
        !store
            .acquire_lease("task:t-1", "node-b", t0 + 5_000, ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease("task:t-1", "node-a", t0 + 5_000, ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        store.lease_holder("task:t-1").await.unwrap(),
        Some(("node-a".to_string(), t0 + 5_000 + ttl))
    );
    assert_eq!(
        store
            .renew_lease("task:t-1", "node-a", t0 + 30_000)
            .await
            .unwrap(),
        LeaseState::Held { cancel: false }
    );
    assert!(
        !store
            .acquire_lease("task:t-1", "node-b", t0 + 29_000, ttl)
            .await
            .unwrap()
    );
    // Expired: taken over; the old holder's renewals then fail and its release does nothing.
    assert!(
        store
            .acquire_lease("task:t-1", "node-b", t0 + 30_001, ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .renew_lease("task:t-1", "node-a", t0 + 60_000)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    store.release_lease("task:t-1", "node-a").await.unwrap();
    assert_eq!(
        store.lease_holder("task:t-1").await.unwrap().map(|h| h.0),
        Some("node-b".to_string())
    );
    // A cancel request reaches the holder, and survives a takeover.
    assert!(store.request_cancel("task:t-1").await.unwrap());
    assert!(!store.request_cancel("task:t-none").await.unwrap());
    assert_eq!(
        store
            .renew_lease("task:t-1", "node-b", t0 + 40_000)
            .await
            .unwrap(),
        LeaseState::Held { cancel: true }
    );
    assert!(
        store
            .acquire_lease("task:t-1", "node-c", t0 + 40_001, ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .renew_lease("task:t-1", "node-c", t0 + 50_000)
            .await
            .unwrap(),
        LeaseState::Held { cancel: true }
    );
    // Live leases are those not expired at the given time.
    let live = store.live_leases(t0 + 45_000).await.unwrap();
    assert!(live.contains("task:t-1"), "{live:?}");
    assert!(
        !store
            .live_leases(t0 + 60_001)
            .await
            .unwrap()
            .contains("task:t-1")
    );
    // Released: free for anyone at once.
    store.release_lease("task:t-1", "node-c").await.unwrap();
    assert_eq!(store.lease_holder("task:t-1").await.unwrap(), None);
    assert!(
        store
            .acquire_lease("task:t-1", "node-a", t0 + 40_002, ttl)
            .await
            .unwrap()
    );
    assert!(store.acquire_lease("gc", "node-b", t0, ttl).await.unwrap());
    assert!(store.clear_leases().await.unwrap() >= 2);
    assert_eq!(store.lease_holder("gc").await.unwrap(), None);
}

/// Two nodes racing for one free lease: exactly one wins.
pub async fn racing_nodes_get_a_lease_once(store: &MetaStore) {
    for round in 0..20 {
        let name = format!("race-{round}");
        let (a, b) = tokio::join!(
            store.acquire_lease(&name, "node-a", 5_000, 1_000),
            store.acquire_lease(&name, "node-b", 5_000, 1_000),
        );
        assert!(
            a.unwrap() ^ b.unwrap(),
            "round {round}: exactly one node holds {name}"
        );
    }
}

/// A nonce is accepted once per AccessKey within the window, on every node of one database.
pub async fn a_nonce_is_accepted_once_per_access_key_within_the_window(store: &MetaStore) {
    let (now, window) = (1_800_000_000_i64, 1_800_i64);
    assert!(store.record_nonce("ak1", "n-1", now, window).await.unwrap());
    assert!(
        !store
            .record_nonce("ak1", "n-1", now + 10, window)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_nonce("ak2", "n-1", now + 10, window)
            .await
            .unwrap()
    );
    // Past the window the nonce may be used again (the timestamp check refuses old requests).
    assert!(
        store
            .record_nonce("ak1", "n-1", now + window + 1, window)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_nonce("ak1", "n-1", now + window + 2, window)
            .await
            .unwrap()
    );
    assert_eq!(store.purge_nonces(now + 11).await.unwrap(), 1); // ak2's
    assert!(
        !store
            .record_nonce("ak1", "n-1", now + window + 3, window)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_nonce("ak2", "n-1", now + window + 3, window)
            .await
            .unwrap()
    );
}
