//! `stencil images list|import|export|delete`: the image lifecycle from the command line.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use stencil_cli::client::Client;

use super::{items, table, tasks, text};
use crate::bucket_access::{self, download_targets, pick_bucket};
use crate::cli::{
    Conn, CopyArgs, DeleteArgs, ExportArgs, ImagesCommand, ImportArgs, ListArgs, ShareArgs,
};

/// Every image status, for looking an image up whatever state it is in (as Terraform does).
const ALL_STATUSES: &str = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated";

pub async fn run(command: ImagesCommand, conn: &Conn) -> Result<()> {
    match command {
        ImagesCommand::List(a) => list(&conn.client()?, a).await,
        ImagesCommand::Import(a) => import(conn, a).await,
        ImagesCommand::Export(a) => export(conn, a).await,
        ImagesCommand::Delete(a) => delete(&conn.client()?, a).await,
        ImagesCommand::Copy(a) => copy(&conn.client()?, a).await,
        ImagesCommand::Share(a) => share(&conn.client()?, a, "AddAccount").await,
        ImagesCommand::Unshare(a) => share(&conn.client()?, a, "RemoveAccount").await,
    }
}

async fn list(client: &Client, a: ListArgs) -> Result<()> {
    let page_size = a.page_size.to_string();
    let status = if a.all {
        Some("ALL".to_string())
    } else {
        a.status
    };
    let mut params = vec![
        ("RegionId", a.region.as_str()),
        ("PageSize", page_size.as_str()),
    ];
    for (k, v) in [
        ("ImageOwnerAlias", &a.owner),
        ("ImageName", &a.name),
        ("Status", &status),
    ] {
        if let Some(v) = v {
            params.push((k, v.as_str()));
        }
    }
    let body = client.call("DescribeImages", &params).await?;
    let images = items(&body, "Images", "Image");
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|i| {
            [
                "ImageId",
                "ImageName",
                "Status",
                "Progress",
                "Architecture",
                "Size",
            ]
            .iter()
            .map(|k| text(i, k))
            .collect()
        })
        .collect();
    print!(
        "{}",
        table(
            &["ImageId", "ImageName", "Status", "Progress", "Arch", "GiB"],
            &rows
        )
    );
    println!("{} of {} images", images.len(), body["TotalCount"]);
    Ok(())
}

/// The ImportImage parameters of `a`, with the object uploaded as `bucket`/`key`.
fn import_params<'a>(a: &'a ImportArgs, bucket: &'a str, key: &'a str) -> Vec<(&'a str, String)> {
    let mut params = vec![
        ("RegionId", a.region.clone()),
        ("ImageName", a.name.clone()),
        ("DiskDeviceMapping.1.OSSBucket", bucket.to_string()),
        ("DiskDeviceMapping.1.OSSObject", key.to_string()),
    ];
    for (k, v) in [
        (
            "DiskDeviceMapping.1.Format",
            a.format.as_ref().map(|f| f.to_ascii_uppercase()),
        ),
        ("Description", a.description.clone()),
        ("Architecture", a.arch.clone()),
        ("OSType", a.os_type.clone()),
        ("Platform", a.platform.clone()),
        ("BootMode", a.boot_mode.clone()),
    ] {
        if let Some(v) = v {
            params.push((k, v));
        }
    }
    params
}

async fn import(conn: &Conn, a: ImportArgs) -> Result<()> {
    // Every check that can fail comes before the upload, which may take long.
    let meta =
        std::fs::metadata(&a.file).with_context(|| format!("Cannot read {}", a.file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", a.file.display());
    }
    let key = match &a.key {
        Some(k) => k.clone(),
        None => bucket_access::default_key(&a.file)?,
    };
    let config = conn.server_config()?;
    let bucket_config = pick_bucket(&config, &a.region, a.bucket.as_deref())?;
    let client = conn.client()?;
    let bucket = bucket_access::open(bucket_config)?;

    eprintln!(
        "Uploading {} to bucket {} as {key}",
        a.file.display(),
        bucket_config.name
    );
    bucket_access::upload(bucket, key.clone(), a.file.clone()).await?;

    let params = import_params(&a, &bucket_config.name, &key);
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = client.call("ImportImage", &refs).await.with_context(|| {
        format!(
            "ImportImage failed; the upload stays in bucket {} as {key}",
            bucket_config.name
        )
    })?;
    let image = text(&body, "ImageId");
    let task = text(&body, "TaskId");
    if a.no_wait {
        println!("{image} {task}");
        return Ok(());
    }
    eprintln!("Importing {image} (task {task}; Ctrl-C stops only the waiting)");
    tasks::wait(&client, &a.region, &task, "import").await?;
    println!("{image}");
    Ok(())
}

async fn export(conn: &Conn, a: ExportArgs) -> Result<()> {
    // The local server config is needed only to choose the bucket or to read from it, so an
    // export into a named bucket of a remote server needs none.
    let bucket = match &a.bucket {
        Some(b) => b.clone(),
        None => pick_bucket(&conn.server_config()?, &a.region, None)?
            .name
            .clone(),
    };
    let client = conn.client()?;
    let format = a.format.to_ascii_lowercase();
    let mut params = vec![
        ("RegionId", a.region.as_str()),
        ("ImageId", a.image_id.as_str()),
        ("OSSBucket", bucket.as_str()),
        ("ImageFormat", format.as_str()),
    ];
    params.extend(a.prefix.as_deref().map(|p| ("OSSPrefix", p)));
    let body = client.call("ExportImage", &params).await?;
    let task = text(&body, "TaskId");
    if a.no_wait {
        println!("{task}");
        return Ok(());
    }
    eprintln!(
        "Exporting {} as {format} into bucket {bucket} (task {task}; Ctrl-C stops only the waiting)",
        a.image_id
    );
    let done = tasks::wait(&client, &a.region, &task, "export").await?;
    let objects = tasks::exported_objects(&done, &bucket);
    if objects.is_empty() {
        bail!("Task {task} finished but names no exported object");
    }
    for (_, key) in &objects {
        println!("{key}");
    }
    let Some(to) = &a.to else {
        return Ok(());
    };
    let config = conn.server_config()?;
    for ((bucket, key), path) in objects.iter().zip(download_targets(to, objects.len())) {
        let source = bucket_access::open(pick_bucket(&config, &a.region, Some(bucket))?)?;
        eprintln!("Downloading {bucket}/{key} to {}", path.display());
        bucket_access::download(source, key.clone(), path).await?;
    }
    Ok(())
}

/// The snapshot IDs behind an image, in disk order, each once.
pub fn snapshot_ids(image: &Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for m in items(image, "DiskDeviceMappings", "DiskDeviceMapping") {
        let id = text(m, "SnapshotId");
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

async fn delete(client: &Client, a: DeleteArgs) -> Result<()> {
    // Learn the snapshots first: once the image is gone nothing names them.
    let body = client
        .call(
            "DescribeImages",
            &[
                ("RegionId", a.region.as_str()),
                ("ImageId", a.image_id.as_str()),
                ("Status", ALL_STATUSES),
            ],
        )
        .await?;
    let Some(image) = items(&body, "Images", "Image")
        .iter()
        .find(|i| text(i, "ImageId") == a.image_id)
    else {
        bail!("No image {} in region {}", a.image_id, a.region);
    };
    let snapshots = snapshot_ids(image);

    let mut params = vec![
        ("RegionId", a.region.as_str()),
        ("ImageId", a.image_id.as_str()),
    ];
    if a.force {
        params.push(("Force", "true"));
    }
    client.call("DeleteImage", &params).await?;
    println!("Deleted image {}", a.image_id);

    if !a.with_snapshots {
        if !snapshots.is_empty() {
            eprintln!(
                "Kept its snapshots {} (--with-snapshots deletes them)",
                snapshots.join(", ")
            );
        }
        return Ok(());
    }
    let mut failed = 0;
    for id in &snapshots {
        // DeleteSnapshot documents no RegionId; it is sent anyway, as the SDKs' common
        // parameter, so a server that scopes snapshots by region finds it.
        match client
            .call(
                "DeleteSnapshot",
                &[("RegionId", a.region.as_str()), ("SnapshotId", id.as_str())],
            )
            .await
        {
            Ok(_) => println!("Deleted snapshot {id}"),
            Err(e) => {
                failed += 1;
                eprintln!("Cannot delete snapshot {id}: {e}");
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} snapshots of {} were not deleted",
            snapshots.len(),
            a.image_id
        );
    }
    Ok(())
}

/// The CopyImage request of `a`.
fn copy_params(a: &CopyArgs) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("RegionId", a.region.clone()),
        ("ImageId", a.image_id.clone()),
        ("DestinationRegionId", a.to.clone()),
    ];
    if let Some(n) = &a.name {
        p.push(("DestinationImageName", n.clone()));
    }
    if let Some(d) = &a.description {
        p.push(("DestinationDescription", d.clone()));
    }
    if a.encrypt {
        p.push(("Encrypted", "true".into()));
    }
    if let Some(k) = &a.kms_key {
        p.push(("KMSKeyId", k.clone()));
    }
    p
}

async fn copy(client: &Client, a: CopyArgs) -> Result<()> {
    let params = copy_params(&a);
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = client.call("CopyImage", &refs).await?;
    let copy_id = text(&body, "ImageId");
    if a.no_wait {
        println!("{copy_id}");
        return Ok(());
    }
    // The copy's task lives in the destination region; find it by the copy's ID.
    let tasks = client
        .call(
            "DescribeTasks",
            &[
                ("RegionId", a.to.as_str()),
                ("TaskAction", "CopyImage"),
                ("PageSize", "100"),
            ],
        )
        .await?;
    let Some(task) = items(&tasks, "TaskSet", "Task")
        .iter()
        .find(|t| text(t, "ResourceId") == copy_id)
        .map(|t| text(t, "TaskId"))
    else {
        bail!(
            "CopyImage returned {copy_id} but no copy task lists it in {}",
            a.to
        );
    };
    eprintln!(
        "Copying {} from {} to {} as {copy_id} (task {task}; Ctrl-C stops only the waiting)",
        a.image_id, a.region, a.to
    );
    let done = super::tasks::wait(client, &a.to, &task, "copy").await?;
    let sent = super::tasks::related_items(&done)
        .into_iter()
        .find(|(n, _)| n == "CopiedBytes")
        .map_or_else(|| "0".to_string(), |(_, v)| v);
    eprintln!("Sent {sent} bytes of chunks the destination lacked");
    println!("{copy_id}");
    Ok(())
}

async fn share(client: &Client, a: ShareArgs, param: &str) -> Result<()> {
    if a.accounts.len() > 10 {
        bail!("At most 10 accounts per call (the API ignores the rest)");
    }
    let names: Vec<String> = (1..=a.accounts.len())
        .map(|i| format!("{param}.{i}"))
        .collect();
    let mut params = vec![
        ("RegionId", a.region.as_str()),
        ("ImageId", a.image_id.as_str()),
    ];
    for (n, acct) in names.iter().zip(&a.accounts) {
        params.push((n.as_str(), acct.as_str()));
    }
    client.call("ModifyImageSharePermission", &params).await?;
    let verb = if param == "AddAccount" {
        "Shared"
    } else {
        "Unshared"
    };
    println!("{verb} {} with {}", a.image_id, a.accounts.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    #[test]
    fn snapshots_are_read_from_the_disk_mappings_once_each() {
        let image = json!({"ImageId": "m-1", "DiskDeviceMappings": {"DiskDeviceMapping": [
            {"Type": "system", "SnapshotId": "s-1"},
            {"Type": "data", "SnapshotId": "s-2"},
            {"Type": "data", "SnapshotId": "s-1"},
            {"Type": "data", "SnapshotId": ""}]}});
        assert_eq!(snapshot_ids(&image), ["s-1", "s-2"]);
        assert!(snapshot_ids(&json!({"ImageId": "m-2"})).is_empty());
    }

    #[test]
    fn import_sends_the_object_and_only_the_attributes_given() {
        let a = ImportArgs {
            file: PathBuf::from("/tmp/disk.qcow2"),
            name: "web".into(),
            region: "cn-shanghai".into(),
            format: Some("qcow2".into()),
            bucket: None,
            key: None,
            description: None,
            arch: Some("arm64".into()),
            os_type: None,
            platform: None,
            boot_mode: Some("UEFI".into()),
            no_wait: false,
        };
        let params = import_params(&a, "stencil-cn-shanghai", "disk.qcow2");
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("RegionId"), Some("cn-shanghai"));
        assert_eq!(get("ImageName"), Some("web"));
        assert_eq!(
            get("DiskDeviceMapping.1.OSSBucket"),
            Some("stencil-cn-shanghai")
        );
        assert_eq!(get("DiskDeviceMapping.1.OSSObject"), Some("disk.qcow2"));
        assert_eq!(get("DiskDeviceMapping.1.Format"), Some("QCOW2"));
        assert_eq!(get("Architecture"), Some("arm64"));
        assert_eq!(get("BootMode"), Some("UEFI"));
        assert_eq!(get("Description"), None);
        assert_eq!(get("OSType"), None);
        assert_eq!(params.len(), 7);
    }
}
