//! Signature V3: `ACS3-HMAC-SHA256` over a canonical request (reference §1.5).

use super::percent_encode;
use crate::error::{EcsError, ErrorCode};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name in the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// A parsed `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// e.g. `ACS3-HMAC-SHA256`.
    pub algorithm: String,
    /// The AccessKey ID from `Credential=`.
    pub access_key_id: String,
    /// Header names from `SignedHeaders=`, in the order given.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature.
    pub signature: String,
}

impl Authorization {
    /// Parses the header; a missing part is `IncompleteSignature` naming it.
    pub fn parse(header: &str) -> Result<Self, EcsError> {
        let incomplete = |what: &str| {
            EcsError::new(
                ErrorCode::IncompleteSignature,
                format!(
                    "The request signature does not conform to Aliyun standards: the Authorization header {what}."
                ),
            )
        };
        let (algorithm, rest) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| incomplete("has no Credential, SignedHeaders or Signature"))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            match part.trim().split_once('=') {
                Some(("Credential", v)) => credential = Some(v.trim()),
                Some(("SignedHeaders", v)) => signed = Some(v.trim()),
                Some(("Signature", v)) => signature = Some(v.trim()),
                _ => {}
            }
        }
        let credential = credential
            .filter(|v| !v.is_empty())
            .ok_or_else(|| incomplete("has no Credential"))?;
        let signed = signed
            .filter(|v| !v.is_empty())
            .ok_or_else(|| incomplete("has no SignedHeaders"))?;
        let signature = signature
            .filter(|v| !v.is_empty())
            .ok_or_else(|| incomplete("has no Signature"))?;
        Ok(Authorization {
            algorithm: algorithm.to_owned(),
            access_key_id: credential.to_owned(),
            signed_headers: signed.split(';').map(|h| h.trim().to_owned()).collect(),
            signature: signature.to_owned(),
        })
    }
}

/// Hex SHA-256 of the body, the value of `x-acs-content-sha256`.
pub fn hash_payload(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The query pairs percent-encoded and sorted (by encoded key, then value), joined with `&`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request. `headers` have lowercase names; a signed header sent several times
/// is joined with `,`; one that is absent signs as empty. `signed_headers` are used in the
/// client's order, exactly as listed.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let lower = name.to_ascii_lowercase();
        let values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| *k == lower)
            .map(|(_, v)| v.trim())
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let path = if path.is_empty() { "/" } else { path };
    format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_query(query),
        signed_headers.join(";")
    )
}

/// `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Hex `HMAC-SHA256(secret, string_to_sign)`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    hex::encode(mac(secret, string_to_sign).finalize().into_bytes())
}

/// Whether `signature` (hex, any case) is the MAC of `string_to_sign`, in constant time.
pub fn verify(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    match hex::decode(signature.trim()) {
        Ok(tag) => mac(secret, string_to_sign).verify_slice(&tag).is_ok(),
        Err(_) => false,
    }
}

fn mac(secret: &str, string_to_sign: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    mac
}
