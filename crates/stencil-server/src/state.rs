//! What every request handler shares.

use std::collections::HashMap;

use stencil_core::{Caller, ImageService, Instances, Lifecycle, Sharing};
use stencil_domain::AccountId;

use crate::config::AccountConfig;
use crate::nonce::Nonces;

/// An account as the server knows it.
#[derive(Debug, Clone)]
pub struct Account {
    /// The UID.
    pub id: AccountId,
    /// The AccessKey secret.
    pub secret: String,
}

/// Shared state of the API server.
#[derive(Debug)]
pub struct AppState {
    /// AccessKey ID → account.
    pub accounts: HashMap<String, Account>,
    /// Replay protection.
    pub nonces: Nonces,
    /// Image queries.
    pub images: ImageService,
    /// The image lifecycle (imports, exports, tasks, snapshots, tags).
    pub lifecycle: Lifecycle,
    /// Instances, disks and disk snapshots.
    pub instances: Instances,
    /// Share permissions and community images.
    pub sharing: Sharing,
    /// `HostId` in error bodies and the `RegionEndpoint` base.
    pub host_id: String,
    /// Largest accepted body.
    pub max_body_bytes: usize,
}

impl AppState {
    /// Builds the AccessKey table; the config was validated, so IDs parse.
    pub fn accounts_from(configs: &[AccountConfig]) -> HashMap<String, Account> {
        configs
            .iter()
            .filter_map(|a| {
                AccountId::parse(&a.id).map(|id| {
                    (
                        a.access_key_id.clone(),
                        Account {
                            id,
                            secret: a.access_key_secret.clone(),
                        },
                    )
                })
            })
            .collect()
    }

    /// The caller for an authenticated AccessKey.
    pub fn caller(&self, access_key_id: &str) -> Option<Caller> {
        self.accounts.get(access_key_id).map(|a| Caller {
            account: a.id.clone(),
        })
    }
}
