//! SigV4 verification for the embedded queue: the request must be signed with the server's key
//! pair (header-signed requests, as boto3 and the AWS SDKs send them).

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::Credentials;

/// Why a request was refused (the SQS error code and a message saying what to fix).
#[derive(Debug)]
pub struct Refusal {
    /// `MissingAuthenticationToken`, `InvalidClientTokenId` or `SignatureDoesNotMatch`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key: &'a str,
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Refusal> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        refuse(
            "IncompleteSignature",
            "the Authorization header must use AWS4-HMAC-SHA256",
        )
    })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = || {
        refuse(
            "IncompleteSignature",
            "the Authorization header needs Credential, SignedHeaders and Signature",
        )
    };
    let credential = credential.ok_or_else(missing)?;
    let (access_key, scope) = credential.split_once('/').ok_or_else(missing)?;
    Ok(Authorization {
        access_key,
        scope,
        signed_headers: signed_headers.ok_or_else(missing)?,
        signature: signature.ok_or_else(missing)?,
    })
}

/// The canonical query string: pairs sorted, kept in the encoding the client sent.
fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Check that `parts` + `body` carry a valid signature by `credentials`.
pub fn verify(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    credentials: &Credentials,
) -> Result<(), Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let auth = header("authorization").ok_or_else(|| {
        refuse(
            "MissingAuthenticationToken",
            "the request is not signed: sign it with SigV4 using the queue's access and secret key",
        )
    })?;
    let auth = parse_authorization(auth)?;
    if auth.access_key != credentials.access_key {
        return Err(refuse(
            "InvalidClientTokenId",
            "the access key id is not the queue server's: use the `access_key` of the storage configuration",
        ));
    }
    let amz_date = header("x-amz-date")
        .ok_or_else(|| refuse("IncompleteSignature", "the x-amz-date header is missing"))?;
    let mut canonical_headers = String::new();
    for name in auth.signed_headers.split(';') {
        let value = if name == "host" {
            header("host").or_else(|| parts.uri.authority().map(|a| a.as_str()))
        } else {
            header(name)
        }
        .unwrap_or("");
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    // The body is always hashed: a declared hash must match it (no unsigned payloads).
    let payload = hex(&Sha256::digest(body));
    if header("x-amz-content-sha256").is_some_and(|declared| declared != payload) {
        return Err(refuse(
            "SignatureDoesNotMatch",
            "x-amz-content-sha256 is not the SHA-256 of the body (unsigned payloads are refused)",
        ));
    }
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{payload}",
        parts.method,
        parts.uri.path(),
        canonical_query(parts.uri.query()),
        auth.signed_headers
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = auth.scope.split('/').take(4).fold(
        format!("AWS4{}", credentials.secret_key).into_bytes(),
        |k, part| hmac(&k, part),
    );
    if hex(&hmac(&key, &to_sign)) != auth.signature {
        return Err(refuse(
            "SignatureDoesNotMatch",
            "the request signature does not match: check the secret key",
        ));
    }
    Ok(())
}

/// What a request to sign is.
pub struct ToSign<'a> {
    /// `GET`, `PUT`, `POST`, ...
    pub method: &'a str,
    /// `host:port`.
    pub host: &'a str,
    /// The path, already URI-encoded.
    pub path: &'a str,
    /// Headers to sign besides `host`, `x-amz-date` and `x-amz-content-sha256` (lower-case
    /// names, sorted).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
    /// The region of the credential scope.
    pub region: &'a str,
    /// `s3`, `sqs`, ...
    pub service: &'a str,
}

/// The headers that sign `request` with `credentials` (no query string): `authorization`,
/// `x-amz-date` and `x-amz-content-sha256`, to send with `host` and `request.headers`.
pub fn sign(request: &ToSign<'_>, credentials: &Credentials) -> Vec<(&'static str, String)> {
    let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let payload = hex(&Sha256::digest(request.body));
    let mut headers: Vec<(&str, &str)> = vec![
        ("host", request.host),
        ("x-amz-content-sha256", &payload),
        ("x-amz-date", &amz_date),
    ];
    headers.extend_from_slice(request.headers);
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = headers
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed}\n{payload}",
        request.method, request.path
    );
    let day = &amz_date[..8];
    let scope = format!("{day}/{}/{}/aws4_request", request.region, request.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = [day, request.region, request.service, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", credentials.secret_key).into_bytes(),
            |k, part| hmac(&k, part),
        );
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={}",
        credentials.access_key,
        hex(&hmac(&key, &to_sign))
    );
    vec![
        ("authorization", authorization),
        ("x-amz-content-sha256", payload.clone()),
        ("x-amz-date", amz_date),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, String)], extra: &[(&str, &str)]) -> hyper::http::request::Parts {
        let mut b = hyper::Request::post("/").header("host", "127.0.0.1:9");
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let keys = Credentials::generate();
        let body = br#"{"QueueName":"q"}"#;
        let extra = [("x-amz-target", "AmazonSQS.CreateQueue")];
        let request = ToSign {
            method: "POST",
            host: "127.0.0.1:9",
            path: "/",
            headers: &extra,
            body,
            region: "us-east-1",
            service: "sqs",
        };
        let headers = sign(&request, &keys);
        assert!(verify(&parts(&headers, &extra), body, &keys).is_ok());
        let e = verify(&parts(&headers, &extra), b"{}", &keys).unwrap_err();
        assert_eq!(e.code, "SignatureDoesNotMatch");
        let other = [("x-amz-target", "AmazonSQS.DeleteQueue")];
        assert!(verify(&parts(&headers, &other), body, &keys).is_err());
        let e = verify(&parts(&[], &extra), body, &keys).unwrap_err();
        assert_eq!(e.code, "MissingAuthenticationToken");
        let e = verify(&parts(&headers, &extra), body, &Credentials::generate()).unwrap_err();
        assert_eq!(e.code, "InvalidClientTokenId");
    }
}
