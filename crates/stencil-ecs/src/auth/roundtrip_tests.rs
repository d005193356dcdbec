//! Sign-then-verify round trips and robustness properties.

use super::*;
use crate::captures::at;
use crate::signature::{SignInput, encode_query, sign_v1, sign_v3};
use proptest::prelude::*;

fn secrets(ak: &str) -> Option<String> {
    (ak == "testak").then(|| "testsecret".to_owned())
}

fn auth(req: &RawRequest, now: &str) -> Result<Authenticated, EcsError> {
    authenticate(req, &secrets, at(now))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const T0: &str = "2026-11-23T03:37:42Z";

fn sign_input<'a>(
    method: &'a str,
    query: &'a [(String, String)],
    body: &'a [u8],
    version: &'a str,
) -> SignInput<'a> {
    SignInput {
        method,
        host: "127.0.0.1:8080",
        query,
        body,
        action: "DescribeImages",
        version,
        access_key_id: "testak",
        access_key_secret: "testsecret",
        nonce: "nonce-1",
        timestamp: at(T0),
    }
}

fn v1_request(method: &str, query: &[(String, String)], body: &[u8], version: &str) -> RawRequest {
    let signed = sign_v1(&sign_input(method, query, body, version)).unwrap();
    let mut headers = vec![("host".to_owned(), "127.0.0.1:8080".to_owned())];
    if !body.is_empty() {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    RawRequest {
        method: method.into(),
        raw_query: encode_query(&signed),
        headers,
        body: body.to_vec(),
    }
}

fn v3_request(query: &[(String, String)], body: &[u8]) -> RawRequest {
    let mut headers = sign_v3(&sign_input("POST", query, body, "2014-05-26"));
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    RawRequest {
        method: "POST".into(),
        raw_query: encode_query(query),
        headers,
        body: body.to_vec(),
    }
}

#[test]
fn sign_then_verify_round_trips_for_both_versions() {
    let query = pairs(&[
        ("RegionId", "cn-hangzhou"),
        ("ImageName", "名字 x+y/z!'()*"),
        ("Format", "XML"),
    ]);
    let body = b"Tag.1.Key=k&Tag.1.Value=";
    for (method, body) in [("GET", &b""[..]), ("POST", &body[..])] {
        let ok = auth(&v1_request(method, &query, body, "2014-05-26"), T0).unwrap();
        assert_eq!(ok.signature_version, SignatureVersion::V1);
        assert_eq!(ok.format, ResponseFormat::Xml);
        assert_eq!(ok.params.get("ImageName"), Some("名字 x+y/z!'()*"));
    }
    let ok = auth(&v3_request(&query, body), T0).unwrap();
    assert_eq!(
        (ok.signature_version, ok.nonce.as_str()),
        (SignatureVersion::V3, "nonce-1")
    );
    assert_eq!(ok.params.objects("Tag").unwrap()[0].get("Key"), Some("k"));
}

#[test]
fn signed_extra_parameters_are_accepted() {
    let query = pairs(&[
        ("RegionId", "cn-hangzhou"),
        ("SourceIp", "10.0.0.1"),
        ("SecureTransport", "true"),
        ("SignatureType", ""),
        ("OwnerId", "1"),
        ("OwnerAccount", "o"),
        ("ResourceOwnerId", "2"),
        ("ResourceOwnerAccount", "r"),
    ]);
    assert!(auth(&v1_request("POST", &query, b"", "2014-05-26"), T0).is_ok());
}

#[test]
fn another_api_version_is_invalid_after_the_signature_checks_out() {
    let err = auth(
        &v1_request(
            "GET",
            &pairs(&[("RegionId", "cn-hangzhou")]),
            b"",
            "2016-11-11",
        ),
        T0,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameter);
    assert!(
        err.message().contains("\"Version\"") && err.message().contains("2016-11-11"),
        "{}",
        err.message()
    );
}

#[test]
fn v3_falls_back_to_action_and_version_parameters() {
    let query = pairs(&[
        ("Action", "DescribeImages"),
        ("Version", "2014-05-26"),
        ("RegionId", "cn-hangzhou"),
    ]);
    let headers: Vec<(String, String)> = pairs(&[
        ("host", "h"),
        ("x-acs-content-sha256", &v3::hash_payload(b"")),
        ("x-acs-date", T0),
        ("x-acs-signature-nonce", "n"),
    ]);
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical = v3::canonical_request(
        "POST",
        "/",
        &query,
        &headers,
        &signed,
        &v3::hash_payload(b""),
    );
    let signature = v3::sign("testsecret", &v3::string_to_sign(&canonical));
    let mut all = headers.clone();
    all.push((
        "authorization".into(),
        format!(
            "ACS3-HMAC-SHA256 Credential=testak,SignedHeaders={},Signature={signature}",
            signed.join(";")
        ),
    ));
    let req = RawRequest {
        method: "POST".into(),
        raw_query: encode_query(&query),
        headers: all,
        body: vec![],
    };
    let ok = auth(&req, T0).unwrap();
    assert_eq!(
        (ok.action.as_str(), ok.version.as_str()),
        ("DescribeImages", "2014-05-26")
    );
}

#[test]
fn format_hint_reads_format_without_authenticating() {
    let req = RawRequest {
        method: "GET".into(),
        raw_query: "Format=xml".into(),
        ..Default::default()
    };
    assert_eq!(req.format_hint(), ResponseFormat::Xml);
    let req = RawRequest {
        method: "GET".into(),
        raw_query: "Format=%FF".into(),
        ..Default::default()
    };
    assert_eq!(req.format_hint(), ResponseFormat::Json);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_parameters_sign_and_verify(
        values in prop::collection::vec(("[A-Z][A-Za-z0-9.]{0,10}", any::<String>()), 0..6),
        v3 in any::<bool>(),
    ) {
        let query: Vec<(String, String)> = values
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "Signature" | "Format" | "Action" | "Version" | "AccessKeyId" | "Timestamp") && !k.starts_with("Signature"))
            .collect();
        let req = if v3 { v3_request(&query, b"") } else { v1_request("POST", &query, b"", "2014-05-26") };
        let ok = auth(&req, T0);
        prop_assert!(ok.is_ok(), "{:?}", ok);
    }
}

#[test]
fn new_lowercases_header_names() {
    let req = RawRequest::new(
        "POST",
        "A=1",
        [("X-Acs-Date", "d"), ("Content-Type", "text/plain")],
        vec![],
    );
    assert_eq!(req.header("x-acs-date"), Some("d"));
    assert_eq!(req.header("content-type"), Some("text/plain"));
    assert_eq!(req.raw_query, "A=1");
}

proptest! {
    #[test]
    fn authenticate_never_panics_on_garbage(
        query in "[A-Za-z0-9=&%.+~-]{0,80}",
        authorization in prop::option::of("(ACS3-[A-Z0-9-]{0,20})?[ ,=;A-Za-z0-9]{0,60}"),
        body in prop::collection::vec(any::<u8>(), 0..40),
        method in "(GET|POST|get|PUT)",
    ) {
        let mut headers = vec![("x-acs-date".to_owned(), T0.to_owned())];
        if let Some(a) = authorization {
            headers.push(("authorization".to_owned(), a));
        }
        let req = RawRequest { method, raw_query: query, headers, body };
        let _ = req.format_hint();
        if let Err(e) = auth(&req, T0) {
            prop_assert!((400..=599).contains(&e.http_status()));
        }
    }

    #[test]
    fn authorization_parse_never_panics(header in any::<String>()) {
        let _ = v3::Authorization::parse(&header);
    }
}
