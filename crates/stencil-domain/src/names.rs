//! Name, description, family and tag rules (reference §3.1).

/// Why a name-like value was refused; the caller turns it into the parameter's ECS code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Shorter or longer than allowed.
    #[error("Length must be from {min} to {max} characters, got {got}")]
    Length { min: usize, max: usize, got: usize },
    /// The first character is not a letter or a Chinese character.
    #[error("Must start with a letter or a Chinese character")]
    BadStart,
    /// A character outside the allowed set.
    #[error("Character {0:?} is not allowed")]
    BadChar(char),
    /// Starts with a prefix reserved for the provider.
    #[error("Must not start with {0:?}")]
    ReservedPrefix(&'static str),
    /// Contains or starts with a URL scheme.
    #[error("Must not contain http:// or https://")]
    Url,
}

const RESERVED_PREFIXES: [&str; 2] = ["aliyun", "acs:"];

fn char_count_in(s: &str, min: usize, max: usize) -> Result<(), NameError> {
    let got = s.chars().count();
    if got < min || got > max {
        return Err(NameError::Length { min, max, got });
    }
    Ok(())
}

fn no_url(s: &str) -> Result<(), NameError> {
    let lower = s.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") {
        return Err(NameError::Url);
    }
    Ok(())
}

fn not_reserved(s: &str) -> Result<(), NameError> {
    let lower = s.to_ascii_lowercase();
    match RESERVED_PREFIXES.iter().find(|p| lower.starts_with(**p)) {
        Some(p) => Err(NameError::ReservedPrefix(p)),
        None => Ok(()),
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Image names and families: 2–128 characters, starting with a letter or a Chinese character,
/// then letters, Chinese characters, digits, `.`, `:`, `_` and `-`; no reserved prefix, no URL.
fn check_identifier(s: &str) -> Result<(), NameError> {
    char_count_in(s, 2, 128)?;
    no_url(s)?;
    not_reserved(s)?;
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_alphabetic() || is_cjk(first)) {
        return Err(NameError::BadStart);
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || is_cjk(*c) || ".:_-".contains(*c)))
    {
        return Err(NameError::BadChar(c));
    }
    Ok(())
}

/// Checks an image name (CreateImage, ImportImage, CopyImage, ModifyImageAttribute).
pub fn check_image_name(s: &str) -> Result<(), NameError> {
    check_identifier(s)
}

/// Checks an image family name.
pub fn check_image_family(s: &str) -> Result<(), NameError> {
    check_identifier(s)
}

/// Checks a description: 2–256 characters, not starting with (or containing) a URL scheme.
pub fn check_description(s: &str) -> Result<(), NameError> {
    char_count_in(s, 2, 256)?;
    no_url(s)
}

/// Checks a tag key: 1–128 characters, no reserved prefix, no URL.
pub fn check_tag_key(s: &str) -> Result<(), NameError> {
    char_count_in(s, 1, 128)?;
    no_url(s)?;
    not_reserved(s)
}

/// Checks a tag value: 0–128 characters, not starting with `acs:`, no URL.
pub fn check_tag_value(s: &str) -> Result<(), NameError> {
    char_count_in(s, 0, 128)?;
    no_url(s)?;
    if s.to_ascii_lowercase().starts_with("acs:") {
        return Err(NameError::ReservedPrefix("acs:"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_follow_the_documented_grammar() {
        assert!(check_image_name("web-server_v1.2:final").is_ok());
        assert!(check_image_name("镜像-1").is_ok());
        assert_eq!(
            check_image_name("a"),
            Err(NameError::Length {
                min: 2,
                max: 128,
                got: 1
            })
        );
        assert_eq!(check_image_name("1abc"), Err(NameError::BadStart));
        assert_eq!(check_image_name("ab cd"), Err(NameError::BadChar(' ')));
        assert_eq!(
            check_image_name("aliyun-x"),
            Err(NameError::ReservedPrefix("aliyun"))
        );
        assert_eq!(
            check_image_name("acs:thing"),
            Err(NameError::ReservedPrefix("acs:"))
        );
        assert_eq!(check_image_name("xhttps://a"), Err(NameError::Url));
        assert!(check_image_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn descriptions_and_tags() {
        assert!(check_description("A description with spaces!").is_ok());
        assert_eq!(check_description("http://x"), Err(NameError::Url));
        assert!(check_tag_value("").is_ok());
        assert!(check_tag_key("").is_err());
        assert!(check_tag_key("acs:k").is_err());
        assert!(check_tag_value("acs:v").is_err());
    }
}
