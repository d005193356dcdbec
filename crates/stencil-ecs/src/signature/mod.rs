//! Request signatures, both versions the SDKs use (reference §1.4–1.6):
//!
//! | | V1 (`HMAC-SHA1`) | V3 (`ACS3-HMAC-SHA256`) |
//! |---|---|---|
//! | sent by | legacy SDKs, Go SDK (Packer, Terraform), tea-rpc | current Python/Node SDKs (default) |
//! | covers | every parameter, query ∪ form body, minus `Signature` | method, query, the client's `SignedHeaders`, body hash |
//! | key | `secret + "&"` | `secret` |
//! | encoding | Base64 | lowercase hex |
//!
//! Both canonicalise with the same RFC 3986 encoding ([`percent_encode`]: only `A-Z a-z 0-9 -
//! _ . ~` stay literal, space is `%20`), applied to *decoded* values, so `+`/`%20` and
//! `!`/`%21` on the wire sign the same. Verification compares MACs in constant time
//! (`Mac::verify_slice`).
//!
//! The client side ([`sign_v1`], [`sign_v3`]) is what the CLI and the test kit use.

pub mod v1;
pub mod v3;

#[cfg(test)]
mod tests;

use crate::error::EcsError;
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything outside RFC 3986's unreserved set.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The API version Stencil speaks.
pub const API_VERSION: &str = "2014-05-26";

/// Timestamp format of V1 `Timestamp` and V3 `x-acs-date`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// RFC 3986 percent-encoding of UTF-8 with uppercase hex (Python `quote(s, safe='~')`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// `k=v&k=v` with both sides [`percent_encode`]d, in the given order: a query string any
/// server decodes back to the same pairs.
pub fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encode(k.as_ref()),
                percent_encode(v.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Which signature a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureVersion {
    /// `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`.
    V1,
    /// `Authorization: ACS3-HMAC-SHA256 …`.
    V3,
}

/// What a client needs to sign one RPC call.
#[derive(Debug, Clone)]
pub struct SignInput<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The `Host` header as it will be sent, port included (V3 signs it).
    pub host: &'a str,
    /// API parameters that go in the query string (without Action/Version for V3).
    pub query: &'a [(String, String)],
    /// The raw body: empty, or `application/x-www-form-urlencoded` parameters.
    pub body: &'a [u8],
    /// e.g. `DescribeImages`.
    pub action: &'a str,
    /// Normally [`API_VERSION`].
    pub version: &'a str,
    /// The AccessKey ID.
    pub access_key_id: &'a str,
    /// The AccessKey secret.
    pub access_key_secret: &'a str,
    /// Unique per request.
    pub nonce: &'a str,
    /// Request time, UTC.
    pub timestamp: DateTime<Utc>,
}

/// Signs with V1: returns the complete query pairs to send (the caller's, then `Action`,
/// `Version`, `Format=JSON` unless given, the common signature parameters and `Signature`).
/// Form parameters in `body` are signed but stay in the body.
pub fn sign_v1(input: &SignInput<'_>) -> Result<Vec<(String, String)>, EcsError> {
    let mut query: Vec<(String, String)> = input.query.to_vec();
    let has = |query: &[(String, String)], name: &str| query.iter().any(|(k, _)| k == name);
    let mut common = vec![("Action", input.action), ("Version", input.version)];
    if !has(&query, "Format") {
        common.push(("Format", "JSON"));
    }
    let timestamp = input.timestamp.format(TIMESTAMP_FORMAT).to_string();
    common.extend([
        ("AccessKeyId", input.access_key_id),
        ("SignatureMethod", v1::SIGNATURE_METHOD),
        ("SignatureVersion", v1::SIGNATURE_VERSION),
        ("SignatureNonce", input.nonce),
        ("Timestamp", timestamp.as_str()),
    ]);
    for (k, v) in common {
        if !has(&query, k) {
            query.push((k.to_owned(), v.to_owned()));
        }
    }
    let body = params_decode(input.body)?;
    let signed = crate::params::Params::from_pairs(query.iter().cloned().chain(body));
    let string_to_sign = v1::string_to_sign(input.method, signed.iter());
    query.push((
        "Signature".to_owned(),
        v1::sign(input.access_key_secret, &string_to_sign),
    ));
    Ok(query)
}

/// Signs with V3: returns the headers to send, lowercase names, `authorization` last. The
/// query goes on the URL unchanged (e.g. via [`encode_query`]); the body is covered by
/// `x-acs-content-sha256`.
pub fn sign_v3(input: &SignInput<'_>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), input.host.into()),
        ("x-acs-action".into(), input.action.into()),
        ("x-acs-content-sha256".into(), v3::hash_payload(input.body)),
        (
            "x-acs-date".into(),
            input.timestamp.format(TIMESTAMP_FORMAT).to_string(),
        ),
        ("x-acs-signature-nonce".into(), input.nonce.into()),
        ("x-acs-version".into(), input.version.into()),
    ];
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical = v3::canonical_request(
        input.method,
        "/",
        input.query,
        &headers,
        &signed,
        &headers[2].1,
    );
    let signature = v3::sign(input.access_key_secret, &v3::string_to_sign(&canonical));
    headers.push((
        "authorization".into(),
        format!(
            "{} Credential={},SignedHeaders={},Signature={signature}",
            v3::ALGORITHM,
            input.access_key_id,
            signed.join(";")
        ),
    ));
    headers
}

fn params_decode(body: &[u8]) -> Result<Vec<(String, String)>, EcsError> {
    if body.is_empty() {
        Ok(Vec::new())
    } else {
        crate::params::decode_form(body)
    }
}
