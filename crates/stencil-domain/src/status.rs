//! The image status machine (reference §4).
//!
//! ```text
//!  create/import/copy ─► Waiting ─► Creating ──done──► Available ◄──► Deprecated
//!                                      │
//!                                      └──failure──► CreateFailed
//! ```
//! `UnAvailable` is terminal: an image whose data became invalid, or a withdrawn public image.
//! Cancelling a copy or an import removes the image instead of moving it to a status.

use serde::{Deserialize, Serialize};

/// The status of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ImageStatus {
    /// Queued behind other work (for example the per-region copy limit).
    Waiting,
    /// Data is being written.
    Creating,
    /// Usable.
    Available,
    /// Terminal and unusable.
    UnAvailable,
    /// Creation failed; the reason is on the task.
    CreateFailed,
    /// Hidden from the default listing, still usable for instances.
    Deprecated,
}

impl ImageStatus {
    /// Every status, in the order the API documents them.
    pub const ALL: [ImageStatus; 6] = [
        ImageStatus::Creating,
        ImageStatus::Waiting,
        ImageStatus::Available,
        ImageStatus::UnAvailable,
        ImageStatus::CreateFailed,
        ImageStatus::Deprecated,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Waiting => "Waiting",
            ImageStatus::Creating => "Creating",
            ImageStatus::Available => "Available",
            ImageStatus::UnAvailable => "UnAvailable",
            ImageStatus::CreateFailed => "CreateFailed",
            ImageStatus::Deprecated => "Deprecated",
        }
    }

    /// Parses the wire spelling, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether a transition from `self` to `to` is allowed.
    pub fn can_become(self, to: ImageStatus) -> bool {
        use ImageStatus::*;
        matches!(
            (self, to),
            (Waiting, Creating)
                | (Waiting, CreateFailed)
                | (Creating, Available)
                | (Creating, CreateFailed)
                | (Available, Deprecated)
                | (Deprecated, Available)
                | (Available, UnAvailable)
                | (Deprecated, UnAvailable)
        )
    }

    /// Whether instances can be launched from an image in this status.
    pub fn launchable(self) -> bool {
        matches!(self, ImageStatus::Available | ImageStatus::Deprecated)
    }

    /// Whether the image's data is still being produced.
    pub fn in_progress(self) -> bool {
        matches!(self, ImageStatus::Waiting | ImageStatus::Creating)
    }
}

impl std::fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Status` filter of DescribeImages: a set of statuses, or `ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every status.
    All,
    /// Exactly these statuses (never empty).
    Only(Vec<ImageStatus>),
}

impl StatusFilter {
    /// The default filter: `Available` only.
    pub fn default_available() -> Self {
        StatusFilter::Only(vec![ImageStatus::Available])
    }

    /// Parses a comma-separated list, or `ALL` alone. Returns the offending item on error.
    pub fn parse(s: &str) -> Result<Self, String> {
        let items: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(Self::default_available());
        }
        if items.iter().any(|i| i.eq_ignore_ascii_case("ALL")) {
            return if items.len() == 1 {
                Ok(StatusFilter::All)
            } else {
                Err("ALL cannot be combined with other values".into())
            };
        }
        let mut out = Vec::new();
        for item in items {
            let st = ImageStatus::parse(item).ok_or_else(|| item.to_string())?;
            if !out.contains(&st) {
                out.push(st);
            }
        }
        Ok(StatusFilter::Only(out))
    }

    /// Whether `status` passes the filter.
    pub fn admits(&self, status: ImageStatus) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Only(v) => v.contains(&status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_only_documented_moves() {
        use ImageStatus::*;
        assert!(Creating.can_become(Available));
        assert!(Available.can_become(Deprecated) && Deprecated.can_become(Available));
        assert!(!CreateFailed.can_become(Available));
        assert!(!Available.can_become(Creating));
        assert!(!UnAvailable.can_become(Available));
    }

    #[test]
    fn status_filter_parses_lists_and_all() {
        assert_eq!(
            StatusFilter::parse("").unwrap(),
            StatusFilter::default_available()
        );
        assert_eq!(StatusFilter::parse("all").unwrap(), StatusFilter::All);
        assert!(StatusFilter::parse("ALL,Available").is_err());
        assert_eq!(StatusFilter::parse("Bogus").unwrap_err(), "Bogus");
        let f = StatusFilter::parse("Creating, available,Creating").unwrap();
        assert_eq!(
            f,
            StatusFilter::Only(vec![ImageStatus::Creating, ImageStatus::Available])
        );
        assert!(!f.admits(ImageStatus::Deprecated));
    }
}
