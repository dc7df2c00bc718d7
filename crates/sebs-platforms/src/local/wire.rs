//! The two signed requests a storage or queue trigger makes against the embedded servers: an
//! S3 `PutObject` and an SQS `SendMessage` (JSON protocol), over plain HTTP/1.1 on 127.0.0.1.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sebs_storage::Credentials;
use sebs_storage::queue::sigv4::{ToSign, sign};
use serde_json::Value;

/// Send one request and return the status and body.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: Vec<(&str, String)>,
    body: Vec<u8>,
) -> Result<(u16, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let mut builder = hyper::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body)))?)
        .await;
    let out = match response {
        Ok(r) => {
            let status = r.status().as_u16();
            Ok((status, r.into_body().collect().await?.to_bytes()))
        }
        Err(e) => Err(e.into()),
    };
    driver.abort();
    out
}

/// A signed request with `extra` headers (lower-case, sorted) signed too.
async fn signed(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Vec<u8>,
    service: &str,
    credentials: &Credentials,
) -> Result<(u16, Bytes)> {
    let host = addr.to_string();
    let mut headers: Vec<(&str, String)> = sign(
        &ToSign {
            method,
            host: &host,
            path,
            headers: extra,
            body: &body,
            region: "us-east-1",
            service,
        },
        credentials,
    );
    headers.push(("host", host.clone()));
    headers.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    request(addr, method, path, headers, body).await
}

/// `PUT path` (`/bucket/key`, key URI-safe) with `body`.
pub async fn put_object(
    addr: SocketAddr,
    path: &str,
    body: String,
    credentials: &Credentials,
) -> Result<()> {
    let extra = [("content-type", "application/json")];
    let (status, text) = signed(
        addr,
        "PUT",
        path,
        &extra,
        body.into_bytes(),
        "s3",
        credentials,
    )
    .await?;
    if status != 200 {
        bail!(
            "the upload to {path} failed: HTTP {status}: {}",
            String::from_utf8_lossy(&text)
        );
    }
    Ok(())
}

/// `SendMessage` with the JSON `input` (`QueueUrl`, `MessageBody`).
pub async fn send_message(addr: SocketAddr, input: Value, credentials: &Credentials) -> Result<()> {
    let extra = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AmazonSQS.SendMessage"),
    ];
    let body = input.to_string().into_bytes();
    let (status, text) = signed(addr, "POST", "/", &extra, body, "sqs", credentials).await?;
    if status != 200 {
        bail!(
            "SendMessage failed: HTTP {status}: {}",
            String::from_utf8_lossy(&text)
        );
    }
    Ok(())
}
