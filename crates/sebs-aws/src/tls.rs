//! HTTPS for HTTP triggers (function URLs, API Gateway), on rustls with the system's roots —
//! the TLS stack the SDK uses. `http://` URLs (emulators) go over plain TCP.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use sebs_platforms::http::{Exchange, Target, exchange, post};

fn connector() -> Result<tokio_rustls::TlsConnector> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(
                "no trusted root certificates found on this system (install ca-certificates)"
                    .to_owned(),
            );
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
    });
    match config {
        Ok(c) => Ok(tokio_rustls::TlsConnector::from(c.clone())),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// POST to an `https://` or `http://` URL; `connect` in the exchange includes the TLS
/// handshake.
pub async fn post_any(url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Exchange> {
    if url.starts_with("http://") {
        return post(url, headers, body).await;
    }
    let target = Target::parse(url, "https")?;
    let start = Instant::now();
    let tcp = target.connect().await?;
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .with_context(|| format!("invalid TLS server name {}", target.host))?;
    let tls = connector()?
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {} failed", target.host))?;
    let connect = start.elapsed();
    exchange(tls, &target, start, connect, headers, body).await
}
