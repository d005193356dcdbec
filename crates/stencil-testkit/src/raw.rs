//! Hand-built requests for tests that need to break them: wrong secrets, stale timestamps,
//! replayed nonces, tampered parameters, oversized or non-UTF-8 bodies.

use chrono::{DateTime, Utc};
use serde_json::Value;
use stencil_ecs::{API_VERSION, SignInput, sign_v1, sign_v3};

/// Name/value pairs: query parameters or headers.
pub type Pairs = Vec<(String, String)>;

/// One request before it is sent.
#[derive(Debug, Clone)]
pub struct RawCall {
    /// `host:port`.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Action name.
    pub action: String,
    /// Version to sign.
    pub version: String,
    /// API parameters.
    pub params: Vec<(String, String)>,
    /// AccessKey ID.
    pub access_key_id: String,
    /// Secret used to sign.
    pub secret: String,
    /// Signature nonce.
    pub nonce: String,
    /// Signed time.
    pub timestamp: DateTime<Utc>,
    /// Raw body bytes (not signed into V1; hashed for V3).
    pub body: Vec<u8>,
    /// Content type to send with the body.
    pub content_type: Option<String>,
}

/// The answer: status and JSON body (or `Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// `Content-Type`.
    pub content_type: String,
    /// Raw body text.
    pub text: String,
}

impl Answer {
    /// The ECS `Code` of an error body.
    pub fn code(&self) -> &str {
        self.body.get("Code").and_then(Value::as_str).unwrap_or("")
    }
}

impl RawCall {
    /// A valid call signed as `testak`.
    pub fn new(endpoint: &str, action: &str, params: &[(&str, &str)]) -> Self {
        RawCall {
            endpoint: endpoint.to_string(),
            method: "POST".into(),
            action: action.into(),
            version: API_VERSION.into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            access_key_id: "testak".into(),
            secret: "testsecret".into(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            timestamp: Utc::now(),
            body: Vec::new(),
            content_type: None,
        }
    }

    fn input<'a>(&'a self, query: &'a [(String, String)]) -> SignInput<'a> {
        SignInput {
            method: &self.method,
            host: &self.endpoint,
            query,
            body: &self.body,
            action: &self.action,
            version: &self.version,
            access_key_id: &self.access_key_id,
            access_key_secret: &self.secret,
            nonce: &self.nonce,
            timestamp: self.timestamp,
        }
    }

    /// Signs with V3 and returns (query pairs, headers); `tamper` may change them afterwards.
    pub fn sign_v3(&self) -> (Pairs, Pairs) {
        let headers = sign_v3(&self.input(&self.params));
        (
            self.params.clone(),
            headers.into_iter().filter(|(k, _)| k != "host").collect(),
        )
    }

    /// Signs with V1 and returns the full query pairs.
    pub fn sign_v1(&self) -> Vec<(String, String)> {
        sign_v1(&self.input(&self.params)).expect("V1 signing")
    }

    /// Sends the given query and headers with this call's method and body.
    pub async fn send(&self, query: &[(String, String)], headers: &[(String, String)]) -> Answer {
        let qs = stencil_ecs::signature::encode_query(query);
        self.send_raw_query(&qs, headers).await
    }

    /// Sends a query string exactly as given.
    pub async fn send_raw_query(&self, query: &str, headers: &[(String, String)]) -> Answer {
        let url = format!("http://{}/?{query}", self.endpoint);
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("method");
        let mut req = reqwest::Client::new()
            .request(method, url)
            .body(self.body.clone());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(ct) = &self.content_type {
            req = req.header("content-type", ct.as_str());
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            content_type,
            text,
        }
    }

    /// Signs with V3 and sends.
    pub async fn send_v3(&self) -> Answer {
        let (q, h) = self.sign_v3();
        self.send(&q, &h).await
    }

    /// Signs with V1 and sends.
    pub async fn send_v1(&self) -> Answer {
        let q = self.sign_v1();
        self.send(&q, &[]).await
    }
}
