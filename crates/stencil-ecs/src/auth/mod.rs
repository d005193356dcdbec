//! Authentication of one raw request (reference §1.6 dispatch, §6.1 codes).
//!
//! ```text
//! Authorization: ACS3-…  ──► V3: Action/Version from x-acs-action/x-acs-version (else params)
//! Signature parameter    ──► V1: everything in query ∪ form body
//! neither                ──► MissingParameter naming the first absent V1 parameter
//! ```
//!
//! Checks run in a fixed order so a request gets the same error every time: required
//! parameters (`MissingParameter`; a malformed Authorization header is `IncompleteSignature`),
//! AccessKey (`InvalidAccessKeyId.NotFound`), signature method and version
//! (`InvalidParameter`), timestamp format (`InvalidTimeStamp.Format`) and 15-minute window
//! either side (`InvalidTimeStamp.Expired`), V3 payload hash, signature
//! (`SignatureDoesNotMatch` ending with the server's string to sign), then `Version`.
//!
//! Nonce replay is the caller's job: the server checks [`Authenticated::nonce`] against a
//! store shared by all nodes. Signed extras such as `SourceIp`, `SecureTransport`,
//! `SignatureType`, `OwnerId`, `OwnerAccount`, `ResourceOwnerId`, `ResourceOwnerAccount` and
//! `Format` are verified with the rest and otherwise ignored.

use crate::error::{EcsError, ErrorCode};
use crate::params::{Params, decode_form};
use crate::render::ResponseFormat;
use crate::signature::{API_VERSION, SignatureVersion, TIMESTAMP_FORMAT, v1, v3};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// How far a request's timestamp may be from the server clock, either way.
pub const TIMESTAMP_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// One HTTP request as received, before anything is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRequest {
    /// `GET` or `POST` (anything else is `UnsupportedHTTPMethod`).
    pub method: String,
    /// The query string without `?`, still percent-encoded.
    pub raw_query: String,
    /// Headers in arrival order, names lowercased, values as received.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Builds a request, lowercasing header names (values are kept as received).
    pub fn new<K, V>(
        method: &str,
        raw_query: &str,
        headers: impl IntoIterator<Item = (K, V)>,
        body: Vec<u8>,
    ) -> Self
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        RawRequest {
            method: method.to_owned(),
            raw_query: raw_query.to_owned(),
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into()))
                .collect(),
            body,
        }
    }

    /// The first value of a header (`name` lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The format an error should be rendered in, read without authenticating (an unreadable
    /// request gets JSON).
    pub fn format_hint(&self) -> ResponseFormat {
        let query = decode_form(self.raw_query.as_bytes()).unwrap_or_default();
        let body = if self.has_form_body() {
            decode_form(&self.body).unwrap_or_default()
        } else {
            Vec::new()
        };
        let params = Params::from_pairs(query.into_iter().chain(body));
        ResponseFormat::from_param(params.get("Format"))
    }

    /// A form body is parsed when declared `application/x-www-form-urlencoded`, or when a
    /// non-empty body comes without a `Content-Type` (old Go tea-rpc, reference §1.2).
    fn has_form_body(&self) -> bool {
        match self.header("content-type") {
            Some(ct) => ct.split(';').next().is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            }),
            None => !self.body.is_empty(),
        }
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The AccessKey ID that signed it.
    pub access_key_id: String,
    /// e.g. `DescribeImages` (not yet checked against the known actions).
    pub action: String,
    /// Always `2014-05-26` here.
    pub version: String,
    /// Query ∪ form body (body wins on duplicates).
    pub params: Params,
    /// JSON unless `Format=XML`.
    pub format: ResponseFormat,
    /// `SignatureNonce` / `x-acs-signature-nonce`, for the server's replay check.
    pub nonce: String,
    /// The signed request time; the nonce need only be remembered for the window around it.
    pub timestamp: DateTime<Utc>,
    /// Which signature it carried.
    pub signature_version: SignatureVersion,
}

/// Authenticates `req`. `secrets` maps an AccessKey ID to its secret; `now` is the server
/// clock (a parameter so tests can replay captured requests).
pub fn authenticate(
    req: &RawRequest,
    secrets: &dyn Fn(&str) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<Authenticated, EcsError> {
    if !req.method.eq_ignore_ascii_case("GET") && !req.method.eq_ignore_ascii_case("POST") {
        return Err(ErrorCode::UnsupportedHttpMethod.into());
    }
    let query = decode_form(req.raw_query.as_bytes())?;
    let body = if req.has_form_body() {
        decode_form(&req.body)?
    } else {
        Vec::new()
    };
    let params = Params::from_pairs(query.iter().cloned().chain(body));
    match req.header("authorization") {
        Some(auth) if auth.trim_start().starts_with("ACS3-") => {
            verify_v3(req, auth, &query, params, secrets, now)
        }
        _ => verify_v1(req, params, secrets, now),
    }
}

fn verify_v1(
    req: &RawRequest,
    params: Params,
    secrets: &dyn Fn(&str) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<Authenticated, EcsError> {
    for name in [
        "Action",
        "Version",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
    ] {
        params.required(name)?;
    }
    let required = |name| params.required(name).map(str::to_owned);
    let access_key_id = required("AccessKeyId")?;
    let secret = lookup(secrets, &access_key_id)?;
    for (name, expected) in [
        ("SignatureMethod", v1::SIGNATURE_METHOD),
        ("SignatureVersion", v1::SIGNATURE_VERSION),
    ] {
        let got = params.required(name)?;
        if got != expected {
            return Err(EcsError::invalid(
                name,
                format_args!("only {expected} is supported, got {got:?}"),
            ));
        }
    }
    let timestamp = check_timestamp("Timestamp", params.required("Timestamp")?, now)?;
    let method = req.method.to_ascii_uppercase();
    let string_to_sign = v1::string_to_sign(&method, params.iter());
    if !v1::verify(&secret, &string_to_sign, params.required("Signature")?) {
        return Err(mismatch(&string_to_sign));
    }
    let version = check_version(params.required("Version")?)?;
    Ok(Authenticated {
        access_key_id,
        action: required("Action")?,
        version,
        nonce: required("SignatureNonce")?,
        format: ResponseFormat::from_param(params.get("Format")),
        params,
        timestamp,
        signature_version: SignatureVersion::V1,
    })
}

fn verify_v3(
    req: &RawRequest,
    auth_header: &str,
    query: &[(String, String)],
    params: Params,
    secrets: &dyn Fn(&str) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<Authenticated, EcsError> {
    let auth = v3::Authorization::parse(auth_header)?;
    let header = |name: &str| {
        req.header(name)
            .filter(|v| !v.trim().is_empty())
            .map(str::trim)
    };
    let required = |name: &str| header(name).ok_or_else(|| EcsError::missing(name));
    let date = required("x-acs-date")?;
    let nonce = required("x-acs-signature-nonce")?;
    let content_hash = required("x-acs-content-sha256")?;
    let (action, action_header) = header_or_param(header("x-acs-action"), &params, "Action")?;
    let (version, version_header) = header_or_param(header("x-acs-version"), &params, "Version")?;
    // Headers that decide what the request does must be covered by the signature, or a
    // replayed request could be pointed at another action or moved in time.
    let must_sign = [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ]
    .into_iter()
    .chain(action_header.then_some("x-acs-action"))
    .chain(version_header.then_some("x-acs-version"));
    for name in must_sign {
        if !auth
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(EcsError::new(
                ErrorCode::IncompleteSignature,
                format!(
                    "The request signature does not conform to Aliyun standards: the header \"{name}\" is not in SignedHeaders."
                ),
            ));
        }
    }
    let secret = lookup(secrets, &auth.access_key_id)?;
    if auth.algorithm != v3::ALGORITHM {
        return Err(EcsError::invalid(
            "Authorization",
            format_args!(
                "only the {} algorithm is supported, got {:?}",
                v3::ALGORITHM,
                auth.algorithm
            ),
        ));
    }
    let timestamp = check_timestamp("x-acs-date", date, now)?;
    let payload_hash = v3::hash_payload(&req.body);
    if !content_hash.eq_ignore_ascii_case(&payload_hash) {
        return Err(EcsError::new(
            ErrorCode::SignatureDoesNotMatch,
            format!(
                "Specified signature is not matched with our calculation. The x-acs-content-sha256 header is {content_hash:?} but the SHA-256 of the body is {payload_hash:?}."
            ),
        ));
    }
    let method = req.method.to_ascii_uppercase();
    let canonical = v3::canonical_request(
        &method,
        "/",
        query,
        &req.headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let string_to_sign = v3::string_to_sign(&canonical);
    if !v3::verify(&secret, &string_to_sign, &auth.signature) {
        return Err(mismatch(&string_to_sign));
    }
    let version = check_version(&version)?;
    Ok(Authenticated {
        access_key_id: auth.access_key_id,
        action,
        version,
        format: ResponseFormat::from_param(params.get("Format")),
        params,
        nonce: nonce.to_owned(),
        timestamp,
        signature_version: SignatureVersion::V3,
    })
}

/// The header's value, else the parameter's; the flag says whether the header was used.
fn header_or_param(
    header: Option<&str>,
    params: &Params,
    name: &str,
) -> Result<(String, bool), EcsError> {
    match header {
        Some(v) => Ok((v.to_owned(), true)),
        None => Ok((params.required(name)?.to_owned(), false)),
    }
}

fn lookup(
    secrets: &dyn Fn(&str) -> Option<String>,
    access_key_id: &str,
) -> Result<String, EcsError> {
    secrets(access_key_id).ok_or_else(|| ErrorCode::InvalidAccessKeyIdNotFound.into())
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (or any RFC 3339 time) and enforces the window.
fn check_timestamp(name: &str, raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, EcsError> {
    let parsed = NaiveDateTime::parse_from_str(raw, TIMESTAMP_FORMAT)
        .map(|t| t.and_utc())
        .or_else(|_| DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc)))
        .map_err(|_| {
            EcsError::new(
                ErrorCode::InvalidTimeStampFormat,
                format!("Specified time stamp or date value is not well formatted: {name} must look like 2014-05-26T12:00:00Z, got {raw:?}."),
            )
        })?;
    if (now - parsed).abs() > TIMESTAMP_WINDOW {
        return Err(EcsError::new(
            ErrorCode::InvalidTimeStampExpired,
            format!(
                "Specified time stamp or date value is expired: {name} {raw} is more than 15 minutes from the server time {}.",
                now.format(TIMESTAMP_FORMAT)
            ),
        ));
    }
    Ok(parsed)
}

fn check_version(version: &str) -> Result<String, EcsError> {
    if version == API_VERSION {
        Ok(version.to_owned())
    } else {
        Err(EcsError::invalid(
            "Version",
            format_args!("only {API_VERSION} is supported, got {version:?}"),
        ))
    }
}

fn mismatch(string_to_sign: &str) -> EcsError {
    EcsError::new(
        ErrorCode::SignatureDoesNotMatch,
        format!(
            "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
        ),
    )
}

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;
