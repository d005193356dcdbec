//! `stencil`: run the server, or talk to one.

mod bucket_access;
mod cli;
mod commands;
mod connect;
mod progress;
mod sparse;

use clap::Parser;

// Request handling allocates many small short-lived objects (parameter maps, views); mimalloc
// serves them with less lock traffic than glibc malloc under concurrent requests.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STENCIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    commands::run(cli::Cli::parse().command).await
}
