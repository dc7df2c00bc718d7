//! A small HTTP/1.1 client for REST control planes (OpenWhisk's API, the Kubernetes API) and the
//! functions behind them: plain TCP for `http://`, rustls for `https://` with the system's roots,
//! an extra CA (a cluster's own), a client certificate (kubeconfig), or no verification where
//! the user asks for it (SeBS's `wskBypassSecurity`).
//!
//! One connection per request, as the HTTP trigger of `sebs_platforms::http` does, so an
//! invocation's timings include the connection set-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sebs_platforms::http::Target;
use serde_json::Value;

/// How to trust (and authenticate to) an HTTPS server.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM certificates of extra trusted CAs (a cluster's own CA).
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any server certificate (`wskBypassSecurity`, kubeconfig's
    /// `insecure-skip-tls-verify`).
    pub insecure: bool,
    /// A client certificate chain and key, PEM.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// The answer to one request, with timings.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
    /// Connection (and TLS) set-up.
    pub connect: Duration,
    /// Request start to response headers.
    pub first_byte: Duration,
    /// Request start to the complete body.
    pub total: Duration,
}

impl Reply {
    /// The body as JSON (`Null` when it is empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body, shortened, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(400)
            .collect()
    }
}

/// A server at a base URL (`https://host:port[/prefix]`) with an `Authorization` header.
#[derive(Clone)]
pub struct Client {
    scheme: &'static str,
    host: String,
    port: u16,
    prefix: String,
    tls: Option<tokio_rustls::TlsConnector>,
    authorization: Option<String>,
    /// Sent as `Host` (and TLS server name) instead of the connected host: a service behind a
    /// shared ingress gateway.
    virtual_host: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the authorization.
        write!(
            f,
            "Client({}://{}:{}{})",
            self.scheme, self.host, self.port, self.prefix
        )
    }
}

impl Client {
    /// A client for `base` (`http://` or `https://`); `authorization` is the header's value.
    pub fn new(base: &str, tls: &TlsOptions, authorization: Option<String>) -> Result<Client> {
        let scheme = if base.starts_with("https://") {
            "https"
        } else if base.starts_with("http://") {
            "http"
        } else {
            bail!("`{base}` is not an http:// or https:// URL");
        };
        let target = Target::parse(base, scheme)?;
        let prefix = target
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned();
        let tls = if scheme == "https" {
            Some(connector(tls)?)
        } else {
            None
        };
        Ok(Client {
            scheme,
            host: target.host,
            port: target.port,
            prefix,
            tls,
            authorization,
            virtual_host: None,
        })
    }

    /// This client with `host` as the `Host` header and TLS server name (an ingress gateway
    /// routing by host name).
    pub fn with_virtual_host(mut self, host: &str) -> Client {
        self.virtual_host = Some(host.to_owned());
        self
    }

    /// The base URL (no trailing slash).
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.prefix
        )
    }

    /// A client for another URL on the same terms (TLS, authorization): a function's URL.
    pub fn at(&self, url: &str, with_authorization: bool) -> Result<Client> {
        let mut other = Client::new(url, &TlsOptions::default(), None)?;
        if other.scheme == "https" {
            other.tls = self.tls.clone();
        }
        if with_authorization {
            other.authorization = self.authorization.clone();
        }
        Ok(other)
    }

    /// `method` `path` (under the base's prefix) with a JSON body (or none).
    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let bytes = body
            .map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON serializes")))
            .unwrap_or_default();
        let content_type = body.map(|_| "application/json");
        self.send(method, path, content_type, &[], bytes).await
    }

    /// One request; `path` starts with `/` and may carry a query.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply> {
        let start = Instant::now();
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("cannot connect to {}:{}", self.host, self.port))?;
        tcp.set_nodelay(true)?;
        let request = self.request(method, path, content_type, headers, body)?;
        match &self.tls {
            None => exchange(tcp, request, start).await,
            Some(tls) => {
                let sni = self
                    .virtual_host
                    .clone()
                    .unwrap_or_else(|| self.host.clone());
                let name = ServerName::try_from(sni.clone())
                    .with_context(|| format!("invalid TLS server name {sni}"))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .with_context(|| format!("TLS handshake with {} failed", self.host))?;
                exchange(stream, request, start).await
            }
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>> {
        let host = if let Some(v) = &self.virtual_host {
            v.clone()
        } else if matches!(self.port, 80 | 443) {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.prefix, path))
            .header("host", host)
            .header("accept", "application/json")
            .header("user-agent", concat!("sebs/", env!("CARGO_PKG_VERSION")));
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(auth) = &self.authorization {
            request = request.header("authorization", auth);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Ok(request.body(Full::new(body))?)
    }
}

async fn exchange<S>(stream: S, request: Request<Full<Bytes>>, start: Instant) -> Result<Reply>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let connect = start.elapsed();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender.send_request(request).await?;
        let first_byte = start.elapsed();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>(Reply {
            status,
            headers,
            body,
            connect,
            first_byte,
            total: start.elapsed(),
        })
    }
    .await;
    driver.abort();
    result
}

fn connector(options: &TlsOptions) -> Result<tokio_rustls::TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS set-up: {e}"))?;
    let builder = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(pem) = &options.ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.context("the CA certificate is not valid PEM")?)
                    .context("the CA certificate was rejected")?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match &options.client_pem {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .context("the client certificate is not valid PEM")?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .context("the client key is not a valid PEM private key")?;
            builder
                .with_client_auth_cert(chain, key)
                .context("the client certificate and key do not fit together")?
        }
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Accepts every server certificate (signatures are still checked): only where the user turned
/// verification off.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Percent-encode `s` for a URL path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
