//! Request parameters: the merged query ∪ form body, with typed accessors whose errors name
//! the parameter.
//!
//! ECS flattens structure into names (reference §1.3):
//!
//! | shape | wire | accessor |
//! |---|---|---|
//! | scalar | `PageSize=50` | [`Params::get`], [`Params::required`], [`Params::int_in_range`], [`Params::bool`] |
//! | list | `AddAccount.1=a&AddAccount.2=b` | [`Params::list`] |
//! | list of objects | `Tag.1.Key=k&Tag.1.Value=v` | [`Params::objects`] (each object is a `Params`), [`Params::indexed_objects`] |
//! | list in an object | `TagFilter.1.TagValues.2=dev` | `objects("TagFilter")?[0].list("TagValues")` |
//! | nested object | `Features.NvmeSupport=supported` | `object("Features").get("NvmeSupport")` or `get("Features.NvmeSupport")` |
//! | JSON or comma list | `SnapshotIds=["s-1","s-2"]`, `TaskIds=t-1,t-2` | [`Params::string_list`] |
//!
//! Indexes are 1-based decimal without leading zeros; gaps are allowed and values come back
//! ordered by index. A sub-`Params` remembers its prefix, so its errors name the full
//! parameter (`Tag.1.Key`).

mod form;
#[cfg(test)]
mod tests;

pub use form::decode_form;

use crate::error::EcsError;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// API parameters of one request (or one flattened object inside it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    prefix: String,
    map: BTreeMap<String, String>,
}

impl Params {
    /// Builds parameters from decoded pairs; a later duplicate replaces an earlier one, so
    /// passing query pairs then body pairs gives the body precedence, as the reference
    /// verifier's `dict` does.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Params {
            prefix: String::new(),
            map,
        }
    }

    /// Decodes a raw query string (`a=1&b=2`, without `?`) into parameters.
    pub fn from_query(query: &str) -> Result<Self, EcsError> {
        Ok(Self::from_pairs(decode_form(query.as_bytes())?))
    }

    /// The prefix this object was found under (`"Tag.1."`), empty at the top level.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full wire name of `name`, for error messages.
    pub fn full_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value as sent (possibly empty), or `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The value when present and not empty. ECS treats an empty optional parameter as
    /// "not given" (e.g. ModifyImageAttribute `ImageName=` keeps the name).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Whether the parameter was sent at all.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The value, or `MissingParameter` naming it when absent or empty.
    pub fn required(&self, name: &str) -> Result<&str, EcsError> {
        self.non_empty(name)
            .ok_or_else(|| EcsError::missing(&self.full_name(name)))
    }

    /// A boolean: `true`/`false` in any case (Python sends `True`, Go and Node `true`).
    /// Absent or empty is `None`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, EcsError> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(None);
        };
        if raw.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if raw.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(EcsError::invalid(
                &self.full_name(name),
                format_args!("must be true or false, got {raw:?}"),
            ))
        }
    }

    /// A boolean with a default for absent or empty.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, EcsError> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    /// A decimal integer (optional leading `-`). Absent or empty is `None`.
    pub fn int(&self, name: &str) -> Result<Option<i64>, EcsError> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(None);
        };
        parse_int(raw).map(Some).ok_or_else(|| {
            EcsError::invalid(
                &self.full_name(name),
                format_args!("must be an integer, got {raw:?}"),
            )
        })
    }

    /// A decimal integer within `range`; the message states the range and the value sent.
    pub fn int_in_range(
        &self,
        name: &str,
        range: RangeInclusive<i64>,
    ) -> Result<Option<i64>, EcsError> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(None);
        };
        match parse_int(raw) {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(EcsError::invalid(
                &self.full_name(name),
                format_args!(
                    "must be an integer from {} to {}, got {raw:?}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// The values of `name.1`, `name.2`, … ordered by index (gaps allowed, empty values kept).
    /// A key under `name.` whose index is not a positive decimal without leading zeros, or
    /// that has more after the index, is an `InvalidParameter` error naming that key.
    pub fn list(&self, name: &str) -> Result<Vec<String>, EcsError> {
        Ok(self.indexed_list(name)?.into_values().collect())
    }

    /// Like [`Params::list`], keyed by `N`, for the lists whose indexes beyond a limit are
    /// ignored (`AddAccount.N`: N = 1–10).
    pub fn indexed_list(&self, name: &str) -> Result<BTreeMap<u32, String>, EcsError> {
        let mut items = BTreeMap::new();
        for (key, rest, value) in self.under(name) {
            match rest.split_once('.') {
                None => {
                    items.insert(self.index(key, name, rest)?, value.to_owned());
                }
                Some(_) => {
                    return Err(EcsError::invalid(
                        &self.full_name(key),
                        format_args!("\"{}.N\" is a list of plain values", self.full_name(name)),
                    ));
                }
            }
        }
        Ok(items)
    }

    /// The objects `name.N.<Field>`, ordered by N; each is a `Params` holding the fields
    /// (`Key`, `Value`, `TagValues.1`, …) whose errors name the full key.
    pub fn objects(&self, name: &str) -> Result<Vec<Params>, EcsError> {
        Ok(self.indexed_objects(name)?.into_values().collect())
    }

    /// Like [`Params::objects`], keyed by `N`, for the actions whose meaning depends on the
    /// index (ImportImage: `DiskDeviceMapping.1` is the system disk, `N` > 17 is ignored).
    pub fn indexed_objects(&self, name: &str) -> Result<BTreeMap<u32, Params>, EcsError> {
        let mut objects: BTreeMap<u32, Params> = BTreeMap::new();
        for (key, rest, value) in self.under(name) {
            let Some((index, field)) = rest.split_once('.').filter(|(_, f)| !f.is_empty()) else {
                return Err(EcsError::invalid(
                    &self.full_name(key),
                    format_args!("expected \"{}.N.<Field>\"", self.full_name(name)),
                ));
            };
            let n = self.index(key, name, index)?;
            let object = objects.entry(n).or_insert_with(|| Params {
                prefix: format!("{}{name}.{n}.", self.prefix),
                map: BTreeMap::new(),
            });
            object.map.insert(field.to_owned(), value.to_owned());
        }
        Ok(objects)
    }

    /// Whether any parameter `name.…` was sent (a list or object given at all).
    pub fn has_any(&self, name: &str) -> bool {
        self.under(name).next().is_some()
    }

    /// The nested object `name.<Field>` (e.g. `Features`), empty when nothing was sent.
    pub fn object(&self, name: &str) -> Params {
        let map = self
            .under(name)
            .map(|(_, rest, v)| (rest.to_owned(), v.to_owned()))
            .collect();
        Params {
            prefix: format!("{}{name}.", self.prefix),
            map,
        }
    }

    /// A list sent as one string: a JSON array (`["s-1","s-2"]`, as Terraform and Packer send
    /// `SnapshotIds`) or a comma-separated list (`t-1,t-2`; items trimmed, empty items
    /// dropped). Absent or empty is `None`.
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, EcsError> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(None);
        };
        if !raw.trim_start().starts_with('[') {
            let items = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
            return Ok(Some(items.map(str::to_owned).collect()));
        }
        let bad = |why: &str| {
            EcsError::invalid(&self.full_name(name), format_args!("{why}, got {raw:?}"))
        };
        let values: Vec<serde_json::Value> = serde_json::from_str(raw)
            .map_err(|_| bad("must be a JSON array of strings or a comma-separated list"))?;
        values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad("the JSON array must hold strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// All (name, value) pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// (key, rest after `name.`, value) for every key under `name.`.
    fn under<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> {
        let dotted = format!("{name}.");
        self.map.iter().filter_map(move |(k, v)| {
            k.strip_prefix(dotted.as_str())
                .map(|rest| (k.as_str(), rest, v.as_str()))
        })
    }

    fn index(&self, key: &str, name: &str, raw: &str) -> Result<u32, EcsError> {
        parse_index(raw).ok_or_else(|| {
            EcsError::invalid(
                &self.full_name(key),
                format_args!(
                    "N in \"{}.N\" must be a whole number from 1 without leading zeros, got {raw:?}",
                    self.full_name(name)
                ),
            )
        })
    }
}

/// A 1-based index: ASCII digits, no leading zero, fits in `u32`.
fn parse_index(raw: &str) -> Option<u32> {
    let canonical =
        !raw.is_empty() && !raw.starts_with('0') && raw.bytes().all(|b| b.is_ascii_digit());
    if canonical { raw.parse().ok() } else { None }
}

/// A decimal integer: optional `-`, then ASCII digits (no `+`, no spaces).
fn parse_int(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}
