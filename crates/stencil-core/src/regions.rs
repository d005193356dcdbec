//! The configured regions.

use stencil_domain::DomainError;

/// One region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `cn-hangzhou`.
    pub id: String,
    /// `China (Hangzhou)`.
    pub name: String,
}

/// All configured regions, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct Regions(Vec<Region>);

impl Regions {
    /// Wraps the configured list.
    pub fn new(regions: Vec<Region>) -> Self {
        Regions(regions)
    }

    /// Every region.
    pub fn all(&self) -> &[Region] {
        &self.0
    }

    /// The region IDs.
    pub fn ids(&self) -> Vec<&str> {
        self.0.iter().map(|r| r.id.as_str()).collect()
    }

    /// The region called `id`, or `UnknownRegion`.
    pub fn get(&self, id: &str) -> Result<&Region, DomainError> {
        self.0
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| DomainError::UnknownRegion(id.to_string()))
    }
}
