use super::*;
use crate::captures::{self, at, raw_request};

fn secrets(ak: &str) -> Option<String> {
    (ak == "testak").then(|| "testsecret".to_owned())
}

fn auth(req: &RawRequest, now: &str) -> Result<Authenticated, EcsError> {
    authenticate(req, &secrets, at(now))
}

const T0: &str = "2026-11-23T03:37:42Z";

#[test]
fn every_captured_request_authenticates() {
    let cases = [
        (
            captures::A_PYTHON_V3_DESCRIBE_IMAGES,
            T0,
            "DescribeImages",
            SignatureVersion::V3,
            "aecd50e2cbe31fa80d53ca75986b91a3",
        ),
        (
            captures::B_PYTHON_V3_MODIFY_SHARE,
            T0,
            "ModifyImageSharePermission",
            SignatureVersion::V3,
            "8a614f810eb0dde3f76689f9cce9289c",
        ),
        (
            captures::C_PYTHON_V1_DESCRIBE_IMAGES,
            T0,
            "DescribeImages",
            SignatureVersion::V1,
            "fbbea7c00f30a2f238b174bf4949018f",
        ),
        (
            captures::C_PYTHON_V1_MODIFY_SHARE,
            T0,
            "ModifyImageSharePermission",
            SignatureVersion::V1,
            "64c871cd48881fb3b69e3d682c791fb8",
        ),
        (
            captures::D_NODE_V3_DESCRIBE_IMAGES,
            "2026-11-23T03:38:31Z",
            "DescribeImages",
            SignatureVersion::V3,
            "946c1a6198557de3caeabd3784c7a382c70e50e42cc9d1e3fcb3714d9c216bb3",
        ),
        (
            captures::E_LEGACY_V1_DESCRIBE_IMAGES,
            "2026-11-23T03:39:04Z",
            "DescribeImages",
            SignatureVersion::V1,
            "b31d8dbd6736ed55a45865330349249f",
        ),
        (
            captures::F_TEA_RPC_V1_FORM_BODY,
            "2026-11-23T03:42:27Z",
            "DescribeImages",
            SignatureVersion::V1,
            "7dbb661798abeea7aa3ba84f55259967",
        ),
    ];
    for (capture, now, action, version, nonce) in cases {
        let ok = auth(&raw_request(capture), now)
            .unwrap_or_else(|e| panic!("{action} {version:?}: {e}"));
        assert_eq!(ok.access_key_id, "testak");
        assert_eq!(ok.action, action);
        assert_eq!(ok.version, "2014-05-26");
        assert_eq!(ok.signature_version, version);
        assert_eq!(ok.nonce, nonce);
        assert_eq!(ok.format, ResponseFormat::Json);
        assert_eq!(ok.params.get("RegionId"), Some("cn-hangzhou"));
    }
}

#[test]
fn captured_parameters_decode_to_their_values() {
    let a = auth(&raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES), T0).unwrap();
    assert_eq!(a.params.get("ImageName"), Some("my image~x"));
    assert_eq!(
        a.params.string_list("Status").unwrap().unwrap(),
        ["Available", "Creating"]
    );
    assert_eq!(a.params.bool("DryRun").unwrap(), Some(false));
    assert_eq!(
        a.params.objects("Filter").unwrap()[0].get("Value"),
        Some("2017-12-05T22:40Z")
    );
    assert_eq!(a.timestamp, at(T0));
    let b = auth(&raw_request(captures::B_PYTHON_V3_MODIFY_SHARE), T0).unwrap();
    assert_eq!(
        b.params.list("AddAccount").unwrap(),
        ["1234567890", "2345678901"]
    );
    let f = auth(
        &raw_request(captures::F_TEA_RPC_V1_FORM_BODY),
        "2026-11-23T03:42:27Z",
    )
    .unwrap();
    assert_eq!(f.params.get("Status"), Some("Creating,Available"));
    assert_eq!(f.params.objects("Tag").unwrap()[0].get("Value"), Some("b"));
}

#[test]
fn the_body_of_a_form_request_is_signed() {
    let mut req = raw_request(captures::F_TEA_RPC_V1_FORM_BODY);
    req.body =
        b"ImageId=m-y&RegionId=cn-hangzhou&Status=Creating%2CAvailable&Tag.1.Key=a&Tag.1.Value=b"
            .to_vec();
    let err = auth(&req, "2026-11-23T03:42:27Z").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureDoesNotMatch);
    // Old Go tea-rpc sent the body without a Content-Type; it is still read as form data.
    let mut req = raw_request(captures::F_TEA_RPC_V1_FORM_BODY);
    req.headers.retain(|(k, _)| k != "content-type");
    assert!(auth(&req, "2026-11-23T03:42:27Z").is_ok());
}

#[test]
fn timestamps_are_accepted_for_fifteen_minutes_either_side() {
    let req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    assert!(auth(&req, "2026-11-23T03:52:42Z").is_ok());
    assert!(auth(&req, "2026-11-23T03:22:42Z").is_ok());
    for now in ["2026-11-23T03:52:43Z", "2026-11-23T03:22:41Z"] {
        let err = auth(&req, now).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidTimeStampExpired, "{now}");
        assert_eq!(err.http_status(), 400);
    }
    let v3 = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    assert_eq!(
        auth(&v3, "2026-11-23T04:00:00Z").unwrap_err().code(),
        ErrorCode::InvalidTimeStampExpired
    );
}

#[test]
fn an_unknown_access_key_is_not_found() {
    let err = authenticate(
        &raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES),
        &|_| None,
        at(T0),
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        (ErrorCode::InvalidAccessKeyIdNotFound, 404)
    );
    let err = authenticate(
        &raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES),
        &|_| None,
        at(T0),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidAccessKeyIdNotFound);
}

#[test]
fn a_wrong_signature_echoes_the_server_string_to_sign() {
    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query = req
        .raw_query
        .replace("Signature=ZtafKtVYewreUTAdC52xCXwOVm4%3D", "Signature=AAAA");
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureDoesNotMatch);
    let expected = format!("server string to sign is:{}", captures::C_STRING_TO_SIGN);
    assert!(
        err.message()
            .starts_with("Specified signature is not matched with our calculation.")
    );
    assert!(err.message().ends_with(&expected), "{}", err.message());
    let err = authenticate(
        &raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES),
        &|_| Some("wrong".into()),
        at(T0),
    )
    .unwrap_err();
    assert!(err.message().ends_with(
        "server string to sign is:ACS3-HMAC-SHA256\n083e93c25bba0269d3d13eb066bb143f7932912a92d2580d73636b639c652b47"
    ));
}

#[test]
fn tampered_v3_requests_fail() {
    let mut req = raw_request(captures::D_NODE_V3_DESCRIBE_IMAGES);
    req.raw_query = req.raw_query.replace("PageSize=50", "PageSize=100");
    assert_eq!(
        auth(&req, "2026-11-23T03:38:31Z").unwrap_err().code(),
        ErrorCode::SignatureDoesNotMatch
    );

    let mut req = raw_request(captures::D_NODE_V3_DESCRIBE_IMAGES);
    req.body = b"RegionId=cn-beijing".to_vec();
    let err = auth(&req, "2026-11-23T03:38:31Z").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureDoesNotMatch);
    assert!(
        err.message().contains("x-acs-content-sha256"),
        "{}",
        err.message()
    );

    let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    req.headers
        .iter_mut()
        .filter(|(k, _)| k == "x-acs-action")
        .for_each(|(_, v)| *v = "DeleteImage".into());
    assert_eq!(
        auth(&req, T0).unwrap_err().code(),
        ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn missing_v3_headers_are_missing_parameters() {
    for header in [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
        req.headers.retain(|(k, _)| k != header);
        let err = auth(&req, T0).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingParameter, "{header}");
        assert!(err.message().contains(&format!("\"{header}\"")));
    }
    let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    req.headers.retain(|(k, _)| k != "x-acs-action");
    assert!(auth(&req, T0).unwrap_err().message().contains("\"Action\""));
}

#[test]
fn malformed_or_incomplete_v3_signatures_are_rejected() {
    let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    req.headers
        .iter_mut()
        .filter(|(k, _)| k == "authorization")
        .for_each(|(_, v)| *v = "ACS3-HMAC-SHA256 Credential=testak".into());
    assert_eq!(
        auth(&req, T0).unwrap_err().code(),
        ErrorCode::IncompleteSignature
    );

    let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    for (k, v) in req.headers.iter_mut() {
        if k == "authorization" {
            *v = v.replace(";x-acs-action", "");
        }
    }
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IncompleteSignature);
    assert!(err.message().contains("\"x-acs-action\""));

    let mut req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    for (k, v) in req.headers.iter_mut() {
        if k == "authorization" {
            *v = v.replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3");
        }
    }
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameter);
    assert!(err.message().contains("\"Authorization\""));
}

#[test]
fn v1_requests_report_missing_and_invalid_common_parameters() {
    let req = RawRequest {
        method: "GET".into(),
        ..Default::default()
    };
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingParameter);
    assert!(err.message().contains("\"Action\""));

    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query = req
        .raw_query
        .replace("&Signature=ZtafKtVYewreUTAdC52xCXwOVm4%3D", "");
    assert!(
        auth(&req, T0)
            .unwrap_err()
            .message()
            .contains("\"Signature\"")
    );

    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query = req
        .raw_query
        .replace("SignatureMethod=HMAC-SHA1", "SignatureMethod=HMAC-SHA256");
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameter);
    assert!(err.message().contains("\"SignatureMethod\""));

    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query = req
        .raw_query
        .replace("SignatureVersion=1.0", "SignatureVersion=2.0");
    assert!(
        auth(&req, T0)
            .unwrap_err()
            .message()
            .contains("\"SignatureVersion\"")
    );

    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query = req
        .raw_query
        .replace("2026-11-23T03%3A37%3A42Z", "yesterday");
    assert_eq!(
        auth(&req, T0).unwrap_err().code(),
        ErrorCode::InvalidTimeStampFormat
    );
}

#[test]
fn bad_methods_and_bad_bytes_are_clear_errors() {
    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.method = "PUT".into();
    assert_eq!(
        auth(&req, T0).unwrap_err().code(),
        ErrorCode::UnsupportedHttpMethod
    );
    let mut req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    req.raw_query.push_str("&ImageName=%FF");
    let err = auth(&req, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameter);
    assert!(err.message().contains("\"ImageName\""));
}
