//! `ReplaceSystemDisk` (reference §5.18): a `Stopped` instance gets a new system disk from an
//! image; the old one is released. No `RegionId`. `Password`, `PasswordInherit`,
//! `KeyPairName` and `SecurityEnhancementStrategy` configure the guest and are accepted and
//! ignored, as are the deprecated `DiskId`, `Platform` and `Architecture`. Stencil does not
//! encrypt system disks: `Encrypted=true` is `InvalidParameter.EncryptedNotSupported`.
//! Whether the size holds the image, fits the disk's category and the image has no data disks
//! is the service's to check.

use serde_json::{Value, json};
use stencil_domain::requests::ReplaceSystemDisk;
use stencil_domain::{DiskId, ImageId};

use super::common::{Parsed, client_token, instance_id, invalid_as, not_found};
use super::instance_attrs::{refuse_encryption, security_enhancement_strategy};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ReplaceSystemDisk;

/// Largest `SystemDisk.Size` of any category, in GiB.
pub const MAX_SYSTEM_DISK_GIB: u64 = 2048;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let instance_id = instance_id(params, "InstanceId")?;
    let raw = params.required("ImageId")?;
    let image_id = ImageId::parse(raw)
        .ok_or_else(|| not_found(ErrorCode::InvalidImageIdNotFound, "ImageId", raw))?;
    refuse_encryption(params, "Encrypted")?;
    params.bool("PasswordInherit")?;
    security_enhancement_strategy(params)?;
    let request = ReplaceSystemDisk {
        instance_id,
        image_id,
        size_gib: size(params)?,
        client_token: client_token(params)?,
    };
    Parsed::new(params, request)
}

/// `SystemDisk.Size`: an integer from 1 to 2048 GiB, else
/// `InvalidSystemDiskSize.ValueNotSupported`.
fn size(params: &Params) -> Result<Option<u64>, EcsError> {
    let name = "SystemDisk.Size";
    let Some(raw) = params.non_empty(name) else {
        return Ok(None);
    };
    match raw.parse::<u64>() {
        Ok(n) if (1..=MAX_SYSTEM_DISK_GIB).contains(&n) && !raw.starts_with('+') => Ok(Some(n)),
        _ => Err(invalid_as(
            ErrorCode::InvalidSystemDiskSizeValueNotSupported,
            name,
            format_args!("must be an integer from 1 to {MAX_SYSTEM_DISK_GIB} (GiB), got {raw:?}"),
        )),
    }
}

/// The response: the new system disk.
pub fn render(disk_id: &DiskId) -> Value {
    json!({"DiskId": disk_id.as_str()})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;

    #[test]
    fn a_terraform_style_request_parses() {
        let r = parse(&p(
            "InstanceId=i-abc&ImageId=ubuntu_22_04_x64_20G_alibase_20240101.vhd&SystemDisk.Size=80\
             &ClientToken=tok-1&Password=EcsV587!&PasswordInherit=false&KeyPairName=kp\
             &SecurityEnhancementStrategy=Deactive&DiskId=d-old&Platform=Ubuntu&Architecture=x86_64&Encrypted=false",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            ReplaceSystemDisk {
                instance_id: "i-abc".into(),
                image_id: ImageId::parse("ubuntu_22_04_x64_20G_alibase_20240101.vhd").unwrap(),
                size_gib: Some(80),
                client_token: Some("tok-1".into()),
            }
        );
        let r = parse(&p("InstanceId=i-abc&ImageId=m-1")).unwrap().request;
        assert_eq!(r.size_gib, None);
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("ImageId=m-1", MissingParameter, 400, "\"InstanceId\""),
                ("InstanceId=i-1", MissingParameter, 400, "\"ImageId\""),
                (
                    "InstanceId=x-1&ImageId=m-1",
                    InvalidInstanceIdNotFound,
                    404,
                    "InstanceId",
                ),
                (
                    "InstanceId=i-1&ImageId=m%2F1",
                    InvalidImageIdNotFound,
                    404,
                    "ImageId",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&SystemDisk.Size=0",
                    InvalidSystemDiskSizeValueNotSupported,
                    400,
                    "\"SystemDisk.Size\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&SystemDisk.Size=2049",
                    InvalidSystemDiskSizeValueNotSupported,
                    400,
                    "\"SystemDisk.Size\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&SystemDisk.Size=big",
                    InvalidSystemDiskSizeValueNotSupported,
                    400,
                    "\"SystemDisk.Size\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&Encrypted=true",
                    InvalidParameterEncryptedNotSupported,
                    400,
                    "\"Encrypted\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&Encrypted=maybe",
                    InvalidParameter,
                    400,
                    "\"Encrypted\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&PasswordInherit=no",
                    InvalidParameter,
                    400,
                    "\"PasswordInherit\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&SecurityEnhancementStrategy=Enabled",
                    InvalidParameter,
                    400,
                    "\"SecurityEnhancementStrategy\"",
                ),
                (
                    "InstanceId=i-1&ImageId=m-1&ClientToken=%E2%9C%93",
                    InvalidClientTokenMalformed,
                    400,
                    "ClientToken",
                ),
            ],
        );
    }

    #[test]
    fn render_gives_the_new_disk() {
        let id = DiskId::parse("d-new").unwrap();
        assert_eq!(render(&id), json!({"DiskId": "d-new"}));
    }
}
