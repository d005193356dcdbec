//! Leases (one node at a time works on a task, or runs the scheduled GC) and the signature
//! nonces every node sees. Times are passed in by the caller, so the conformance suite can
//! drive expiry without waiting.
//!
//! Taking a lease is one upsert: insert it, or take it over when the row is this node's own or
//! its `expires_at` has passed. Both SQLite and PostgreSQL apply `ON CONFLICT … DO UPDATE …
//! WHERE` atomically, so two nodes racing for one expired lease cannot both win.

use crate::{MetaError, MetaStore};

/// What a renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Still this node's; `cancel` is set when someone asked for the task to stop.
    Held { cancel: bool },
    /// Another node has it now, or it is gone.
    Lost,
}

impl MetaStore {
    /// Takes `name` for `node` until `now_ms + ttl_ms`, if it is free, expired, or already this
    /// node's. `true` if `node` holds it now.
    pub async fn acquire_lease(
        &self,
        name: &str,
        node: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx
            .exec(
                "INSERT INTO leases (name, node, expires_at, cancel) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET node = excluded.node, \
                 expires_at = excluded.expires_at \
                 WHERE leases.node = excluded.node OR leases.expires_at < ?",
                &[
                    name.into(),
                    node.into(),
                    (now_ms + ttl_ms).into(),
                    0i64.into(),
                    now_ms.into(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Extends `node`'s lease on `name` to `expires_ms`.
    pub async fn renew_lease(
        &self,
        name: &str,
        node: &str,
        expires_ms: i64,
    ) -> Result<LeaseState, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx
            .exec(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND node = ?",
                &[expires_ms.into(), name.into(), node.into()],
            )
            .await?;
        let cancel = n == 1
            && tx
                .count(
                    "SELECT COUNT(*) FROM leases WHERE name = ? AND node = ? AND cancel = 1",
                    &[name.into(), node.into()],
                )
                .await?
                == 1;
        tx.commit().await?;
        Ok(if n == 1 {
            LeaseState::Held { cancel }
        } else {
            LeaseState::Lost
        })
    }

    /// Gives up `node`'s lease on `name` (nothing if another node holds it).
    pub async fn release_lease(&self, name: &str, node: &str) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        tx.exec(
            "DELETE FROM leases WHERE name = ? AND node = ?",
            &[name.into(), node.into()],
        )
        .await?;
        tx.commit().await
    }

    /// Asks whoever holds (or next takes) the lease on `name` to stop. `false` if there is no
    /// such lease.
    pub async fn request_cancel(&self, name: &str) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx
            .exec(
                "UPDATE leases SET cancel = 1 WHERE name = ?",
                &[name.into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The node holding `name` and until when, if anyone has it on record.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(String, i64)>, MetaError> {
        let rows = self
            .pool
            .fetch(
                "SELECT node, expires_at FROM leases WHERE name = ?",
                &[name.into()],
            )
            .await?;
        rows.first()
            .map(|r| Ok((r.text(0)?, r.i64(1)?)))
            .transpose()
    }

    /// Names of the leases some node holds at `now_ms` (not expired).
    pub async fn live_leases(
        &self,
        now_ms: i64,
    ) -> Result<std::collections::HashSet<String>, MetaError> {
        self.pool
            .fetch(
                "SELECT name FROM leases WHERE expires_at >= ?",
                &[now_ms.into()],
            )
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    /// Forgets every lease: for a single node (SQLite) starting up, whose leases on record are
    /// a killed process's. Returns how many there were.
    pub async fn clear_leases(&self) -> Result<u64, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx.exec("DELETE FROM leases", &[]).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records a signature nonce of `access_key_id` seen at `now` (seconds). `false` if it was
    /// already seen after `now - window`: a replay. Older records are taken over, and purged
    /// with [`MetaStore::purge_nonces`].
    pub async fn record_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        window: i64,
    ) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx
            .exec(
                "INSERT INTO signature_nonces (access_key_id, nonce, seen_at) VALUES (?, ?, ?) \
                 ON CONFLICT (access_key_id, nonce) DO UPDATE SET seen_at = excluded.seen_at \
                 WHERE signature_nonces.seen_at < ?",
                &[
                    access_key_id.into(),
                    nonce.into(),
                    now.into(),
                    (now - window).into(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Deletes nonces seen before `before` (seconds). Returns how many.
    pub async fn purge_nonces(&self, before: i64) -> Result<u64, MetaError> {
        let mut tx = self.pool.begin().await?;
        let n = tx
            .exec(
                "DELETE FROM signature_nonces WHERE seen_at < ?",
                &[before.into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
