//! Connections to the backends: the blocking HTTP client the OTLP/HTTP and Zipkin exporters
//! use, and the gRPC channel's TLS, both from a [`Tls`] set-up.
//!
//! TLS is rustls with the ring provider (cargo feature `tls`): the system's trusted roots, or
//! only the certificates of a PEM file, and a client certificate for mutual TLS. Without the
//! feature an `https://` endpoint is refused when the exporter is built, with the feature to
//! switch on.

use std::time::Duration;

use crate::config::Tls;

/// Whether `endpoint` is an `https://` URL.
pub(crate) fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// A blocking HTTP client for `endpoint`, each request limited to `timeout`, with `tls` for an
/// `https://` endpoint.
///
/// It is built on a helper thread: building (and dropping) one inside an async runtime is not
/// allowed.
pub(crate) fn http_client(
    endpoint: &str,
    tls: &Tls,
    timeout: Duration,
) -> Result<reqwest::blocking::Client, String> {
    let builder = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout);
    let builder = with_tls(builder, endpoint, tls)?;
    std::thread::spawn(move || builder.build().map_err(|e| chain(&e)))
        .join()
        .map_err(|_| "building the HTTP client panicked".to_owned())?
}

/// An error and its sources, e.g. "error sending request: connection refused".
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Why an `https://` endpoint is refused without the cargo feature `tls`.
#[cfg(not(feature = "tls"))]
pub(crate) const NO_TLS: &str = "an https:// endpoint needs TLS: switch on the cargo feature `otel-tls` of \
                      actix-debug-toolbar (`tls` of debug-toolbar-otel)";

/// `builder` for `endpoint`: refused when it is `https://`, since TLS is not compiled in.
#[cfg(not(feature = "tls"))]
fn with_tls(
    builder: reqwest::blocking::ClientBuilder,
    endpoint: &str,
    _tls: &Tls,
) -> Result<reqwest::blocking::ClientBuilder, String> {
    if is_https(endpoint) {
        Err(NO_TLS.to_owned())
    } else {
        Ok(builder)
    }
}

/// `builder` with its rustls configuration: `tls` for an `https://` endpoint. reqwest is
/// built without a crypto provider of its own, so even a plain `http://` client is given one
/// (trusting nothing, since it never uses it).
#[cfg(feature = "tls")]
fn with_tls(
    builder: reqwest::blocking::ClientBuilder,
    endpoint: &str,
    tls: &Tls,
) -> Result<reqwest::blocking::ClientBuilder, String> {
    let config = if is_https(endpoint) {
        rustls_config(tls)?
    } else {
        rustls_builder()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    };
    Ok(builder.tls_backend_preconfigured(config))
}

/// A rustls client configuration builder with the ring provider and safe protocol versions.
#[cfg(feature = "tls")]
#[expect(
    deprecated,
    reason = "ring needs no C build system; it lacks post-quantum key exchange, which rustls \
              0.23.48 deprecates its provider for, and which span export can do without"
)]
fn rustls_builder()
-> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, String> {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())
}

/// The gRPC channel's TLS for `tls`: the certificate file's roots or the system's, and the
/// client identity.
#[cfg(feature = "tls")]
pub(crate) fn grpc(
    tls: &Tls,
) -> Result<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig, String> {
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
    let config = ClientTlsConfig::new();
    let mut config = match &tls.certificate {
        Some(path) => {
            // Checked here, so that a wrong file is reported as such when the exporter is built.
            certificates(path)?;
            config.ca_certificate(Certificate::from_pem(read(path)?))
        }
        None => config.with_native_roots(),
    };
    if let (Some(certificate), Some(key)) = (&tls.client_certificate, &tls.client_key) {
        certificates(certificate)?;
        private_key(key)?;
        config = config.identity(Identity::from_pem(read(certificate)?, read(key)?));
    }
    Ok(config)
}

/// The rustls client configuration for `tls`.
#[cfg(feature = "tls")]
fn rustls_config(tls: &Tls) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.certificate {
        Some(path) => {
            for certificate in certificates(path)? {
                roots
                    .add(certificate)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (_, unreadable) = roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(format!(
                    "no trusted root certificates found on this system ({} unreadable, {} \
                     errors); name a file with OTEL_EXPORTER_OTLP_CERTIFICATE",
                    unreadable,
                    found.errors.len()
                ));
            }
        }
    }
    let builder = rustls_builder()?.with_root_certificates(roots);
    match (&tls.client_certificate, &tls.client_key) {
        (Some(certificate), Some(key)) => builder
            .with_client_auth_cert(certificates(certificate)?, private_key(key)?)
            .map_err(|e| format!("the client certificate and key: {e}")),
        _ => Ok(builder.with_no_client_auth()),
    }
}

#[cfg(feature = "tls")]
fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The certificates of a PEM file; an error when it holds none.
#[cfg(feature = "tls")]
fn certificates(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let found = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if found.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(found)
}

/// The private key of a PEM file. Errors name the file, never its content.
#[cfg(feature = "tls")]
fn private_key(
    path: &std::path::Path,
) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    // The parser's error may quote the file: only the file's name is said.
    PrivateKeyDer::from_pem_file(path)
        .map_err(|_| format!("{}: no readable PEM private key", path.display()))
}
