//! Response bodies (reference §1.8): JSON by default, XML for `Format=XML`.
//!
//! A success body is the action's JSON object plus `RequestId`, with no wrapper. In XML the
//! root is `<{Action}Response>` and a wrapped list becomes repeated elements:
//! `{"Images":{"Image":[a,b]}}` → `<Images><Image>…</Image><Image>…</Image></Images>`.
//! `null` fields are left out of XML. An error body is
//! `{RequestId, HostId, Code, Message, Recommend}` with the code's HTTP status, or
//! `<Error>…</Error>` in XML. The content types are exactly the ones the SDKs test for.

use crate::error::{EcsError, ErrorCode};
use serde_json::{Map, Value};

/// `Content-Type` of JSON responses.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";
/// `Content-Type` of XML responses (the Python SDK parses XML only for exactly this value).
pub const XML_CONTENT_TYPE: &str = "text/xml;charset=utf-8";

/// The body format a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResponseFormat {
    /// `application/json;charset=utf-8` (the default).
    #[default]
    Json,
    /// `text/xml;charset=utf-8`, for `Format=XML`.
    Xml,
}

impl ResponseFormat {
    /// From the `Format` parameter: `XML` in any case is XML, anything else JSON.
    pub fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("xml") => ResponseFormat::Xml,
            _ => ResponseFormat::Json,
        }
    }

    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseFormat::Json => JSON_CONTENT_TYPE,
            ResponseFormat::Xml => XML_CONTENT_TYPE,
        }
    }
}

/// A finished HTTP response for the server to copy out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Extra headers (currently `x-acs-request-id`).
    pub headers: Vec<(&'static str, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A new request ID: an uppercase UUID such as `473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// Renders a success: `body` must be a JSON object; `RequestId` is put first. A non-object
/// body is a bug in the caller and renders as `InternalError` rather than a panic.
pub fn render_success(
    action: &str,
    body: Value,
    request_id: &str,
    format: ResponseFormat,
) -> Rendered {
    let Value::Object(fields) = body else {
        return render_error(&EcsError::internal(), request_id, "", format);
    };
    let mut object = Map::with_capacity(fields.len() + 1);
    object.insert("RequestId".into(), Value::String(request_id.into()));
    object.extend(fields.into_iter().filter(|(k, _)| k != "RequestId"));
    let body = match format {
        ResponseFormat::Json => Value::Object(object).to_string(),
        ResponseFormat::Xml => to_xml(&format!("{action}Response"), &object),
    };
    rendered(200, format, request_id, body)
}

/// Like [`render_success`] for a typed body: JSON is serialised straight from `body` with no
/// intermediate `Value` (the hot path of large listings); XML goes through a `Value`.
pub fn render_success_typed<T: serde::Serialize>(
    action: &str,
    body: &T,
    request_id: &str,
    format: ResponseFormat,
) -> Rendered {
    match format {
        ResponseFormat::Xml => match serde_json::to_value(body) {
            Ok(v) => render_success(action, v, request_id, format),
            Err(_) => render_error(&EcsError::internal(), request_id, "", format),
        },
        ResponseFormat::Json => {
            let Ok(fields) = serde_json::to_string(body) else {
                return render_error(&EcsError::internal(), request_id, "", format);
            };
            let Some(rest) = fields.strip_prefix('{') else {
                return render_error(&EcsError::internal(), request_id, "", format);
            };
            let id = Value::String(request_id.into()).to_string();
            let sep = if rest == "}" { "" } else { "," };
            rendered(
                200,
                format,
                request_id,
                format!("{{\"RequestId\":{id}{sep}{rest}"),
            )
        }
    }
}

/// The JSON error body with the `Recommend` link the real gateway sends.
pub fn error_body(err: &EcsError, request_id: &str, host_id: &str) -> Map<String, Value> {
    let code = err.code().code();
    let mut body = Map::new();
    body.insert("RequestId".into(), request_id.into());
    body.insert("HostId".into(), host_id.into());
    body.insert("Code".into(), code.into());
    body.insert("Message".into(), err.message().into());
    body.insert(
        "Recommend".into(),
        format!("https://api.aliyun.com/troubleshoot?q={code}&product=Ecs&requestId={request_id}")
            .into(),
    );
    body
}

/// Renders an error with its HTTP status. `host_id` is the endpoint host the client used
/// (the real service sends e.g. `ecs.aliyuncs.com`).
pub fn render_error(
    err: &EcsError,
    request_id: &str,
    host_id: &str,
    format: ResponseFormat,
) -> Rendered {
    let body = error_body(err, request_id, host_id);
    let text = match format {
        ResponseFormat::Json => Value::Object(body).to_string(),
        ResponseFormat::Xml => to_xml("Error", &body),
    };
    let status = err.http_status();
    let status = if (400..=599).contains(&status) {
        status
    } else {
        ErrorCode::InternalError.http_status()
    };
    rendered(status, format, request_id, text)
}

fn rendered(status: u16, format: ResponseFormat, request_id: &str, body: String) -> Rendered {
    Rendered {
        status,
        content_type: format.content_type(),
        headers: vec![("x-acs-request-id", request_id.to_owned())],
        body: body.into_bytes(),
    }
}

/// An XML document with root `<{root}>` holding `fields` as child elements.
pub fn to_xml(root: &str, fields: &Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let root = element_name(root);
    out.push_str(&format!("<{root}>"));
    for (name, value) in fields {
        write_element(&mut out, &element_name(name), value);
    }
    out.push_str(&format!("</{root}>"));
    out
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|item| write_element(out, name, item)),
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (child, value) in fields {
                write_element(out, &element_name(child), value);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        Value::Bool(b) => out.push_str(&format!("<{name}>{b}</{name}>")),
        Value::Number(n) => out.push_str(&format!("<{name}>{n}</{name}>")),
    }
}

/// Escapes text for XML 1.0; characters XML cannot carry at all become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Field names come from our own code, but a bad one must not break the document: anything
/// outside `[A-Za-z0-9_.-]` becomes `_`, and a name that cannot start an element gets a `_`.
fn element_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(r: &Rendered) -> &str {
        std::str::from_utf8(&r.body).unwrap()
    }

    #[test]
    fn request_ids_are_uppercase_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_ascii_uppercase());
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn json_success_adds_request_id_and_keeps_wrapped_lists() {
        let body =
            json!({"TotalCount": 1, "Images": {"Image": [{"ImageId": "m-1"}]}, "RequestId": "old"});
        let r = render_success("DescribeImages", body, "R-1", ResponseFormat::Json);
        assert_eq!(
            (r.status, r.content_type),
            (200, "application/json;charset=utf-8")
        );
        let parsed: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            parsed,
            json!({"RequestId": "R-1", "TotalCount": 1, "Images": {"Image": [{"ImageId": "m-1"}]}})
        );
        assert!(text(&r).starts_with("{\"RequestId\":\"R-1\""));
        assert_eq!(r.headers, vec![("x-acs-request-id", "R-1".to_owned())]);
    }

    #[test]
    fn xml_success_uses_action_response_root_and_repeated_elements() {
        let body = json!({
            "Images": {"Image": [{"ImageId": "m-1", "Size": 40}, {"ImageId": "m-2", "Tags": {"Tag": []}}]},
            "Missing": null,
            "IsCopied": false,
        });
        let r = render_success("DescribeImages", body, "R", ResponseFormat::Xml);
        assert_eq!(r.content_type, "text/xml;charset=utf-8");
        let xml = text(&r);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeImagesResponse><RequestId>R</RequestId>"));
        assert!(xml.contains(
            "<Images><Image><ImageId>m-1</ImageId><Size>40</Size></Image><Image><ImageId>m-2</ImageId><Tags></Tags></Image></Images>"
        ), "{xml}");
        assert!(xml.contains("<IsCopied>false</IsCopied>"));
        assert!(!xml.contains("Missing"));
        assert!(xml.ends_with("</DescribeImagesResponse>"));
    }

    #[test]
    fn xml_escapes_text_and_replaces_unrepresentable_characters() {
        let body = json!({"Description": "a<b>&\"c'\u{1}"});
        let r = render_success("X", body, "R", ResponseFormat::Xml);
        assert!(
            text(&r).contains("<Description>a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}</Description>")
        );
        assert_eq!(element_name("1 bad<name>"), "_1_bad_name_");
    }

    #[test]
    fn errors_carry_status_code_message_and_recommend() {
        let err = EcsError::from(ErrorCode::InvalidImageIdNotFound);
        let r = render_error(&err, "E69EF3CC", "ecs.aliyuncs.com", ResponseFormat::Json);
        assert_eq!(r.status, 404);
        let parsed: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            parsed,
            json!({
                "RequestId": "E69EF3CC", "HostId": "ecs.aliyuncs.com", "Code": "InvalidImageId.NotFound",
                "Message": "The specified ImageId does not exist.",
                "Recommend": "https://api.aliyun.com/troubleshoot?q=InvalidImageId.NotFound&product=Ecs&requestId=E69EF3CC"
            })
        );
    }

    #[test]
    fn xml_errors_use_an_error_root() {
        let r = render_error(
            &EcsError::missing("RegionId"),
            "R",
            "h",
            ResponseFormat::Xml,
        );
        assert_eq!((r.status, r.content_type), (400, XML_CONTENT_TYPE));
        let xml = text(&r);
        assert!(xml.contains(
            "<Error><RequestId>R</RequestId><HostId>h</HostId><Code>MissingParameter</Code>"
        ));
        assert!(
            xml.contains("<Message>The input parameter &quot;RegionId&quot; that is mandatory")
        );
        assert!(xml.contains("q=MissingParameter&amp;product=Ecs"));
    }

    #[test]
    fn a_non_object_success_body_renders_as_internal_error() {
        let r = render_success("X", json!([1, 2]), "R", ResponseFormat::Json);
        assert_eq!(r.status, 500);
        assert!(text(&r).contains("InternalError"));
    }

    #[test]
    fn format_param_is_case_insensitive() {
        assert_eq!(ResponseFormat::from_param(Some("xml")), ResponseFormat::Xml);
        assert_eq!(ResponseFormat::from_param(Some("XML")), ResponseFormat::Xml);
        assert_eq!(
            ResponseFormat::from_param(Some("json")),
            ResponseFormat::Json
        );
        assert_eq!(ResponseFormat::from_param(None), ResponseFormat::Json);
    }
}
