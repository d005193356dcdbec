//! Signature V1: HMAC-SHA1 over the sorted, percent-encoded parameters (reference §1.4).

use super::percent_encode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The only `SignatureMethod` V1 accepts.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// The only `SignatureVersion` V1 accepts.
pub const SIGNATURE_VERSION: &str = "1.0";

/// `Method&%2F&percentEncode(CanonicalizedQueryString)` over every parameter except
/// `Signature`, sorted by encoded name (then value). Empty values are included.
pub fn string_to_sign<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    let canonical = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical)
    )
}

/// `Base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    BASE64.encode(mac(secret, string_to_sign).finalize().into_bytes())
}

/// Whether `signature` (Base64) is the MAC of `string_to_sign`, compared in constant time.
pub fn verify(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    match BASE64.decode(signature.trim()) {
        Ok(tag) => mac(secret, string_to_sign).verify_slice(&tag).is_ok(),
        Err(_) => false,
    }
}

fn mac(secret: &str, string_to_sign: &str) -> Hmac<Sha1> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    mac
}
