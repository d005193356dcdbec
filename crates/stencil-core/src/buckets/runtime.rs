//! The small tokio runtime an object bucket runs its requests on, callable from any thread.

use std::future::Future;
use std::io;

/// A runtime that shuts down in the background when dropped, so dropping it never panics.
#[derive(Debug)]
pub(super) struct IoRuntime {
    rt: Option<tokio::runtime::Runtime>,
}

impl IoRuntime {
    pub(super) fn new() -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stencil-bucket-io")
            .enable_all()
            .build()?;
        Ok(IoRuntime { rt: Some(rt) })
    }

    pub(super) fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.as_ref().expect("runtime lives until drop").handle()
    }

    /// Runs `fut` on the runtime and waits for it on this thread.
    pub(super) fn run<T, F>(&self, fut: F) -> object_store::Result<T>
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
                store: "stencil-bucket",
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
