//! Fixed newstyle handshake: greeting, client flags and option haggling up to NBD_OPT_GO or
//! NBD_OPT_EXPORT_NAME.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::device::{BlockDevice, Exports};
use crate::error::ConnError;
use crate::proto::*;
use crate::wire::Payload;

/// What the handshake settled on; the transmission phase runs on it.
pub(crate) struct Negotiated {
    pub(crate) device: Arc<dyn BlockDevice>,
    /// Structured replies are in use (READ and BLOCK_STATUS answered with chunks).
    pub(crate) structured: bool,
    /// `base:allocation` was selected for this export (BLOCK_STATUS allowed).
    pub(crate) base_allocation: bool,
}

/// Handshake state carried between options.
#[derive(Default)]
struct State {
    no_zeroes: bool,
    structured: bool,
    /// Export name and whether `base:allocation` was selected by the last SET_META_CONTEXT.
    meta: Option<(String, bool)>,
}

impl State {
    /// Contexts apply only to the export they were selected for.
    fn base_allocation_for(&self, export: &str) -> bool {
        matches!(&self.meta, Some((name, true)) if name == export)
    }
}

/// Transmission flags for `device`.
pub(crate) fn transmission_flags(device: &dyn BlockDevice, structured: bool) -> u16 {
    let mut flags = FLAG_HAS_FLAGS
        | FLAG_SEND_FLUSH
        | FLAG_SEND_FUA
        | FLAG_SEND_TRIM
        | FLAG_SEND_WRITE_ZEROES
        | FLAG_CAN_MULTI_CONN;
    if device.read_only() {
        flags |= FLAG_READ_ONLY;
    }
    if structured {
        flags |= FLAG_SEND_DF;
    }
    flags
}

/// Run the handshake. `Ok(None)`: the client aborted (NBD_OPT_ABORT); the caller closes.
pub(crate) async fn negotiate<R, W>(
    r: &mut R,
    w: &mut W,
    exports: &Arc<dyn Exports>,
) -> Result<Option<Negotiated>, ConnError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut greeting = Vec::with_capacity(18);
    greeting.extend_from_slice(&NBDMAGIC.to_be_bytes());
    greeting.extend_from_slice(&IHAVEOPT.to_be_bytes());
    greeting.extend_from_slice(&(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).to_be_bytes());
    w.write_all(&greeting).await?;
    w.flush().await?;

    let client_flags = r.read_u32().await?;
    if client_flags & !(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES) != 0 {
        return Err(ConnError::BadClientFlags(client_flags));
    }
    let mut state = State {
        no_zeroes: client_flags & FLAG_C_NO_ZEROES != 0,
        ..State::default()
    };

    loop {
        let magic = r.read_u64().await?;
        if magic != IHAVEOPT {
            return Err(ConnError::BadMagic(magic));
        }
        let opt = r.read_u32().await?;
        let len = r.read_u32().await?;

        if opt == OPT_EXPORT_NAME {
            return export_name(r, w, exports, &state, len).await.map(Some);
        }

        let mut out = Vec::new();
        if len > MAX_OPTION_LEN {
            skip(r, len).await?;
            reply(&mut out, opt, REP_ERR_TOO_BIG, b"option payload too long");
            w.write_all(&out).await?;
            w.flush().await?;
            continue;
        }
        let data = read_payload(r, len).await?;
        let done = match opt {
            OPT_ABORT => {
                reply(&mut out, opt, REP_ACK, &[]);
                // The client may already have closed its end; that is fine.
                let _ = w.write_all(&out).await;
                let _ = w.flush().await;
                return Ok(None);
            }
            OPT_LIST => {
                list(&mut out, exports, &data).await?;
                None
            }
            OPT_INFO | OPT_GO => info_or_go(&mut out, opt, &data, exports, &state).await?,
            OPT_STRUCTURED_REPLY => {
                if data.is_empty() {
                    state.structured = true;
                    reply(&mut out, opt, REP_ACK, &[]);
                } else {
                    reply(
                        &mut out,
                        opt,
                        REP_ERR_INVALID,
                        b"NBD_OPT_STRUCTURED_REPLY takes no data",
                    );
                }
                None
            }
            OPT_LIST_META_CONTEXT | OPT_SET_META_CONTEXT => {
                meta_context(&mut out, opt, &data, exports, &mut state).await?;
                None
            }
            _ => {
                reply(&mut out, opt, REP_ERR_UNSUP, b"option not supported");
                None
            }
        };
        w.write_all(&out).await?;
        w.flush().await?;
        if let Some(negotiated) = done {
            return Ok(Some(negotiated));
        }
    }
}

/// NBD_OPT_EXPORT_NAME: there is no way to send an error, so anything wrong ends the session.
async fn export_name<R, W>(
    r: &mut R,
    w: &mut W,
    exports: &Arc<dyn Exports>,
    state: &State,
    len: u32,
) -> Result<Negotiated, ConnError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if len > MAX_STRING_LEN {
        return Err(ConnError::BadExportName(format!("{len} bytes long")));
    }
    let data = read_payload(r, len).await?;
    let name = String::from_utf8(data).map_err(|_| ConnError::BadExportName("not UTF-8".into()))?;
    let Some(device) = open(exports, &name).await? else {
        return Err(ConnError::UnknownExport(name));
    };
    let flags = transmission_flags(&*device, state.structured);
    let mut out = Vec::with_capacity(10 + 124);
    out.extend_from_slice(&device.size().to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    if !state.no_zeroes {
        out.resize(out.len() + 124, 0);
    }
    w.write_all(&out).await?;
    w.flush().await?;
    Ok(Negotiated {
        device,
        structured: state.structured,
        base_allocation: state.base_allocation_for(&name),
    })
}

/// Append one option reply to `out`.
fn reply(out: &mut Vec<u8>, opt: u32, kind: u32, data: &[u8]) {
    out.extend_from_slice(&REP_MAGIC.to_be_bytes());
    out.extend_from_slice(&opt.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

async fn read_payload<R: AsyncRead + Unpin>(r: &mut R, len: u32) -> io::Result<Vec<u8>> {
    // `len` is bounded by the caller, so this allocation is too.
    let mut data = vec![0u8; len as usize];
    r.read_exact(&mut data).await?;
    Ok(data)
}

/// Read and drop `len` bytes without buffering them.
async fn skip<R: AsyncRead + Unpin>(r: &mut R, len: u32) -> io::Result<()> {
    let copied =
        tokio::io::copy(&mut (&mut *r).take(u64::from(len)), &mut tokio::io::sink()).await?;
    if copied < u64::from(len) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// `Exports::open` on a blocking thread (it may do I/O).
async fn open(
    exports: &Arc<dyn Exports>,
    name: &str,
) -> Result<Option<Arc<dyn BlockDevice>>, ConnError> {
    let exports = Arc::clone(exports);
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || exports.open(&name))
        .await
        .map_err(|e| ConnError::Exports(io::Error::other(e)))?
        .map_err(ConnError::Exports)
}

async fn list(out: &mut Vec<u8>, exports: &Arc<dyn Exports>, data: &[u8]) -> Result<(), ConnError> {
    if !data.is_empty() {
        reply(
            out,
            OPT_LIST,
            REP_ERR_INVALID,
            b"NBD_OPT_LIST takes no data",
        );
        return Ok(());
    }
    let exports = Arc::clone(exports);
    let names = tokio::task::spawn_blocking(move || exports.list())
        .await
        .map_err(io::Error::other)?;
    match names {
        Ok(names) => {
            for name in names {
                let mut data = Vec::with_capacity(4 + name.len());
                data.extend_from_slice(&(name.len() as u32).to_be_bytes());
                data.extend_from_slice(name.as_bytes());
                reply(out, OPT_LIST, REP_SERVER, &data);
            }
            reply(out, OPT_LIST, REP_ACK, &[]);
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing exports failed");
            reply(out, OPT_LIST, REP_ERR_PLATFORM, b"listing exports failed");
        }
    }
    Ok(())
}

/// Open `name` for an option that can report errors; `None` after an error reply was appended.
async fn open_for_option(
    out: &mut Vec<u8>,
    opt: u32,
    exports: &Arc<dyn Exports>,
    name: &str,
) -> Result<Option<Arc<dyn BlockDevice>>, ConnError> {
    match open(exports, name).await {
        Ok(Some(device)) => Ok(Some(device)),
        Ok(None) => {
            reply(
                out,
                opt,
                REP_ERR_UNKNOWN,
                format!("unknown export {name:?}").as_bytes(),
            );
            Ok(None)
        }
        Err(ConnError::Exports(e)) => {
            tracing::warn!(export = name, error = %e, "opening export failed");
            reply(
                out,
                opt,
                REP_ERR_UNKNOWN,
                format!("export {name:?} could not be opened").as_bytes(),
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// NBD_OPT_INFO / NBD_OPT_GO. Returns the negotiated export for a successful GO.
async fn info_or_go(
    out: &mut Vec<u8>,
    opt: u32,
    data: &[u8],
    exports: &Arc<dyn Exports>,
    state: &State,
) -> Result<Option<Negotiated>, ConnError> {
    let parsed = (|| {
        let mut p = Payload::new(data);
        let name = p.string()?;
        let count = p.u16()?;
        let requests = (0..count).map(|_| p.u16()).collect::<Option<Vec<u16>>>()?;
        p.finish()?;
        Some((name, requests))
    })();
    let Some((name, requests)) = parsed else {
        reply(
            out,
            opt,
            REP_ERR_INVALID,
            b"malformed NBD_OPT_INFO/NBD_OPT_GO",
        );
        return Ok(None);
    };
    let Some(device) = open_for_option(out, opt, exports, &name).await? else {
        return Ok(None);
    };

    let mut info = Vec::with_capacity(12);
    info.extend_from_slice(&INFO_EXPORT.to_be_bytes());
    info.extend_from_slice(&device.size().to_be_bytes());
    info.extend_from_slice(&transmission_flags(&*device, state.structured).to_be_bytes());
    reply(out, opt, REP_INFO, &info);
    if requests.contains(&INFO_NAME) {
        let mut info = INFO_NAME.to_be_bytes().to_vec();
        info.extend_from_slice(name.as_bytes());
        reply(out, opt, REP_INFO, &info);
    }
    // Like qemu: block sizes always for INFO, for GO when asked.
    if opt == OPT_INFO || requests.contains(&INFO_BLOCK_SIZE) {
        let mut info = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
        for size in [MIN_BLOCK_SIZE, PREFERRED_BLOCK_SIZE, MAX_PAYLOAD] {
            info.extend_from_slice(&size.to_be_bytes());
        }
        reply(out, opt, REP_INFO, &info);
    }
    reply(out, opt, REP_ACK, &[]);
    if opt != OPT_GO {
        return Ok(None);
    }
    let base_allocation = state.base_allocation_for(&name);
    Ok(Some(Negotiated {
        device,
        structured: state.structured,
        base_allocation,
    }))
}

/// NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT (only `base:allocation` exists).
async fn meta_context(
    out: &mut Vec<u8>,
    opt: u32,
    data: &[u8],
    exports: &Arc<dyn Exports>,
    state: &mut State,
) -> Result<(), ConnError> {
    if !state.structured {
        reply(
            out,
            opt,
            REP_ERR_INVALID,
            b"negotiate NBD_OPT_STRUCTURED_REPLY first",
        );
        return Ok(());
    }
    let parsed = (|| {
        let mut p = Payload::new(data);
        let name = p.string()?;
        let count = p.u32()?;
        // Each query takes at least 4 bytes, so a lying count fails before allocating much.
        let mut queries = Vec::new();
        for _ in 0..count {
            queries.push(p.string()?);
        }
        p.finish()?;
        Some((name, queries))
    })();
    let Some((name, queries)) = parsed else {
        reply(out, opt, REP_ERR_INVALID, b"malformed meta context request");
        return Ok(());
    };
    if open_for_option(out, opt, exports, &name).await?.is_none() {
        return Ok(());
    }
    let context = |id: u32| {
        let mut data = id.to_be_bytes().to_vec();
        data.extend_from_slice(BASE_ALLOCATION.as_bytes());
        data
    };
    if opt == OPT_LIST_META_CONTEXT {
        let listed =
            queries.is_empty() || queries.iter().any(|q| q == BASE_ALLOCATION || q == "base:");
        if listed {
            reply(out, opt, REP_META_CONTEXT, &context(0));
        }
    } else {
        let selected = queries.iter().any(|q| q == BASE_ALLOCATION);
        if selected {
            reply(out, opt, REP_META_CONTEXT, &context(BASE_ALLOCATION_ID));
        }
        state.meta = Some((name, selected));
    }
    reply(out, opt, REP_ACK, &[]);
    Ok(())
}
