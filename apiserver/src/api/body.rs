//! Request bodies: JSON (or YAML, which kubectl's apply patches may carry), size-limited.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;

use crate::admission::MAX_OBJECT_BYTES;
use crate::error::ApiError;

/// The `Content-Type` of a request, without parameters, lower-cased.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Parses a body as JSON, or as YAML when the content type says so.
pub fn parse(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if body.len() > MAX_OBJECT_BYTES {
        return Err(ApiError::too_large(format!(
            "the request body is {} bytes, larger than the limit of {MAX_OBJECT_BYTES} bytes",
            body.len()
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    // Protobuf and CBOR are not served: a 415 makes client-go fall back to JSON.
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let yaml = content_type.contains("yaml");
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Ok(value),
        Err(_) if yaml => serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}"))),
        Err(e) => Err(ApiError::bad_request(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}
