use super::*;
use crate::captures::{self, raw_request};
use crate::error::ErrorCode;
use crate::params::{Params, decode_form};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn official_v1_vector_signs_to_the_documented_signature() {
    let params = pairs(&[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("Format", "XML"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
        ("Version", "2014-05-26"),
    ]);
    let sts = v1::string_to_sign("GET", params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(
        sts,
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    );
    assert_eq!(v1::sign("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    assert!(v1::verify(
        "testsecret",
        &sts,
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    ));
    assert!(!v1::verify(
        "othersecret",
        &sts,
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    ));
    assert!(!v1::verify("testsecret", &sts, "not base64!"));
}

#[test]
fn capture_c_rebuilds_the_documented_v1_string_to_sign() {
    let req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    let params = Params::from_query(&req.raw_query).unwrap();
    let sts = v1::string_to_sign("POST", params.iter());
    assert_eq!(sts, captures::C_STRING_TO_SIGN);
    assert_eq!(v1::sign("testsecret", &sts), "ZtafKtVYewreUTAdC52xCXwOVm4=");
}

#[test]
fn a_tampered_v1_parameter_fails_verification() {
    let req = raw_request(captures::C_PYTHON_V1_DESCRIBE_IMAGES);
    let tampered = req
        .raw_query
        .replace("ImageOwnerAlias=self", "ImageOwnerAlias=others");
    let params = Params::from_query(&tampered).unwrap();
    let sts = v1::string_to_sign("POST", params.iter());
    assert!(!v1::verify(
        "testsecret",
        &sts,
        params.get("Signature").unwrap()
    ));
    // The method is signed too.
    let params = Params::from_query(&req.raw_query).unwrap();
    assert!(!v1::verify(
        "testsecret",
        &v1::string_to_sign("GET", params.iter()),
        "ZtafKtVYewreUTAdC52xCXwOVm4="
    ));
}

#[test]
fn capture_a_rebuilds_the_documented_canonical_request_and_signature() {
    let req = raw_request(captures::A_PYTHON_V3_DESCRIBE_IMAGES);
    let auth = v3::Authorization::parse(req.header("authorization").unwrap()).unwrap();
    assert_eq!(auth.access_key_id, "testak");
    let query = decode_form(req.raw_query.as_bytes()).unwrap();
    let payload = v3::hash_payload(b"");
    assert_eq!(
        payload,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &query,
        &req.headers,
        &auth.signed_headers,
        &payload,
    );
    assert_eq!(canonical, captures::A_CANONICAL_REQUEST);
    let sts = v3::string_to_sign(&canonical);
    assert_eq!(
        sts,
        "ACS3-HMAC-SHA256\n083e93c25bba0269d3d13eb066bb143f7932912a92d2580d73636b639c652b47"
    );
    assert_eq!(
        v3::sign("testsecret", &sts),
        "e3d03e0c10c3aac6f69319acc1b29f77abbbbff1949bfd9fc0157c4d77505f20"
    );
    assert!(v3::verify("testsecret", &sts, &auth.signature));
    assert!(v3::verify(
        "testsecret",
        &sts,
        &auth.signature.to_ascii_uppercase()
    ));
    assert!(!v3::verify("testsecret", &sts, "zz"));
}

#[test]
fn capture_b_rebuilds_the_documented_string_to_sign() {
    let req = raw_request(captures::B_PYTHON_V3_MODIFY_SHARE);
    let auth = v3::Authorization::parse(req.header("authorization").unwrap()).unwrap();
    let query = decode_form(req.raw_query.as_bytes()).unwrap();
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &query,
        &req.headers,
        &auth.signed_headers,
        &v3::hash_payload(b""),
    );
    let sts = v3::string_to_sign(&canonical);
    assert_eq!(
        sts,
        "ACS3-HMAC-SHA256\nebd42cb3bbf0feac334b991dad6ea9fac7499f9f37f86d01182146ce4a1a3b1e"
    );
    assert!(v3::verify("testsecret", &sts, &auth.signature));
}

#[test]
fn a_tampered_v3_query_fails_verification() {
    let req = raw_request(captures::D_NODE_V3_DESCRIBE_IMAGES);
    let auth = v3::Authorization::parse(req.header("authorization").unwrap()).unwrap();
    let query = decode_form(
        req.raw_query
            .replace("PageSize=50", "PageSize=51")
            .as_bytes(),
    )
    .unwrap();
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &query,
        &req.headers,
        &auth.signed_headers,
        &v3::hash_payload(b""),
    );
    assert!(!v3::verify(
        "testsecret",
        &v3::string_to_sign(&canonical),
        &auth.signature
    ));
}

#[test]
fn special_characters_encode_per_rfc3986() {
    assert_eq!(
        percent_encode("名字 x+y/z!'()*"),
        "%E5%90%8D%E5%AD%97%20x%2By%2Fz%21%27%28%29%2A"
    );
    assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(percent_encode("a=b&c:d,e"), "a%3Db%26c%3Ad%2Ce");
    assert_eq!(percent_encode(""), "");
}

#[test]
fn node_and_python_wire_forms_canonicalise_identically() {
    let node = decode_form(b"ImageName=%E5%90%8D%E5%AD%97%20x%2By%2Fz!%27()*&RegionId=cn-hangzhou")
        .unwrap();
    let python =
        decode_form(b"ImageName=%E5%90%8D%E5%AD%97+x%2By%2Fz%21%27%28%29%2A&RegionId=cn-hangzhou")
            .unwrap();
    assert_eq!(v3::canonical_query(&node), v3::canonical_query(&python));
    assert_eq!(
        v3::canonical_query(&node),
        "ImageName=%E5%90%8D%E5%AD%97%20x%2By%2Fz%21%27%28%29%2A&RegionId=cn-hangzhou"
    );
    let to_ref = |p: &[(String, String)]| {
        v1::string_to_sign("POST", p.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    assert_eq!(to_ref(&node), to_ref(&python));
}

#[test]
fn empty_values_are_signed_as_key_equals() {
    let query = pairs(&[("Tag.1.Value", ""), ("Tag.1.Key", "a")]);
    assert_eq!(v3::canonical_query(&query), "Tag.1.Key=a&Tag.1.Value=");
}

#[test]
fn authorization_header_parts_are_required() {
    let ok = v3::Authorization::parse(
        "ACS3-HMAC-SHA256 Credential=ak, SignedHeaders=host;x-acs-date ,Signature=ab",
    )
    .unwrap();
    assert_eq!(ok.signed_headers, ["host", "x-acs-date"]);
    assert_eq!(ok.signature, "ab");
    for bad in [
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=ak,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",
    ] {
        let err = v3::Authorization::parse(bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::IncompleteSignature, "{bad}");
    }
}

fn input<'a>(query: &'a [(String, String)], body: &'a [u8]) -> SignInput<'a> {
    SignInput {
        method: "POST",
        host: "127.0.0.1:8080",
        query,
        body,
        action: "DescribeImages",
        version: API_VERSION,
        access_key_id: "testak",
        access_key_secret: "testsecret",
        nonce: "n-1",
        timestamp: captures::at("2026-11-23T03:37:42Z"),
    }
}

#[test]
fn sign_v1_produces_the_common_parameters_and_a_verifiable_signature() {
    let query = pairs(&[("RegionId", "cn-hangzhou"), ("ImageName", "a b+c")]);
    let body = b"Tag.1.Key=k&Tag.1.Value=v";
    let signed = sign_v1(&input(&query, body)).unwrap();
    let get = |name: &str| {
        signed
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Action"), Some("DescribeImages"));
    assert_eq!(get("Format"), Some("JSON"));
    assert_eq!(get("Timestamp"), Some("2026-11-23T03:37:42Z"));
    assert_eq!(get("SignatureMethod"), Some("HMAC-SHA1"));
    let all = Params::from_pairs(signed.iter().cloned().chain(decode_form(body).unwrap()));
    let sts = v1::string_to_sign("POST", all.iter());
    assert!(v1::verify("testsecret", &sts, get("Signature").unwrap()));
    // The body is signed: dropping it breaks the signature.
    let without_body = Params::from_pairs(signed.iter().cloned());
    assert!(!v1::verify(
        "testsecret",
        &v1::string_to_sign("POST", without_body.iter()),
        get("Signature").unwrap()
    ));
    assert!(sign_v1(&input(&query, b"A=%FF")).is_err());
}

#[test]
fn sign_v3_produces_headers_that_verify() {
    let query = pairs(&[
        ("RegionId", "cn-hangzhou"),
        ("ImageName", "名字 x+y/z!'()*"),
    ]);
    let headers = sign_v3(&input(&query, b""));
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
            "authorization"
        ]
    );
    let auth = v3::Authorization::parse(&headers[6].1).unwrap();
    assert_eq!(
        auth.signed_headers.join(";"),
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    );
    let wire = decode_form(encode_query(&query).as_bytes()).unwrap();
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &wire,
        &headers,
        &auth.signed_headers,
        &v3::hash_payload(b""),
    );
    assert!(v3::verify(
        "testsecret",
        &v3::string_to_sign(&canonical),
        &auth.signature
    ));
}
