//! Image shares and marketplace subscriptions: who, besides its owner, may use an image, and
//! which marketplace products an account has used.
//!
//! Shares are rows of `image_shares` keyed by (region, image, account), so a share never
//! reaches another region. Writing one goes through [`crate::Write`] (one transaction with
//! whatever else the request changes); both share writes count as image writes, because the
//! listings' `TotalCount` cache covers what `shared_with` admits.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};

use crate::db::{Arg, Tx, limit_offset};
use crate::{MetaError, MetaStore, Page};

/// One account an image is shared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageShare {
    /// The account's ID.
    pub account: String,
    /// When the share was made (the first time, if it was made again since).
    pub shared_at: DateTime<Utc>,
}

/// Shares the image with `account`; sharing again keeps the first time.
pub(crate) async fn share(
    tx: &mut Tx,
    region: &str,
    image_id: &str,
    account: &str,
    at: DateTime<Utc>,
) -> Result<(), MetaError> {
    tx.exec(
        "INSERT INTO image_shares (region, image_id, account, shared_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
        &[
            region.into(),
            image_id.into(),
            account.into(),
            at.timestamp().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Stops sharing the image with `account` (nothing if it was not shared).
pub(crate) async fn unshare(
    tx: &mut Tx,
    region: &str,
    image_id: &str,
    account: &str,
) -> Result<(), MetaError> {
    tx.exec(
        "DELETE FROM image_shares WHERE region = ? AND image_id = ? AND account = ?",
        &[region.into(), image_id.into(), account.into()],
    )
    .await?;
    Ok(())
}

/// `Conflict` if the image is shared with more than `limit` accounts, as this transaction
/// sees it.
pub(crate) async fn check_limit(
    tx: &mut Tx,
    region: &str,
    image_id: &str,
    limit: u64,
) -> Result<(), MetaError> {
    let n = tx
        .count(
            "SELECT COUNT(*) FROM image_shares WHERE region = ? AND image_id = ?",
            &[region.into(), image_id.into()],
        )
        .await?;
    if n > limit {
        return Err(MetaError::Conflict(format!(
            "image {image_id} in {region} would be shared with {n} accounts, more than {limit}"
        )));
    }
    Ok(())
}

/// Removes every share of the image (it is being deleted).
pub(crate) async fn unshare_all(
    tx: &mut Tx,
    region: &str,
    image_id: &str,
) -> Result<(), MetaError> {
    tx.exec(
        "DELETE FROM image_shares WHERE region = ? AND image_id = ?",
        &[region.into(), image_id.into()],
    )
    .await?;
    Ok(())
}

/// Records that `account` has used the marketplace product; later uses keep the first time.
pub(crate) async fn subscribe(
    tx: &mut Tx,
    account: &str,
    product_code: &str,
    at: DateTime<Utc>,
) -> Result<(), MetaError> {
    tx.exec(
        "INSERT INTO marketplace_subscriptions (account, product_code, subscribed_at) \
         VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        &[account.into(), product_code.into(), at.timestamp().into()],
    )
    .await?;
    Ok(())
}

/// The first column of `SELECT <select> WHERE <key> = ? AND <column> IN (values…)`, as a set;
/// an empty `values` matches nothing.
async fn texts_in(
    store: &MetaStore,
    select: &str,
    key: (&str, &str),
    column: &str,
    values: &[String],
) -> Result<HashSet<String>, MetaError> {
    if values.is_empty() {
        return Ok(HashSet::new());
    }
    let marks = vec!["?"; values.len()].join(", ");
    let sql = format!(
        "SELECT {select} WHERE {} = ? AND {column} IN ({marks})",
        key.0
    );
    let mut args: Vec<Arg> = vec![key.1.into()];
    args.extend(values.iter().map(|v| Arg::from(v.as_str())));
    store
        .pool
        .fetch(&sql, &args)
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect()
}

impl MetaStore {
    /// The accounts the image is shared with, oldest share first (then by account), one page.
    pub async fn list_image_shares(
        &self,
        region: &str,
        image_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Page<ImageShare>, MetaError> {
        let total = self.image_share_count(region, image_id).await?;
        let mut args: Vec<Arg> = vec![region.into(), image_id.into()];
        args.extend(limit_offset(limit, offset));
        let rows = self
            .pool
            .fetch(
                "SELECT account, shared_at FROM image_shares WHERE region = ? AND image_id = ? \
                 ORDER BY shared_at, account LIMIT ? OFFSET ?",
                &args,
            )
            .await?;
        let items = rows
            .iter()
            .map(|r| {
                let secs = r.i64(1)?;
                Ok(ImageShare {
                    account: r.text(0)?,
                    shared_at: Utc
                        .timestamp_opt(secs, 0)
                        .single()
                        .ok_or_else(|| MetaError::Corrupt(format!("share time {secs}")))?,
                })
            })
            .collect::<Result<_, MetaError>>()?;
        Ok(Page { total, items })
    }

    /// Which of `image_ids` in the region are shared with at least one account.
    pub async fn shared_image_ids(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> Result<HashSet<String>, MetaError> {
        let select = "DISTINCT image_id FROM image_shares";
        texts_in(self, select, ("region", region), "image_id", image_ids).await
    }

    /// Which of `product_codes` the account has subscribed to (used).
    pub async fn subscribed_products(
        &self,
        account: &str,
        product_codes: &[String],
    ) -> Result<HashSet<String>, MetaError> {
        let select = "product_code FROM marketplace_subscriptions";
        texts_in(
            self,
            select,
            ("account", account),
            "product_code",
            product_codes,
        )
        .await
    }
}
