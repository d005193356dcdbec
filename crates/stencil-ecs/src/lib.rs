//! The ECS wire layer of Stencil: everything between HTTP bytes and the domain, and nothing
//! about storage. Only this crate knows ECS codes, parameter names and signatures.
//!
//! # Request pipeline
//!
//! ```text
//! RawRequest (method, raw query, lowercased headers, body)          ← the server builds it
//!   │ auth::authenticate          decode query ∪ form body, verify V1 or V3, check time
//!   ▼
//! Authenticated { action, params: Params, format, nonce, … }        ← server checks the nonce
//!   │ actions::<Action>::parse    Params accessors → domain newtypes, ECS validation
//!   ▼
//! domain call (stencil-core)      DomainError → EcsError in one exhaustive match
//!   │ render::render_success / render::render_error
//!   ▼
//! Rendered { status, content_type, headers, body }                  ← the server copies it
//! ```
//!
//! ```
//! use stencil_ecs::{RawRequest, SignInput, authenticate, new_request_id};
//! use stencil_ecs::{render_error, render_success, sign_v3, signature::encode_query};
//! # let now = chrono::Utc::now();
//! # let query = vec![("RegionId".to_string(), "cn-hangzhou".to_string())];
//! # let headers = sign_v3(&SignInput { method: "POST", host: "127.0.0.1:8080", query: &query,
//! #     body: b"", action: "DescribeRegions", version: "2014-05-26", access_key_id: "ak",
//! #     access_key_secret: "secret", nonce: "n1", timestamp: now });
//! let req = RawRequest::new("POST", &encode_query(&query), headers, Vec::new());
//! let request_id = new_request_id();
//! let secrets = |ak: &str| (ak == "ak").then(|| "secret".to_string());
//! let rendered = match authenticate(&req, &secrets, chrono::Utc::now()) {
//!     // server: reject a reused `ok.nonce`, parse `ok.action`, call the domain …
//!     Ok(ok) => render_success(&ok.action, serde_json::json!({"Regions": {"Region": []}}), &request_id, ok.format),
//!     Err(err) => render_error(&err, &request_id, "ecs.example", req.format_hint()),
//! };
//! assert_eq!((rendered.status, rendered.content_type), (200, "application/json;charset=utf-8"));
//! ```
//!
//! # Errors
//!
//! Every failure is an [`EcsError`]: an [`ErrorCode`] from the table in [`error::codes`] (one
//! variant per code the reference documents, exact spellings, typos included, each with its
//! HTTP status and default message) plus a message for this request. Messages are short,
//! capitalised sentences that name the parameter in double quotes and quote the bad value:
//! `The specified parameter "PageSize" is not valid: must be an integer from 1 to 100, got
//! "abc".` A malformed request never panics and never becomes a 500.
//!
//! # Modules
//!
//! | module | what |
//! |---|---|
//! | [`error`] | `ErrorCode` table, `EcsError` and its constructors |
//! | [`params`] | form decoding (strict UTF-8) and `Params`: scalars, `X.N` lists, `X.N.Y` objects, JSON/comma lists |
//! | [`signature`] | V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256): server verification and client signing |
//! | [`auth`] | `authenticate`: dispatch, required parameters, AccessKey, timestamp, signature, version |
//! | [`render`] | JSON/XML success and error bodies, request IDs |
//! | [`actions`] | one module per ECS action: `parse(&Params)` → request, `render(…)` → body; domain error mapping |

pub mod actions;
pub mod auth;
pub mod error;
pub mod params;
pub mod render;
pub mod signature;

#[cfg(test)]
mod captures;

pub use auth::{Authenticated, RawRequest, authenticate};
pub use error::{EcsError, ErrorCode};
pub use params::Params;
pub use render::{
    Rendered, ResponseFormat, new_request_id, render_error, render_success, render_success_typed,
};
pub use signature::{API_VERSION, SignInput, SignatureVersion, sign_v1, sign_v3};
