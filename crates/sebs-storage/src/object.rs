//! The embedded S3 server: s3s-fs behind SigV4 authentication, with fixes on top.
//!
//! - Keys are mapped to file paths one to one ([`crate::keys`]): `a//b`, `a/b` and `dir/` are
//!   distinct objects (s3s-fs alone stores `a//b` as `a/b` and `dir/` as a directory).
//! - Listings are computed over the decoded keys, with `EncodingType=url` honoured (boto3 asks
//!   for it and decodes what it gets: without it, `pct%41` listed as `pctA`).
//! - An empty `delimiter=` (the `minio` Python client sends one for recursive listings) is treated
//!   as no delimiter.
//! - Bucket names, keys, listing prefixes and copy sources with a `.` or `..` path component (or
//!   a leading `/` or a backslash) are refused, so no request can reach a file outside the data
//!   directory or another bucket's directory.
//! - A request without any signature is answered 403 before s3s sees it, with one WARN line
//!   (s3s would log it twice at ERROR).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::dto::{self, CopySource};
use s3s::path::S3Path;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::Notifier;
use crate::queue::Queues;
use crate::{Credentials, keys};
use std::sync::Arc;

/// Whether `name` (a bucket, key or prefix) could address a path outside its bucket directory.
pub fn is_unsafe_name(name: &str) -> bool {
    name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == ".." || part == ".")
}

fn check_name(what: &str, name: &str) -> S3Result<()> {
    if is_unsafe_name(name) {
        return Err(s3_error!(
            InvalidArgument,
            "{what} must not contain `.` or `..` path components, a leading `/` or a backslash"
        ));
    }
    Ok(())
}

/// What both listing APIs check first: the prefix must be a safe name.
fn check_prefix(prefix: Option<&str>) -> S3Result<()> {
    if let Some(prefix) = prefix {
        check_name("the listing prefix", prefix)?;
    }
    Ok(())
}

fn check_copy_source(source: &CopySource) -> S3Result<()> {
    if let CopySource::Bucket { bucket, key, .. } = source {
        check_name("the copy source bucket", bucket)?;
        check_name("the copy source key", key)?;
    }
    Ok(())
}

/// Authorisation: a valid signature is required, and names that could escape are refused.
struct Access;

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3_error!(AccessDenied, "a SigV4 signature is required"));
        }
        match cx.s3_path() {
            S3Path::Root => Ok(()),
            S3Path::Bucket { bucket } => check_name("the bucket name", bucket),
            S3Path::Object { bucket, key } => {
                check_name("the bucket name", bucket)?;
                check_name("the object key", key)
            }
        }
    }
}

/// s3s-fs with the listing and path fixes, and event notifications.
struct Store {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
    events: Arc<Notifier>,
}

impl Store {
    /// Notify `event` for an object now stored at `fs_key` (its file path form).
    fn created(&self, bucket: &str, fs_key: &str, event: &str, etag: Option<&dto::ETag>) {
        let size = std::fs::metadata(self.root.join(bucket).join(fs_key)).map_or(0, |m| m.len());
        let key = keys::from_fs(fs_key);
        let etag = etag.map_or("", |e| e.value());
        self.events.emit(bucket, &key, event, size, etag);
    }
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let response = self.fs.delete_bucket(req).await?;
        self.events.forget(&bucket);
        Ok(response)
    }

    async fn delete_object(
        &self,
        mut req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.fs.delete_object(req).await?;
        self.events
            .emit(&bucket, &keys::from_fs(&key), "ObjectRemoved:Delete", 0, "");
        Ok(response)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        mut req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        self.fs.get_object(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn head_object(
        &self,
        mut req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        self.fs.head_object(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn put_object(
        &self,
        mut req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.fs.put_object(req).await?;
        let etag = response.output.e_tag.as_ref();
        self.created(&bucket, &key, "ObjectCreated:Put", etag);
        Ok(response)
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let mut response = self.fs.create_multipart_upload(req).await?;
        decode_key(&mut response.output.key);
        Ok(response)
    }

    async fn upload_part(
        &self,
        mut req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        self.fs.upload_part(req).await
    }

    async fn list_parts(
        &self,
        mut req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let mut response = self.fs.list_parts(req).await?;
        decode_key(&mut response.output.key);
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        mut req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut response = self.fs.complete_multipart_upload(req).await?;
        let etag = response.output.e_tag.as_ref();
        self.created(&bucket, &key, "ObjectCreated:CompleteMultipartUpload", etag);
        decode_key(&mut response.output.key);
        Ok(response)
    }

    async fn abort_multipart_upload(
        &self,
        mut req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        self.fs.abort_multipart_upload(req).await
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        for object in &mut req.input.delete.objects {
            check_name("the object key", &object.key)?;
            object.key = keys::to_fs(&object.key).into_owned();
        }
        let bucket = req.input.bucket.clone();
        let mut response = self.fs.delete_objects(req).await?;
        for deleted in response.output.deleted.iter_mut().flatten() {
            decode_key(&mut deleted.key);
            if let Some(key) = &deleted.key {
                self.events
                    .emit(&bucket, key, "ObjectRemoved:Delete", 0, "");
            }
        }
        for error in response.output.errors.iter_mut().flatten() {
            decode_key(&mut error.key);
        }
        Ok(response)
    }

    async fn copy_object(
        &self,
        mut req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        check_copy_source(&req.input.copy_source)?;
        map_copy_source(&mut req.input.copy_source);
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.fs.copy_object(req).await?;
        let etag = response
            .output
            .copy_object_result
            .as_ref()
            .and_then(|r| r.e_tag.as_ref());
        self.created(&bucket, &key, "ObjectCreated:Copy", etag);
        Ok(response)
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<dto::PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<dto::PutBucketNotificationConfigurationOutput>> {
        let bucket = &req.input.bucket;
        if !self.root.join(bucket).is_dir() {
            return Err(s3_error!(
                NoSuchBucket,
                "the bucket `{bucket}` does not exist"
            ));
        }
        self.events
            .put(bucket, &req.input.notification_configuration)?;
        Ok(S3Response::new(
            dto::PutBucketNotificationConfigurationOutput::default(),
        ))
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<dto::GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<dto::GetBucketNotificationConfigurationOutput>> {
        let bucket = &req.input.bucket;
        if !self.root.join(bucket).is_dir() {
            return Err(s3_error!(
                NoSuchBucket,
                "the bucket `{bucket}` does not exist"
            ));
        }
        Ok(S3Response::new(self.events.get(bucket)))
    }

    async fn upload_part_copy(
        &self,
        mut req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        check_copy_source(&req.input.copy_source)?;
        map_copy_source(&mut req.input.copy_source);
        req.input.key = keys::to_fs(&req.input.key).into_owned();
        self.fs.upload_part_copy(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        let input = req.input.clone();
        check_prefix(input.prefix.as_deref())?;
        let all = self.all_objects(req.map_input(|i| i.bucket)).await?;
        let page = keys::page(
            all,
            keys::Listing {
                prefix: input.prefix.as_deref().unwrap_or(""),
                delimiter: input.delimiter.as_deref(),
                after: input.marker.as_deref(),
                max: max_keys(input.max_keys),
            },
        );
        let url = is_url(input.encoding_type.as_ref());
        let enc = |s: String| if url { keys::url_encode(&s) } else { s };
        let (_, contents, prefixes) = page_lists(page.objects, page.prefixes, &enc);
        Ok(S3Response::new(dto::ListObjectsOutput {
            name: Some(input.bucket),
            prefix: input.prefix.map(&enc),
            marker: input.marker.map(&enc),
            max_keys: input.max_keys.or(Some(1000)),
            is_truncated: Some(page.truncated),
            contents,
            common_prefixes: prefixes,
            delimiter: input.delimiter.filter(|d| !d.is_empty()).map(&enc),
            next_marker: page.truncated.then_some(page.last).flatten().map(&enc),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let input = req.input.clone();
        check_prefix(input.prefix.as_deref())?;
        let token = match input.continuation_token.as_deref() {
            Some(t) => Some(keys::untoken(t).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "the continuation token is not one this server returned"
                )
            })?),
            None => None,
        };
        let after = match (token, input.start_after.clone()) {
            (Some(t), Some(s)) => Some(t.max(s)),
            (t, s) => t.or(s),
        };
        let all = self.all_objects(req.map_input(|i| i.bucket)).await?;
        let page = keys::page(
            all,
            keys::Listing {
                prefix: input.prefix.as_deref().unwrap_or(""),
                delimiter: input.delimiter.as_deref(),
                after: after.as_deref(),
                max: max_keys(input.max_keys),
            },
        );
        let url = is_url(input.encoding_type.as_ref());
        let enc = |s: String| if url { keys::url_encode(&s) } else { s };
        let (count, contents, prefixes) = page_lists(page.objects, page.prefixes, &enc);
        Ok(S3Response::new(dto::ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix.map(&enc),
            max_keys: input.max_keys.or(Some(1000)),
            key_count: Some(count),
            continuation_token: input.continuation_token,
            is_truncated: Some(page.truncated),
            next_continuation_token: page
                .truncated
                .then_some(page.last)
                .flatten()
                .map(|last| keys::token(&last)),
            contents,
            common_prefixes: prefixes,
            delimiter: input.delimiter.filter(|d| !d.is_empty()).map(&enc),
            encoding_type: input.encoding_type,
            start_after: input.start_after.map(&enc),
            ..Default::default()
        }))
    }
}

impl Store {
    /// Every object of a bucket, keys decoded (s3s-fs walks the bucket's directory tree).
    async fn all_objects(&self, req: S3Request<dto::BucketName>) -> S3Result<Vec<dto::Object>> {
        let req = req.map_input(|bucket| dto::ListObjectsV2Input {
            bucket,
            max_keys: Some(i32::MAX),
            ..Default::default()
        });
        let listed = self.fs.list_objects_v2(req).await?.output;
        let mut objects = listed.contents.unwrap_or_default();
        for object in &mut objects {
            decode_key(&mut object.key);
        }
        Ok(objects)
    }
}

/// Whether a request carries credentials at all: an `Authorization` header (SigV4, or SigV2),
/// or the query of a presigned URL. Whether they are right is for s3s to check.
fn carries_credentials(request: &hyper::Request<hyper::body::Incoming>) -> bool {
    request.headers().contains_key(hyper::header::AUTHORIZATION)
        || request.uri().query().is_some_and(|query| {
            query.split('&').any(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                name.eq_ignore_ascii_case("X-Amz-Credential") || name == "AWSAccessKeyId"
            })
        })
}

/// Answer a request without credentials 403 `AccessDenied` (as S3 does), logging it once at
/// WARN. (Passed on, s3s would log it twice at ERROR.)
fn refuse_unsigned(
    request: &hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> s3s::HttpResponse {
    let path: String = request.uri().path().chars().take(200).collect();
    tracing::warn!(
        "object storage: refused an unsigned {} {path} from {peer}: requests must be signed (SigV4) with the access key and secret of the storage configuration",
        request.method()
    );
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>a SigV4 signature is required: sign requests with the access key and secret of the storage configuration</Message></Error>";
    let mut response = hyper::Response::new(s3s::Body::from(body.to_owned()));
    *response.status_mut() = hyper::StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    response
}

/// Decode a key s3s-fs returned (a file path) into the object's key.
fn decode_key(key: &mut Option<String>) {
    if let Some(k) = key
        && let std::borrow::Cow::Owned(decoded) = keys::from_fs(k)
    {
        *k = decoded;
    }
}

/// Map the key of a copy source to its file path.
fn map_copy_source(source: &mut CopySource) {
    if let CopySource::Bucket { key, .. } = source
        && let std::borrow::Cow::Owned(path) = keys::to_fs(key)
    {
        *key = path.into_boxed_str();
    }
}

fn is_url(encoding: Option<&dto::EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str().eq_ignore_ascii_case(dto::EncodingType::URL))
}

/// S3's `max-keys`: 1000 by default, at most 1000.
fn max_keys(asked: Option<i32>) -> usize {
    asked.map_or(1000, |n| n.clamp(0, 1000) as usize)
}

/// A page's objects and common prefixes as a listing response carries them (keys encoded by
/// `enc`), with their count.
fn page_lists(
    objects: Vec<dto::Object>,
    prefixes: Vec<String>,
    enc: &dyn Fn(String) -> String,
) -> (
    i32,
    Option<Vec<dto::Object>>,
    Option<Vec<dto::CommonPrefix>>,
) {
    let count = (objects.len() + prefixes.len()) as i32;
    let objects: Vec<dto::Object> = objects
        .into_iter()
        .map(|mut o| {
            o.key = o.key.map(enc);
            o
        })
        .collect();
    let prefixes: Vec<dto::CommonPrefix> = prefixes
        .into_iter()
        .map(|p| dto::CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    (
        count,
        (!objects.is_empty()).then_some(objects),
        (!prefixes.is_empty()).then_some(prefixes),
    )
}

/// A running embedded S3 server.
pub struct ObjectServer {
    addr: SocketAddr,
    data_dir: PathBuf,
    events: Arc<Notifier>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ObjectServer {
    /// Start serving `data_dir` (created if missing) on `127.0.0.1:port` (0 picks a free port),
    /// accepting only requests signed with `credentials`.
    pub async fn start(data_dir: &Path, port: u16, credentials: &Credentials) -> Result<Self> {
        Self::start_with_events(data_dir, port, credentials, None).await
    }

    /// [`ObjectServer::start`], with bucket notifications sent to `queues` (without them, a
    /// notification configuration with a destination is refused).
    pub async fn start_with_events(
        data_dir: &Path,
        port: u16,
        credentials: &Credentials,
        queues: Option<Queues>,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| {
            format!(
                "failed to create the object storage directory {}",
                data_dir.display()
            )
        })?;
        let data_dir = std::path::absolute(data_dir)?;
        let fs = s3s_fs::FileSystem::new(&data_dir).map_err(|e| {
            anyhow::anyhow!(
                "failed to open the object storage directory {}: {e:?}",
                data_dir.display()
            )
        })?;
        let events = Arc::new(Notifier::load(
            &data_dir,
            queues,
            crate::config::DEFAULT_REGION,
        )?);
        let mut builder = S3ServiceBuilder::new(Store {
            fs,
            root: data_dir.clone(),
            events: events.clone(),
        });
        builder.set_auth(SimpleAuth::from_single(
            credentials.access_key.clone(),
            credentials.secret_key.clone(),
        ));
        builder.set_access(Access);
        let service = builder.build();

        let listener = crate::bind("object storage", port).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                let (socket, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            tracing::warn!("object storage: failed to accept a connection: {e}");
                            continue;
                        }
                    },
                    _ = stopped.changed() => break,
                };
                let service = service.clone();
                let checked = hyper::service::service_fn(move |request| {
                    let service = service.clone();
                    async move {
                        if !carries_credentials(&request) {
                            return Ok(refuse_unsigned(&request, peer));
                        }
                        hyper::service::Service::call(&service, request).await
                    }
                });
                let conn = http.serve_connection(TokioIo::new(socket), checked);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            tokio::select! {
                () = graceful.shutdown() => {},
                () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {},
            }
        });
        tracing::debug!(
            "object storage listening on http://{addr}, data in {}",
            data_dir.display()
        );
        Ok(Self {
            addr,
            data_dir,
            events,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bucket notifications (for in-process configuration).
    pub fn events(&self) -> Arc<Notifier> {
        self.events.clone()
    }

    /// Create `bucket` if it does not exist (in-process, as `CreateBucket` would).
    pub fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        if is_unsafe_name(bucket) || !s3s::path::check_bucket_name(bucket) {
            anyhow::bail!(
                "`{bucket}` is not a valid bucket name: use 3-63 lower-case letters, digits, `-` or `.`"
            );
        }
        std::fs::create_dir_all(self.data_dir.join(bucket))
            .with_context(|| format!("failed to create the bucket `{bucket}`"))
    }

    /// The absolute data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stop accepting connections and wait (at most 5 s) for open requests to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::is_unsafe_name;

    #[test]
    fn names_that_could_escape_are_unsafe() {
        for bad in [
            "..",
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "./a",
            "a\\..\\b",
        ] {
            assert!(is_unsafe_name(bad), "{bad} must be refused");
        }
        for good in ["a..b", "x/y.z", "110.dynamic-html-0-input/a.jpg", "..a/b"] {
            assert!(!is_unsafe_name(good), "{good} must be allowed");
        }
    }
}
