//! Object key rules, shared by every bucket so a key means the same thing everywhere.

use super::BucketError;

/// Longest key in bytes (OSS and S3 both stop at 1023).
pub const MAX_KEY_LEN: usize = 1023;

/// Checks `key` against the rules every bucket enforces: not empty, at most
/// [`MAX_KEY_LEN`] bytes, no control characters (NUL included), no leading or trailing `/`,
/// and no empty, `.` or `..` path components.
pub fn check_key(key: &str) -> Result<(), BucketError> {
    let reason = if key.is_empty() {
        Some("the key is empty")
    } else if key.len() > MAX_KEY_LEN {
        Some("the key is longer than 1023 bytes")
    } else {
        common_problem(key, false)
    };
    match reason {
        Some(reason) => Err(invalid(key, reason)),
        None => Ok(()),
    }
}

/// Checks a listing prefix: like a key, except that it may be empty and its last component
/// may be partial (empty, `.`, `..`): it is matched as a plain string prefix.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), BucketError> {
    if prefix.len() > MAX_KEY_LEN {
        return Err(invalid(prefix, "the prefix is longer than 1023 bytes"));
    }
    match common_problem(prefix, true) {
        Some(reason) => Err(invalid(prefix, reason)),
        None => Ok(()),
    }
}

/// The extra rule of file buckets: a component starting with `.` is kept for temp files,
/// which listings skip.
pub(crate) fn check_file_key(key: &str) -> Result<(), BucketError> {
    if key.split('/').any(|c| c.starts_with('.')) {
        return Err(invalid(
            key,
            "a path component starts with '.', which file buckets keep for temporary files",
        ));
    }
    Ok(())
}

/// The complete directory components of a prefix (`a/b/c` → `a/b`, `a/b/` → `a/b`).
pub(crate) fn prefix_dir(prefix: &str) -> &str {
    prefix.rfind('/').map_or("", |i| &prefix[..i])
}

pub(crate) fn invalid(key: &str, reason: &'static str) -> BucketError {
    BucketError::InvalidKey {
        key: key.to_string(),
        reason,
    }
}

fn common_problem(key: &str, is_prefix: bool) -> Option<&'static str> {
    if key.chars().any(char::is_control) {
        return Some("the key contains a control character such as NUL");
    }
    if key.starts_with('/') {
        return Some("the key starts with '/'");
    }
    if !is_prefix && key.ends_with('/') {
        return Some("the key ends with '/'");
    }
    let mut components: Vec<&str> = key.split('/').collect();
    if is_prefix {
        components.pop();
    }
    if components.iter().any(|c| c.is_empty()) {
        return Some("the key has an empty path component");
    }
    if components.iter().any(|c| *c == "." || *c == "..") {
        return Some("the key has a '.' or '..' path component");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_break_a_rule_are_refused_with_a_reason() {
        let long = "k".repeat(MAX_KEY_LEN + 1);
        for key in [
            "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a\0b", "a\nb", &long,
        ] {
            match check_key(key) {
                Err(BucketError::InvalidKey { key: k, reason }) => {
                    assert_eq!(k, key);
                    assert!(!reason.is_empty());
                }
                other => panic!("{key:?} was accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn ordinary_keys_are_accepted() {
        let longest = "k".repeat(MAX_KEY_LEN);
        for key in [
            "a",
            "images/ubuntu 24.04.qcow2",
            "a/..b/c..",
            ".hidden",
            "100%/ünïcode",
            &longest,
        ] {
            check_key(key).unwrap();
        }
    }

    #[test]
    fn prefixes_may_be_empty_or_end_in_a_partial_component() {
        for p in ["", "a", "a/", "a/b/..", "a/."] {
            check_prefix(p).unwrap();
        }
        for p in ["/a", "a//b", "../a", "a/../b/", "a\0"] {
            assert!(check_prefix(p).is_err(), "{p:?} was accepted");
        }
        assert_eq!(prefix_dir("a/b/c"), "a/b");
        assert_eq!(prefix_dir("a/b/"), "a/b");
        assert_eq!(prefix_dir("ab"), "");
    }

    #[test]
    fn file_buckets_refuse_dot_components() {
        assert!(check_file_key(".x").is_err());
        assert!(check_file_key("a/.stencil-tmp").is_err());
        check_file_key("a/b.c").unwrap();
    }
}
