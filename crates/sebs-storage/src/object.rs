//! The embedded S3 server: s3s-fs behind SigV4 authentication, with two fixes on top.
//!
//! - An empty `delimiter=` (the `minio` Python client sends one for recursive listings) is treated
//!   as no delimiter; s3s-fs would otherwise group every key under the empty string.
//! - Bucket names, keys, listing prefixes and copy sources with a `.` or `..` path component (or
//!   a leading `/` or a backslash) are refused, so no request can reach a file outside the data
//!   directory or another bucket's directory.

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

use crate::Credentials;

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

/// What both listing APIs check first: an empty delimiter is none (as S3 treats it), and the
/// prefix must be a safe name.
fn check_listing(delimiter: &mut Option<String>, prefix: Option<&str>) -> S3Result<()> {
    if delimiter.as_deref() == Some("") {
        *delimiter = None;
    }
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

/// s3s-fs with the listing and path fixes.
struct Store {
    fs: s3s_fs::FileSystem,
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
        self.fs.delete_bucket(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
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
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
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
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        for object in &req.input.delete.objects {
            check_name("the object key", &object.key)?;
        }
        self.fs.delete_objects(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        check_copy_source(&req.input.copy_source)?;
        self.fs.copy_object(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        check_copy_source(&req.input.copy_source)?;
        self.fs.upload_part_copy(req).await
    }

    async fn list_objects(
        &self,
        mut req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        check_listing(&mut req.input.delimiter, req.input.prefix.as_deref())?;
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        check_listing(&mut req.input.delimiter, req.input.prefix.as_deref())?;
        self.fs.list_objects_v2(req).await
    }
}

/// A running embedded S3 server.
pub struct ObjectServer {
    addr: SocketAddr,
    data_dir: PathBuf,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ObjectServer {
    /// Start serving `data_dir` (created if missing) on `127.0.0.1:port` (0 picks a free port),
    /// accepting only requests signed with `credentials`.
    pub async fn start(data_dir: &Path, port: u16, credentials: &Credentials) -> Result<Self> {
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
        let mut builder = S3ServiceBuilder::new(Store { fs });
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
                let socket = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => socket,
                        Err(e) => {
                            tracing::warn!("object storage: failed to accept a connection: {e}");
                            continue;
                        }
                    },
                    _ = stopped.changed() => break,
                };
                let conn = http.serve_connection(TokioIo::new(socket), service.clone());
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
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
