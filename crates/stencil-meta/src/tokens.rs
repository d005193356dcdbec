//! `ClientToken` idempotency records: the first request's fingerprint and result, kept per
//! owner, region and action so a retry gets the same answer instead of a second resource.

use chrono::Utc;

use crate::db::{DbRow, Tx};
use crate::{MetaError, MetaStore};

/// One remembered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    /// The calling account.
    pub owner: String,
    /// The region the request went to.
    pub region: String,
    /// The API action, e.g. `CreateImage`.
    pub action: String,
    /// The client's token.
    pub token: String,
    /// A digest of the request's parameters: a retry with other parameters is an error.
    pub fingerprint: String,
    /// What the first request returned (the service's own encoding, e.g. an image ID).
    pub result: String,
}

/// Inserts a token (stamped with the current time); [`MetaError::Conflict`] if one with the
/// same owner, region, action and token exists.
pub(crate) async fn insert(tx: &mut Tx, t: &ClientToken) -> Result<(), MetaError> {
    // DO NOTHING rather than a prior SELECT: two racing first requests cannot both win.
    let n = tx
        .exec(
            "INSERT INTO client_tokens (owner, region, action, token, fingerprint, result, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &[
                t.owner.as_str().into(),
                t.region.as_str().into(),
                t.action.as_str().into(),
                t.token.as_str().into(),
                t.fingerprint.as_str().into(),
                t.result.as_str().into(),
                Utc::now().timestamp().into(),
            ],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!(
            "client token {:?} of {} for {} in {} exists",
            t.token, t.owner, t.action, t.region
        )));
    }
    Ok(())
}

fn decode(r: &DbRow) -> Result<ClientToken, MetaError> {
    Ok(ClientToken {
        owner: r.text(0)?,
        region: r.text(1)?,
        action: r.text(2)?,
        token: r.text(3)?,
        fingerprint: r.text(4)?,
        result: r.text(5)?,
    })
}

impl MetaStore {
    /// The remembered request with this key, if any. Tokens are written with
    /// [`crate::Write::InsertToken`], in the same transaction as what the request created.
    pub async fn get_client_token(
        &self,
        owner: &str,
        region: &str,
        action: &str,
        token: &str,
    ) -> Result<Option<ClientToken>, MetaError> {
        let rows = self
            .pool
            .fetch(
                "SELECT owner, region, action, token, fingerprint, result FROM client_tokens \
                 WHERE owner = ? AND region = ? AND action = ? AND token = ?",
                &[owner.into(), region.into(), action.into(), token.into()],
            )
            .await?;
        rows.first().map(decode).transpose()
    }
}
