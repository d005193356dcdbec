//! The command line as clap parses it: every command, flag and environment variable.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The region client commands use when `--region` is not given.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

#[derive(Debug, Parser)]
#[command(
    name = "stencil",
    version,
    about = "A self-hosted VM image service that speaks the ECS image API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// How a client command reaches the server: the API endpoint and keys, and the server's own
/// configuration (for the buckets of import and export, and as the default for the other two).
#[derive(Debug, clap::Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct Conn {
    /// API endpoint, host:port [default: the server config's `listen`, 127.0.0.1:8080].
    #[arg(long, env = "STENCIL_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// AccessKey ID [default: the config's first account, or the generated credentials file].
    #[arg(long, env = "STENCIL_ACCESS_KEY_ID", global = true)]
    pub access_key_id: Option<String>,
    /// AccessKey secret.
    #[arg(
        long,
        env = "STENCIL_ACCESS_KEY_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub access_key_secret: Option<String>,
    /// The server's configuration file, read as `stencil serve --config` reads it.
    #[arg(long, env = "STENCIL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The server's data directory (embedded default: ./stencil-data): credentials and buckets.
    #[arg(long, env = "STENCIL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server.
    Serve {
        /// Configuration file (TOML); without it the embedded default is used.
        #[arg(long, env = "STENCIL_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory of the embedded default (or `server.data_dir` override).
        #[arg(long, env = "STENCIL_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Listen address, overriding the configuration.
        #[arg(long)]
        listen: Option<String>,
        /// NBD listen address of the disks, overriding `server.nbd_listen` ("" disables).
        #[arg(long)]
        nbd_listen: Option<String>,
    },
    /// Regions.
    Regions {
        #[command(flatten)]
        conn: Conn,
    },
    /// Images: list, import, export, delete.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
        #[command(flatten)]
        conn: Conn,
    },
    /// Tasks of imports and exports.
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
        #[command(flatten)]
        conn: Conn,
    },
    /// Maintenance of the chunk stores: garbage collection and verification.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Delete indexes nothing names and chunks no index names (safe while the server runs).
    Gc {
        /// Chunks younger than this many seconds are kept (covers clock skew and writers that
        /// have not recorded a session yet); never less than the chunk store's 60 s re-use
        /// window, in which an import may count on a chunk without touching it.
        #[arg(long, default_value_t = 300)]
        margin: u64,
        /// Report what would be removed without removing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Read every stored chunk and check it against its digest; exits 1 if anything is wrong.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// List images, with their status and progress.
    List(ListArgs),
    /// Upload a disk image file into the region's bucket and import it as a custom image;
    /// prints the ImageId.
    Import(ImportArgs),
    /// Export a custom image into a bucket; prints the object keys.
    Export(ExportArgs),
    /// Delete a custom image, and with --with-snapshots its snapshots after it.
    Delete(DeleteArgs),
    /// Copy a custom image into another region (optionally encrypted); prints the copy's ID.
    Copy(CopyArgs),
    /// Share a custom image with other accounts (by account UID).
    Share(ShareArgs),
    /// Stop sharing a custom image with accounts.
    Unshare(ShareArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// Image ID.
    pub image_id: String,
    /// Destination region.
    #[arg(long)]
    pub to: String,
    /// Source region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// Name of the copy [default: the source's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Description of the copy [default: the source's].
    #[arg(long)]
    pub description: Option<String>,
    /// Encrypt the copy: with --kms-key, or else with the destination region's service key.
    #[arg(long)]
    pub encrypt: bool,
    /// KMS key ID (a `[[kms_key]]` of the destination region).
    #[arg(long, requires = "encrypt")]
    pub kms_key: Option<String>,
    /// Print the copy's ImageId once the copy has started instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShareArgs {
    /// Image ID.
    pub image_id: String,
    /// Account UID (repeat for several; at most 10 per call).
    #[arg(long = "account", required = true)]
    pub accounts: Vec<String>,
    /// Region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// system, self, others or marketplace.
    #[arg(long)]
    pub owner: Option<String>,
    /// Name substring.
    #[arg(long)]
    pub name: Option<String>,
    /// Status list (default Available), or ALL.
    #[arg(long, conflicts_with = "all")]
    pub status: Option<String>,
    /// Images in every status, Creating and CreateFailed included.
    #[arg(long)]
    pub all: bool,
    /// Page size (1-100).
    #[arg(long, default_value = "100")]
    pub page_size: u32,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The disk image file (qcow2, VHD, VMDK or raw).
    pub file: PathBuf,
    /// Image name.
    #[arg(long)]
    pub name: String,
    /// Region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// RAW, VHD, QCOW2 or VMDK [default: the server detects it].
    #[arg(long)]
    pub format: Option<String>,
    /// Bucket to upload into [default: the region's first configured bucket].
    #[arg(long)]
    pub bucket: Option<String>,
    /// Object key in the bucket [default: the file's name].
    #[arg(long)]
    pub key: Option<String>,
    /// Image description.
    #[arg(long)]
    pub description: Option<String>,
    /// i386, x86_64 or arm64.
    #[arg(long)]
    pub arch: Option<String>,
    /// linux or windows.
    #[arg(long)]
    pub os_type: Option<String>,
    /// Distribution, e.g. Ubuntu, "CentOS Stream", "Others Linux".
    #[arg(long)]
    pub platform: Option<String>,
    /// BIOS or UEFI.
    #[arg(long)]
    pub boot_mode: Option<String>,
    /// Print "IMAGE_ID TASK_ID" once the import has started instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Image ID.
    pub image_id: String,
    /// raw, qcow2, vhd, vmdk or vdi.
    #[arg(long)]
    pub format: String,
    /// Region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// Bucket to export into [default: the region's first configured bucket].
    #[arg(long)]
    pub bucket: Option<String>,
    /// Object key prefix (1-30 letters and digits).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Download the export to FILE (data disks go to FILE.data1, FILE.data2, ...).
    #[arg(long, value_name = "FILE", conflicts_with = "no_wait")]
    pub to: Option<PathBuf>,
    /// Print the TaskId once the export has started instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// Image ID.
    pub image_id: String,
    /// Region.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// Delete even if instances use the image.
    #[arg(long)]
    pub force: bool,
    /// Then delete the image's snapshots (DeleteImage keeps them).
    #[arg(long)]
    pub with_snapshots: bool,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List import and export tasks.
    List {
        /// Region.
        #[arg(long, default_value = DEFAULT_REGION)]
        region: String,
        /// Finished, Processing or Failed.
        #[arg(long)]
        status: Option<String>,
        /// ImportImage or ExportImage.
        #[arg(long)]
        action: Option<String>,
    },
    /// Wait for a task with a progress bar; fails if the task fails or is cancelled.
    Wait {
        /// Task ID.
        task_id: String,
        /// Region.
        #[arg(long, default_value = DEFAULT_REGION)]
        region: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("stencil").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn import_takes_every_image_attribute_and_defaults_to_hangzhou() {
        let cli = parse(&[
            "images",
            "import",
            "disk.qcow2",
            "--name",
            "web",
            "--format",
            "qcow2",
            "--description",
            "web server",
            "--arch",
            "arm64",
            "--os-type",
            "linux",
            "--platform",
            "Ubuntu",
            "--boot-mode",
            "UEFI",
            "--no-wait",
            "--endpoint",
            "127.0.0.1:1",
        ])
        .unwrap();
        let Command::Images {
            command: ImagesCommand::Import(a),
            conn,
        } = cli.command
        else {
            panic!("not an import");
        };
        assert_eq!(a.file, PathBuf::from("disk.qcow2"));
        assert_eq!(a.name, "web");
        assert_eq!(a.region, "cn-hangzhou");
        assert_eq!(a.format.as_deref(), Some("qcow2"));
        assert_eq!(a.arch.as_deref(), Some("arm64"));
        assert_eq!(a.os_type.as_deref(), Some("linux"));
        assert_eq!(a.platform.as_deref(), Some("Ubuntu"));
        assert_eq!(a.boot_mode.as_deref(), Some("UEFI"));
        assert!(a.no_wait && a.bucket.is_none() && a.key.is_none());
        assert_eq!(conn.endpoint.as_deref(), Some("127.0.0.1:1"));
    }

    #[test]
    fn import_without_a_name_is_a_usage_error() {
        let err = parse(&["images", "import", "disk.qcow2"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn export_needs_a_format_and_cannot_download_without_waiting() {
        assert!(parse(&["images", "export", "m-1"]).is_err());
        assert!(
            parse(&[
                "images",
                "export",
                "m-1",
                "--format",
                "raw",
                "--to",
                "x",
                "--no-wait"
            ])
            .is_err()
        );
        let cli = parse(&[
            "images",
            "export",
            "m-1",
            "--format",
            "vhd",
            "--prefix",
            "nightly",
            "--bucket",
            "b",
            "--to",
            "/tmp/x.vhd",
            "--region",
            "cn-beijing",
        ])
        .unwrap();
        let Command::Images {
            command: ImagesCommand::Export(a),
            ..
        } = cli.command
        else {
            panic!("not an export");
        };
        assert_eq!(a.image_id, "m-1");
        assert_eq!(a.format, "vhd");
        assert_eq!(a.prefix.as_deref(), Some("nightly"));
        assert_eq!(a.bucket.as_deref(), Some("b"));
        assert_eq!(a.region, "cn-beijing");
        assert_eq!(a.to, Some(PathBuf::from("/tmp/x.vhd")));
    }

    #[test]
    fn list_all_and_status_exclude_each_other() {
        assert!(parse(&["images", "list", "--all", "--status", "Available"]).is_err());
        let cli = parse(&["images", "list", "--all"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Images {
                command: ImagesCommand::List(ListArgs { all: true, .. }),
                ..
            }
        ));
    }

    #[test]
    fn delete_and_task_commands_parse() {
        let cli = parse(&["images", "delete", "m-1", "--force", "--with-snapshots"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Images {
                command: ImagesCommand::Delete(DeleteArgs {
                    force: true,
                    with_snapshots: true,
                    ..
                }),
                ..
            }
        ));
        let cli = parse(&[
            "tasks",
            "list",
            "--status",
            "Failed",
            "--action",
            "ImportImage",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Tasks {
                command: TasksCommand::List {
                    status: Some(_),
                    action: Some(_),
                    ..
                },
                ..
            }
        ));
        let cli = parse(&["tasks", "wait", "t-1", "--region", "cn-shanghai"]).unwrap();
        let Command::Tasks {
            command: TasksCommand::Wait { task_id, region },
            ..
        } = cli.command
        else {
            panic!("not a wait");
        };
        assert_eq!((task_id.as_str(), region.as_str()), ("t-1", "cn-shanghai"));
    }

    #[test]
    fn connection_flags_are_accepted_before_or_after_the_subcommand() {
        let cli = parse(&[
            "images",
            "--config",
            "/etc/stencil.toml",
            "list",
            "--data-dir",
            "/d",
        ])
        .unwrap();
        let Command::Images { conn, .. } = cli.command else {
            panic!("not images");
        };
        assert_eq!(conn.config, Some(PathBuf::from("/etc/stencil.toml")));
        assert_eq!(conn.data_dir, Some(PathBuf::from("/d")));
    }

    #[test]
    fn copy_encrypts_with_or_without_a_named_key_but_a_key_needs_encrypt() {
        let copy = |extra: &[&str]| {
            let mut args = vec!["images", "copy", "m-1", "--to", "cn-shanghai"];
            args.extend_from_slice(extra);
            parse(&args).map(|cli| match cli.command {
                Command::Images {
                    command: ImagesCommand::Copy(a),
                    ..
                } => (a.encrypt, a.kms_key),
                _ => unreachable!("images copy parses as a copy"),
            })
        };
        assert_eq!(copy(&["--encrypt"]).unwrap(), (true, None));
        assert_eq!(
            copy(&["--encrypt", "--kms-key", "k1"]).unwrap(),
            (true, Some("k1".into()))
        );
        assert_eq!(copy(&[]).unwrap(), (false, None));
        assert!(copy(&["--kms-key", "k1"]).is_err());
    }
}
