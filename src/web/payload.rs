//! A delivery's body → its payload: JSON (`application/json`), or form-encoded
//! (`application/x-www-form-urlencoded`, GitHub's default content type) with the JSON in its
//! `payload` field. The payload must be a JSON object.

use axum::http::{HeaderMap, header};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub(super) enum PayloadError {
    #[error("the body is not JSON: {0}; set the webhook's content type to `application/json`")]
    NotJson(#[source] serde_json::Error),
    #[error("the form-encoded body has no `payload` field; set the webhook's content type to `application/json`")]
    NoPayloadField,
    #[error("the form-encoded body is malformed")]
    BadForm(#[source] serde_urlencoded::de::Error),
    #[error("the `payload` field is not JSON: {0}")]
    FieldNotJson(#[source] serde_json::Error),
    #[error("the payload is {0}, not a JSON object")]
    NotAnObject(&'static str),
}

/// Parses the body by its `Content-Type`: form-encoded when it says so, JSON otherwise.
pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Value, PayloadError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let value: Value = if form {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(PayloadError::BadForm)?;
        let (_, json) = fields.into_iter().find(|(k, _)| k == "payload").ok_or(PayloadError::NoPayloadField)?;
        serde_json::from_str(&json).map_err(PayloadError::FieldNotJson)?
    } else {
        serde_json::from_slice(body).map_err(PayloadError::NotJson)?
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Array(_) => Err(PayloadError::NotAnObject("an array")),
        Value::String(_) => Err(PayloadError::NotAnObject("a string")),
        Value::Number(_) => Err(PayloadError::NotAnObject("a number")),
        Value::Bool(_) => Err(PayloadError::NotAnObject("a boolean")),
        Value::Null => Err(PayloadError::NotAnObject("null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn typed(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[test]
    fn json_and_form() {
        let v = parse(&typed("application/json"), br#"{"a": 1}"#).unwrap();
        assert_eq!(v["a"], 1);
        let form = format!("payload={}", "%7B%22a%22%3A+%22x+y%22%7D");
        let v = parse(&typed("application/x-www-form-urlencoded; charset=utf-8"), form.as_bytes()).unwrap();
        assert_eq!(v["a"], "x y");
        // No content type: JSON.
        assert!(parse(&HeaderMap::new(), b"{}").is_ok());
    }

    #[test]
    fn bad_bodies() {
        let json = typed("application/json");
        assert!(matches!(parse(&json, b"not json"), Err(PayloadError::NotJson(_))));
        assert!(matches!(parse(&json, b"[1]"), Err(PayloadError::NotAnObject("an array"))));
        assert!(matches!(parse(&json, b"null"), Err(PayloadError::NotAnObject("null"))));
        let form = typed("application/x-www-form-urlencoded");
        assert!(matches!(parse(&form, b"other=1"), Err(PayloadError::NoPayloadField)));
        assert!(matches!(parse(&form, b"payload=nope"), Err(PayloadError::FieldNotJson(_))));
        assert!(matches!(parse(&form, b"payload=%5B%5D"), Err(PayloadError::NotAnObject("an array"))));
    }
}
