//! Resource identifiers: `m-` images, `s-` snapshots, `i-` instances, `d-` disks, `t-` tasks.
//!
//! Generated IDs follow the real service's shape: a prefix, a hyphen and 20 lowercase
//! alphanumerics whose first three characters encode the region (`bp1` in cn-hangzhou, `uf6` in
//! cn-shanghai, `2ze` in cn-beijing), so an ID tells a reader where a resource lives. Public
//! images are the exception: their IDs are file-like names such as
//! `ubuntu_22_04_x64_20G_alibase_20240101.vhd`.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Number of characters after the prefix in generated IDs.
const ID_BODY_LEN: usize = 20;
const ID_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The three-character region code that starts generated IDs.
fn region_code(region: &str) -> String {
    match region {
        "cn-hangzhou" => "bp1".into(),
        "cn-shanghai" => "uf6".into(),
        "cn-beijing" => "2ze".into(),
        "cn-shenzhen" => "wz9".into(),
        "cn-qingdao" => "m5e".into(),
        "cn-zhangjiakou" => "8vb".into(),
        _ => {
            // Stable per region name: FNV-1a folded into the ID alphabet.
            let mut h: u32 = 0x811c_9dc5;
            for b in region.bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            (0..3)
                .map(|i| ID_ALPHABET[((h >> (i * 8)) as usize) % ID_ALPHABET.len()] as char)
                .collect()
        }
    }
}

fn generate(prefix: &str, region: &str) -> String {
    let mut rng = rand::rng();
    let code = region_code(region);
    let tail: String = (0..ID_BODY_LEN - code.len())
        .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{code}{tail}")
}

fn derive(prefix: &str, region: &str, seed: &str) -> String {
    let code = region_code(region);
    // Two FNV-1a streams give 128 bits; 17 base-36 characters use about 88 of them.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in seed.bytes().chain(region.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte).rotate_left(3)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut x = (u128::from(a) << 64) | u128::from(b);
    let tail: String = (0..ID_BODY_LEN - code.len())
        .map(|_| {
            let c = ID_ALPHABET[(x % ID_ALPHABET.len() as u128) as usize] as char;
            x /= ID_ALPHABET.len() as u128;
            c
        })
        .collect();
    format!("{prefix}-{code}{tail}")
}

/// Whether `s` is `prefix-` followed by 1 to 64 lowercase ASCII alphanumerics.
fn is_prefixed_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|body| {
            !body.is_empty()
                && body.len() <= 64
                && body
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The ID prefix, without the hyphen.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random ID for a resource in `region`.
            pub fn generate(region: &str) -> Self {
                $name(generate($prefix, region))
            }

            /// An ID fixed by `seed`: the same region and seed always give the same ID (for
            /// resources the service derives from its catalog, such as public image disks).
            pub fn derived(region: &str, seed: &str) -> Self {
                $name(derive($prefix, region, seed))
            }

            /// Parses an ID of this kind; `None` if it has another shape.
            pub fn parse(s: &str) -> Option<Self> {
                is_prefixed_id(s, $prefix).then(|| $name(s.to_string()))
            }

            /// The ID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A snapshot, `s-…`.
    SnapshotId, "s"
);
prefixed_id!(
    /// An instance, `i-…`.
    InstanceId, "i"
);
prefixed_id!(
    /// A disk, `d-…`.
    DiskId, "d"
);
prefixed_id!(
    /// A durable task (import, export, copy), `t-…`.
    TaskId, "t"
);

/// An image: `m-…` for custom, shared, community and marketplace images, a file-like name for
/// public images.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(String);

/// Longest image ID accepted (public names are long file-like strings).
const MAX_IMAGE_ID_LEN: usize = 128;

impl ImageId {
    /// A fresh custom image ID in `region`.
    pub fn generate(region: &str) -> Self {
        ImageId(generate("m", region))
    }

    /// Parses either form. File-like names are 1 to 128 characters of ASCII letters, digits,
    /// `_`, `-` and `.`.
    pub fn parse(s: &str) -> Option<Self> {
        if is_prefixed_id(s, "m") {
            return Some(ImageId(s.to_string()));
        }
        let file_like = !s.is_empty()
            && s.len() <= MAX_IMAGE_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        file_like.then(|| ImageId(s.to_string()))
    }

    /// Whether this is an `m-` ID rather than a public image name.
    pub fn is_custom_form(&self) -> bool {
        self.0.starts_with("m-")
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account UID: 1 to 20 decimal digits (`1234567890123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Parses an account UID.
    pub fn parse(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| AccountId(s.to_string()))
    }

    /// A fresh random 16-digit UID (for the generated default account).
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let first = rng.random_range(1..=9u8);
        let rest: String = (0..15)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        AccountId(format!("{first}{rest}"))
    }

    /// The UID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UID as a number, as `ImageOwnerId` is declared (long).
    pub fn as_u64(&self) -> u64 {
        self.0.parse().unwrap_or(0)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_carry_the_region_code_and_parse_back() {
        let id = ImageId::generate("cn-hangzhou");
        assert!(id.as_str().starts_with("m-bp1"), "{id}");
        assert_eq!(id.as_str().len(), 2 + ID_BODY_LEN);
        assert_eq!(ImageId::parse(id.as_str()), Some(id));
        let s = SnapshotId::generate("cn-beijing");
        assert!(s.as_str().starts_with("s-2ze"));
        assert!(SnapshotId::parse(s.as_str()).is_some());
        assert!(TaskId::generate("eu-central-1").as_str().starts_with("t-"));
    }

    #[test]
    fn public_image_names_are_image_ids_but_not_snapshot_ids() {
        let name = "ubuntu_22_04_x64_20G_alibase_20240101.vhd";
        assert!(ImageId::parse(name).is_some_and(|i| !i.is_custom_form()));
        assert!(SnapshotId::parse(name).is_none());
        assert!(SnapshotId::parse("s-").is_none());
        assert!(SnapshotId::parse("s-ABC").is_none());
        assert!(ImageId::parse("has space").is_none());
        assert!(ImageId::parse("").is_none());
    }

    #[test]
    fn account_ids_are_digits() {
        assert!(AccountId::parse("1234567890").is_some());
        assert!(AccountId::parse("12a").is_none());
        let g = AccountId::generate();
        assert_eq!(g.as_str().len(), 16);
        assert!(AccountId::parse(g.as_str()).is_some());
    }

    proptest! {
        #[test]
        fn image_id_parse_never_panics(s in ".{0,200}") {
            let _ = ImageId::parse(&s);
            let _ = DiskId::parse(&s);
        }
    }
}
