//! A small ECS API client: signs each call (V3 by default, V1 on request) and returns the JSON
//! body or the ECS error.

use chrono::Utc;
use serde_json::Value;
use stencil_ecs::{API_VERSION, SignInput, SignatureVersion, sign_v1, sign_v3};

/// An error answer of the API, or a transport failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an ECS error body.
    #[error("{code} (HTTP {status}): {message} [RequestId {request_id}]")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// The request did not complete or the answer was not JSON.
    #[error("Request failed: {0}")]
    Transport(String),
}

impl ClientError {
    /// The ECS code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            ClientError::Transport(_) => None,
        }
    }
}

/// Endpoint and credentials.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: String,
    access_key_id: String,
    access_key_secret: String,
    signature: SignatureVersion,
    http: reqwest::Client,
}

impl Client {
    /// A client for `endpoint` (`host:port`, or a URL whose scheme is `http://`).
    pub fn new(endpoint: &str, access_key_id: &str, access_key_secret: &str) -> Self {
        let endpoint = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Client {
            endpoint,
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            signature: SignatureVersion::V3,
            http: reqwest::Client::new(),
        }
    }

    /// Signs with `version` from now on.
    pub fn with_signature(mut self, version: SignatureVersion) -> Self {
        self.signature = version;
        self
    }

    /// Calls `action` with `params` (query parameters) and returns the response body.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Value, ClientError> {
        let (status, bytes) = self.call_raw(action, params).await?;
        let body: Value =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Transport(e.to_string()))?;
        if status >= 400 {
            let s = |k: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            return Err(ClientError::Api {
                status,
                code: s("Code"),
                message: s("Message"),
                request_id: s("RequestId"),
            });
        }
        Ok(body)
    }

    /// Calls `action` and returns the HTTP status and the raw body, unparsed.
    pub async fn call_raw(
        &self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let query: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let input = SignInput {
            method: "POST",
            host: &self.endpoint,
            query: &query,
            body: b"",
            action,
            version: API_VERSION,
            access_key_id: &self.access_key_id,
            access_key_secret: &self.access_key_secret,
            nonce: &nonce,
            timestamp: Utc::now(),
        };
        let (query, headers) = match self.signature {
            SignatureVersion::V3 => (query.clone(), sign_v3(&input)),
            SignatureVersion::V1 => (
                sign_v1(&input).map_err(|e| ClientError::Transport(e.to_string()))?,
                Vec::new(),
            ),
        };
        let url = format!(
            "http://{}/?{}",
            self.endpoint,
            stencil_ecs::signature::encode_query(&query)
        );
        let mut req = self.http.post(url);
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }
}
