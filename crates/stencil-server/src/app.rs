//! The HTTP surface: `GET` and `POST` on `/`, every response an ECS body.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use stencil_ecs::{EcsError, ErrorCode, RawRequest, Rendered, new_request_id, render_error};

use crate::dispatch;
use crate::state::AppState;

/// The router of the ECS API.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let request_id = new_request_id();
    let (parts, body) = request.into_parts();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut raw = RawRequest {
        method: parts.method.to_string(),
        raw_query,
        headers,
        body: Vec::new(),
    };
    if parts.uri.path() != "/" {
        let err = EcsError::new(
            ErrorCode::InvalidActionNotFound,
            format!(
                "Specified api is not found, please check your url and method: path {:?}.",
                parts.uri.path()
            ),
        )
        .with_status(404);
        return to_response(render_error(
            &err,
            &request_id,
            host_of(&raw, &state),
            raw.format_hint(),
        ));
    }
    match to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => raw.body = bytes.to_vec(),
        Err(_) => {
            let err = EcsError::invalid(
                "Body",
                format!(
                    "the request body is larger than {} bytes",
                    state.max_body_bytes
                ),
            )
            .with_status(413);
            return to_response(render_error(
                &err,
                &request_id,
                host_of(&raw, &state),
                raw.format_hint(),
            ));
        }
    }
    let rendered = dispatch::dispatch(&state, &raw, &request_id).await;
    to_response(rendered)
}

fn host_of<'a>(raw: &'a RawRequest, state: &'a AppState) -> &'a str {
    raw.header("host").unwrap_or(&state.host_id)
}

fn to_response(r: Rendered) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(r.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    response
}
