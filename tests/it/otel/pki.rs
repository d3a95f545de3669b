//! Certificates made by the tests (rcgen): a CA, a server certificate for `127.0.0.1` and
//! `localhost`, and a client certificate for mutual TLS, written as PEM files the exporters
//! are given by path, as an application gives them.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// Numbers each `Pki`'s directory.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A CA and the certificates it signed, as PEM text and as files.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server_pem: String,
    pub(crate) server_key_pem: String,
    /// The CA's certificate: what the exporter trusts.
    pub(crate) ca_file: PathBuf,
    /// The client's certificate and key: what the exporter presents.
    pub(crate) client_file: PathBuf,
    pub(crate) client_key_file: PathBuf,
    dir: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pki {
    /// A fresh CA with a server and a client certificate, in a directory of its own.
    pub(crate) fn new() -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "debug toolbar test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let mut client = CertificateParams::new(vec!["exporter.test".to_owned()]).unwrap();
        client
            .distinguished_name
            .push(DnType::CommonName, "debug toolbar exporter");
        let client_key = KeyPair::generate().unwrap();
        let client = client.signed_by(&client_key, &ca).unwrap();

        let dir = std::env::temp_dir().join(format!(
            "debug-toolbar-pki-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Self {
            ca_file: write("ca.pem", &ca.pem()),
            client_file: write("client.pem", &client.pem()),
            client_key_file: write("client-key.pem", &client_key.serialize_pem()),
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            dir,
        }
    }

    /// A rustls server configuration with the server certificate that asks every client for a
    /// certificate signed by the CA.
    #[expect(
        deprecated,
        reason = "the exporters' provider, ring, the same on both ends"
    )]
    pub(crate) fn rustls_server(&self) -> rustls::ServerConfig {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(self.server_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).unwrap(),
            )
            .unwrap()
    }

    /// tonic's server TLS: the server certificate, clients checked against the CA.
    pub(crate) fn tonic_server(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.server_pem, &self.server_key_pem))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
    }
}
