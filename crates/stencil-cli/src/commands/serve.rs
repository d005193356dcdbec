//! `stencil serve`: the API server, until SIGINT or SIGTERM.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::connect::load_server_config;

/// Prints a line of the server's banner; a closed stdout (a detached or piped server) must not
/// stop the server, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Runs the server with the configuration `config` or the embedded default under `data_dir`.
pub async fn run(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    nbd_listen: Option<String>,
) -> Result<()> {
    let mut config = load_server_config(config.as_deref(), data_dir.as_deref())?;
    if let Some(l) = listen {
        config.server.listen = l;
    }
    if let Some(l) = nbd_listen {
        config.server.nbd_listen = l;
    }
    config.validate()?;
    let prepared = stencil_server::prepare(&config).await?;
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    say!("Stencil is serving the ECS API (2014-05-26) at http://{addr}/");
    let nbd = if config.server.nbd_listen.is_empty() {
        None
    } else {
        let l = tokio::net::TcpListener::bind(&config.server.nbd_listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.nbd_listen))?;
        say!(
            "Disks are served over NBD at nbd://{}/<disk-id>",
            l.local_addr()?
        );
        Some(l)
    };
    say!(
        "Regions: {}",
        config
            .regions
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let creds = config
        .server
        .data_dir
        .join(stencil_server::credentials::CREDENTIALS_FILE);
    if let Some(a) = &prepared.generated_account {
        say!(
            "Generated account {} with AccessKey (shown once, saved to {}):",
            a.id,
            creds.display()
        );
        say!("  AccessKeyId:     {}", a.access_key_id);
        say!("  AccessKeySecret: {}", a.access_key_secret);
    } else if let Some(a) = &prepared.default_account {
        say!(
            "Account {} AccessKeyId {} (secret in {})",
            a.id,
            a.access_key_id,
            creds.display()
        );
    }
    let meta = prepared.meta.clone();
    stencil_server::serve_all(listener, nbd, prepared.state, shutdown).await?;
    meta.close().await;
    say!("Stencil stopped.");
    Ok(())
}

/// SIGINT or SIGTERM. The handlers are installed now, before the banner is printed, so a
/// signal sent as soon as the banner appears stops the server gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    async move {
        let int = async {
            match int.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! { () = int => {}, () = term => {} }
        tracing::info!("shutting down");
    }
}
