//! The bad-input table: each row a request that must get exactly the reference's Code and HTTP
//! status, after which the server still answers a good request.

use stencil_testkit::TestServer;
use stencil_testkit::raw::{Answer, RawCall};

const DESCRIBE: &[(&str, &str)] = &[("RegionId", "cn-hangzhou")];

async fn still_serving(server: &TestServer) {
    let ok = RawCall::new(&server.endpoint(), "DescribeRegions", &[])
        .send_v3()
        .await;
    assert_eq!(ok.status, 200, "server keeps serving: {}", ok.text);
}

fn expect(answer: &Answer, status: u16, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "body: {}",
        answer.text
    );
    for field in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(
            answer.body.get(field).is_some(),
            "error body lacks {field}: {}",
            answer.text
        );
    }
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match_with_the_string_to_sign() {
    let s = TestServer::start().await;
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.secret = "not-the-secret".into();
    let a = call.send_v3().await;
    expect(&a, 400, "SignatureDoesNotMatch");
    assert!(
        a.body["Message"]
            .as_str()
            .unwrap()
            .contains("server string to sign is:"),
        "{}",
        a.text
    );
    let a = call.send_v1().await;
    expect(&a, 400, "SignatureDoesNotMatch");
    assert!(
        a.body["Message"]
            .as_str()
            .unwrap()
            .contains("POST&%2F&AccessKeyId%3Dtestak"),
        "{}",
        a.text
    );
    still_serving(&s).await;
}

#[tokio::test]
async fn tampered_parameter_is_refused() {
    let s = TestServer::start().await;
    let call = RawCall::new(
        &s.endpoint(),
        "DescribeImages",
        &[("RegionId", "cn-hangzhou"), ("PageSize", "5")],
    );
    let (mut q, h) = call.sign_v3();
    q[1].1 = "50".into();
    expect(&call.send(&q, &h).await, 400, "SignatureDoesNotMatch");
    let mut q = call.sign_v1();
    q[1].1 = "50".into();
    expect(&call.send(&q, &[]).await, 400, "SignatureDoesNotMatch");
    still_serving(&s).await;
}

#[tokio::test]
async fn unknown_access_key_is_not_found() {
    let s = TestServer::start().await;
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.access_key_id = "nobody".into();
    expect(&call.send_v3().await, 404, "InvalidAccessKeyId.NotFound");
    expect(&call.send_v1().await, 404, "InvalidAccessKeyId.NotFound");
    still_serving(&s).await;
}

#[tokio::test]
async fn replayed_nonce_is_refused() {
    let s = TestServer::start().await;
    let call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    let (q, h) = call.sign_v3();
    assert_eq!(call.send(&q, &h).await.status, 200);
    expect(&call.send(&q, &h).await, 400, "SignatureNonceUsed");
    let q = call.sign_v1();
    expect(&call.send(&q, &[]).await, 400, "SignatureNonceUsed");
    still_serving(&s).await;
}

#[tokio::test]
async fn stale_or_future_timestamp_is_expired() {
    let s = TestServer::start().await;
    for minutes in [-16, 16] {
        let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
        call.timestamp = chrono::Utc::now() + chrono::Duration::minutes(minutes);
        expect(&call.send_v3().await, 400, "InvalidTimeStamp.Expired");
        call.nonce.push('x');
        expect(&call.send_v1().await, 400, "InvalidTimeStamp.Expired");
    }
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.timestamp = chrono::Utc::now() - chrono::Duration::minutes(14);
    assert_eq!(call.send_v3().await.status, 200, "inside the window");
    still_serving(&s).await;
}

#[tokio::test]
async fn missing_signature_parts_are_named() {
    let s = TestServer::start().await;
    let call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    let q: Vec<_> = call
        .sign_v1()
        .into_iter()
        .filter(|(k, _)| k != "Signature")
        .collect();
    let a = call.send(&q, &[]).await;
    expect(&a, 400, "MissingParameter");
    assert!(
        a.body["Message"]
            .as_str()
            .unwrap()
            .contains("\"Signature\""),
        "{}",
        a.text
    );
    let q: Vec<_> = call
        .sign_v1()
        .into_iter()
        .filter(|(k, _)| k != "SignatureNonce")
        .collect();
    expect(&call.send(&q, &[]).await, 400, "MissingParameter");
    let (q, mut h) = call.sign_v3();
    for (k, v) in &mut h {
        if k == "authorization" {
            *v = v.split(",Signature=").next().unwrap().to_string();
        }
    }
    expect(&call.send(&q, &h).await, 400, "IncompleteSignature");
    let none = call.send(&call.params, &[]).await;
    expect(&none, 400, "MissingParameter");
    still_serving(&s).await;
}

#[tokio::test]
async fn unknown_action_and_wrong_version() {
    let s = TestServer::start().await;
    let call = RawCall::new(&s.endpoint(), "DescribeUnicorns", DESCRIBE);
    expect(&call.send_v3().await, 400, "InvalidAction.NotFound");
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.version = "2016-01-01".into();
    let a = call.send_v3().await;
    expect(&a, 400, "InvalidParameter");
    assert!(
        a.body["Message"].as_str().unwrap().contains("Version"),
        "{}",
        a.text
    );
    still_serving(&s).await;
}

#[tokio::test]
async fn missing_or_unknown_region() {
    let s = TestServer::start().await;
    let a = RawCall::new(&s.endpoint(), "DescribeImages", &[])
        .send_v3()
        .await;
    expect(&a, 400, "MissingParameter");
    assert!(
        a.body["Message"].as_str().unwrap().contains("RegionId"),
        "{}",
        a.text
    );
    let a = RawCall::new(
        &s.endpoint(),
        "DescribeImages",
        &[("RegionId", "mars-north-1")],
    )
    .send_v3()
    .await;
    expect(&a, 404, "InvalidRegionId.NotFound");
    let a = RawCall::new(
        &s.endpoint(),
        "DescribeImageFromFamily",
        &[("RegionId", "mars-north-1"), ("ImageFamily", "f")],
    )
    .send_v3()
    .await;
    expect(&a, 404, "InvalidRegionId.NotFound");
    still_serving(&s).await;
}

#[tokio::test]
async fn page_size_out_of_range_or_not_a_number() {
    let s = TestServer::start().await;
    for bad in ["0", "101", "abc", "-1", "1.5"] {
        let a = RawCall::new(
            &s.endpoint(),
            "DescribeImages",
            &[("RegionId", "cn-hangzhou"), ("PageSize", bad)],
        )
        .send_v3()
        .await;
        expect(&a, 400, "InvalidParameter");
        assert!(
            a.body["Message"].as_str().unwrap().contains("PageSize"),
            "{bad}: {}",
            a.text
        );
    }
    still_serving(&s).await;
}

#[tokio::test]
async fn malformed_list_indexes_name_the_key() {
    let s = TestServer::start().await;
    for key in ["Tag.0.Key", "Tag.x.Key", "Tag.01.Key", "Tag.1"] {
        let a = RawCall::new(
            &s.endpoint(),
            "DescribeImages",
            &[("RegionId", "cn-hangzhou"), (key, "env")],
        )
        .send_v3()
        .await;
        expect(&a, 400, "InvalidParameter");
        assert!(
            a.body["Message"].as_str().unwrap().contains(key),
            "{key}: {}",
            a.text
        );
    }
    still_serving(&s).await;
}

#[tokio::test]
async fn body_over_the_size_limit_is_refused() {
    let s = TestServer::start().await;
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.body = vec![b'a'; 2 << 20];
    call.content_type = Some("application/x-www-form-urlencoded".into());
    let a = call.send_v3().await;
    expect(&a, 413, "InvalidParameter");
    still_serving(&s).await;
}

#[tokio::test]
async fn invalid_utf8_is_an_invalid_parameter() {
    let s = TestServer::start().await;
    let call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    let a = call
        .send_raw_query("RegionId=cn-hangzhou&ImageName=%FF%FE", &[])
        .await;
    expect(&a, 400, "InvalidParameter");
    // A form body that does not decode to UTF-8 (signed without it: decoding fails first).
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    let q = call.sign_v1();
    call.body = b"ImageName=%C3%28".to_vec();
    call.content_type = Some("application/x-www-form-urlencoded".into());
    expect(&call.send(&q, &[]).await, 400, "InvalidParameter");
    still_serving(&s).await;
}

#[tokio::test]
async fn other_methods_and_paths_get_ecs_errors() {
    let s = TestServer::start().await;
    let mut call = RawCall::new(&s.endpoint(), "DescribeImages", DESCRIBE);
    call.method = "PUT".into();
    expect(&call.send_v3().await, 403, "UnsupportedHTTPMethod");
    let resp = reqwest::get(format!("http://{}/v2/images", s.endpoint()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    still_serving(&s).await;
}
