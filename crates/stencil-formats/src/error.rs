//! One error type for the crate: a stable [`ErrorKind`] callers branch on, plus context
//! (field, offset, path) and an optional source.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, stable across releases: callers branch on this, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O call on the image file or the output failed.
    Io,
    /// The file is shorter than the fixed-size header or footer of its format.
    Truncated,
    /// The declared format disagrees with the detected one.
    FormatMismatch,
    /// A format we recognise but do not read (VHDX, VDI, ISO, VHD differencing, ...).
    UnsupportedFormat,
    /// A feature of a supported format we refuse (encryption, unknown incompatible bits, ...).
    UnsupportedFeature,
    /// The image names another file (backing file, external data file, VMDK extent).
    ExternalFile,
    /// A header or footer checksum does not match.
    BadChecksum,
    /// A header field has a value the format does not allow.
    InvalidHeader,
    /// A metadata offset points past the end of the file.
    OutOfBounds,
    /// A size or count exceeds a fixed limit of this crate (memory bound).
    LimitExceeded,
    /// Two metadata structures overlap (for example a table over the header).
    Overlap,
    /// Table entries or compressed data are inconsistent.
    CorruptData,
    /// A read or write asked for bytes outside the virtual disk.
    OutOfRange,
    /// A caller passed arguments that do not make sense (writers).
    InvalidInput,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Io => "I/O error",
            ErrorKind::Truncated => "Truncated image",
            ErrorKind::FormatMismatch => "Format mismatch",
            ErrorKind::UnsupportedFormat => "Unsupported format",
            ErrorKind::UnsupportedFeature => "Unsupported feature",
            ErrorKind::ExternalFile => "Image references another file",
            ErrorKind::BadChecksum => "Bad checksum",
            ErrorKind::InvalidHeader => "Invalid header",
            ErrorKind::OutOfBounds => "Offset past end of file",
            ErrorKind::LimitExceeded => "Limit exceeded",
            ErrorKind::Overlap => "Overlapping metadata",
            ErrorKind::CorruptData => "Corrupt image data",
            ErrorKind::OutOfRange => "Out of range",
            ErrorKind::InvalidInput => "Invalid input",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A crate error: kind, message, and where it happened.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<&'static str>,
    offset: Option<u64>,
    path: Option<PathBuf>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a short message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            field: None,
            offset: None,
            path: None,
            source: None,
        }
    }

    /// An I/O error while doing `what`.
    pub fn io(source: std::io::Error, what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Io, what).with_source(source)
    }

    /// Names the header field involved.
    #[must_use]
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Records the file offset involved.
    #[must_use]
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Records the path of the image (kept if already set).
    #[must_use]
    pub fn with_path(mut self, path: &Path) -> Self {
        if self.path.is_none() && !path.as_os_str().is_empty() {
            self.path = Some(path.to_path_buf());
        }
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The header field involved, if any.
    pub fn field_name(&self) -> Option<&'static str> {
        self.field
    }

    /// The file offset involved, if any.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The image path, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let mut parts = Vec::new();
        if let Some(field) = self.field {
            parts.push(format!("field {field}"));
        }
        if let Some(offset) = self.offset {
            parts.push(format!("offset {offset:#x}"));
        }
        if let Some(path) = &self.path {
            parts.push(format!("path {}", path.display()));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e.kind {
            ErrorKind::Io => std::io::Error::other(e),
            ErrorKind::OutOfRange | ErrorKind::InvalidInput => {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
            }
            _ => std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        }
    }
}
