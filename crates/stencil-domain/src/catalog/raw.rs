//! Shared steps of both loaders: key checks, typed conversion and small field validators.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{CatalogError, EntryRef, FORMAT_VERSION};

/// Checks the document's `format_version`.
pub(crate) fn check_format_version(found: i64) -> Result<(), CatalogError> {
    if found == FORMAT_VERSION {
        Ok(())
    } else {
        Err(CatalogError::UnsupportedFormatVersion {
            found,
            expected: FORMAT_VERSION,
        })
    }
}

/// Names an entry by position and, when it has a string `id`, by id.
pub(crate) fn entry_ref(index0: usize, table: &toml::Table) -> EntryRef {
    EntryRef {
        index: index0 + 1,
        id: table.get("id").and_then(|v| v.as_str()).map(str::to_owned),
    }
}

/// Rejects keys outside `allowed` and reports the first missing key of `required`, so the
/// common mistakes get a kind of their own instead of a serde message.
pub(crate) fn check_keys(
    entry: &EntryRef,
    table: &toml::Table,
    allowed: &[&str],
    required: &[&'static str],
) -> Result<(), CatalogError> {
    if let Some(key) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(CatalogError::UnknownField {
            entry: entry.clone(),
            field: key.clone(),
        });
    }
    if let Some(field) = required.iter().find(|k| !table.contains_key(**k)) {
        return Err(CatalogError::MissingField {
            entry: entry.clone(),
            field,
        });
    }
    Ok(())
}

/// Converts a checked table into its raw serde shape (types only, no value rules).
pub(crate) fn convert<T: DeserializeOwned>(
    entry: &EntryRef,
    table: toml::Table,
) -> Result<T, CatalogError> {
    table.try_into().map_err(|source| CatalogError::Malformed {
        entry: entry.clone(),
        source,
    })
}

/// Builds an [`CatalogError::InvalidValue`].
pub(crate) fn invalid(
    entry: &EntryRef,
    field: &'static str,
    value: impl ToString,
    expected: impl Into<String>,
) -> CatalogError {
    CatalogError::InvalidValue {
        entry: entry.clone(),
        field,
        value: value.to_string(),
        expected: expected.into(),
    }
}

/// Parses one of the closed string sets (`Architecture::parse` and friends).
pub(crate) fn parse_enum<T>(
    entry: &EntryRef,
    field: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    all: impl IntoIterator<Item = &'static str>,
) -> Result<T, CatalogError> {
    parse(value).ok_or_else(|| {
        let names: Vec<String> = all.into_iter().map(|s| format!("{s:?}")).collect();
        invalid(entry, field, value, format!("one of {}", names.join(", ")))
    })
}

/// A string field with a length limit in characters (the ECS limits count characters).
pub(crate) fn check_len(
    entry: &EntryRef,
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), CatalogError> {
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(invalid(
            entry,
            field,
            value,
            format!("{min} to {max} characters"),
        ))
    }
}

/// Region ids look like `cn-hangzhou`, `ap-southeast-1`, `us-east-1`.
pub(crate) fn is_region_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A TOML offset date-time (`2024-03-21T08:00:00Z`) as UTC.
pub(crate) fn utc_time(
    entry: &EntryRef,
    field: &'static str,
    value: &toml::value::Datetime,
) -> Result<DateTime<Utc>, CatalogError> {
    let expected = "a TOML date-time with an offset, such as 2024-03-21T08:00:00Z";
    if value.date.is_none() || value.time.is_none() || value.offset.is_none() {
        return Err(invalid(entry, field, value, expected));
    }
    DateTime::parse_from_rfc3339(&value.to_string())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(entry, field, value, expected))
}
