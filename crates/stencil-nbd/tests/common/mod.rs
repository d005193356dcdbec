//! A minimal NBD client and server harness for the protocol tests.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use stencil_nbd::proto::*;
use stencil_nbd::{ExportMap, Exports, MemDevice, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `serve()` on 127.0.0.1:0, stoppable.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<io::Result<()>>,
}

impl Server {
    pub async fn start(exports: Arc<dyn Exports>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, exports, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    /// Fire shutdown and wait for `serve` to return.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.handle.await.unwrap().unwrap();
    }

    pub fn trigger_stop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    pub async fn join(self) {
        self.handle.await.unwrap().unwrap();
    }
}

/// Exports "disk" (1 MiB, writable) and "ro" (64 KiB, read-only) over MemDevices.
pub fn standard_exports() -> (Arc<MemDevice>, Arc<dyn Exports>) {
    let disk = Arc::new(MemDevice::new(1 << 20));
    let ro = Arc::new(MemDevice::from_bytes(&[7u8; 65536]).with_read_only(true));
    let exports = ExportMap::new().with("disk", disk.clone()).with("ro", ro);
    (disk, Arc::new(exports))
}

pub struct OptReply {
    pub opt: u32,
    pub kind: u32,
    pub data: Vec<u8>,
}

/// A transmission-phase reply.
#[derive(Debug)]
pub enum Reply {
    Simple {
        cookie: u64,
        error: u32,
    },
    Chunk {
        flags: u16,
        kind: u16,
        cookie: u64,
        payload: Vec<u8>,
    },
}

impl Reply {
    pub fn cookie(&self) -> u64 {
        match self {
            Reply::Simple { cookie, .. } | Reply::Chunk { cookie, .. } => *cookie,
        }
    }

    /// The error number of a simple reply or an error chunk; 0 for success.
    pub fn error(&self) -> u32 {
        match self {
            Reply::Simple { error, .. } => *error,
            Reply::Chunk { kind, payload, .. } if *kind & 0x8000 != 0 => {
                u32::from_be_bytes(payload[..4].try_into().unwrap())
            }
            Reply::Chunk { .. } => 0,
        }
    }
}

pub struct Client {
    pub stream: TcpStream,
    /// Transmission flags from the handshake.
    pub flags: u16,
    pub size: u64,
    pub structured: bool,
}

impl Client {
    /// Connect and do the greeting (client flags FIXED_NEWSTYLE | NO_ZEROES).
    pub async fn connect(addr: SocketAddr) -> Client {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(stream.read_u64().await.unwrap(), NBDMAGIC);
        assert_eq!(stream.read_u64().await.unwrap(), IHAVEOPT);
        assert_eq!(
            stream.read_u16().await.unwrap(),
            FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES
        );
        stream
            .write_u32(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)
            .await
            .unwrap();
        Client {
            stream,
            flags: 0,
            size: 0,
            structured: false,
        }
    }

    pub async fn send_option(&mut self, opt: u32, data: &[u8]) {
        let mut out = Vec::new();
        out.extend_from_slice(&IHAVEOPT.to_be_bytes());
        out.extend_from_slice(&opt.to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
        self.stream.write_all(&out).await.unwrap();
    }

    pub async fn read_option_reply(&mut self) -> OptReply {
        assert_eq!(self.stream.read_u64().await.unwrap(), REP_MAGIC);
        let opt = self.stream.read_u32().await.unwrap();
        let kind = self.stream.read_u32().await.unwrap();
        let len = self.stream.read_u32().await.unwrap();
        let mut data = vec![0u8; len as usize];
        self.stream.read_exact(&mut data).await.unwrap();
        OptReply { opt, kind, data }
    }

    /// Send an option and collect replies up to and including the ACK or an error.
    pub async fn option(&mut self, opt: u32, data: &[u8]) -> Vec<OptReply> {
        self.send_option(opt, data).await;
        let mut replies = Vec::new();
        loop {
            let reply = self.read_option_reply().await;
            assert_eq!(reply.opt, opt);
            let last = reply.kind == REP_ACK || reply.kind & (1 << 31) != 0;
            replies.push(reply);
            if last {
                return replies;
            }
        }
    }

    pub async fn structured_reply(&mut self) {
        let replies = self.option(OPT_STRUCTURED_REPLY, &[]).await;
        assert_eq!(replies[0].kind, REP_ACK);
        self.structured = true;
    }

    pub async fn set_meta_context(&mut self, export: &str, queries: &[&str]) -> Vec<OptReply> {
        self.option(OPT_SET_META_CONTEXT, &meta_payload(export, queries))
            .await
    }

    /// NBD_OPT_GO; on success records size and flags.
    pub async fn go(&mut self, name: &str, info_requests: &[u16]) -> Vec<OptReply> {
        let replies = self
            .option(OPT_GO, &info_payload(name, info_requests))
            .await;
        for reply in &replies {
            if reply.kind == REP_INFO && reply.data[..2] == INFO_EXPORT.to_be_bytes() {
                self.size = u64::from_be_bytes(reply.data[2..10].try_into().unwrap());
                self.flags = u16::from_be_bytes(reply.data[10..12].try_into().unwrap());
            }
        }
        replies
    }

    /// Connect, negotiate as asked and enter transmission on `name`.
    pub async fn open(addr: SocketAddr, name: &str, structured: bool, meta: bool) -> Client {
        let mut client = Client::connect(addr).await;
        if structured {
            client.structured_reply().await;
        }
        if meta {
            let replies = client.set_meta_context(name, &[BASE_ALLOCATION]).await;
            assert_eq!(replies.last().unwrap().kind, REP_ACK);
        }
        let replies = client.go(name, &[]).await;
        assert_eq!(replies.last().unwrap().kind, REP_ACK, "GO {name}");
        client
    }

    pub async fn send_request(
        &mut self,
        flags: u16,
        kind: u16,
        cookie: u64,
        offset: u64,
        len: u32,
        data: &[u8],
    ) {
        let mut out = Vec::with_capacity(28 + data.len());
        out.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&cookie.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(data);
        self.stream.write_all(&out).await.unwrap();
    }

    /// Read one reply header (and chunk payload). Simple-reply READ data is left on the stream.
    pub async fn read_reply(&mut self) -> Reply {
        let magic = self.stream.read_u32().await.unwrap();
        match magic {
            SIMPLE_REPLY_MAGIC => {
                let error = self.stream.read_u32().await.unwrap();
                let cookie = self.stream.read_u64().await.unwrap();
                Reply::Simple { cookie, error }
            }
            STRUCTURED_REPLY_MAGIC => {
                let flags = self.stream.read_u16().await.unwrap();
                let kind = self.stream.read_u16().await.unwrap();
                let cookie = self.stream.read_u64().await.unwrap();
                let len = self.stream.read_u32().await.unwrap();
                let mut payload = vec![0u8; len as usize];
                self.stream.read_exact(&mut payload).await.unwrap();
                Reply::Chunk {
                    flags,
                    kind,
                    cookie,
                    payload,
                }
            }
            other => panic!("bad reply magic {other:#x}"),
        }
    }

    pub async fn write(&mut self, cookie: u64, offset: u64, data: &[u8]) -> Reply {
        self.send_request(0, CMD_WRITE, cookie, offset, data.len() as u32, data)
            .await;
        self.read_reply().await
    }

    /// READ; Ok(data) or Err(errno). Works with simple and structured replies.
    pub async fn read(&mut self, cookie: u64, offset: u64, len: u32) -> Result<Vec<u8>, u32> {
        self.send_request(0, CMD_READ, cookie, offset, len, &[])
            .await;
        let mut data = vec![0u8; len as usize];
        loop {
            let reply = self.read_reply().await;
            assert_eq!(reply.cookie(), cookie);
            match reply {
                Reply::Simple { error: 0, .. } => {
                    assert!(
                        !self.structured,
                        "simple reply to READ after structured replies"
                    );
                    self.stream.read_exact(&mut data).await.unwrap();
                    return Ok(data);
                }
                Reply::Simple { error, .. } => return Err(error),
                Reply::Chunk {
                    flags,
                    kind,
                    payload,
                    ..
                } => {
                    if kind & 0x8000 != 0 {
                        assert_ne!(
                            flags & REPLY_FLAG_DONE,
                            0,
                            "test expects the error chunk last"
                        );
                        return Err(u32::from_be_bytes(payload[..4].try_into().unwrap()));
                    }
                    if kind == REPLY_TYPE_OFFSET_DATA {
                        let at = u64::from_be_bytes(payload[..8].try_into().unwrap()) - offset;
                        data[at as usize..at as usize + payload.len() - 8]
                            .copy_from_slice(&payload[8..]);
                    }
                    if flags & REPLY_FLAG_DONE != 0 {
                        return Ok(data);
                    }
                }
            }
        }
    }

    /// True when the server closed the connection (EOF or reset).
    pub async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte).await, Ok(0) | Err(_))
    }
}

pub fn info_payload(name: &str, requests: &[u16]) -> Vec<u8> {
    let mut data = (name.len() as u32).to_be_bytes().to_vec();
    data.extend_from_slice(name.as_bytes());
    data.extend_from_slice(&(requests.len() as u16).to_be_bytes());
    for r in requests {
        data.extend_from_slice(&r.to_be_bytes());
    }
    data
}

pub fn meta_payload(export: &str, queries: &[&str]) -> Vec<u8> {
    let mut data = (export.len() as u32).to_be_bytes().to_vec();
    data.extend_from_slice(export.as_bytes());
    data.extend_from_slice(&(queries.len() as u32).to_be_bytes());
    for q in queries {
        data.extend_from_slice(&(q.len() as u32).to_be_bytes());
        data.extend_from_slice(q.as_bytes());
    }
    data
}

/// Decode NBD_REPLY_TYPE_BLOCK_STATUS: (context id, [(length, flags)]).
pub fn block_status_payload(payload: &[u8]) -> (u32, Vec<(u32, u32)>) {
    let id = u32::from_be_bytes(payload[..4].try_into().unwrap());
    let extents = payload[4..]
        .chunks(8)
        .map(|c| {
            (
                u32::from_be_bytes(c[..4].try_into().unwrap()),
                u32::from_be_bytes(c[4..].try_into().unwrap()),
            )
        })
        .collect();
    (id, extents)
}
