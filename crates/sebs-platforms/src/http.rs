//! Invoking functions through their triggers and turning responses into `ExecutionResult`s.
//!
//! The client opens one connection per invocation (as SeBS's libcurl client does), so
//! `http_startup` is the connection set-up time and `http_first_byte_return` the time to the
//! response headers, both in seconds from the start of the request.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use sebs_core::result::{ExecutionResult, InvocationError, timestamp};
use serde_json::Value;

use crate::platform::{Trigger, TriggerKind};

/// A raw HTTP exchange with timings.
#[derive(Debug)]
pub struct Exchange {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
    /// Connection set-up.
    pub connect: Duration,
    /// Request start to response headers.
    pub first_byte: Duration,
    /// Request start to complete body.
    pub total: Duration,
}

/// POST `body` to an `http://` URL with `headers`.
pub async fn post(url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Exchange> {
    let target = Target::parse(url, "http")?;
    let start = Instant::now();
    let stream = target.connect().await?;
    let connect = start.elapsed();
    exchange(stream, &target, start, connect, headers, body).await
}

/// Where a request goes: a parsed URL's host, port and path.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// Path and query.
    pub path: String,
}

impl Target {
    /// Parse `url`, which must use `scheme` (`http` or `https`).
    pub fn parse(url: &str, scheme: &str) -> Result<Target> {
        let uri: hyper::Uri = url
            .parse()
            .with_context(|| format!("invalid trigger URL `{url}`"))?;
        let host = uri
            .host()
            .ok_or_else(|| anyhow!("trigger URL `{url}` has no host"))?;
        if uri.scheme_str() != Some(scheme) {
            return Err(anyhow!(
                "trigger URL `{url}`: expected a {scheme}:// URL here"
            ));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: uri.port_u16().unwrap_or(default_port),
            path: uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .to_owned(),
        })
    }

    /// Open a TCP connection (Nagle off: requests are written whole).
    pub async fn connect(&self) -> Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("cannot connect to {}:{}", self.host, self.port))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// One HTTP/1.1 POST over an open `stream` (plain TCP or TLS) to `target`; `connect` is how long
/// opening the stream took since `start`.
pub async fn exchange<S>(
    stream: S,
    target: &Target,
    start: Instant,
    connect: Duration,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Exchange>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let exchanged = send(&mut sender, target, start, connect, headers, body).await;
    driver.abort();
    exchanged
}

/// The POST of `body` to `target` with `headers`.
fn post_request(
    target: &Target,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>> {
    let default_port = matches!(target.port, 80 | 443);
    let host = if default_port {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut request = Request::post(target.path.as_str())
        .header("host", host)
        .header("content-type", "application/json")
        .header("user-agent", concat!("sebs/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    Ok(request.body(Full::new(body))?)
}

/// Send one POST over a handshaken connection and read the whole response.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    start: Instant,
    connect: Duration,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Exchange> {
    let response = sender
        .send_request(post_request(target, headers, body)?)
        .await?;
    let first_byte = start.elapsed();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Exchange {
        status,
        headers,
        body,
        connect,
        first_byte,
        total: start.elapsed(),
    })
}

/// Open connections to one target, kept between requests (a load generator's client): each
/// request takes an idle one or opens a new one, and gives it back when its response is read.
#[derive(Debug)]
pub struct ConnectionPool {
    target: Target,
    idle: std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl ConnectionPool {
    /// A pool for `url` (`http://`).
    pub fn new(url: &str) -> Result<ConnectionPool> {
        Ok(ConnectionPool {
            target: Target::parse(url, "http")?,
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// POST `body` with `headers` over a pooled connection; `connect` is the time to get one
    /// (zero-ish when an idle one was ready).
    pub async fn post(&self, headers: &[(&str, &str)], body: Bytes) -> Result<Exchange> {
        let start = Instant::now();
        let idle = {
            let mut idle = self.idle.lock().expect("lock");
            std::iter::from_fn(|| idle.pop()).find(|s| !s.is_closed())
        };
        let mut sender = match idle {
            Some(sender) => sender,
            None => {
                let stream = self.target.connect().await?;
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                // Ends when the sender is dropped (the pool is) or the server closes.
                tokio::spawn(connection);
                sender
            }
        };
        sender.ready().await?;
        let connect = start.elapsed();
        let exchanged = send(&mut sender, &self.target, start, connect, headers, body).await;
        if exchanged.is_ok() && !sender.is_closed() {
            self.idle.lock().expect("lock").push(sender);
        }
        exchanged
    }
}

/// Seconds since the epoch from a SeBS `begin`/`end` value (string or number).
fn epoch_seconds(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn lambda_error(body: &Value, fallback: &str) -> InvocationError {
    InvocationError {
        kind: body["errorType"].as_str().unwrap_or(fallback).to_owned(),
        message: body["errorMessage"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap_or("the function failed without an error message")
            .to_owned(),
        traceback: body["stackTrace"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l.as_str())
                    .flat_map(|l| l.trim_end().lines().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Which trigger produced a response (they wrap results differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// HTTP trigger: the SeBS JSON is the response body.
    Http,
    /// Invoke API: the handler's return value, `{"statusCode", "body": "<SeBS JSON>"}`.
    Library,
}

/// A trigger that POSTs the input to a URL: a function URL or API gateway (`Via::Http`), or an
/// AWS Lambda Invoke endpoint (`Via::Library`).
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    url: String,
    via: Via,
    /// Connections kept between invocations; `None`: one connection per invocation.
    pool: Option<std::sync::Arc<ConnectionPool>>,
}

impl HttpTrigger {
    /// An HTTP trigger: the function's SeBS response is the response body.
    pub fn http(url: String) -> HttpTrigger {
        HttpTrigger {
            url,
            via: Via::Http,
            pool: None,
        }
    }

    /// The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`).
    pub fn lambda_invoke(url: String) -> HttpTrigger {
        HttpTrigger {
            url,
            via: Via::Library,
            pool: None,
        }
    }
}

#[async_trait]
impl Trigger for HttpTrigger {
    fn kind(&self) -> TriggerKind {
        match self.via {
            Via::Http => TriggerKind::Http,
            Via::Library => TriggerKind::Library,
        }
    }

    fn url(&self) -> Option<String> {
        Some(self.url.clone())
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        match &self.pool {
            Some(pool) => invoke_with(self.via, input, |h, b| pool.post(h, b)).await,
            None => invoke(&self.url, self.via, input).await,
        }
    }

    fn reusing_connections(&self) -> Option<std::sync::Arc<dyn Trigger>> {
        let pool = ConnectionPool::new(&self.url).ok()?;
        Some(std::sync::Arc::new(HttpTrigger {
            pool: Some(std::sync::Arc::new(pool)),
            ..self.clone()
        }))
    }
}

/// Invoke once and build the `ExecutionResult`; every failure becomes data.
pub async fn invoke(url: &str, via: Via, payload: &Value) -> ExecutionResult {
    invoke_with(via, payload, |headers, body| post(url, headers, body)).await
}

/// [`invoke`] over a caller's transport: `send(headers, body)` performs the exchange (an
/// HTTPS client, for instance).
pub async fn invoke_with<'a, F, Fut>(via: Via, payload: &Value, send: F) -> ExecutionResult
where
    F: FnOnce(&'static [(&'static str, &'static str)], Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Exchange>> + 'a,
{
    let begin_wall = chrono::Local::now();
    let body = Bytes::from(serde_json::to_vec(payload).expect("payload serializes"));
    let headers: &'static [(&'static str, &'static str)] = match via {
        Via::Http => &[],
        Via::Library => &[("x-amz-invocation-type", "RequestResponse")],
    };
    let exchange = send(headers, body).await;
    let end_wall = chrono::Local::now();
    result_of(via, begin_wall, end_wall, exchange)
}

/// The `ExecutionResult` of an exchange that ran from `begin_wall` to `end_wall` (or failed):
/// a SeBS response unwrapped, or the failure recorded with its cause.
pub fn result_of(
    via: Via,
    begin_wall: chrono::DateTime<chrono::Local>,
    end_wall: chrono::DateTime<chrono::Local>,
    exchange: Result<Exchange>,
) -> ExecutionResult {
    let mut result = ExecutionResult::default();
    result.times.client_begin = timestamp(begin_wall);
    result.times.client_end = timestamp(end_wall);
    let exchange = match exchange {
        Ok(e) => e,
        Err(e) => {
            result.times.client = (end_wall - begin_wall)
                .num_microseconds()
                .unwrap_or(0)
                .max(0) as u64;
            return fail(result, "Transport", format!("{e:#}"), vec![]);
        }
    };
    result.times.client = exchange.total.as_micros() as u64;
    if via == Via::Http {
        result.times.http_startup = exchange.connect.as_secs_f64();
        result.times.http_first_byte_return = exchange.first_byte.as_secs_f64();
    }
    if let Some(id) = exchange
        .headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
    {
        result.request_id = id.to_owned();
    }
    // The platform's own view of the instance, for invocations whose output says nothing.
    let platform_cold = exchange
        .headers
        .get("x-sebs-cold-start")
        .is_some_and(|v| v.as_bytes() == b"true");
    result.stats.cold_start = platform_cold;
    let parsed: Option<Value> = serde_json::from_slice(&exchange.body).ok();
    let function_error = exchange.headers.contains_key("x-amz-function-error");
    let Some(mut body) = parsed else {
        let text = String::from_utf8_lossy(&exchange.body)
            .chars()
            .take(500)
            .collect::<String>();
        return fail(
            result,
            "InvalidResponse",
            format!("HTTP {}: the response is not JSON: {text}", exchange.status),
            vec![],
        );
    };
    if function_error || exchange.status >= 400 {
        let error = lambda_error(&body, &format!("HTTP{}", exchange.status));
        result.output = body;
        result.stats.failure = true;
        result.error = Some(error);
        return result;
    }
    // Unwrap a proxy-style `{"statusCode", "body"}` result (library trigger, or a platform
    // that does not unwrap it).
    if let Some(inner) = body.get("body") {
        let inner = match inner {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            other => other.clone(),
        };
        body = inner;
    }
    let (Some(begin), Some(end)) = (epoch_seconds(&body["begin"]), epoch_seconds(&body["end"]))
    else {
        result.output = body;
        return fail(
            result,
            "InvalidResponse",
            "the function's response is not a SeBS response: it lacks `begin`/`end` (is the handler wrapped by the SeBS shim?)".into(),
            vec![],
        );
    };
    result.times.benchmark = ((end - begin) * 1e6).round().max(0.0) as u64;
    result.stats.cold_start = body["is_cold"].as_bool().unwrap_or(platform_cold);
    if let Some(id) = body["request_id"].as_str() {
        result.request_id = id.to_owned();
    }
    result.output = body;
    result
}

fn fail(
    mut result: ExecutionResult,
    kind: &str,
    message: String,
    traceback: Vec<String>,
) -> ExecutionResult {
    result.stats.failure = true;
    result.error = Some(InvocationError {
        kind: kind.to_owned(),
        message,
        traceback,
    });
    result
}
