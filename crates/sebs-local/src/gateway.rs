//! The gateway's HTTP routes: Lambda Invoke API, HTTP triggers and the Runtime API.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use crate::lambda;
use crate::state::Shared;
use crate::{Invocation, MAX_PAYLOAD, Outcome, PlatformError, dispatch};

type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke_api))
        .route("/function/{name}", any(http_trigger))
        .route("/function/{name}/", any(http_trigger))
        .route("/function/{name}/{*rest}", any(http_trigger_path))
        .route(
            "/instances/{id}/2018-06-01/runtime/invocation/next",
            get(runtime_next),
        )
        .route(
            "/instances/{id}/2018-06-01/runtime/invocation/{request}/response",
            // Read by hand: a response over the limit is measured and classified, not refused.
            post(runtime_response).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/instances/{id}/2018-06-01/runtime/invocation/{request}/error",
            post(runtime_error),
        )
        .route(
            "/instances/{id}/2018-06-01/runtime/init/error",
            post(runtime_init_error),
        )
        .merge(lambda::router())
        .fallback(unknown_route)
        // Bodies are checked against Lambda's 6 MB limit by hand so the error names the limit.
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD + 64 * 1024))
        .with_state(shared)
}

/// Paths no route serves: an AWS error for Lambda's API paths (`/2015-03-31/...`), a plain 404
/// elsewhere.
async fn unknown_route(method: Method, uri: Uri) -> Response {
    if uri.path().starts_with("/20") {
        lambda::ApiError::unknown_operation(format!(
            "{method} {} is not an operation the local platform serves (see docs/lambda-api.md for those it does)",
            uri.path()
        ))
        .into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

fn aws_error(status: StatusCode, kind: &'static str, message: String) -> Response {
    let mut response = json_response(status, json!({"Type": "User", "message": message}));
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
    response
}

fn too_large(what: &str, size: usize) -> String {
    format!("{what} size {size} bytes exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)")
}

/// `POST /2015-03-31/functions/{name}/invocations`: AWS Lambda's Invoke API.
async fn invoke_api(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The Invoke API takes a name or an ARN, as Lambda's does.
    let name = lambda::function_name(&name);
    if body.len() > MAX_PAYLOAD {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            too_large("Request", body.len()),
        );
    }
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match kind {
        "RequestResponse" => {}
        "Event" => {
            if !shared.functions.lock().expect("lock").contains_key(&name) {
                return not_found(&name);
            }
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = dispatch::invoke(&shared, &name, body).await {
                    tracing::warn!("asynchronous invocation failed: {e}");
                }
            });
            return StatusCode::ACCEPTED.into_response();
        }
        "DryRun" => {
            return if shared.functions.lock().expect("lock").contains_key(&name) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                not_found(&name)
            };
        }
        other => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!(
                    "X-Amz-Invocation-Type `{other}` is invalid: expected RequestResponse, Event or DryRun"
                ),
            );
        }
    }
    if !body.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "Could not parse request body into json: send a JSON document as the payload".into(),
        );
    }
    let payload = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    let invocation = match dispatch::invoke(&shared, &name, payload).await {
        Ok(inv) => inv,
        Err(e) => return platform_error(&name, e),
    };
    invoke_api_response(invocation, &headers)
}

/// The Invoke API's answer to a completed invocation: the function's response (or the error
/// JSON), Lambda's headers and, when `X-Amz-Log-Type: Tail` asked for it, the log's tail.
fn invoke_api_response(invocation: Invocation, headers: &HeaderMap) -> Response {
    let (body, function_error) = match invocation.outcome {
        Outcome::Response(body) => (body, None),
        Outcome::FunctionError(body) => (body, Some("Unhandled")),
        Outcome::Failed { kind, message } => {
            (Outcome::error_body(&kind, &message), Some("Unhandled"))
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    if let Some(kind) = function_error {
        h.insert("x-amz-function-error", HeaderValue::from_static(kind));
    }
    sebs_headers(
        h,
        &invocation.request_id,
        &invocation.instance_id,
        invocation.cold,
    );
    if headers
        .get("x-amz-log-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tail"))
    {
        let log = format!(
            "START RequestId: {id} Version: $LATEST\nEND RequestId: {id}\n{}\n",
            invocation.report.report_line(),
            id = invocation.request_id
        );
        if let Ok(v) = HeaderValue::from_str(&base64_encode(log.as_bytes())) {
            h.insert("x-amz-log-result", v);
        }
    }
    response
}

fn sebs_headers(h: &mut HeaderMap, request_id: &str, instance_id: &str, cold: bool) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Ok(v) = HeaderValue::from_str(instance_id) {
        h.insert("x-sebs-instance-id", v);
    }
    h.insert(
        "x-sebs-cold-start",
        HeaderValue::from_static(if cold { "true" } else { "false" }),
    );
}

fn not_found(name: &str) -> Response {
    aws_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        format!("Function not found: arn:aws:lambda:local:000000000000:function:{name}"),
    )
}

fn platform_error(name: &str, e: PlatformError) -> Response {
    match e {
        PlatformError::NotFound(_) => not_found(name),
        PlatformError::Throttled(_) | PlatformError::QueueTimeout(_) => {
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": format!("Rate Exceeded: {e}")}),
            );
            response.headers_mut().insert(
                "x-amzn-ErrorType",
                HeaderValue::from_static("TooManyRequestsException"),
            );
            response
        }
        PlatformError::Spawn { .. } => aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            e.to_string(),
        ),
    }
}

async fn http_trigger(
    state: State<AppState>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    trigger(state, name, method, uri, headers, body).await
}

async fn http_trigger_path(
    state: State<AppState>,
    Path((name, _rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    trigger(state, name, method, uri, headers, body).await
}

/// An HTTP trigger with Lambda Function URL semantics: the request becomes a payload-format 2.0
/// event; a `{statusCode, headers, body}` result becomes the HTTP response, any other result is
/// returned as JSON. Unlike a Function URL, a failed invocation answers 502 with the error JSON
/// (not just "Internal Server Error") so the cause reaches the client.
async fn trigger(
    State(shared): State<AppState>,
    name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_PAYLOAD {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": too_large("Request", body.len())}),
        );
    }
    let event = function_url_event(&method, &uri, &headers, &body);
    let payload = Bytes::from(serde_json::to_vec(&event).expect("event serializes"));
    let invocation = match dispatch::invoke(&shared, &name, payload).await {
        Ok(inv) => inv,
        Err(PlatformError::NotFound(_)) => {
            return json_response(
                StatusCode::NOT_FOUND,
                json!({"message": format!("function `{name}` is not deployed on this platform")}),
            );
        }
        Err(e @ (PlatformError::Throttled(_) | PlatformError::QueueTimeout(_))) => {
            return json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"message": e.to_string()}),
            );
        }
        Err(e) => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"message": e.to_string()}),
            );
        }
    };
    let mut response = match &invocation.outcome {
        Outcome::Response(body) => proxy_response(body),
        Outcome::FunctionError(body) => failed_trigger_response(body.clone()),
        Outcome::Failed { kind, message } => {
            failed_trigger_response(Outcome::error_body(kind, message))
        }
    };
    sebs_headers(
        response.headers_mut(),
        &invocation.request_id,
        &invocation.instance_id,
        invocation.cold,
    );
    response
}

/// A trigger's answer to a failed invocation: 502 with the error JSON, marked as a function
/// error as Lambda marks it.
fn failed_trigger_response(error: Bytes) -> Response {
    let mut r = (StatusCode::BAD_GATEWAY, error).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r.headers_mut().insert(
        "x-amz-function-error",
        HeaderValue::from_static("Unhandled"),
    );
    r
}

fn function_url_event(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let header_map: serde_json::Map<String, Value> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_owned(),
                Value::String(v.to_str().ok()?.to_owned()),
            ))
        })
        .collect();
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64_encode(body), true),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or(""),
        "headers": header_map,
        "requestContext": {
            "http": {"method": method.as_str(), "path": uri.path(), "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "timeEpoch": now,
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

fn base64_encode(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Map a handler result to an HTTP response as Function URLs do.
fn proxy_response(body: &Bytes) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(Value::Object(map)) = &parsed
        && let Some(status) = map.get("statusCode").and_then(Value::as_u64)
    {
        let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::BAD_GATEWAY);
        let content = match map.get("body") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let mut response = (status, content).into_response();
        let mut typed = false;
        if let Some(Value::Object(headers)) = map.get("headers") {
            for (k, v) in headers {
                if let (Ok(name), Some(v)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    v.as_str().and_then(|s| HeaderValue::from_str(s).ok()),
                ) {
                    typed |= name == axum::http::header::CONTENT_TYPE;
                    response.headers_mut().insert(name, v);
                }
            }
        }
        if !typed {
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
        }
        return response;
    }
    let mut response = (StatusCode::OK, body.clone()).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn runtime_error_response(status: StatusCode, kind: &str, message: String) -> Response {
    json_response(status, json!({"errorType": kind, "errorMessage": message}))
}

fn unknown_instance(id: &str) -> Response {
    runtime_error_response(
        StatusCode::NOT_FOUND,
        "InvalidInstance",
        format!("no live instance `{id}` on this platform"),
    )
}

/// `GET .../runtime/invocation/next`: long-poll for the instance's next event.
async fn runtime_next(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(instance) = shared.instances.lock().expect("lock").get(&id).cloned() else {
        return unknown_instance(&id);
    };
    let crate::instance::Link::RuntimeApi(link) = &instance.link else {
        return runtime_error_response(
            StatusCode::BAD_REQUEST,
            "InvalidInstance",
            format!("instance `{id}` does not use the Runtime API"),
        );
    };
    instance.mark_ready();
    let pending = {
        let mut next = link.next.lock().await;
        next.recv().await
    };
    let Some(pending) = pending else {
        return runtime_error_response(
            StatusCode::GONE,
            "InstanceStopped",
            "the instance was retired".into(),
        );
    };
    {
        let mut inflight = link.inflight.lock().expect("lock");
        if let Some(previous) = inflight.take() {
            let _ = previous.reply.send(Outcome::Failed {
                kind: "Runtime.InvalidState".into(),
                message: format!(
                    "the runtime asked for the next event without answering request {}",
                    previous.request_id
                ),
            });
        }
        *inflight = Some(crate::instance::Inflight {
            request_id: pending.request_id.clone(),
            reply: pending.reply,
        });
    }
    let mut response = (StatusCode::OK, pending.payload).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&pending.request_id) {
        h.insert("lambda-runtime-aws-request-id", v);
    }
    h.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(pending.deadline_ms),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "arn:aws:lambda:local:000000000000:function:{}",
        instance.function
    )) {
        h.insert("lambda-runtime-invoked-function-arn", v);
    }
    response
}

async fn complete(
    shared: AppState,
    id: String,
    request: String,
    outcome: impl FnOnce() -> Outcome,
) -> Response {
    let Some(instance) = shared.instances.lock().expect("lock").get(&id).cloned() else {
        return unknown_instance(&id);
    };
    match instance.take_inflight(&request) {
        Some(reply) => {
            let _ = reply.send(outcome());
            json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
        }
        None => runtime_error_response(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("request `{request}` is not in flight on instance `{id}`"),
        ),
    }
}

/// `POST .../invocation/{id}/response`. A response over [`MAX_PAYLOAD`] fails the invocation
/// with `Function.ResponseSizeTooLarge` (the runtime is told 413) and keeps the instance.
async fn runtime_response(
    State(shared): State<AppState>,
    Path((id, request)): Path<(String, String)>,
    body: axum::body::Body,
) -> Response {
    let body = match read_limited(body, MAX_PAYLOAD).await {
        Ok(Ok(body)) => body,
        Ok(Err(size)) => {
            let response = complete(shared, id, request, || Outcome::too_large(size)).await;
            return if response.status() == StatusCode::ACCEPTED {
                runtime_error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    too_large("Response payload", size),
                )
            } else {
                response
            };
        }
        Err(e) => {
            return runtime_error_response(
                StatusCode::BAD_REQUEST,
                "InvalidResponse",
                format!("cannot read the response body: {e}"),
            );
        }
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return complete(shared, id, request, || Outcome::Failed {
            kind: "Runtime.InvalidResponse".into(),
            message: "the function's response is not valid JSON".into(),
        })
        .await;
    }
    complete(shared, id, request, || Outcome::Response(body)).await
}

/// Read a body of at most `limit` bytes: `Ok(body)`, or `Err(size)` when it is larger (the rest
/// is read and counted, never kept).
pub(crate) async fn read_limited(
    body: axum::body::Body,
    limit: usize,
) -> Result<Result<Bytes, usize>, axum::Error> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept = bytes::BytesMut::new();
    let mut size = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            size += data.len();
            if size <= limit {
                kept.extend_from_slice(&data);
            } else if !kept.is_empty() {
                kept = bytes::BytesMut::new();
            }
        }
    }
    Ok(if size <= limit {
        Ok(kept.freeze())
    } else {
        Err(size)
    })
}

/// `POST .../invocation/{id}/error`.
async fn runtime_error(
    State(shared): State<AppState>,
    Path((id, request)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = if serde_json::from_slice::<Value>(&body).is_ok_and(|v| v.is_object()) {
        body
    } else {
        Outcome::error_body("Runtime.Unknown", &String::from_utf8_lossy(&body))
    };
    complete(shared, id, request, || Outcome::FunctionError(body)).await
}

/// `POST .../runtime/init/error`: the runtime could not load the handler.
async fn runtime_init_error(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(instance) = shared.instances.lock().expect("lock").get(&id).cloned() else {
        return unknown_instance(&id);
    };
    match &instance.link {
        crate::instance::Link::RuntimeApi(link) => {
            *link.init_error.lock().expect("lock") = Some(body);
            json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
        }
        crate::instance::Link::Channel(_) => runtime_error_response(
            StatusCode::BAD_REQUEST,
            "InvalidInstance",
            format!("instance `{id}` does not use the Runtime API"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}
