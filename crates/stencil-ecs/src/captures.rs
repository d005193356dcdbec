//! Captured requests from reference §1.7 (real SDK output; AK `testak`, secret `testsecret`),
//! byte for byte, used as test vectors by the signature and auth tests.

/// A. DescribeImages, Python SDK 7.11.8 defaults (ACS3).
pub const A_PYTHON_V3_DESCRIBE_IMAGES: &str = r#"POST /?DryRun=False&Filter.1.Key=CreationStartTime&Filter.1.Value=2017-12-05T22%3A40Z&ImageName=my+image~x&ImageOwnerAlias=self&IsSupportIoOptimized=True&PageNumber=1&PageSize=50&RegionId=cn-hangzhou&Status=Available%2CCreating&Tag.1.Key=env&Tag.1.Value=prod HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:35083
x-acs-version: 2014-05-26
x-acs-action: DescribeImages
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-23T03:37:42Z
x-acs-signature-nonce: aecd50e2cbe31fa80d53ca75986b91a3
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=e3d03e0c10c3aac6f69319acc1b29f77abbbbff1949bfd9fc0157c4d77505f20
Content-Length: 0"#;

/// A. The canonical request the reference verifier rebuilt for capture A.
pub const A_CANONICAL_REQUEST: &str = r#"POST
/
DryRun=False&Filter.1.Key=CreationStartTime&Filter.1.Value=2017-12-05T22%3A40Z&ImageName=my%20image~x&ImageOwnerAlias=self&IsSupportIoOptimized=True&PageNumber=1&PageSize=50&RegionId=cn-hangzhou&Status=Available%2CCreating&Tag.1.Key=env&Tag.1.Value=prod
accept:application/json
host:127.0.0.1:35083
user-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-action:DescribeImages
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider:static_ak
x-acs-date:2026-11-23T03:37:42Z
x-acs-signature-nonce:aecd50e2cbe31fa80d53ca75986b91a3
x-acs-version:2014-05-26

accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"#;

/// B. ModifyImageSharePermission, Python SDK defaults (ACS3).
pub const B_PYTHON_V3_MODIFY_SHARE: &str = r#"POST /?AddAccount.1=1234567890&AddAccount.2=2345678901&ImageId=m-bp1g7004ksh0oeuc0001&RegionId=cn-hangzhou&RemoveAccount.1=3456789012 HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:35083
x-acs-version: 2014-05-26
x-acs-action: ModifyImageSharePermission
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-23T03:37:42Z
x-acs-signature-nonce: 8a614f810eb0dde3f76689f9cce9289c
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=0a2a7944de67175bce6c7411b1ded67351aa4c052b91cf7ec8ea4f3205a89358
Content-Length: 0"#;

/// C. DescribeImages, Python SDK with `signature_algorithm='v2'` (V1).
pub const C_PYTHON_V1_DESCRIBE_IMAGES: &str = r#"POST /?Action=DescribeImages&Format=json&Version=2014-05-26&Timestamp=2026-11-23T03%3A37%3A42Z&SignatureNonce=fbbea7c00f30a2f238b174bf4949018f&ImageOwnerAlias=self&RegionId=cn-hangzhou&Tag.1.Key=env&Tag.1.Value=prod&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testak&Signature=ZtafKtVYewreUTAdC52xCXwOVm4%3D HTTP/1.1
host: 127.0.0.1:35083
x-acs-version: 2014-05-26
x-acs-action: DescribeImages
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-credentials-provider: static_ak
Content-Length: 0"#;

/// C. The V1 StringToSign of capture C.
pub const C_STRING_TO_SIGN: &str = r#"POST&%2F&AccessKeyId%3Dtestak%26Action%3DDescribeImages%26Format%3Djson%26ImageOwnerAlias%3Dself%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dfbbea7c00f30a2f238b174bf4949018f%26SignatureVersion%3D1.0%26Tag.1.Key%3Denv%26Tag.1.Value%3Dprod%26Timestamp%3D2026-11-23T03%253A37%253A42Z%26Version%3D2014-05-26"#;

/// C. ModifyImageSharePermission, Python SDK V1 (request line only).
pub const C_PYTHON_V1_MODIFY_SHARE: &str = r#"POST /?Action=ModifyImageSharePermission&Format=json&Version=2014-05-26&Timestamp=2026-11-23T03%3A37%3A42Z&SignatureNonce=64c871cd48881fb3b69e3d682c791fb8&AddAccount.1=1234567890&ImageId=m-x&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testak&Signature=JGag4N0TVb8uenaL8g2DFgrhtb4%3D HTTP/1.1"#;

/// D. DescribeImages, Node SDK 7.11.6 (ACS3).
pub const D_NODE_V3_DESCRIBE_IMAGES: &str = r#"POST /?ImageOwnerAlias=self&IsSupportIoOptimized=true&PageSize=50&RegionId=cn-hangzhou&Tag.1.Key=env&Tag.1.Value=prod HTTP/1.1
host: 127.0.0.1:18765
x-acs-version: 2014-05-26
x-acs-action: DescribeImages
user-agent: AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2
x-acs-date: 2026-11-23T03:38:31Z
x-acs-signature-nonce: 946c1a6198557de3caeabd3784c7a382c70e50e42cc9d1e3fcb3714d9c216bb3
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=0db650e2ac0eefc029327fee4526def47ea2dad932ec0832378d7ceee0ffa37e
Connection: keep-alive
Content-Length: 0"#;

/// E. DescribeImages, legacy aliyun-python-sdk-core (V1, empty SignatureType).
pub const E_LEGACY_V1_DESCRIBE_IMAGES: &str = r#"POST /?ImageOwnerAlias=self&IsSupportIoOptimized=True&Tag.1.Value=prod&Tag.1.Key=env&PageSize=50&Version=2014-05-26&Action=DescribeImages&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-23T03%3A39%3A04Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=b31d8dbd6736ed55a45865330349249f&AccessKeyId=testak&Signature=Af9ambM%2BzJ5QNkwhMLuSM%2FUvjsI%3D HTTP/1.1
Host: 127.0.0.1:18766
User-Agent: AlibabaCloud (Linux 6.18.44-fc-v657;x86_64) Python/3.11.7 Core/2.16.1 python-requests/2.18.3
Accept: */*
x-acs-action: DescribeImages
x-acs-version: 2014-05-26
x-sdk-invoke-type: normal
x-sdk-client: python/2.0.0
Content-Length: 0"#;

/// F. DescribeImages, alibabacloud-tea-rpc (V1, form body).
pub const F_TEA_RPC_V1_FORM_BODY: &str = r#"POST /?Action=DescribeImages&Format=json&Timestamp=2026-11-23T03%3A42%3A27Z&Version=2014-05-26&SignatureNonce=7dbb661798abeea7aa3ba84f55259967&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testak&Signature=SpN%2FEyqQ0HQ979RMC2sys7p4oJw%3D HTTP/1.1
content-type: application/x-www-form-urlencoded
Content-Length: 86

ImageId=m-x&RegionId=cn-hangzhou&Status=Creating%2CAvailable&Tag.1.Key=a&Tag.1.Value=b"#;

/// Parses a capture (request line, headers, blank line, body) into a [`RawRequest`], header
/// names lowercased as the server does.
pub fn raw_request(capture: &str) -> crate::auth::RawRequest {
    let (head, body) = capture.split_once("\n\n").unwrap_or((capture, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let mut parts = request_line.split(' ');
    let method = parts.next().expect("method").to_owned();
    let target = parts.next().expect("target");
    let raw_query = target.split_once('?').map_or("", |(_, q)| q).to_owned();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (
                name.trim().to_ascii_lowercase(),
                value.trim_start().to_owned(),
            )
        })
        .collect();
    crate::auth::RawRequest {
        method,
        raw_query,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// The instant a capture was signed, for replaying it inside the timestamp window.
pub fn at(timestamp: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
}
