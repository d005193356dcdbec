//! `DeleteImage` (reference §5.7): removes a custom image and keeps its snapshots. Whether the
//! image may go now (in use without `Force`, shared, public, busy) is the service's to decide.

use serde_json::{Value, json};
use stencil_domain::requests::DeleteImage;

use super::common::{Parsed, image_id};
use super::region_id;
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = DeleteImage;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let request = DeleteImage {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
        force: params.bool_or("Force", false)?,
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, assert_rejects_image_ref, p};
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn force_defaults_to_false_and_parses_any_case() {
        let r = parse(&p("RegionId=r&ImageId=m-1")).unwrap();
        assert_eq!(
            r,
            Parsed {
                request: DeleteImage {
                    region: "r".into(),
                    image_id: "m-1".into(),
                    force: false
                },
                dry_run: false
            }
        );
        let r = parse(&p("RegionId=r&ImageId=m-1&Force=True&DryRun=true")).unwrap();
        assert!(r.request.force && r.dry_run);
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_image_ref(parse, "");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ImageId=m-1&Force=always",
                    InvalidParameter,
                    400,
                    "\"Force\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&DryRun=2",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
