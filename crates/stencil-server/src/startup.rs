//! Start-up: open the metadata store, publish the catalogs, build the shared state.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use stencil_core::disks::DiskRegistry;
use stencil_core::jobs::JobEnv;
use stencil_core::{
    ImageService, Instances, Lifecycle, Region, RegionStores, Regions, Sharing, TaskRunner,
    publish_public_catalog,
};
use stencil_domain::catalog::{CatalogError, InstanceTypeCatalog, PublicCatalog};
use stencil_meta::MetaStore;

use crate::config::{AccountConfig, Config};
use crate::credentials::{self, CredentialsError};
use crate::nonce::Nonces;
use crate::state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A directory could not be created.
    #[error("Cannot create directory {path}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The generated credentials could not be read or written.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The metadata store could not be opened.
    #[error("Cannot open metadata store: {0}")]
    Meta(#[from] stencil_meta::MetaError),
    /// A catalog file could not be read.
    #[error("Cannot read catalog {path}")]
    CatalogRead {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A catalog is invalid.
    #[error("Invalid catalog {path}")]
    Catalog {
        path: String,
        #[source]
        source: Box<CatalogError>,
    },
    /// Publishing the catalog failed.
    #[error("Cannot publish the public catalog: {0}")]
    Publish(String),
    /// This node's ID could not be read from or written to `data_dir/node-id`.
    #[error("Cannot keep this node's ID in {path}")]
    NodeId {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A region's chunk store could not be opened.
    #[error(transparent)]
    Store(#[from] stencil_core::StoreOpenError),
    /// A bucket could not be opened.
    #[error("Cannot open bucket {name}")]
    Bucket {
        name: String,
        #[source]
        source: Box<stencil_core::buckets::BucketError>,
    },
    /// A KMS key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::config::ConfigError),
    /// Unfinished tasks could not be resumed.
    #[error("Cannot resume unfinished tasks: {0}")]
    Recover(stencil_meta::MetaError),
}

/// A server ready to serve.
#[derive(Debug)]
pub struct Prepared {
    /// The shared state.
    pub state: Arc<AppState>,
    /// The account generated at this start, if one was (print it once).
    pub generated_account: Option<AccountConfig>,
    /// The account used when the config names none (generated now or earlier).
    pub default_account: Option<AccountConfig>,
    /// The metadata store (to close on shutdown).
    pub meta: MetaStore,
}

fn mkdir(path: &Path) -> Result<(), StartError> {
    std::fs::create_dir_all(path).map_err(|source| StartError::Dir {
        path: path.display().to_string(),
        source,
    })
}

fn load_catalog<T>(
    path: Option<&Path>,
    builtin: impl FnOnce() -> T,
    parse: impl FnOnce(&str, &Path) -> Result<T, CatalogError>,
) -> Result<T, StartError> {
    let Some(path) = path else {
        return Ok(builtin());
    };
    let text = std::fs::read_to_string(path).map_err(|source| StartError::CatalogRead {
        path: path.display().to_string(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|source| StartError::Catalog {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

/// Opens everything the configuration names and returns the shared state.
pub async fn prepare(config: &Config) -> Result<Prepared, StartError> {
    mkdir(&config.server.data_dir)?;
    for url in config
        .regions
        .iter()
        .map(|r| &r.chunk_store)
        .chain(config.buckets.iter().map(|b| &b.url))
    {
        if let Some(dir) = url.strip_prefix("file://") {
            mkdir(Path::new(dir))?;
        }
    }
    if let Some(path) = config.metadata.url.strip_prefix("sqlite://")
        && let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        mkdir(parent)?;
    }
    let mut accounts = config.accounts.clone();
    let (mut generated_account, mut default_account) = (None, None);
    if accounts.is_empty() {
        let (account, created) = credentials::load_or_create(&config.server.data_dir)?;
        if created {
            generated_account = Some(account.clone());
        }
        default_account = Some(account.clone());
        accounts.push(account);
    }
    let meta = MetaStore::open(&config.metadata.url).await?;
    let public = load_catalog(
        config.catalog.public_images.as_deref(),
        PublicCatalog::builtin,
        |t, b| PublicCatalog::parse(t, Some(b)),
    )?;
    let instance_types = load_catalog(
        config.catalog.instance_types.as_deref(),
        InstanceTypeCatalog::builtin,
        |t, _| InstanceTypeCatalog::parse(t),
    )?;
    let regions = Regions::new(
        config
            .regions
            .iter()
            .map(|r| Region {
                id: r.id.clone(),
                name: r.name.clone(),
            })
            .collect(),
    );
    let region_ids = regions.ids();
    // A catalog entry may name regions this deployment does not run; it is published in the
    // configured ones only, so one catalog serves every deployment.
    if let Err(e) = public.check_regions(&region_ids) {
        tracing::warn!(
            "public catalog: {e}; such entries are published in configured regions only"
        );
    }
    let keys = config
        .kms_keys
        .iter()
        .map(|k| k.load())
        .collect::<Result<Vec<_>, _>>()?;
    let stores = RegionStores::open(&config.chunk_stores())?.with_keys(&keys)?;
    if meta.backend() == stencil_meta::Backend::Sqlite {
        // One node owns the stores: writer sessions on record are a killed process's.
        match stores.clear_stale_sessions() {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed writer sessions of a previous run"),
            Err(e) => tracing::warn!("cannot clear stale writer sessions: {e}"),
        }
    }
    let mut buckets = Vec::new();
    for b in &config.buckets {
        buckets.push(
            stencil_core::buckets::open_bucket(&b.spec()).map_err(|source| StartError::Bucket {
                name: b.name.clone(),
                source: Box::new(source),
            })?,
        );
    }
    let buckets = Arc::new(stencil_core::buckets::Buckets::new(buckets));
    let published = publish_public_catalog(&meta, &public, &regions, &stores)
        .await
        .map_err(|e| StartError::Publish(e.to_string()))?;
    tracing::info!(
        published,
        regions = region_ids.len(),
        "public catalog published"
    );
    let disks = DiskRegistry::new(config.server.data_dir.join("disks"), stores.clone())
        .verify_reads(config.server.verify_disk_reads);
    let mut runner = TaskRunner::new(JobEnv {
        meta: meta.clone(),
        stores: stores.clone(),
        buckets: buckets.clone(),
        disks: disks.clone(),
    });
    let node = match config.server.node_id.as_str() {
        "" => stored_node_id(&config.server.data_dir, runner.node()).map_err(|source| {
            StartError::NodeId {
                path: config.server.data_dir.join("node-id").display().to_string(),
                source,
            }
        })?,
        id => id.to_string(),
    };
    runner = runner.with_lease(
        &node,
        std::time::Duration::from_secs_f64(config.server.task_lease_secs),
    );
    let lifecycle = Lifecycle::new(
        meta.clone(),
        regions.clone(),
        buckets,
        config.quotas,
        runner.clone(),
    );
    let images = ImageService::new(meta.clone(), regions, Arc::new(instance_types));
    let instances = Instances::new(lifecycle.clone(), images.clone(), stores.clone(), disks);
    // Disks first: a resumed snapshot task needs its disks open.
    let opened = instances
        .open_all()
        .await
        .map_err(|e| StartError::Publish(format!("cannot open disks: {e}")))?;
    if opened > 0 {
        tracing::info!(disks = opened, "disks opened");
    }
    let sole_node = meta.backend() == stencil_meta::Backend::Sqlite;
    let resumed = runner
        .recover(sole_node)
        .await
        .map_err(StartError::Recover)?;
    if resumed > 0 {
        tracing::info!(tasks = resumed, "resumed unfinished tasks");
    }
    runner.keep_leases();
    schedule_maintenance(&config.server, &meta, &stores, &node);
    let accounts = AppState::accounts_from(&accounts);
    let sharing = Sharing::new(lifecycle.clone(), accounts.values().map(|a| a.id.clone()));
    let state = AppState {
        accounts,
        nonces: Nonces::for_store(&meta),
        images,
        lifecycle,
        instances,
        sharing,
        host_id: host_id(&config.server.listen),
        max_body_bytes: config.server.max_body_bytes,
    };
    Ok(Prepared {
        state: Arc::new(state),
        generated_account,
        default_account,
        meta,
    })
}

/// Scheduled GC and verify (`[server] gc_interval_secs`, `verify_interval_secs`), each on one
/// node at a time.
fn schedule_maintenance(
    server: &crate::config::ServerConfig,
    meta: &stencil_meta::MetaStore,
    stores: &RegionStores,
    node: &str,
) {
    use stencil_core::maintenance::{
        collect_garbage, gc_summary, schedule, verify_stores, verify_summary,
    };
    let secs = std::time::Duration::from_secs;
    if server.gc_interval_secs > 0 {
        let (m, st) = (meta.clone(), stores.clone());
        schedule(
            meta.clone(),
            node.to_string(),
            "gc",
            secs(server.gc_interval_secs),
            move || {
                let (m, st) = (m.clone(), st.clone());
                async move {
                    let runs = collect_garbage(&m, &st, Default::default()).await?;
                    Ok(gc_summary(&runs))
                }
            },
        );
    }
    if server.verify_interval_secs > 0 {
        let st = stores.clone();
        schedule(
            meta.clone(),
            node.to_string(),
            "verify",
            secs(server.verify_interval_secs),
            move || {
                let st = st.clone();
                async move { Ok(verify_summary(&verify_stores(&st).await?)) }
            },
        );
    }
}

/// The node ID kept in `data_dir/node-id` (written with `generated` on first start): a node is
/// its `data_dir`, where its disks' overlays live, so it keeps its ID across restarts.
fn stored_node_id(data_dir: &std::path::Path, generated: &str) -> std::io::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) => write_node_id(&path, generated),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_node_id(&path, generated),
        Err(e) => Err(e),
    }
}

fn write_node_id(path: &std::path::Path, id: &str) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::rename(&tmp, path)?;
    Ok(id.to_string())
}

fn host_id(listen: &str) -> String {
    listen.to_string()
}

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::app::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the API on `api` and, if given, the disks over NBD on `nbd`, until `shutdown`
/// completes; then both finish what is in flight.
pub async fn serve_all(
    api: tokio::net::TcpListener,
    nbd: Option<tokio::net::TcpListener>,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let nbd_task = nbd.map(|l| {
        tokio::spawn(crate::nbd::serve_nbd(
            l,
            state.instances.registry().clone(),
            stopped(rx.clone()),
        ))
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let registry = state.instances.registry().clone();
    let api = serve(api, state, stopped(rx)).await;
    if let Some(t) = nbd_task {
        t.await.map_err(std::io::Error::other)??;
    }
    // Clients may have disconnected without a FLUSH: what they were told is written stays.
    tokio::task::spawn_blocking(move || registry.flush_all())
        .await
        .map_err(std::io::Error::other)??;
    api
}
