//! Reading requests: JSON bodies whose errors name the field at fault, query strings, and object
//! names from paths, each refused with a problem instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::problem::{ApiProblem, ProblemKind};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body. A body that is not JSON is a 400 (415 without a JSON media type); JSON
/// of the wrong shape is a 422 naming the field (`requested.cpu`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiProblem;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiProblem> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| {
                let media = media.trim().to_ascii_lowercase();
                media == "application/json" || media.ends_with("+json")
            });
        if !is_json {
            return Err(ApiProblem::new(
                ProblemKind::UnsupportedMediaType,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            ApiProblem::new(
                ProblemKind::PayloadTooLarge,
                format!(
                    "the body could not be read whole; at most {MAX_BODY_BYTES} bytes are accepted"
                ),
            )
        })?;
        parse_json(&bytes).map(Self)
    }
}

/// Parses a JSON body; see [`JsonBody`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiProblem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            ApiProblem::new(
                ProblemKind::BadRequest,
                format!("the body is not valid JSON: {inner}"),
            )
        } else if field == "." {
            ApiProblem::new(
                ProblemKind::InvalidInput,
                format!("the body does not have the expected shape: {inner}"),
            )
        } else {
            ApiProblem::invalid(field.clone(), format!("{field}: {inner}"))
        }
    })?;
    deserializer.end().map_err(|error| {
        ApiProblem::new(
            ProblemKind::BadRequest,
            format!("the body is not valid JSON: {error}"),
        )
    })?;
    Ok(value)
}

/// The `(name, value)` pairs of a query string.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The last value of query parameter `name`, parsed; a value that does not parse is a 422
/// naming the parameter.
pub fn query_value<T: std::str::FromStr>(
    pairs: &[(String, String)],
    name: &str,
    expected: &str,
) -> Result<Option<T>, ApiProblem> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| {
            value.parse().map_err(|_| {
                ApiProblem::invalid(
                    name,
                    format!("query parameter `{name}` must be {expected}, not {value:?}"),
                )
            })
        })
        .transpose()
}

/// Whether `name` can be the name of a Kubernetes object (a DNS subdomain: lowercase letters,
/// digits, `-` and `.`, at most 253 characters). Other names are answered like missing objects,
/// and never reach a Kubernetes request path.
pub fn is_object_name(name: &str) -> bool {
    govcloud_apiserver::admission::dns1123_subdomain_errors(name).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use govcloud_crds::api::NewQuotaRequest;

    #[test]
    fn shape_errors_name_the_field() {
        let problem = parse_json::<NewQuotaRequest>(
            br#"{"requested": {"cpu": {"a": 1}}, "justification": "x"}"#,
        )
        .expect_err("object for a quantity");
        assert_eq!(problem.kind(), ProblemKind::InvalidInput);
        assert_eq!(problem.field(), Some("requested.cpu"));
        let problem =
            parse_json::<NewQuotaRequest>(br#"{"requested": {}}"#).expect_err("no justification");
        assert_eq!(problem.kind(), ProblemKind::InvalidInput);
        assert_eq!(problem.field(), None, "{problem}");
        assert!(problem.detail().contains("justification"), "{problem}");
        let problem = parse_json::<NewQuotaRequest>(b"{not json").expect_err("syntax");
        assert_eq!(problem.kind(), ProblemKind::BadRequest);
        let problem =
            parse_json::<NewQuotaRequest>(br#"{"requested": {}, "justification": "0123456789"} x"#)
                .expect_err("trailing");
        assert_eq!(problem.kind(), ProblemKind::BadRequest);
    }

    #[test]
    fn query_values_parse_or_name_the_parameter() {
        let pairs = query_pairs(Some("from=3&to=x&tenant=city%2Dfinance"));
        assert_eq!(query_value::<i64>(&pairs, "from", "a number"), Ok(Some(3)));
        assert_eq!(
            query_value::<i64>(&pairs, "to", "a number")
                .expect_err("x")
                .field(),
            Some("to")
        );
        assert_eq!(
            query_value::<String>(&pairs, "tenant", "a name"),
            Ok(Some("city-finance".to_owned()))
        );
        assert_eq!(query_value::<i64>(&pairs, "absent", "a number"), Ok(None));
    }

    #[test]
    fn object_names_are_dns_subdomains() {
        for good in ["ankang", "city-finance-20250301-x7k2p", "a.b", "0"] {
            assert!(is_object_name(good), "{good}");
        }
        for bad in ["", "A", "a/b", "..", "-a", "a-", "a b", &"a".repeat(254)] {
            assert!(!is_object_name(bad), "{bad}");
        }
    }
}
