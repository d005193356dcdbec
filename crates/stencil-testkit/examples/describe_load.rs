//! Load generator for `bench/describe_images`: N concurrent clients send signed (V3)
//! requests over keep-alive connections for a fixed time and report requests/s and latency
//! percentiles measured at the client.
//!
//! `describe_load ENDPOINT AK SECRET CLIENTS SECONDS ACTION [KEY=VALUE...]`

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use stencil_cli::client::Client;

// The same allocator as the server, so the load generator takes as little of the shared
// CPUs as it can.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: the clients wait on the network, and a second runtime thread would only add
// wake-ups on the two cores the server needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        bail!("usage: describe_load ENDPOINT AK SECRET CLIENTS SECONDS ACTION [KEY=VALUE...]");
    }
    let (endpoint, ak, sk) = (&args[1], &args[2], &args[3]);
    let clients: usize = args[4].parse().context("CLIENTS")?;
    let seconds: u64 = args[5].parse().context("SECONDS")?;
    let action = args[6].clone();
    let params: Vec<(String, String)> = args[7..]
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .context("KEY=VALUE")
        })
        .collect::<anyhow::Result<_>>()?;
    let client = Client::new(endpoint, ak, sk);
    // Warm up: check the call works and fill the server's caches.
    let refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let first = client.call(&action, &refs).await?;
    let returned = first["Images"]["Image"].as_array().map_or(0, Vec::len);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, action, params) = (client.clone(), action.clone(), params.clone());
        tasks.push(tokio::spawn(async move {
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                // The body is read but not parsed: the load generator shares the CPUs with the
                // server, and parsing 100 images per response would bill the server for it.
                match client.call_raw(&action, &refs).await {
                    Ok((200, _)) => lat.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "requests={} errors={errors} seconds={seconds} clients={clients} images_per_response={returned}",
        all.len()
    );
    println!("throughput_rps={:.0}", all.len() as f64 / seconds as f64);
    println!(
        "p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
