//! Where a function's code comes from: `Code.ZipFile` (the zip's bytes, base64 in the JSON), or
//! `Code.S3Bucket`/`Code.S3Key`, read with a SigV4-signed `GET` from the platform's
//! [`CodeStore`] (the S3 endpoint of `sebs storage start`, MinIO, or any S3-compatible
//! service). Either way the zip is kept, hashed (`CodeSha256`) and unpacked.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::archive::{self, MAX_UNZIPPED};
use super::requests::CodeInput;
use super::{ApiError, CodePackage};

/// The S3-compatible endpoint that `Code.S3Bucket`/`Code.S3Key` are read from.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeStore {
    /// `http://host:port` (plain HTTP; path-style requests `endpoint/bucket/key`).
    pub endpoint: String,
    /// SigV4 access key id.
    pub access_key: String,
    /// SigV4 secret key.
    pub secret_key: String,
    /// Signing region.
    pub region: String,
}

impl std::fmt::Debug for CodeStore {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeStore")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Lambda's limit on a zip uploaded in the request (`Code.ZipFile`).
pub(crate) const MAX_ZIP_FILE: usize = 50 * 1024 * 1024;

/// The zip a `Code` argument names: decoded from `ZipFile`, or read from the code store.
pub(crate) async fn fetch(code: &CodeInput, store: Option<CodeStore>) -> Result<Vec<u8>, ApiError> {
    if code.image_uri.is_some() {
        return Err(ApiError::invalid(
            "Code.ImageUri: container images are not supported by the local platform; upload a zip (Code.ZipFile or Code.S3Bucket/S3Key)",
        ));
    }
    match (&code.zip_file, &code.s3_bucket, &code.s3_key) {
        (Some(zip), None, None) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(zip.trim())
                .map_err(|e| ApiError::invalid(format!("Code.ZipFile is not valid base64: {e}")))?;
            if data.len() > MAX_ZIP_FILE {
                return Err(ApiError::too_large(format!(
                    "Code.ZipFile must be smaller than {MAX_ZIP_FILE} bytes (got {}): upload larger packages to S3",
                    data.len()
                )));
            }
            Ok(data)
        }
        (None, Some(bucket), Some(key)) => {
            if code.s3_object_version.is_some() {
                return Err(ApiError::invalid(
                    "Code.S3ObjectVersion is not supported by the local platform: the object store keeps no versions",
                ));
            }
            let store = store.ok_or_else(|| ApiError::invalid(
                "Code.S3Bucket/S3Key: this local platform has no object store to read code from; start it with storage (`sebs local start --storage-configuration storage.json`, or `LocalPlatform::set_code_store`), or send Code.ZipFile",
            ))?;
            get_object(&store, bucket, key).await
        }
        _ => Err(ApiError::invalid(
            "Code must hold either ZipFile, or both S3Bucket and S3Key",
        )),
    }
}

/// Keep `zip` in `dir` (as `code.zip`), unpack it into `dir/code`; blocking.
pub(crate) fn store_package(zip: &[u8], dir: &Path) -> Result<CodePackage, ApiError> {
    let code_dir = dir.join("code");
    std::fs::create_dir_all(&code_dir)
        .map_err(|e| ApiError::service(format!("cannot create {}: {e}", code_dir.display())))?;
    if let Err(message) = archive::unpack(zip, &code_dir) {
        let _ = std::fs::remove_dir_all(dir);
        return Err(ApiError::invalid(format!(
            "Could not unzip uploaded file. {message}"
        )));
    }
    let zip_path = dir.join("code.zip");
    std::fs::write(&zip_path, zip)
        .map_err(|e| ApiError::service(format!("cannot write {}: {e}", zip_path.display())))?;
    Ok(CodePackage {
        dir: code_dir,
        zip: zip_path,
        size: zip.len() as u64,
        sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip)),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// S3's URI encoding of a path: everything but unreserved characters and `/`.
fn uri_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `Authorization` header of a SigV4-signed `GET path` with no query string.
fn authorization(store: &CodeStore, host: &str, path: &str, amz_date: &str) -> String {
    let payload = hex(&Sha256::digest(b""));
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "GET\n{path}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\n{signed}\n{payload}"
    );
    let day = &amz_date[..8];
    let scope = format!("{day}/{}/s3/aws4_request", store.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = [day, &store.region, "s3", "aws4_request"].iter().fold(
        format!("AWS4{}", store.secret_key).into_bytes(),
        |k, part| hmac(&k, part),
    );
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={}",
        store.access_key,
        hex(&hmac(&key, &to_sign))
    )
}

/// `GET endpoint/bucket/key`, signed; the object's bytes or Lambda's error for a failed read.
async fn get_object(store: &CodeStore, bucket: &str, key: &str) -> Result<Vec<u8>, ApiError> {
    let failed = |code: &str, message: &str| {
        ApiError::invalid(format!(
            "Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
        ))
    };
    let host = store
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| {
            ApiError::service(format!(
                "the code store `{}` is not an http:// endpoint",
                store.endpoint
            ))
        })?
        .trim_end_matches('/')
        .to_owned();
    let path = uri_encode_path(&format!("/{bucket}/{key}"));
    let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let request = hyper::Request::get(&path)
        .header("host", &host)
        .header("x-amz-date", &amz_date)
        .header("x-amz-content-sha256", hex(&Sha256::digest(b"")))
        .header(
            "authorization",
            authorization(store, &host, &path, &amz_date),
        )
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| ApiError::service(format!("cannot build the S3 request: {e}")))?;
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(&host).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        let response = sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)?;
        let status = response.status();
        let body = crate::gateway::read_limited(
            axum::body::Body::new(response.into_body()),
            MAX_UNZIPPED as usize,
        )
        .await
        .map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .map_err(|_| failed("RequestTimeout", "no answer from the code store in 60 s"))?
        .map_err(|e| {
            failed(
                "ServiceUnavailable",
                &format!("cannot reach {}: {e}", store.endpoint),
            )
        })?;
    let body = body.map_err(|size| {
        failed(
            "EntityTooLarge",
            &format!("the object is {size} bytes, over Lambda's {MAX_UNZIPPED}"),
        )
    })?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let text = String::from_utf8_lossy(&body);
    let element = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_owned())
    };
    Err(failed(
        &element("Code").unwrap_or_else(|| status.as_u16().to_string()),
        &element("Message").unwrap_or_else(|| format!("HTTP {status}")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_signature_matches_botocores() {
        // botocore's S3SigV4Auth signed the same request (GET http://127.0.0.1:9000/b/k.zip
        // with x-amz-content-sha256 of the empty body, at 20261201T215023Z) to this header.
        let store = CodeStore {
            endpoint: "http://127.0.0.1:9000".into(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(
            authorization(&store, "127.0.0.1:9000", "/b/k.zip", "20261201T215023Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=229ebb565268e91b9d0b8121321cf7372865b033426be875f2bf8d86924497e5"
        );
    }

    #[test]
    fn paths_are_uri_encoded_as_s3_expects() {
        assert_eq!(uri_encode_path("/b/a b/c+d.zip"), "/b/a%20b/c%2Bd.zip");
        assert_eq!(uri_encode_path("/b/x_y-z~.zip"), "/b/x_y-z~.zip");
    }

    #[tokio::test]
    async fn code_must_name_one_source() {
        let none = CodeInput::default();
        assert!(fetch(&none, None).await.is_err());
        let s3 = CodeInput {
            s3_bucket: Some("b".into()),
            s3_key: Some("k".into()),
            ..CodeInput::default()
        };
        let e = format!("{:?}", fetch(&s3, None).await.unwrap_err());
        assert!(e.contains("no object store"), "{e}");
        let zip = CodeInput {
            zip_file: Some("!!".into()),
            ..CodeInput::default()
        };
        assert!(format!("{:?}", fetch(&zip, None).await.unwrap_err()).contains("base64"));
    }
}
