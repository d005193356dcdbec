//! The client's way into the server's buckets: it reads the server's `[[bucket]]` config and
//! writes and reads objects through the same bucket abstraction the server uses, so an upload
//! lands exactly where ImportImage looks and a download reads what ExportImage wrote.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use stencil_core::buckets::{Bucket, open_bucket};
use stencil_server::config::{BucketConfig, Config};

use crate::progress;
use crate::sparse::SparseFile;

/// Copy buffer of uploads.
const COPY_BUFFER: usize = 1 << 20;

/// The bucket named `name`, which must be in `region`, or the first bucket of `region`.
pub fn pick_bucket<'a>(
    config: &'a Config,
    region: &str,
    name: Option<&str>,
) -> Result<&'a BucketConfig> {
    let known = || {
        config
            .buckets
            .iter()
            .map(|b| format!("{} ({})", b.name, b.region))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => {
            let Some(b) = config.buckets.iter().find(|b| b.name == name) else {
                bail!(
                    "No bucket {name:?} in the server config; configured: {}",
                    known()
                );
            };
            if b.region != region {
                bail!(
                    "Bucket {name:?} is in region {}, not {region}; pass --region {}",
                    b.region,
                    b.region
                );
            }
            Ok(b)
        }
        None => config
            .buckets
            .iter()
            .find(|b| b.region == region)
            .with_context(|| {
                format!(
                    "No bucket in region {region} in the server config; configured: {}",
                    known()
                )
            }),
    }
}

/// Opens a configured bucket.
pub fn open(b: &BucketConfig) -> Result<Arc<dyn Bucket>> {
    open_bucket(&b.spec()).with_context(|| format!("Cannot open bucket {:?} ({})", b.name, b.url))
}

/// The object key an uploaded file gets when no `--key` is given: its file name.
pub fn default_key(file: &Path) -> Result<String> {
    file.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("Cannot name an object after {}; pass --key", file.display()))
}

/// Where `--to FILE` puts each exported disk: the system disk in `FILE`, data disks in
/// `FILE.data1`, `FILE.data2`, ...
pub fn download_targets(to: &Path, disks: usize) -> Vec<PathBuf> {
    (0..disks)
        .map(|i| {
            if i == 0 {
                to.to_path_buf()
            } else {
                let mut name = to.as_os_str().to_owned();
                name.push(format!(".data{i}"));
                PathBuf::from(name)
            }
        })
        .collect()
}

/// Streams `file` into `bucket` under `key` with a byte progress bar; an error leaves no object.
pub async fn upload(bucket: Arc<dyn Bucket>, key: String, file: PathBuf) -> Result<u64> {
    tokio::task::spawn_blocking(move || {
        let mut src =
            File::open(&file).with_context(|| format!("Cannot open {}", file.display()))?;
        let len = src.metadata().map(|m| m.len()).ok();
        let bar = progress::bytes_bar("upload", len);
        let result = copy_into(&*bucket, &key, &mut src, &bar)
            .with_context(|| format!("Cannot upload {} as {key:?}", file.display()));
        match &result {
            Ok(_) => bar.finish(),
            Err(_) => bar.abandon(),
        }
        result
    })
    .await?
}

fn copy_into(bucket: &dyn Bucket, key: &str, src: &mut dyn Read, bar: &ProgressBar) -> Result<u64> {
    let mut out = bucket.create(key)?;
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                out.abort();
                return Err(e.into());
            }
        };
        if let Err(e) = out.write_all(&buf[..n]) {
            out.abort();
            return Err(e.into());
        }
        bar.inc(n as u64);
    }
    Ok(out.finish()?)
}

/// Downloads `key` into the local file `to` with a byte progress bar, leaving zero blocks as
/// holes. The file appears only when complete.
pub async fn download(bucket: Arc<dyn Bucket>, key: String, to: PathBuf) -> Result<u64> {
    tokio::task::spawn_blocking(move || {
        let total = bucket.head(&key)?;
        let bar = progress::bytes_bar("download", total);
        let result = download_blocking(&*bucket, &key, &to, &bar)
            .with_context(|| format!("Cannot download {key:?} to {}", to.display()));
        match &result {
            Ok(_) => bar.finish(),
            Err(_) => bar.abandon(),
        }
        result
    })
    .await?
}

fn download_blocking(bucket: &dyn Bucket, key: &str, to: &Path, bar: &ProgressBar) -> Result<u64> {
    let part = part_path(to);
    let file = File::create(&part).with_context(|| format!("Cannot create {}", part.display()))?;
    let mut sparse = SparseFile::new(file);
    let mut counting = Counting {
        inner: &mut sparse,
        bar,
    };
    let downloaded = bucket.download(key, &mut counting);
    let copied = match downloaded {
        Ok(_) => finish_download(sparse, &part, to),
        Err(e) => Err(e.into()),
    };
    if copied.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    copied
}

fn finish_download(sparse: SparseFile, part: &Path, to: &Path) -> Result<u64> {
    let (_, n) = sparse.finish()?;
    std::fs::rename(part, to)?;
    Ok(n)
}

/// The temporary sibling a download goes to before it is renamed into place.
fn part_path(to: &Path) -> PathBuf {
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    to.with_file_name(format!("{name}.part"))
}

/// Advances a progress bar by what passes through.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bar: &'a ProgressBar,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::embedded(Path::new("/srv/st"));
        let mut second = c.buckets[0].clone();
        second.name = "images-hz".into();
        c.buckets.push(second);
        c
    }

    #[test]
    fn the_default_bucket_is_the_first_of_the_region() {
        let c = config();
        assert_eq!(
            pick_bucket(&c, "cn-hangzhou", None).unwrap().name,
            "stencil-cn-hangzhou"
        );
        assert_eq!(
            pick_bucket(&c, "cn-beijing", None).unwrap().name,
            "stencil-cn-beijing"
        );
        assert_eq!(
            pick_bucket(&c, "cn-hangzhou", Some("images-hz"))
                .unwrap()
                .name,
            "images-hz"
        );
    }

    #[test]
    fn a_bucket_of_another_region_or_unknown_name_is_refused_clearly() {
        let c = config();
        let err = pick_bucket(&c, "cn-beijing", Some("images-hz"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is in region cn-hangzhou"), "{err}");
        let err = pick_bucket(&c, "cn-hangzhou", Some("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("No bucket \"nope\"") && err.contains("images-hz"),
            "{err}"
        );
        let err = pick_bucket(&c, "us-west-1", None).unwrap_err().to_string();
        assert!(err.contains("No bucket in region us-west-1"), "{err}");
    }

    #[test]
    fn uploads_are_named_after_the_file() {
        assert_eq!(
            default_key(Path::new("/tmp/x/ubuntu-22.04.qcow2")).unwrap(),
            "ubuntu-22.04.qcow2"
        );
        assert!(default_key(Path::new("/")).is_err());
    }

    #[test]
    fn data_disks_download_next_to_the_system_disk() {
        assert_eq!(
            download_targets(Path::new("/o/web.raw"), 3),
            [
                PathBuf::from("/o/web.raw"),
                PathBuf::from("/o/web.raw.data1"),
                PathBuf::from("/o/web.raw.data2")
            ]
        );
        assert_eq!(download_targets(Path::new("x"), 1), [PathBuf::from("x")]);
    }

    #[tokio::test]
    async fn an_upload_and_a_download_round_trip_through_a_directory_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::embedded(&dir.path().join("data"));
        let b = open(pick_bucket(&c, "cn-shanghai", None).unwrap()).unwrap();
        let src = dir.path().join("disk.img");
        let mut data = vec![0u8; 3 << 20];
        data[123] = 7;
        data[(2 << 20) + 5] = 9;
        std::fs::write(&src, &data).unwrap();
        let key = default_key(&src).unwrap();
        assert_eq!(upload(b.clone(), key.clone(), src).await.unwrap(), 3 << 20);
        assert!(
            dir.path()
                .join("data/buckets/stencil-cn-shanghai/disk.img")
                .is_file()
        );
        let to = dir.path().join("back.img");
        assert_eq!(download(b.clone(), key, to.clone()).await.unwrap(), 3 << 20);
        assert_eq!(std::fs::read(&to).unwrap(), data);
        assert!(!part_path(&to).exists());
    }

    #[tokio::test]
    async fn a_missing_object_leaves_no_partial_download() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::embedded(dir.path());
        let b = open(pick_bucket(&c, "cn-hangzhou", None).unwrap()).unwrap();
        std::fs::create_dir_all(dir.path().join("buckets/stencil-cn-hangzhou")).unwrap();
        let to = dir.path().join("out.raw");
        let err = download(b, "missing.raw".into(), to.clone())
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("missing.raw"), "{err:#}");
        assert!(!to.exists() && !part_path(&to).exists());
    }
}
