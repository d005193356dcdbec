//! Transmission phase: one reader (this task) parses requests, device calls run on blocking
//! threads, and one writer task sends the replies in completion order.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::device::BlockDevice;
use crate::error::ConnError;
use crate::handshake::Negotiated;
use crate::proto::*;
use crate::reply::{self, Command};

/// Most requests of one connection running at once.
pub const MAX_IN_FLIGHT: usize = 16;
/// Most READ/WRITE payload bytes of one connection held in memory at once (requests and the
/// replies waiting to be sent).
const MAX_BYTES_IN_FLIGHT: u32 = 2 * MAX_PAYLOAD;
/// Size of the reply writer's buffer (small replies are gathered, large ones go straight out).
const WRITE_BUFFER: usize = 256 * 1024;

/// An encoded reply plus the in-flight permits it releases once written.
struct Reply {
    bytes: Vec<u8>,
    _permits: Option<Permits>,
}

struct Permits {
    _slot: OwnedSemaphorePermit,
    _bytes: Option<OwnedSemaphorePermit>,
}

/// One request header.
#[derive(Debug, Clone, Copy)]
struct Request {
    flags: u16,
    kind: u16,
    cookie: u64,
    offset: u64,
    len: u32,
}

/// Serve requests until the client disconnects, breaks the protocol, or `shutdown` turns true.
/// In-flight requests are always answered before this returns.
pub(crate) async fn run<R, W>(
    mut reader: R,
    writer: W,
    negotiated: Negotiated,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_replies(rx, writer));
    let mut conn = Connection {
        device: negotiated.device,
        structured: negotiated.structured,
        base_allocation: negotiated.base_allocation,
        tx,
        slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        bytes: Arc::new(Semaphore::new(MAX_BYTES_IN_FLIGHT as usize)),
    };
    let result = loop {
        let request = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break Ok(()),
            () = conn.tx.closed() => break Ok(()), // the writer failed; its error is reported below
            request = read_request(&mut reader) => request,
        };
        match request {
            Ok(Some(request)) if request.kind == CMD_DISC => break Ok(()),
            Ok(Some(request)) => {
                if let Err(e) = conn.handle(&mut reader, request).await {
                    break Err(e);
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // The writer ends once every in-flight request has sent its reply and dropped its sender.
    drop(conn);
    let written = writer.await.map_err(io::Error::other).and_then(|r| r);
    result?;
    written.map_err(ConnError::from)
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the server is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Read one request header; `None` on a clean end of stream between requests.
async fn read_request<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Request>, ConnError> {
    let mut header = [0u8; REQUEST_HEADER_LEN];
    let first = reader.read(&mut header).await?;
    if first == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut header[first..]).await?;
    let field = |at: usize, len: usize| {
        header[at..at + len]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    };
    let magic = field(0, 4);
    if magic != u64::from(REQUEST_MAGIC) {
        return Err(ConnError::BadMagic(magic));
    }
    // Each field fits its type: the widths read are exactly the type's.
    Ok(Some(Request {
        flags: field(4, 2) as u16,
        kind: field(6, 2) as u16,
        cookie: field(8, 8),
        offset: field(16, 8),
        len: field(24, 4) as u32,
    }))
}

struct Connection {
    device: Arc<dyn BlockDevice>,
    structured: bool,
    base_allocation: bool,
    tx: mpsc::UnboundedSender<Reply>,
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl Connection {
    /// Validate one request and start it. Errors only for socket failures.
    async fn handle<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        req: Request,
    ) -> Result<(), ConnError> {
        let command = match self.validate(req) {
            Ok(command) => command,
            Err((errno, message)) => {
                if req.kind == CMD_WRITE {
                    skip(reader, req.len).await?;
                }
                self.send_now(reply::error(req.cookie, errno, self.structured, message));
                return Ok(());
            }
        };
        let payload = if matches!(req.kind, CMD_READ | CMD_WRITE) {
            req.len
        } else {
            0
        };
        let permits = self.acquire(payload).await;
        let command = match command {
            Command::Write { offset, fua, .. } => {
                let mut data = vec![0u8; req.len as usize];
                reader.read_exact(&mut data).await?;
                Command::Write { offset, data, fua }
            }
            other => other,
        };
        let device = Arc::clone(&self.device);
        let tx = self.tx.clone();
        let (cookie, structured) = (req.cookie, self.structured);
        tokio::task::spawn_blocking(move || {
            let bytes = catch_unwind(AssertUnwindSafe(|| {
                reply::execute(&*device, cookie, command, structured)
            }))
            .unwrap_or_else(|_| {
                tracing::error!(cookie, "device call panicked");
                reply::error(cookie, EIO, structured, "device call panicked")
            });
            // A closed channel means the connection is going away; nothing left to tell.
            let _ = tx.send(Reply {
                bytes,
                _permits: Some(permits),
            });
        });
        Ok(())
    }

    fn send_now(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(Reply {
            bytes,
            _permits: None,
        });
    }

    async fn acquire(&self, payload: u32) -> Permits {
        // The semaphores are never closed, so acquiring cannot fail.
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let bytes = if payload > 0 {
            Some(
                Arc::clone(&self.bytes)
                    .acquire_many_owned(payload)
                    .await
                    .expect("semaphore never closed"),
            )
        } else {
            None
        };
        Permits {
            _slot: slot,
            _bytes: bytes,
        }
    }

    /// Check a request against the export; the error is (errno, message).
    fn validate(&self, req: Request) -> Result<Command, (u32, &'static str)> {
        if req.flags & !CMD_FLAGS_KNOWN != 0 {
            return Err((EINVAL, "unknown command flags"));
        }
        let fua = req.flags & CMD_FLAG_FUA != 0;
        let (offset, len) = (req.offset, req.len);
        let writes = matches!(req.kind, CMD_WRITE | CMD_TRIM | CMD_WRITE_ZEROES);
        if writes && self.device.read_only() {
            return Err((EPERM, "export is read-only"));
        }
        if req.kind == CMD_FLUSH {
            return Ok(Command::Flush);
        }
        if !matches!(
            req.kind,
            CMD_READ | CMD_WRITE | CMD_TRIM | CMD_WRITE_ZEROES | CMD_BLOCK_STATUS
        ) {
            return Err((EINVAL, "unknown command"));
        }
        if len == 0 {
            return Err((EINVAL, "zero-length request"));
        }
        match offset.checked_add(u64::from(len)) {
            Some(end) if end <= self.device.size() => {}
            _ => return Err((EINVAL, "request beyond end of export")),
        }
        if matches!(req.kind, CMD_READ | CMD_WRITE) && len > MAX_PAYLOAD {
            return Err((EINVAL, "request longer than the maximum block size"));
        }
        Ok(match req.kind {
            CMD_READ => Command::Read { offset, len },
            // The payload is read once in-flight permits are held.
            CMD_WRITE => Command::Write {
                offset,
                data: Vec::new(),
                fua,
            },
            CMD_TRIM => Command::Trim { offset, len, fua },
            CMD_WRITE_ZEROES => Command::WriteZeroes {
                offset,
                len,
                may_trim: req.flags & CMD_FLAG_NO_HOLE == 0,
                fua,
            },
            _ => {
                if !self.structured || !self.base_allocation {
                    return Err((EINVAL, "no metadata context negotiated"));
                }
                Command::BlockStatus {
                    offset,
                    len,
                    req_one: req.flags & CMD_FLAG_REQ_ONE != 0,
                }
            }
        })
    }
}

/// Drop a refused WRITE's payload without buffering it.
async fn skip<R: AsyncRead + Unpin>(reader: &mut R, len: u32) -> io::Result<()> {
    let copied = tokio::io::copy(
        &mut (&mut *reader).take(u64::from(len)),
        &mut tokio::io::sink(),
    )
    .await?;
    if copied < u64::from(len) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// Send replies as they complete; gather whatever is queued into one flush.
async fn write_replies<W: AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<Reply>,
    writer: W,
) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, writer);
    while let Some(reply) = rx.recv().await {
        writer.write_all(&reply.bytes).await?;
        crate::buffers::give(reply.bytes);
        while let Ok(reply) = rx.try_recv() {
            writer.write_all(&reply.bytes).await?;
            crate::buffers::give(reply.bytes);
        }
        writer.flush().await?;
    }
    writer.shutdown().await
}
