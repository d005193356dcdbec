//! `stencil admin gc` and `stencil admin verify`: they open the metadata store and the chunk
//! stores the server's configuration names, directly (no API call), so they also work while
//! the server is stopped.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use stencil_chunks::gc::GcOptions;
use stencil_core::RegionStores;
use stencil_core::maintenance::{collect_garbage, verify_stores};
use stencil_meta::MetaStore;

use crate::cli::{AdminCommand, Conn};

/// Runs an admin command.
pub async fn run(command: AdminCommand, conn: &Conn) -> Result<()> {
    let config = conn.server_config()?;
    let stores = RegionStores::open(&config.chunk_stores())?;
    match command {
        AdminCommand::Gc { margin, dry_run } => {
            let meta = MetaStore::open(&config.metadata.url)
                .await
                .context("opening the metadata store")?;
            let opts = GcOptions {
                margin: Duration::from_secs(margin),
                dry_run,
                ..GcOptions::default()
            };
            let done = collect_garbage(&meta, &stores, opts).await?;
            meta.close().await;
            let verb = if dry_run { "would remove" } else { "removed" };
            for r in done {
                println!(
                    "{}: {verb} {} unreferenced indexes, {} chunks ({} bytes); kept {} chunks in use, {} newer than the cutoff",
                    r.region,
                    r.orphan_indexes.len(),
                    r.chunks.removed,
                    r.chunks.removed_bytes,
                    r.chunks.marked,
                    r.chunks.pending,
                );
            }
            Ok(())
        }
        AdminCommand::Verify => {
            let mut bad = 0;
            for (region, report) in verify_stores(&stores).await? {
                println!(
                    "{region}: {} chunks ({} bytes) checked, {} corrupt, {} missing, {} unreadable indexes",
                    report.blobs_checked,
                    report.bytes_checked,
                    report.bad.len(),
                    report.missing.len(),
                    report.bad_indexes.len(),
                );
                for b in &report.bad {
                    println!("  corrupt: {b:?}");
                }
                for (digest, indexes) in &report.missing {
                    println!("  missing: {digest} named by {}", indexes.join(", "));
                }
                if !report.is_clean() {
                    bad += 1;
                }
            }
            if bad > 0 {
                bail!("{bad} region(s) have damaged chunk stores");
            }
            Ok(())
        }
    }
}
