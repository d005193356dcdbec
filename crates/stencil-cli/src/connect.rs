//! From the flags to a signed client: the endpoint and keys come from flags or the environment,
//! else from the server's own configuration, read exactly as `stencil serve` reads it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use stencil_cli::client::Client;
use stencil_server::config::Config;

use crate::cli::Conn;

/// The data directory of the embedded default when none is given.
pub const DEFAULT_DATA_DIR: &str = "./stencil-data";

/// The server configuration as `stencil serve --config FILE --data-dir DIR` builds it: the file
/// (with `DIR` replacing its data directory), or the embedded default under `DIR`.
pub fn load_server_config(config: Option<&Path>, data_dir: Option<&Path>) -> Result<Config> {
    Ok(match config {
        Some(path) => {
            let mut c = Config::load(path)?;
            if let Some(d) = data_dir {
                c.server.data_dir = d.to_path_buf();
            }
            c
        }
        None => Config::embedded(data_dir.unwrap_or(Path::new(DEFAULT_DATA_DIR))),
    })
}

impl Conn {
    /// The server's configuration.
    pub fn server_config(&self) -> Result<Config> {
        load_server_config(self.config.as_deref(), self.data_dir.as_deref())
    }

    /// A V3-signing client. The server config is read only when a flag is missing.
    pub fn client(&self) -> Result<Client> {
        let need_config = self.endpoint.is_none()
            || (self.access_key_id.is_none() && self.access_key_secret.is_none());
        let config = if need_config {
            Some(self.server_config()?)
        } else {
            None
        };
        let endpoint = match (&self.endpoint, &config) {
            (Some(e), _) => e.clone(),
            (None, Some(c)) => connectable(&c.server.listen),
            (None, None) => unreachable!("the config is read when the endpoint is missing"),
        };
        let (ak, secret) = match (&self.access_key_id, &self.access_key_secret, &config) {
            (Some(a), Some(s), _) => (a.clone(), s.clone()),
            (None, None, Some(c)) => match c.accounts.first() {
                Some(a) => (a.access_key_id.clone(), a.access_key_secret.clone()),
                None => generated_credentials(&c.server.data_dir)?,
            },
            (None, None, None) => unreachable!("the config is read when the keys are missing"),
            _ => bail!("give both --access-key-id and --access-key-secret, or neither"),
        };
        Ok(Client::new(&endpoint, &ak, &secret))
    }
}

/// The AccessKey the server generated into `data_dir` on its first start.
fn generated_credentials(data_dir: &Path) -> Result<(String, String)> {
    let path: PathBuf = data_dir.join(stencil_server::credentials::CREDENTIALS_FILE);
    let account = stencil_server::credentials::load(data_dir)
        .with_context(|| format!("no AccessKey given and none readable at {}", path.display()))?;
    Ok((account.access_key_id, account.access_key_secret))
}

/// A listen address as a client can dial it: the wildcard addresses become loopback.
pub fn connectable(listen: &str) -> String {
    if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = listen.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        listen.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        Conn {
            endpoint: None,
            access_key_id: None,
            access_key_secret: None,
            config: None,
            data_dir: None,
        }
    }

    #[test]
    fn wildcard_listen_addresses_are_dialled_on_loopback() {
        assert_eq!(connectable("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(connectable("[::]:9"), "[::1]:9");
        assert_eq!(connectable("10.0.0.5:8080"), "10.0.0.5:8080");
    }

    #[test]
    fn without_a_config_file_the_embedded_default_lives_in_the_data_dir() {
        let c = load_server_config(None, Some(Path::new("/srv/st"))).unwrap();
        assert_eq!(
            c.buckets[0].url,
            "file:///srv/st/buckets/stencil-cn-hangzhou"
        );
        let c = load_server_config(None, None).unwrap();
        assert_eq!(c.server.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn a_config_file_gives_the_endpoint_and_the_first_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stencil.toml");
        std::fs::write(
            &path,
            r#"
[server]
listen = "0.0.0.0:18080"
[[region]]
id = "r1"
name = "Region One"
chunk_store = "file://./chunks"
[[bucket]]
name = "b"
region = "r1"
url = "file://./b"
[[account]]
id = "1234567890123456"
access_key_id = "LTAIconfig"
access_key_secret = "secret-from-config"
"#,
        )
        .unwrap();
        let mut c = conn();
        c.config = Some(path);
        let client = format!("{:?}", c.client().unwrap());
        assert!(client.contains("127.0.0.1:18080"), "{client}");
        assert!(client.contains("LTAIconfig"), "{client}");
        c.data_dir = Some(PathBuf::from("/elsewhere"));
        assert_eq!(
            c.server_config().unwrap().server.data_dir,
            PathBuf::from("/elsewhere")
        );
    }

    #[test]
    fn missing_credentials_name_the_file_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = conn();
        c.data_dir = Some(dir.path().join("none"));
        let err = format!("{:#}", c.client().unwrap_err());
        assert!(err.contains("no AccessKey given"), "{err}");
        assert!(err.contains("none/credentials"), "{err}");
        c.access_key_id = Some("ak".into());
        let err = c.client().unwrap_err().to_string();
        assert!(err.contains("or neither"), "{err}");
    }
}
