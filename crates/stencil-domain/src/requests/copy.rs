//! `CopyImage` and `CancelCopyImage` (reference §5.5–5.6).

use crate::image::Tag;

/// `CopyImage`: a custom image into another region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyImage {
    /// `RegionId`: where the source image is.
    pub region: String,
    /// `ImageId`: the source.
    pub image_id: String,
    /// `DestinationRegionId`; absent means the source region (refused for the owner, the only
    /// direction for an image shared with the caller).
    pub destination_region: Option<String>,
    /// `DestinationImageName`.
    pub name: Option<String>,
    /// `DestinationDescription`.
    pub description: Option<String>,
    /// `KMSKeyId`, with `Encrypted=true` (the wire layer refuses one without the other).
    pub kms_key_id: Option<String>,
    /// `Encrypted`.
    pub encrypted: bool,
    /// `ResourceGroupId`.
    pub resource_group_id: String,
    /// `Tag.N.*`.
    pub tags: Vec<Tag>,
    /// `ClientToken`.
    pub client_token: Option<String>,
}

/// `CancelCopyImage`: deletes an unfinished copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CancelCopyImage {
    /// `RegionId`: the destination region (where the copy is).
    pub region: String,
    /// `ImageId`: the copy.
    pub image_id: String,
}
