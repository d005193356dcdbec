//! Catalog load errors: a stable kind, the entry and the field.

use std::fmt;

/// Which entry of a catalog an error is about: its 1-based position and, when it has a usable
/// one, its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// 1-based position of the entry in its array of tables.
    pub index: usize,
    /// The entry's `id`, if it has a string one.
    pub id: Option<String>,
}

impl fmt::Display for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "#{} ({id:?})", self.index),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// Why a catalog did not load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The text is not TOML, or its top level has the wrong shape or unknown keys.
    #[error("Catalog is not valid TOML or its top level is not a catalog")]
    Syntax {
        #[source]
        source: toml::de::Error,
    },
    /// `format_version` names a layout this build does not read.
    #[error("Catalog format_version {found} is not supported, expected {expected}")]
    UnsupportedFormatVersion { found: i64, expected: i64 },
    /// An entry has a key the format does not define (usually a typo).
    #[error("Entry {entry} has unknown field `{field}`")]
    UnknownField { entry: EntryRef, field: String },
    /// An entry lacks a required key.
    #[error("Entry {entry} is missing field `{field}`")]
    MissingField {
        entry: EntryRef,
        field: &'static str,
    },
    /// A field has the wrong TOML type (for example a string where a number belongs).
    #[error("Entry {entry} has a field of the wrong type")]
    Malformed {
        entry: EntryRef,
        #[source]
        source: toml::de::Error,
    },
    /// A field has a value outside its allowed set or shape.
    #[error("Entry {entry} field `{field}` has invalid value {value:?}: expected {expected}")]
    InvalidValue {
        entry: EntryRef,
        field: &'static str,
        value: String,
        expected: String,
    },
    /// Two entries share an id.
    #[error("Entry {entry} repeats the id of entry #{first_index}")]
    DuplicateId { entry: EntryRef, first_index: usize },
    /// An entry names a region the server does not configure (see
    /// [`super::PublicCatalog::check_regions`]).
    #[error("Entry {entry} field `{field}` names region {region:?}, which is not configured")]
    UnknownRegion {
        entry: EntryRef,
        field: &'static str,
        region: String,
    },
}

impl CatalogError {
    /// The entry the error is about, if it is about one.
    pub fn entry(&self) -> Option<&EntryRef> {
        match self {
            CatalogError::Syntax { .. } | CatalogError::UnsupportedFormatVersion { .. } => None,
            CatalogError::UnknownField { entry, .. }
            | CatalogError::MissingField { entry, .. }
            | CatalogError::Malformed { entry, .. }
            | CatalogError::InvalidValue { entry, .. }
            | CatalogError::DuplicateId { entry, .. }
            | CatalogError::UnknownRegion { entry, .. } => Some(entry),
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            CatalogError::UnknownField { field, .. } => Some(field),
            CatalogError::MissingField { field, .. }
            | CatalogError::InvalidValue { field, .. }
            | CatalogError::UnknownRegion { field, .. } => Some(field),
            CatalogError::DuplicateId { .. } => Some("id"),
            CatalogError::Syntax { .. }
            | CatalogError::UnsupportedFormatVersion { .. }
            | CatalogError::Malformed { .. } => None,
        }
    }
}
