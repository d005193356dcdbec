//! The two catalogs an operator can replace: public (system) images and instance types.
//!
//! Both are TOML files in the repository (`data/public-images.toml`,
//! `data/instance-types.toml`), embedded in the binary as the defaults below. The caller reads a
//! replacement file and hands its text to `parse`; this module never opens a file.
//!
//! ```text
//!  TOML text ──► toml::Table ──► per entry: key check ──► serde (raw) ──► field checks ──► typed
//!                                 (UnknownField,           (Malformed)     (InvalidValue,
//!                                  MissingField)                           DuplicateId, ...)
//! ```
//!
//! Every error names the entry (1-based position and id) and, where there is one, the field.
//! Both files start with `format_version = 1`; a future layout bumps the number.
//!
//! | file                  | table               | one entry is         | loader                  |
//! |-----------------------|---------------------|----------------------|-------------------------|
//! | `public-images.toml`  | `[[image]]`         | [`PublicImageEntry`] | [`PublicCatalog`]       |
//! | `instance-types.toml` | `[[instance_type]]` | [`InstanceType`]     | [`InstanceTypeCatalog`] |
//!
//! The meaning of every key is documented at the top of each shipped file.
//!
//! ```
//! use stencil_domain::catalog::{InstanceTypeCatalog, PublicCatalog};
//! use stencil_domain::{ActionType, compat};
//!
//! let images = PublicCatalog::builtin(); // or PublicCatalog::parse(&text, Some(dir))?
//! let types = InstanceTypeCatalog::builtin();
//! let centos = images.newest_in_family("acs:centos_7_9_x64", "cn-hangzhou").unwrap();
//! let nano = types.get("ecs.t5-lc2m1.nano").unwrap();
//! assert!(compat::check(&centos.traits(), nano, ActionType::CreateEcs).is_ok());
//! let arm = types.get("ecs.g8y.large").unwrap();
//! assert!(compat::check(&centos.traits(), arm, ActionType::CreateEcs).is_err());
//! ```

mod error;
mod instance_types;
mod public;
mod public_rules;
mod raw;

#[cfg(test)]
mod tests;

pub use error::{CatalogError, EntryRef};
pub use instance_types::{InstanceType, InstanceTypeCatalog, NvmeRequirement};
pub use public::{Marketplace, PublicCatalog, PublicImageEntry, RegionScope};

/// The only catalog layout this build reads.
pub const FORMAT_VERSION: i64 = 1;

/// The shipped public image catalog (`data/public-images.toml`).
pub const DEFAULT_PUBLIC_IMAGES: &str = include_str!("../../../../data/public-images.toml");

/// The shipped instance type catalog (`data/instance-types.toml`).
pub const DEFAULT_INSTANCE_TYPES: &str = include_str!("../../../../data/instance-types.toml");
