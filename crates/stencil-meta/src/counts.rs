//! Counts for quotas. They read the database directly (no cache): a quota check must see the
//! writes of every node.

use crate::{MetaError, MetaStore};

impl MetaStore {
    /// How many custom images, in any status, the owner has in the region.
    pub async fn count_custom_images(&self, region: &str, owner: &str) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(*) FROM images WHERE region = ? AND kind = 'custom' AND owner = ?",
                &[region.into(), owner.into()],
            )
            .await
    }

    /// How many of the owner's custom images in the region belong to `family`.
    pub async fn count_family_images(
        &self,
        region: &str,
        owner: &str,
        family: &str,
    ) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(*) FROM images \
                 WHERE region = ? AND kind = 'custom' AND owner = ? AND family = ?",
                &[region.into(), owner.into(), family.into()],
            )
            .await
    }

    /// How many distinct non-empty families the owner's custom images in the region have.
    pub async fn count_families(&self, region: &str, owner: &str) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(DISTINCT family) FROM images \
                 WHERE region = ? AND kind = 'custom' AND owner = ? AND family <> ''",
                &[region.into(), owner.into()],
            )
            .await
    }

    /// How many accounts the image is shared with.
    pub async fn image_share_count(&self, region: &str, image_id: &str) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(*) FROM image_shares WHERE region = ? AND image_id = ?",
                &[region.into(), image_id.into()],
            )
            .await
    }
}
