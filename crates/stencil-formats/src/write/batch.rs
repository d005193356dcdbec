//! Reading `Data` units in order with two reader threads, so decoding (and compression in
//! the VMDK writer) uses both cores while the output stays strictly sequential.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::DataSource;
use crate::error::{Error, Result};
use crate::extent::Extent;

/// Reader threads (more than cores, so reads overlap with decoding and compression).
const WORKERS: usize = 3;
/// Bytes per batch handed from a reader thread to the writer.
pub(crate) const BATCH_BYTES: u64 = 4 << 20;

/// Merged `[first, end)` runs of `unit`-sized units that overlap a `Data` extent.
pub(crate) fn data_runs(extents: &[Extent], unit: u64) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for e in extents.iter().filter(|e| e.kind.is_data()) {
        let (first, end) = (e.offset / unit, e.end().div_ceil(unit));
        match runs.last_mut() {
            Some(last) if last.1 >= first => last.1 = last.1.max(end),
            _ => runs.push((first, end)),
        }
    }
    runs
}

/// Units in `runs`.
pub(crate) fn count_units(runs: &[(u64, u64)]) -> u64 {
    runs.iter().map(|r| r.1 - r.0).sum()
}

#[derive(Clone, Copy)]
struct Batch {
    first: u64,
    count: u64,
}

fn batches(runs: &[(u64, u64)], unit: u64) -> Vec<Batch> {
    let per = (BATCH_BYTES / unit).max(1);
    let mut out = Vec::new();
    for &(mut first, end) in runs {
        while first < end {
            let count = per.min(end - first);
            out.push(Batch { first, count });
            first += count;
        }
    }
    out
}

type Item<T> = Result<(Batch, Vec<u8>, T)>;

/// Reads every unit of `runs` (zero-padded past `virtual_size`), runs `work` on each batch
/// in a reader thread, and calls `consume(first_unit, data, work_result)` in unit order.
/// Returns the guest bytes read.
pub(crate) fn pipeline<T: Send>(
    source: &dyn DataSource,
    virtual_size: u64,
    unit: u64,
    runs: &[(u64, u64)],
    work: impl Fn(u64, &[u8]) -> Result<T> + Sync,
    mut consume: impl FnMut(u64, &[u8], T) -> Result<()>,
) -> Result<u64> {
    let list = batches(runs, unit);
    let stop = AtomicBool::new(false);
    let mut read = 0u64;
    std::thread::scope(|scope| -> Result<()> {
        let mut rxs: Vec<Receiver<Item<T>>> = Vec::new();
        let mut frees: Vec<SyncSender<Vec<u8>>> = Vec::new();
        for w in 0..WORKERS {
            let (tx, rx) = sync_channel::<Item<T>>(2);
            let (free_tx, free_rx) = sync_channel::<Vec<u8>>(4);
            rxs.push(rx);
            frees.push(free_tx);
            let (list, stop, work) = (&list, &stop, &work);
            scope.spawn(move || {
                for b in list.iter().skip(w).step_by(WORKERS) {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let mut buf = free_rx.try_recv().unwrap_or_default();
                    let item = fill(source, virtual_size, unit, *b, &mut buf)
                        .and_then(|()| work(b.first, &buf))
                        .map(|t| (*b, buf, t));
                    if tx.send(item).is_err() {
                        return;
                    }
                }
            });
        }
        let result = (|| {
            for i in 0..list.len() {
                let (b, buf, t) = rxs[i % WORKERS].recv().map_err(|_| {
                    Error::new(crate::error::ErrorKind::Io, "Reader thread stopped")
                })??;
                read += b.count * unit;
                consume(b.first, &buf, t)?;
                let _ = frees[i % WORKERS].try_send(buf);
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        drop(rxs);
        result
    })?;
    Ok(read)
}

fn fill(
    source: &dyn DataSource,
    virtual_size: u64,
    unit: u64,
    b: Batch,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let start = b.first * unit;
    let len = (b.count * unit) as usize;
    buf.resize(len, 0);
    let avail = virtual_size.saturating_sub(start).min(len as u64) as usize;
    source
        .read_data(&mut buf[..avail], start)
        .map_err(|e| Error::io(e, format!("Cannot read source data at {start:#x}")).at(start))?;
    buf[avail..].fill(0);
    Ok(())
}
