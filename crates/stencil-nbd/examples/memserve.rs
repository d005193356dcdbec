//! Serve an in-memory device over NBD, for manual testing and benchmarks.
//!
//! ```text
//! cargo run --release -p stencil-nbd --example memserve -- [--port 10809] [--size-mib 1024]
//!     [--name NAME] [--fill] [--read-only]
//! qemu-img info nbd://127.0.0.1:10809/NAME
//! ```
//! `--fill` writes a byte pattern over the whole device first (so reads are not all holes).
//! Stops on Ctrl-C.

use std::sync::Arc;

use stencil_nbd::{BlockDevice, ExportMap, MemDevice, serve};

fn main() -> std::io::Result<()> {
    let mut port = 10809u16;
    let mut size_mib = 1024u64;
    let mut name = String::new();
    let mut fill = false;
    let mut read_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "--size-mib" => size_mib = value().parse().unwrap_or_else(|_| usage("bad --size-mib")),
            "--name" => name = value(),
            "--fill" => fill = true,
            "--read-only" => read_only = true,
            _ => usage(&format!("unknown argument {arg}")),
        }
    }

    let device = MemDevice::new(size_mib << 20);
    if fill {
        let chunk: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for mib in 0..size_mib {
            device.write_at(mib << 20, &chunk, false)?;
        }
    }
    let device = Arc::new(device.with_read_only(read_only));
    let exports = Arc::new(ExportMap::new().with(name.clone(), device));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!(
            "serving {size_mib} MiB as nbd://{}/{name}",
            listener.local_addr()?
        );
        serve(listener, exports, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}

fn usage(problem: &str) -> ! {
    eprintln!("memserve: {problem}");
    eprintln!("usage: memserve [--port P] [--size-mib N] [--name NAME] [--fill] [--read-only]");
    std::process::exit(2)
}
