//! Test kit: start the real server on port 0 in its own temp dir, with known accounts, and
//! talk to it with signed requests.
//!
//! ```no_run
//! # async fn demo() {
//! let server = stencil_testkit::TestServer::start().await;
//! let body = server.client().call("DescribeRegions", &[]).await.unwrap();
//! assert_eq!(body["Regions"]["Region"].as_array().unwrap().len(), 3);
//! server.stop().await;
//! # }
//! ```

use std::net::SocketAddr;
use std::path::Path;

use stencil_cli::client::Client;
use stencil_server::config::{AccountConfig, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod instances;
pub mod lifecycle;
pub mod raw;

pub use stencil_cli::client::ClientError;

/// The accounts every test server has: (UID, AccessKey ID, secret).
pub const ACCOUNTS: [(&str, &str, &str); 3] = [
    ("1234567890123456", "testak", "testsecret"),
    ("2345678901234567", "otherak", "othersecret"),
    ("3456789012345678", "thirdak", "thirdsecret"),
];

/// A running server owned by a test.
#[derive(Debug)]
pub struct TestServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The NBD listener's address (disks are exports named by their IDs).
    pub nbd_addr: SocketAddr,
    /// Its data directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The configuration it runs with.
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    meta: stencil_meta::MetaStore,
}

impl TestServer {
    /// Starts a server with the embedded default layout and the two test accounts.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::embedded(dir.path());
        config.server.listen = "127.0.0.1:0".into();
        config.accounts = ACCOUNTS
            .iter()
            .map(|(id, ak, sk)| AccountConfig {
                id: (*id).into(),
                access_key_id: (*ak).into(),
                access_key_secret: (*sk).into(),
            })
            .collect();
        adjust(&mut config);
        Self::start_config(config, dir).await
    }

    async fn start_config(config: Config, dir: tempfile::TempDir) -> TestServer {
        config.validate().expect("valid test config");
        let prepared = stencil_server::prepare(&config)
            .await
            .expect("server prepares");
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let nbd = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind nbd");
        let nbd_addr = nbd.local_addr().expect("nbd local addr");
        let (tx, rx) = oneshot::channel();
        let meta = prepared.meta.clone();
        let handle = tokio::spawn(stencil_server::serve_all(
            listener,
            Some(nbd),
            prepared.state,
            async {
                let _ = rx.await;
            },
        ));
        TestServer {
            addr,
            nbd_addr,
            dir,
            config,
            shutdown: Some(tx),
            handle: Some(handle),
            meta,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// `nbd://127.0.0.1:PORT/<disk>`, the URL qemu tools open a disk with.
    pub fn nbd_url(&self, disk: &str) -> String {
        format!("nbd://{}/{disk}", self.nbd_addr)
    }

    /// A V3 client signed as the first test account.
    pub fn client(&self) -> Client {
        self.client_for(0)
    }

    /// A V3 client signed as test account `i`.
    pub fn client_for(&self, i: usize) -> Client {
        let (_, ak, sk) = ACCOUNTS[i];
        Client::new(&self.endpoint(), ak, sk)
    }

    /// The metadata store the server uses (to seed data in tests).
    pub fn meta(&self) -> &stencil_meta::MetaStore {
        &self.meta
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    /// Stops the server gracefully and starts a new one on the same data directory and
    /// configuration (new ports: take `endpoint`, `nbd_url` and clients from the new server).
    pub async fn restart(mut self) -> TestServer {
        self.shut_down().await;
        // The old value only drops a placeholder directory; the data directory moves on.
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        Self::start_config(self.config.clone(), dir).await
    }

    async fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran");
        }
        self.meta.close().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
