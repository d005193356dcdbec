//! The small tokio runtime object-store clients (chunk stores, buckets) run their requests on,
//! callable from any thread that is not itself a runtime worker.

use std::future::Future;
use std::io;

/// A runtime that shuts down in the background when dropped, so dropping it never panics.
#[derive(Debug)]
pub struct IoRuntime {
    rt: Option<tokio::runtime::Runtime>,
}

impl IoRuntime {
    /// A runtime of two I/O threads named `name`.
    pub fn new(name: &str) -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(IoRuntime { rt: Some(rt) })
    }

    /// Its handle, to spawn on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.as_ref().expect("runtime lives until drop").handle()
    }

    /// Runs `fut` on the runtime and waits for it on this thread.
    pub fn run<T, F>(&self, fut: F) -> object_store::Result<T>
    where
        T: Send + 'static,
        F: Future<Output = object_store::Result<T>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(object_store::Error::Generic {
                store: "stencil-io",
                source: "the I/O task stopped before answering".into(),
            })
        })
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
