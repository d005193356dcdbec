//! Seeds a metadata store with N custom images for benchmarks:
//! `cargo run --release -p stencil-testkit --example seed_images -- URL COUNT REGION OWNER`.

use stencil_meta::MetaStore;
use stencil_meta::conformance::sample_image;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, count, region, owner] = args.as_slice() else {
        anyhow::bail!("usage: seed_images URL COUNT REGION OWNER");
    };
    let count: i64 = count.parse()?;
    let store = MetaStore::open(url).await?;
    for n in 0..count {
        let mut image = sample_image(region, owner, &format!("bench-{n:06}"), n);
        if n % 3 == 0 {
            image.os_type = stencil_domain::OsType::Windows;
        }
        store.insert_image(&image).await?;
    }
    store.close().await;
    println!("seeded {count} images into {url}");
    Ok(())
}
