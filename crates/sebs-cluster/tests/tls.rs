//! The HTTPS paths of the cluster backends' client against a local TLS server whose CA, server
//! and client certificates `openssl` makes for the test: a cluster's own CA (kubeconfig
//! `certificate-authority-data`), verification off (`wskBypassSecurity`,
//! `insecure-skip-tls-verify`), an untrusted server refused, and a client certificate (kubeconfig
//! `client-certificate-data`/`client-key-data`) that a server requiring one accepts.

use std::convert::Infallible;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sebs_cluster::rest::{Client, TlsOptions};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by it.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=sebs-test-ca",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn) in [("server", "localhost"), ("client", "sebs-user")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

/// Serve HTTPS on 127.0.0.1 (a free port), requiring a client certificate of the CA if asked.
async fn server(dir: &Path, require_client: bool) -> u16 {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"{\"kind\": \"APIVersions\"}",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn https_with_a_cluster_ca_without_verification_and_with_a_client_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    certificates(dir);
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();

    let port = server(dir, false).await;
    let url = format!("https://localhost:{port}");
    let trusted = Client::new(
        &url,
        &TlsOptions {
            ca_pem: Some(ca.clone()),
            ..TlsOptions::default()
        },
        None,
    )
    .unwrap();
    let reply = trusted.json(Method::GET, "/api", None).await.unwrap();
    assert_eq!(
        (reply.status, reply.json()["kind"].as_str()),
        (200, Some("APIVersions"))
    );

    let untrusted = Client::new(&url, &TlsOptions::default(), None).unwrap();
    let e = untrusted.json(Method::GET, "/api", None).await.unwrap_err();
    assert!(format!("{e:#}").contains("TLS handshake"), "{e:#}");

    let insecure = Client::new(
        &url,
        &TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(
        insecure
            .json(Method::GET, "/api", None)
            .await
            .unwrap()
            .status,
        200
    );

    let port = server(dir, true).await;
    let url = format!("https://localhost:{port}");
    let anonymous = Client::new(
        &url,
        &TlsOptions {
            ca_pem: Some(ca.clone()),
            ..TlsOptions::default()
        },
        None,
    )
    .unwrap();
    assert!(
        anonymous.json(Method::GET, "/api", None).await.is_err(),
        "the server requires a client certificate"
    );
    let client_pem = Some((
        std::fs::read(dir.join("client.pem")).unwrap(),
        std::fs::read(dir.join("client.key")).unwrap(),
    ));
    let with_cert = Client::new(
        &url,
        &TlsOptions {
            ca_pem: Some(ca),
            client_pem,
            ..TlsOptions::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(
        with_cert
            .json(Method::GET, "/api", None)
            .await
            .unwrap()
            .status,
        200
    );
}
