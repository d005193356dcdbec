//! Why a connection ended early. Never surfaces from [`crate::serve`]: a failed connection is
//! logged and closed, and the server goes on.

use std::io;

/// A reason to drop one client connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    #[error("bad magic {0:#x} from client")]
    BadMagic(u64),
    #[error("client flags {0:#x} not supported")]
    BadClientFlags(u32),
    #[error("NBD_OPT_EXPORT_NAME with an unusable name: {0}")]
    BadExportName(String),
    #[error("NBD_OPT_EXPORT_NAME for unknown export {0:?}")]
    UnknownExport(String),
    #[error("opening an export failed: {0}")]
    Exports(io::Error),
}

impl ConnError {
    /// True when the client simply went away (not worth more than a debug line).
    pub(crate) fn is_disconnect(&self) -> bool {
        matches!(self, ConnError::Io(e) if matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ))
    }
}
