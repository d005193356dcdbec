//! `ReInitDisk` (reference §5.18): a disk back to its state at creation: a system disk to its
//! image, a data disk to its snapshot or to empty. No `RegionId`. `Password`, `KeyPairName`
//! and `SecurityEnhancementStrategy` configure the guest, which Stencil does not run: they are
//! accepted and ignored, and so is `AutoStartInstance` (checked to be a boolean; the domain
//! request has no field for it, so the instance stays `Stopped`).

use serde_json::{Value, json};
use stencil_domain::requests::ResetDisk;

use super::common::{Parsed, disk_id};
use super::instance_attrs::security_enhancement_strategy;
use crate::{EcsError, Params};

/// The parsed request is the domain's (`snapshot_id` empty).
pub type Request = ResetDisk;

/// Parses `DiskId` (required; `InvalidDiskId.NotFound` when it is no disk ID),
/// `AutoStartInstance` and `SecurityEnhancementStrategy` (`Active` or `Deactive`).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let disk_id = disk_id(params, "DiskId")?;
    params.bool("AutoStartInstance")?;
    security_enhancement_strategy(params)?;
    let request = ResetDisk {
        disk_id,
        snapshot_id: None,
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn the_disk_parses_and_guest_options_are_accepted() {
        let r = parse(&p(
            "DiskId=d-abc&Password=EcsV587!&KeyPairName=kp&AutoStartInstance=true&SecurityEnhancementStrategy=Active",
        ))
        .unwrap();
        assert_eq!(
            r.request,
            ResetDisk {
                disk_id: "d-abc".into(),
                snapshot_id: None
            }
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("Password=x", MissingParameter, 400, "\"DiskId\""),
                ("DiskId=disk-1", InvalidDiskIdNotFound, 404, "DiskId"),
                (
                    "DiskId=d-1&AutoStartInstance=later",
                    InvalidParameter,
                    400,
                    "\"AutoStartInstance\"",
                ),
                (
                    "DiskId=d-1&SecurityEnhancementStrategy=On",
                    InvalidParameter,
                    400,
                    "\"SecurityEnhancementStrategy\"",
                ),
            ],
        );
    }
}
