//! The generated default account: created on first start when the config names no account,
//! written to `<data_dir>/credentials` with mode 0600, and read back on later starts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::AccountConfig;

/// File name inside the data directory.
pub const CREDENTIALS_FILE: &str = "credentials";

const AK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    account_id: String,
    access_key_id: String,
    access_key_secret: String,
}

/// Errors reading or creating the credentials file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// File system failure.
    #[error("Cannot access credentials file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a credentials file.
    #[error("Credentials file {path} is malformed: {message}")]
    Malformed { path: PathBuf, message: String },
}

fn random_string(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| AK_ALPHABET[rng.random_range(0..AK_ALPHABET.len())] as char)
        .collect()
}

/// Reads the generated account from `data_dir` without creating anything (for clients).
pub fn load(data_dir: &Path) -> Result<AccountConfig, CredentialsError> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| CredentialsError::Io {
        path: path.clone(),
        source,
    })?;
    let f: CredentialsFile = toml::from_str(&text).map_err(|e| CredentialsError::Malformed {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(AccountConfig {
        id: f.account_id,
        access_key_id: f.access_key_id,
        access_key_secret: f.access_key_secret,
    })
}

/// Loads the generated account from `data_dir`, creating it if absent. The flag is true when
/// the account was created now (the caller prints it once).
pub fn load_or_create(data_dir: &Path) -> Result<(AccountConfig, bool), CredentialsError> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let io = |source| CredentialsError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let f: CredentialsFile =
                toml::from_str(&text).map_err(|e| CredentialsError::Malformed {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            Ok((
                AccountConfig {
                    id: f.account_id,
                    access_key_id: f.access_key_id,
                    access_key_secret: f.access_key_secret,
                },
                false,
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io)?;
            let f = CredentialsFile {
                account_id: stencil_domain::AccountId::generate().to_string(),
                access_key_id: format!("LTAI{}", random_string(20)),
                access_key_secret: random_string(30),
            };
            let text = format!(
                "# Stencil's generated account. Keep this file private.\n{}",
                toml::to_string(&f).map_err(|e| CredentialsError::Malformed {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            );
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            file.write_all(text.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok((
                AccountConfig {
                    id: f.account_id,
                    access_key_id: f.access_key_id,
                    access_key_secret: f.access_key_secret,
                },
                true,
            ))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn credentials_are_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = super::load_or_create(dir.path()).unwrap();
        assert!(created);
        assert!(a.access_key_id.starts_with("LTAI"));
        let mode = std::fs::metadata(dir.path().join("credentials"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (b, created) = super::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a, b);
        assert_eq!(super::load(dir.path()).unwrap(), a);
    }

    #[test]
    fn clients_never_create_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::load(dir.path()).is_err());
        assert!(!dir.path().join("credentials").exists());
    }
}
