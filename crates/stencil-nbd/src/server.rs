//! Accept loop, per-connection tasks and shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::device::Exports;
use crate::{handshake, transmission};

/// How long open connections get to finish their in-flight requests after shutdown fires
/// before they are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Read buffer of a connection (request headers are small; large WRITE payloads bypass it).
const READ_BUFFER: usize = 256 * 1024;

/// Serve until `shutdown` completes; each connection on its own task. Open connections are
/// closed (after their in-flight requests finish) when shutdown fires.
///
/// Returns once every connection has closed (connections still busy after 30 s are dropped).
/// Accept errors are logged and retried, so in practice this only returns `Ok`.
pub async fn serve(
    listener: TcpListener,
    exports: Arc<dyn Exports>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, Arc::clone(&exports), stop_rx.clone()));
                }
                Err(e) => {
                    // Per-connection failures (reset before accept) and resource exhaustion
                    // (EMFILE) alike: log, pause briefly, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    tracing::debug!(open = connections.len(), "NBD server shutting down");
    stop_tx.send_replace(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "NBD connections still busy after shutdown grace; dropping them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    exports: Arc<dyn Exports>,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "TCP_NODELAY failed");
    }
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(READ_BUFFER, read_half);
    let negotiated = tokio::select! {
        negotiated = handshake::negotiate(&mut reader, &mut write_half, &exports) => negotiated,
        _ = stop.wait_for(|stop| *stop) => return,
    };
    let result = match negotiated {
        Ok(Some(negotiated)) => {
            tracing::debug!(%peer, structured = negotiated.structured, "NBD client entered transmission");
            transmission::run(reader, write_half, negotiated, stop).await
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => tracing::debug!(%peer, "NBD connection closed"),
        Err(e) if e.is_disconnect() => tracing::debug!(%peer, error = %e, "NBD client went away"),
        Err(e) => tracing::info!(%peer, error = %e, "NBD connection dropped"),
    }
}
