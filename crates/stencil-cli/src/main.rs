//! `stencil`: run the server, or talk to one.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::Value;
use stencil_cli::client::Client;
use stencil_server::config::Config;

// Request handling allocates many small short-lived objects (parameter maps, views); mimalloc
// serves them with less lock traffic than glibc malloc under concurrent requests.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stencil",
    version,
    about = "A self-hosted VM image service that speaks the ECS image API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Conn {
    /// API endpoint, host:port.
    #[arg(
        long,
        env = "STENCIL_ENDPOINT",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    endpoint: String,
    /// AccessKey ID (default: from the generated credentials file).
    #[arg(long, env = "STENCIL_ACCESS_KEY_ID", global = true)]
    access_key_id: Option<String>,
    /// AccessKey secret.
    #[arg(
        long,
        env = "STENCIL_ACCESS_KEY_SECRET",
        global = true,
        hide_env_values = true
    )]
    access_key_secret: Option<String>,
    /// Where to look for the generated credentials when no key is given.
    #[arg(
        long,
        env = "STENCIL_DATA_DIR",
        default_value = "./stencil-data",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve {
        /// Configuration file (TOML); without it the embedded default is used.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory of the embedded default (or `server.data_dir` override).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address, overriding the configuration.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Regions.
    Regions {
        #[command(flatten)]
        conn: Conn,
    },
    /// Images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
        #[command(flatten)]
        conn: Conn,
    },
    /// Call any API action: `stencil call DescribeImages RegionId=cn-hangzhou PageSize=5`.
    Call {
        /// Action name.
        action: String,
        /// Parameters as KEY=VALUE.
        params: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// List images.
    List {
        /// Region.
        #[arg(long, default_value = "cn-hangzhou")]
        region: String,
        /// system, self, others or marketplace.
        #[arg(long)]
        owner: Option<String>,
        /// Name substring.
        #[arg(long)]
        name: Option<String>,
        /// Status list, or ALL.
        #[arg(long)]
        status: Option<String>,
        /// Page size (1-100).
        #[arg(long, default_value = "100")]
        page_size: u32,
    },
}

fn client(conn: &Conn) -> Result<Client> {
    let (ak, secret) = match (&conn.access_key_id, &conn.access_key_secret) {
        (Some(a), Some(s)) => (a.clone(), s.clone()),
        (None, None) => {
            let path = conn
                .data_dir
                .join(stencil_server::credentials::CREDENTIALS_FILE);
            let account = stencil_server::credentials::load(&conn.data_dir).with_context(|| {
                format!("no AccessKey given and none readable at {}", path.display())
            })?;
            (account.access_key_id, account.access_key_secret)
        }
        _ => bail!("give both --access-key-id and --access-key-secret, or neither"),
    };
    Ok(Client::new(&conn.endpoint, &ak, &secret))
}

/// Prints a line of the server's banner; a closed stdout (a detached or piped server) must not
/// stop the server, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

async fn serve(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<String>,
) -> Result<()> {
    let mut config = match &config {
        Some(path) => {
            let mut c = Config::load(path)?;
            if let Some(d) = data_dir {
                c.server.data_dir = d;
            }
            c
        }
        None => Config::embedded(&data_dir.unwrap_or_else(|| PathBuf::from("./stencil-data"))),
    };
    if let Some(l) = listen {
        config.server.listen = l;
    }
    config.validate()?;
    let prepared = stencil_server::prepare(&config).await?;
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    say!("Stencil is serving the ECS API (2014-05-26) at http://{addr}/");
    say!(
        "Regions: {}",
        config
            .regions
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let creds = config
        .server
        .data_dir
        .join(stencil_server::credentials::CREDENTIALS_FILE);
    if let Some(a) = &prepared.generated_account {
        say!(
            "Generated account {} with AccessKey (shown once, saved to {}):",
            a.id,
            creds.display()
        );
        say!("  AccessKeyId:     {}", a.access_key_id);
        say!("  AccessKeySecret: {}", a.access_key_secret);
    } else if let Some(a) = &prepared.default_account {
        say!(
            "Account {} AccessKeyId {} (secret in {})",
            a.id,
            a.access_key_id,
            creds.display()
        );
    }
    let meta = prepared.meta.clone();
    stencil_server::serve(listener, prepared.state, shutdown_signal()).await?;
    meta.close().await;
    say!("Stencil stopped.");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

fn print_json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STENCIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            config,
            data_dir,
            listen,
        } => serve(config, data_dir, listen).await,
        Command::Regions { conn } => {
            print_json(&client(&conn)?.call("DescribeRegions", &[]).await?)
        }
        Command::Images {
            command:
                ImagesCommand::List {
                    region,
                    owner,
                    name,
                    status,
                    page_size,
                },
            conn,
        } => {
            let page_size = page_size.to_string();
            let mut params = vec![
                ("RegionId", region.as_str()),
                ("PageSize", page_size.as_str()),
            ];
            for (k, v) in [
                ("ImageOwnerAlias", &owner),
                ("ImageName", &name),
                ("Status", &status),
            ] {
                if let Some(v) = v {
                    params.push((k, v.as_str()));
                }
            }
            let body = client(&conn)?.call("DescribeImages", &params).await?;
            let images = body["Images"]["Image"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            println!(
                "{:<48} {:<40} {:<12} {:<8} {:>5}",
                "ImageId", "ImageName", "Status", "Arch", "GiB"
            );
            for i in &images {
                let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
                println!(
                    "{:<48} {:<40} {:<12} {:<8} {:>5}",
                    s("ImageId"),
                    s("ImageName"),
                    s("Status"),
                    s("Architecture"),
                    i["Size"]
                );
            }
            println!("{} of {} images", images.len(), body["TotalCount"]);
            Ok(())
        }
        Command::Call {
            action,
            params,
            conn,
        } => {
            let pairs: Vec<(String, String)> = params
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect::<Option<_>>()
                .context("parameters are KEY=VALUE")?;
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            print_json(&client(&conn)?.call(&action, &refs).await?)
        }
    }
}
