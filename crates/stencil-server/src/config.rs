//! The configuration file (TOML) and the embedded default.
//!
//! Unknown keys are an error. Relative paths, in `sqlite://` and `file://` URLs and in catalog
//! paths, resolve against the directory of the config file (for the embedded default: the
//! current directory, or `--data-dir`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors while reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("Cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (includes unknown keys).
    #[error("Invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// The values are inconsistent.
    #[error("Invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners and the data directory.
    #[serde(default)]
    pub server: ServerConfig,
    /// The metadata database.
    #[serde(default)]
    pub metadata: MetadataConfig,
    /// Operator-replaceable catalogs.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// Regions; the embedded default has three.
    #[serde(default, rename = "region")]
    pub regions: Vec<RegionConfig>,
    /// Buckets for ImportImage and ExportImage.
    #[serde(default, rename = "bucket")]
    pub buckets: Vec<BucketConfig>,
    /// Accounts; with none, one is generated into `<data_dir>/credentials`.
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountConfig>,
    /// Limits per account and region (`[quotas]`); ECS defaults where documented.
    #[serde(default)]
    pub quotas: stencil_domain::Quotas,
    /// KMS keys for encrypted image copies (`[[kms_key]]`).
    #[serde(default, rename = "kms_key")]
    pub kms_keys: Vec<KmsKeyConfig>,
}

/// `[[kms_key]]`: a customer key `CopyImage` can encrypt with (`KMSKeyId`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KmsKeyConfig {
    /// The `KMSKeyId`.
    pub id: String,
    /// The region the key is in.
    pub region: String,
    /// A file (mode 0600, owner only) holding 32 bytes of key material, raw or as 64 hex digits.
    pub key_file: PathBuf,
    /// The region's service key: what `Encrypted=true` without `KMSKeyId` uses, and what an
    /// encrypted image is re-encrypted with when copied without a key. At most one per region.
    /// Images encrypted with it cannot be shared (customer keys' can).
    #[serde(default)]
    pub service: bool,
}

impl KmsKeyConfig {
    /// Reads the key material, refusing a file that others can read.
    pub fn load(&self) -> Result<stencil_core::KmsKey, ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let bad = |m: String| ConfigError::Invalid(format!("kms_key {:?}: {m}", self.id));
        let meta = std::fs::metadata(&self.key_file)
            .map_err(|e| bad(format!("cannot read {}: {e}", self.key_file.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "{} is readable by others (mode {:o}); chmod 600 it",
                self.key_file.display(),
                meta.permissions().mode() & 0o777
            )));
        }
        let bytes = std::fs::read(&self.key_file)
            .map_err(|e| bad(format!("cannot read {}: {e}", self.key_file.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        let hex = text.trim();
        let material: Vec<u8> = if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        } else {
            bytes.clone()
        };
        let material: [u8; 32] = material.try_into().map_err(|_| {
            bad(format!(
                "{} must hold 32 bytes (raw or 64 hex digits)",
                self.key_file.display()
            ))
        })?;
        Ok(stencil_core::KmsKey {
            id: self.id.clone(),
            region: self.region.clone(),
            material,
            service: self.service,
        })
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// ECS API address.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// NBD address; empty disables NBD.
    #[serde(default = "default_nbd_listen")]
    pub nbd_listen: String,
    /// Where generated state lives (the generated credentials file).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Largest accepted request body, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// This node's name among the nodes sharing one database (leases and disks record it);
    /// when empty, the one kept in `data_dir/node-id` (generated on first start).
    #[serde(default)]
    pub node_id: String,
    /// How long a node's lease on a task lasts unrenewed: a node that dies loses its tasks to
    /// another node after this many seconds.
    #[serde(default = "default_task_lease_secs")]
    pub task_lease_secs: f64,
    /// Run GC every this many seconds on one node at a time (0: only `stencil admin gc`).
    #[serde(default)]
    pub gc_interval_secs: u64,
    /// Verify every chunk store every this many seconds on one node at a time (0: only
    /// `stencil admin verify`).
    #[serde(default)]
    pub verify_interval_secs: u64,
    /// NBD reads also recompute each chunk's digest. Every read checks the CRC-32 of the stored
    /// bytes (and the AES-GCM tag of an encrypted chunk) either way; exports, copies and verify
    /// always recompute digests.
    #[serde(default)]
    pub verify_disk_reads: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            nbd_listen: default_nbd_listen(),
            data_dir: default_data_dir(),
            max_body_bytes: default_max_body(),
            node_id: String::new(),
            task_lease_secs: default_task_lease_secs(),
            gc_interval_secs: 0,
            verify_interval_secs: 0,
            verify_disk_reads: false,
        }
    }
}

fn default_task_lease_secs() -> f64 {
    stencil_core::DEFAULT_LEASE_TTL.as_secs_f64()
}

/// `[metadata]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// `sqlite://PATH` or `postgres://user@host:port/db`.
    #[serde(default = "default_meta_url")]
    pub url: String,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            url: default_meta_url(),
        }
    }
}

/// `[catalog]`: files that replace the shipped catalogs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Public image catalog (TOML); the shipped one when absent.
    pub public_images: Option<PathBuf>,
    /// Instance type catalog (TOML); the shipped one when absent.
    pub instance_types: Option<PathBuf>,
}

/// Options of an `s3://` store.
pub use stencil_core::S3Options;

/// `[[region]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Region ID, e.g. `cn-hangzhou`.
    pub id: String,
    /// Display name, e.g. `China (Hangzhou)`.
    pub name: String,
    /// `file://DIR` or `s3://bucket/prefix`.
    pub chunk_store: String,
    /// S3 endpoint URL, when `chunk_store` is `s3://`.
    pub endpoint: Option<String>,
    /// S3 access key.
    pub access_key_id: Option<String>,
    /// S3 secret key.
    pub secret_access_key: Option<String>,
    /// S3 signing region.
    pub region: Option<String>,
}

impl RegionConfig {
    /// The S3 options of `chunk_store`.
    pub fn s3(&self) -> S3Options {
        S3Options {
            endpoint: self.endpoint.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            region: self.region.clone(),
        }
    }
}

/// `[[bucket]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// The name ImportImage and ExportImage use.
    pub name: String,
    /// The region the bucket is in.
    pub region: String,
    /// `file://DIR` or `s3://bucket/prefix`.
    pub url: String,
    /// S3 endpoint URL, when `url` is `s3://`.
    pub endpoint: Option<String>,
    /// S3 access key.
    pub access_key_id: Option<String>,
    /// S3 secret key.
    pub secret_access_key: Option<String>,
    /// S3 signing region (`region` already names the Stencil region).
    pub s3_region: Option<String>,
}

impl BucketConfig {
    /// What `stencil_core::buckets::open_bucket` takes.
    pub fn spec(&self) -> stencil_core::buckets::BucketSpec {
        stencil_core::buckets::BucketSpec {
            name: self.name.clone(),
            region: self.region.clone(),
            url: self.url.clone(),
            endpoint: self.endpoint.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            s3_region: self.s3_region.clone(),
        }
    }

    /// The S3 options of `url`.
    pub fn s3(&self) -> S3Options {
        S3Options {
            endpoint: self.endpoint.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            region: self.s3_region.clone(),
        }
    }
}

/// `[[account]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Account UID.
    pub id: String,
    /// AccessKey ID.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_nbd_listen() -> String {
    "127.0.0.1:10809".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./stencil-data")
}
fn default_max_body() -> usize {
    1 << 20
}
fn default_meta_url() -> String {
    "sqlite://./stencil-data/meta.db".into()
}

/// The regions of the embedded default.
const DEFAULT_REGIONS: [(&str, &str); 3] = [
    ("cn-hangzhou", "China (Hangzhou)"),
    ("cn-shanghai", "China (Shanghai)"),
    ("cn-beijing", "China (Beijing)"),
];

impl Config {
    /// The chunk store of every region, as `RegionStores::open` takes them.
    pub fn chunk_stores(&self) -> Vec<stencil_core::StoreSpec> {
        self.regions
            .iter()
            .map(|r| stencil_core::StoreSpec {
                region: r.id.clone(),
                url: r.chunk_store.clone(),
                s3: r.s3(),
            })
            .collect()
    }

    /// The embedded default with everything under `data_dir`.
    pub fn embedded(data_dir: &Path) -> Config {
        let url = |sub: &str| format!("file://{}", data_dir.join(sub).display());
        Config {
            server: ServerConfig {
                data_dir: data_dir.to_path_buf(),
                ..ServerConfig::default()
            },
            metadata: MetadataConfig {
                url: format!("sqlite://{}", data_dir.join("meta.db").display()),
            },
            catalog: CatalogConfig::default(),
            regions: DEFAULT_REGIONS
                .iter()
                .map(|(id, name)| RegionConfig {
                    id: (*id).into(),
                    name: (*name).into(),
                    chunk_store: url(&format!("chunks/{id}")),
                    endpoint: None,
                    access_key_id: None,
                    secret_access_key: None,
                    region: None,
                })
                .collect(),
            buckets: DEFAULT_REGIONS
                .iter()
                .map(|(id, _)| BucketConfig {
                    name: format!("stencil-{id}"),
                    region: (*id).into(),
                    url: url(&format!("buckets/stencil-{id}")),
                    endpoint: None,
                    access_key_id: None,
                    secret_access_key: None,
                    s3_region: None,
                })
                .collect(),
            accounts: Vec::new(),
            quotas: stencil_domain::Quotas::default(),
            kms_keys: Vec::new(),
        }
    }

    /// Reads `path`, resolves relative paths against its directory, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.validate()?;
        Ok(config)
    }

    /// Makes relative paths absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let abs = |p: &Path| absolute(base, p);
        self.server.data_dir = absolute(base, &self.server.data_dir);
        self.metadata.url = resolve_url(&self.metadata.url, "sqlite://", base);
        for r in &mut self.regions {
            r.chunk_store = resolve_url(&r.chunk_store, "file://", base);
        }
        for b in &mut self.buckets {
            b.url = resolve_url(&b.url, "file://", base);
        }
        for k in &mut self.kms_keys {
            k.key_file = abs(&k.key_file);
        }
        self.catalog.public_images = self.catalog.public_images.as_deref().map(abs);
        self.catalog.instance_types = self.catalog.instance_types.as_deref().map(abs);
    }

    /// Checks cross-references and uniqueness.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.regions.is_empty() {
            return bad("at least one [[region]] is required".into());
        }
        if !(self.server.task_lease_secs.is_finite() && self.server.task_lease_secs >= 0.3) {
            return bad(format!(
                "server.task_lease_secs must be at least 0.3, not {}",
                self.server.task_lease_secs
            ));
        }
        for (i, r) in self.regions.iter().enumerate() {
            if self.regions[..i].iter().any(|o| o.id == r.id) {
                return bad(format!("region {:?} is defined twice", r.id));
            }
            check_store_url(&r.chunk_store, &format!("region {:?} chunk_store", r.id))?;
        }
        for (i, b) in self.buckets.iter().enumerate() {
            if self.buckets[..i].iter().any(|o| o.name == b.name) {
                return bad(format!("bucket {:?} is defined twice", b.name));
            }
            if !self.regions.iter().any(|r| r.id == b.region) {
                return bad(format!(
                    "bucket {:?} names unknown region {:?}",
                    b.name, b.region
                ));
            }
            check_store_url(&b.url, &format!("bucket {:?} url", b.name))?;
        }
        for (i, k) in self.kms_keys.iter().enumerate() {
            if k.id.is_empty() || self.kms_keys[..i].iter().any(|o| o.id == k.id) {
                return bad(format!("kms_key {:?} is empty or defined twice", k.id));
            }
            if !self.regions.iter().any(|r| r.id == k.region) {
                return bad(format!(
                    "kms_key {:?} names unknown region {:?}",
                    k.id, k.region
                ));
            }
            if k.service
                && self.kms_keys[..i]
                    .iter()
                    .any(|o| o.service && o.region == k.region)
            {
                return bad(format!(
                    "kms_key {:?}: region {:?} already has a service key",
                    k.id, k.region
                ));
            }
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if stencil_domain::AccountId::parse(&a.id).is_none() {
                return bad(format!("account id {:?} must be 1 to 20 digits", a.id));
            }
            if self.accounts[..i]
                .iter()
                .any(|o| o.access_key_id == a.access_key_id)
            {
                return bad(format!("access_key_id {:?} is used twice", a.access_key_id));
            }
            if a.access_key_secret.len() < 8 {
                return bad(format!(
                    "account {:?}: access_key_secret is too short",
                    a.id
                ));
            }
        }
        Ok(())
    }
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_relative() {
        base.join(p)
    } else {
        p.to_path_buf()
    }
}

fn resolve_url(url: &str, scheme: &str, base: &Path) -> String {
    match url.strip_prefix(scheme) {
        Some(rest) if !rest.starts_with('/') => format!("{scheme}{}", base.join(rest).display()),
        _ => url.to_string(),
    }
}

fn check_store_url(url: &str, what: &str) -> Result<(), ConfigError> {
    if url.starts_with("file://") || url.starts_with("s3://") {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{what} {url:?} must start with file:// or s3://"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_has_three_regions_and_a_bucket_each() {
        let c = Config::embedded(Path::new("/srv/st"));
        c.validate().unwrap();
        assert_eq!(c.regions.len(), 3);
        assert_eq!(c.buckets[0].name, "stencil-cn-hangzhou");
        assert_eq!(c.metadata.url, "sqlite:///srv/st/meta.db");
        assert_eq!(
            c.regions[1].chunk_store,
            "file:///srv/st/chunks/cn-shanghai"
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stencil.toml");
        std::fs::write(
            &path,
            r#"
[server]
listen = "127.0.0.1:0"
[metadata]
url = "sqlite://./meta.db"
[[region]]
id = "r1"
name = "Region One"
chunk_store = "file://./chunks/r1"
[[bucket]]
name = "b"
region = "r1"
url = "file://./buckets/b"
"#,
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.metadata.url,
            format!("sqlite://{}", dir.path().join("./meta.db").display())
        );
        assert!(
            c.buckets[0]
                .url
                .starts_with(&format!("file://{}", dir.path().display()))
        );
    }

    #[test]
    fn unknown_keys_and_bad_references_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisten = \"x\"\nlisten_port = 1\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
        std::fs::write(
            &path,
            "[[region]]\nid=\"a\"\nname=\"A\"\nchunk_store=\"file://x\"\n[[bucket]]\nname=\"b\"\nregion=\"zz\"\nurl=\"file://y\"\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown region"), "{err}");
    }

    #[test]
    fn a_region_has_at_most_one_service_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let key = |id: &str, service: bool| {
            format!("[[kms_key]]\nid=\"{id}\"\nregion=\"a\"\nkey_file=\"k\"\nservice={service}\n")
        };
        let region = "[[region]]\nid=\"a\"\nname=\"A\"\nchunk_store=\"file://x\"\n";
        std::fs::write(
            &path,
            format!("{region}{}{}", key("s1", true), key("c1", false)),
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.kms_keys.iter().map(|k| k.service).collect::<Vec<_>>(),
            [true, false]
        );
        std::fs::write(
            &path,
            format!("{region}{}{}", key("s1", true), key("s2", true)),
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("already has a service key"), "{err}");
    }
}
