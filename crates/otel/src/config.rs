//! The OpenTelemetry panel's configuration: builder and the standard `OTEL_*` variables.

use std::path::PathBuf;
use std::time::Duration;

pub use debug_toolbar_core::ConfigError;
use debug_toolbar_core::integration::env_config::{
    self, Lookup, first, parse_bool, parse_millis, parse_pairs, parse_url,
};

/// Where the toolbar sends spans and how it samples them; build one with
/// [`OtelConfig::builder`] or read it from the environment with [`OtelConfig::from_env`].
///
/// By default nothing is exported: the waterfall works without any backend, and export starts
/// once an exporter or an endpoint is configured.
#[derive(Clone, PartialEq)]
pub struct OtelConfig {
    pub(crate) sdk_disabled: bool,
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) exporters: Vec<Exporter>,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) otlp_protocol: Protocol,
    pub(crate) otlp_headers: Vec<(String, String)>,
    pub(crate) otlp_timeout: Duration,
    pub(crate) otlp_tls: Tls,
    pub(crate) otlp_compression: Compression,
    pub(crate) zipkin_endpoint: String,
    pub(crate) zipkin_timeout: Duration,
    pub(crate) zipkin_tls: Tls,
    pub(crate) zipkin_compression: Compression,
    pub(crate) sampler: Sampling,
    pub(crate) jaeger_ui: Option<String>,
    pub(crate) zipkin_ui: Option<String>,
    pub(crate) max_queue_size: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) max_retries: usize,
    pub(crate) forward_received: bool,
}

/// A backend spans are sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// OTLP, over gRPC or HTTP/protobuf (Jaeger, Tempo, an OpenTelemetry Collector, …).
    Otlp,
    /// Zipkin's v2 JSON API.
    Zipkin,
}

impl Exporter {
    /// The name used in `OTEL_TRACES_EXPORTER`.
    pub fn name(self) -> &'static str {
        match self {
            Exporter::Otlp => "otlp",
            Exporter::Zipkin => "zipkin",
        }
    }
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// gRPC (default port 4317).
    Grpc,
    /// Protobuf over HTTP (default port 4318, path `/v1/traces`).
    HttpProtobuf,
}

impl Protocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// How request bodies are compressed on their way to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Sent as they are.
    #[default]
    None,
    /// gzip (`Content-Encoding: gzip`; gRPC's `grpc-encoding: gzip`).
    Gzip,
}

impl Compression {
    /// The name used in `OTEL_EXPORTER_OTLP_COMPRESSION`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
        }
    }
}

/// The files that set up TLS for an `https://` endpoint: PEM files, read when the exporters
/// are built. By default the system's trusted roots check the server and no client certificate
/// is sent. Needs the cargo feature `tls` (`otel-tls` in `actix-debug-toolbar`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub(crate) certificate: Option<PathBuf>,
    pub(crate) client_certificate: Option<PathBuf>,
    pub(crate) client_key: Option<PathBuf>,
}

impl Tls {
    /// The system's trusted roots, no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the certificates in this PEM file to check the server, instead of the system's
    /// roots (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    #[must_use]
    pub fn certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.certificate = Some(pem_file.into());
        self
    }

    /// Presents this client certificate chain and its private key (PEM files) to a server that
    /// asks for one, i.e. mutual TLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    #[must_use]
    pub fn client_identity(
        mut self,
        certificate_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.client_certificate = Some(certificate_file.into());
        self.client_key = Some(key_file.into());
        self
    }
}

/// Which traces are recorded and exported (the spec's `OTEL_TRACES_SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Sampling {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A share of traces, chosen by trace id (0.0 to 1.0).
    TraceIdRatio(f64),
    /// Follow the incoming parent's decision; every new trace.
    ParentBasedAlwaysOn,
    /// Follow the incoming parent's decision; no new trace.
    ParentBasedAlwaysOff,
    /// Follow the incoming parent's decision; a share of new traces.
    ParentBasedTraceIdRatio(f64),
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            sdk_disabled: false,
            service_name: "unknown_service".to_owned(),
            service_version: None,
            resource_attributes: Vec::new(),
            exporters: Vec::new(),
            otlp_endpoint: None,
            otlp_protocol: Protocol::HttpProtobuf,
            otlp_headers: Vec::new(),
            otlp_timeout: DEFAULT_TIMEOUT,
            otlp_tls: Tls::default(),
            otlp_compression: Compression::None,
            zipkin_endpoint: DEFAULT_ZIPKIN_ENDPOINT.to_owned(),
            zipkin_timeout: DEFAULT_TIMEOUT,
            zipkin_tls: Tls::default(),
            zipkin_compression: Compression::None,
            sampler: Sampling::ParentBasedAlwaysOn,
            jaeger_ui: None,
            zipkin_ui: None,
            max_queue_size: 2048,
            scheduled_delay: Duration::from_millis(500),
            max_retries: 5,
            forward_received: false,
        }
    }
}

/// How long one batch may take to be sent, retries included (the specification's default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const DEFAULT_ZIPKIN_ENDPOINT: &str = "http://localhost:9411/api/v2/spans";
const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";

impl std::fmt::Debug for OtelConfig {
    /// Header values are left out and endpoints lose their credentials: they are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use debug_toolbar_core::redact::{MASK, mask_url};
        let headers: Vec<(&str, &str)> = self
            .otlp_headers
            .iter()
            .map(|(key, _)| (key.as_str(), MASK))
            .collect();
        f.debug_struct("OtelConfig")
            .field("sdk_disabled", &self.sdk_disabled)
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("resource_attributes", &self.resource_attributes)
            .field("exporters", &self.exporters)
            .field(
                "otlp_endpoint",
                &self.otlp_endpoint.as_deref().map(mask_url),
            )
            .field("otlp_protocol", &self.otlp_protocol)
            .field("otlp_headers", &headers)
            .field("otlp_timeout", &self.otlp_timeout)
            .field("otlp_tls", &self.otlp_tls)
            .field("otlp_compression", &self.otlp_compression)
            .field("zipkin_endpoint", &mask_url(&self.zipkin_endpoint))
            .field("zipkin_timeout", &self.zipkin_timeout)
            .field("zipkin_tls", &self.zipkin_tls)
            .field("zipkin_compression", &self.zipkin_compression)
            .field("sampler", &self.sampler)
            .field("jaeger_ui", &self.jaeger_ui)
            .field("zipkin_ui", &self.zipkin_ui)
            .field("max_queue_size", &self.max_queue_size)
            .field("scheduled_delay", &self.scheduled_delay)
            .field("max_retries", &self.max_retries)
            .field("forward_received", &self.forward_received)
            .finish()
    }
}

impl OtelConfig {
    /// A builder starting from the defaults: no export, service `unknown_service`,
    /// `parentbased_always_on` sampling.
    pub fn builder() -> OtelConfigBuilder {
        OtelConfigBuilder {
            config: OtelConfig::default(),
        }
    }

    /// The defaults with the environment applied (see [`OtelConfigBuilder::vars`] for the
    /// variables). An invalid value is logged with what is accepted and the default is kept.
    pub fn from_env() -> Self {
        Self::from_vars_lossy(env_config::process_env)
    }

    /// The defaults with the environment applied; fails on the first invalid value.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        Ok(Self::builder().env()?.build())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `var`.
    pub fn from_vars_lossy(var: impl Fn(&str) -> Option<String>) -> Self {
        env_config::lossy(Self::builder(), &var, "otel", |builder, var| {
            builder.vars(var)
        })
        .build()
    }

    /// Whether any span leaves the process.
    pub fn exports(&self) -> bool {
        !self.sdk_disabled && !self.exporters.is_empty()
    }

    /// The configured exporters, in order; empty when nothing is exported.
    pub fn exporters(&self) -> &[Exporter] {
        if self.sdk_disabled {
            &[]
        } else {
            &self.exporters
        }
    }

    /// The service name spans are reported under.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The OTLP transport.
    pub fn otlp_protocol(&self) -> Protocol {
        self.otlp_protocol
    }

    /// The URL OTLP spans are sent to: for HTTP the full URL including `/v1/traces`.
    pub fn otlp_endpoint(&self) -> String {
        match (&self.otlp_endpoint, self.otlp_protocol) {
            (Some(endpoint), _) => endpoint.clone(),
            (None, Protocol::Grpc) => DEFAULT_GRPC_ENDPOINT.to_owned(),
            (None, Protocol::HttpProtobuf) => format!("{DEFAULT_HTTP_ENDPOINT}/v1/traces"),
        }
    }

    /// The URL Zipkin spans are posted to.
    pub fn zipkin_endpoint(&self) -> &str {
        &self.zipkin_endpoint
    }

    /// The sampler.
    pub fn sampler(&self) -> Sampling {
        self.sampler
    }

    /// Base URL of the Jaeger UI, for links to a trace.
    pub fn jaeger_ui(&self) -> Option<&str> {
        self.jaeger_ui.as_deref()
    }

    /// Base URL of the Zipkin UI, for links to a trace.
    pub fn zipkin_ui(&self) -> Option<&str> {
        self.zipkin_ui.as_deref()
    }

    /// Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`), `service.name` excluded.
    pub fn resource_attributes(&self) -> &[(String, String)] {
        &self.resource_attributes
    }

    /// Headers sent with every OTLP export.
    pub fn otlp_headers(&self) -> &[(String, String)] {
        &self.otlp_headers
    }

    /// Whether spans other services send to the toolbar's receiver are exported too.
    pub fn forwards_received(&self) -> bool {
        self.forward_received
    }
}

/// Builds an [`OtelConfig`].
#[must_use]
#[derive(Debug, Clone)]
pub struct OtelConfigBuilder {
    config: OtelConfig,
}

impl OtelConfigBuilder {
    /// Applies the standard variables read from the process environment.
    pub fn env(self) -> Result<Self, ConfigError> {
        self.vars(env_config::process_env)
    }

    /// Applies variables read through `var` (e.g. from a map in tests). A signal-specific
    /// variable (`OTEL_EXPORTER_OTLP_TRACES_*`) wins over the generic one.
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `OTEL_SDK_DISABLED` | `true`: export nothing (the waterfall still works) | `false` |
    /// | `OTEL_SERVICE_NAME` | `service.name` | `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service` |
    /// | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,…`, values percent-decoded | none |
    /// | `OTEL_TRACES_EXPORTER` | `otlp`, `zipkin`, `none`, or a comma list | `none`, or the exporters whose endpoint is set |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL (HTTP: `/v1/traces` is appended) | `http://localhost:4318` (HTTP), `http://localhost:4317` (gRPC) |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full URL, used as is | |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL`, `…_TRACES_PROTOCOL` | `grpc` or `http/protobuf` | `http/protobuf` |
    /// | `OTEL_EXPORTER_OTLP_HEADERS`, `…_TRACES_HEADERS` | `key=value,…`, values percent-decoded | none |
    /// | `OTEL_EXPORTER_OTLP_TIMEOUT`, `…_TRACES_TIMEOUT` | milliseconds one batch may take, retries included | `10000` |
    /// | `OTEL_EXPORTER_OTLP_COMPRESSION`, `…_TRACES_COMPRESSION` | `gzip` or `none` | `none` |
    /// | `OTEL_EXPORTER_OTLP_CERTIFICATE`, `…_TRACES_CERTIFICATE` | PEM file of the roots trusted for an `https` endpoint (feature `tls`) | the system's roots |
    /// | `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `…_TRACES_CLIENT_CERTIFICATE` | PEM file of the client certificate chain for mTLS (with the key) | none |
    /// | `OTEL_EXPORTER_OTLP_CLIENT_KEY`, `…_TRACES_CLIENT_KEY` | PEM file of the client certificate's private key | none |
    /// | `OTEL_EXPORTER_ZIPKIN_ENDPOINT` | URL of Zipkin's `/api/v2/spans` | `http://localhost:9411/api/v2/spans` |
    /// | `OTEL_EXPORTER_ZIPKIN_TIMEOUT` | milliseconds one batch may take, retries included | `10000` |
    /// | `OTEL_TRACES_SAMPLER` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` | `parentbased_always_on` |
    /// | `OTEL_TRACES_SAMPLER_ARG` | ratio from 0 to 1 for the ratio samplers | `1.0` |
    /// | `DEBUG_TOOLBAR_OTEL_JAEGER_UI` | Jaeger UI base URL, for links | none |
    /// | `DEBUG_TOOLBAR_OTEL_ZIPKIN_UI` | Zipkin UI base URL, for links | none |
    /// | `DEBUG_TOOLBAR_OTEL_FORWARD_RECEIVED` | `true`: export the spans other services send to the toolbar's receiver too | `false` |
    pub fn vars(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var: Lookup<'_> = &var;
        let get = |name: &str| env_config::get(var, name);
        let c = &mut self.config;
        if let Some(v) = get("OTEL_SDK_DISABLED") {
            c.sdk_disabled = parse_bool("OTEL_SDK_DISABLED", &v)?;
        }
        if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
            let pairs = parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?;
            for (key, value) in pairs {
                if key == "service.name" {
                    c.service_name = value;
                } else if key == "service.version" {
                    c.service_version = Some(value);
                } else {
                    c.resource_attributes.push((key, value));
                }
            }
        }
        if let Some(v) = get("OTEL_SERVICE_NAME") {
            c.service_name = v.trim().to_owned();
        }
        let protocol = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ],
        );
        if let Some((name, v)) = protocol {
            c.otlp_protocol = match v.trim() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                _ => return Err(error(name, &v, "grpc or http/protobuf")),
            };
        }
        let mut endpoint_set = false;
        if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            c.otlp_endpoint = Some(endpoint(parse_url(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &v,
            )?));
            endpoint_set = true;
        } else if let Some(v) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let base = endpoint(parse_url("OTEL_EXPORTER_OTLP_ENDPOINT", &v)?);
            c.otlp_endpoint = Some(match c.otlp_protocol {
                Protocol::Grpc => base,
                Protocol::HttpProtobuf => format!("{base}/v1/traces"),
            });
            endpoint_set = true;
        }
        if let Some(v) = get("OTEL_EXPORTER_OTLP_HEADERS") {
            c.otlp_headers = parse_pairs("OTEL_EXPORTER_OTLP_HEADERS", &v)?;
        }
        if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
            for (key, value) in parse_pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS", &v)? {
                c.otlp_headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case(&key));
                c.otlp_headers.push((key, value));
            }
        }
        let timeout = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ],
        );
        if let Some((name, v)) = timeout {
            c.otlp_timeout = parse_millis(name, &v)?;
        }
        let compression = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ],
        );
        if let Some((name, v)) = compression {
            c.otlp_compression = match v.trim().to_ascii_lowercase().as_str() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                _ => return Err(ConfigError::new(name, v, "gzip or none")),
            };
        }
        if let Some((_, path)) = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
            ],
        ) {
            c.otlp_tls.certificate = Some(PathBuf::from(path.trim()));
        }
        let client_certificate = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            ],
        );
        let client_key = first(
            var,
            &[
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            ],
        );
        match (client_certificate, client_key) {
            (Some((_, certificate)), Some((_, key))) => {
                c.otlp_tls =
                    std::mem::take(&mut c.otlp_tls).client_identity(certificate.trim(), key.trim());
            }
            (Some((name, certificate)), None) => {
                return Err(ConfigError::new(
                    name,
                    certificate,
                    "a client certificate file together with OTEL_EXPORTER_OTLP_CLIENT_KEY",
                ));
            }
            (None, Some((name, _))) => {
                // The key's path is shown as set, not what it is: it names a secret.
                return Err(ConfigError::new(
                    name,
                    "(set)",
                    "a client key file together with OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                ));
            }
            (None, None) => {}
        }
        let mut zipkin_set = false;
        if let Some(v) = get("OTEL_EXPORTER_ZIPKIN_ENDPOINT") {
            c.zipkin_endpoint = endpoint(parse_url("OTEL_EXPORTER_ZIPKIN_ENDPOINT", &v)?);
            zipkin_set = true;
        }
        if let Some(v) = get("OTEL_EXPORTER_ZIPKIN_TIMEOUT") {
            c.zipkin_timeout = parse_millis("OTEL_EXPORTER_ZIPKIN_TIMEOUT", &v)?;
        }
        if let Some(v) = get("OTEL_TRACES_EXPORTER") {
            c.exporters = parse_exporters(&v)?;
        } else {
            if endpoint_set && !c.exporters.contains(&Exporter::Otlp) {
                c.exporters.push(Exporter::Otlp);
            }
            if zipkin_set && !c.exporters.contains(&Exporter::Zipkin) {
                c.exporters.push(Exporter::Zipkin);
            }
        }
        let arg = get("OTEL_TRACES_SAMPLER_ARG");
        if let Some(v) = get("OTEL_TRACES_SAMPLER") {
            c.sampler = parse_sampler(&v, arg.as_deref())?;
        } else if let Some(arg) = arg {
            // The argument alone adjusts a ratio sampler configured in code.
            let ratio = parse_ratio(&arg)?;
            c.sampler = match c.sampler {
                Sampling::TraceIdRatio(_) => Sampling::TraceIdRatio(ratio),
                Sampling::ParentBasedTraceIdRatio(_) => Sampling::ParentBasedTraceIdRatio(ratio),
                other => other,
            };
        }
        if let Some(v) = get("DEBUG_TOOLBAR_OTEL_JAEGER_UI") {
            c.jaeger_ui = Some(endpoint(parse_url("DEBUG_TOOLBAR_OTEL_JAEGER_UI", &v)?));
        }
        if let Some(v) = get("DEBUG_TOOLBAR_OTEL_ZIPKIN_UI") {
            c.zipkin_ui = Some(endpoint(parse_url("DEBUG_TOOLBAR_OTEL_ZIPKIN_UI", &v)?));
        }
        if let Some(v) = get("DEBUG_TOOLBAR_OTEL_FORWARD_RECEIVED") {
            c.forward_received = parse_bool("DEBUG_TOOLBAR_OTEL_FORWARD_RECEIVED", &v)?;
        }
        Ok(self)
    }

    /// Whether spans other services send to the toolbar's receiver (`{prefix}otlp/v1/traces`)
    /// are exported too, each under its own `service.name`. Services that export themselves
    /// would be exported twice, so by default they are only shown; the browser's spans, which
    /// nothing else exports, are exported either way.
    pub fn forward_received(mut self, forward: bool) -> Self {
        self.config.forward_received = forward;
        self
    }

    /// Sends spans to these backends. By default, none (unless the environment names one).
    pub fn exporters(mut self, exporters: impl IntoIterator<Item = Exporter>) -> Self {
        self.config.exporters = Vec::new();
        for exporter in exporters {
            if !self.config.exporters.contains(&exporter) {
                self.config.exporters.push(exporter);
            }
        }
        self
    }

    /// Exports over OTLP to `endpoint` with `protocol`; an HTTP endpoint is the full URL
    /// (`http://localhost:4318/v1/traces`). By default, nothing is exported over OTLP.
    pub fn otlp(mut self, protocol: Protocol, endpoint: impl Into<String>) -> Self {
        self.config.otlp_protocol = protocol;
        self.config.otlp_endpoint = Some(endpoint.into());
        if !self.config.exporters.contains(&Exporter::Otlp) {
            self.config.exporters.push(Exporter::Otlp);
        }
        self
    }

    /// Headers sent with every OTLP export, e.g. an API key. By default, none.
    pub fn otlp_headers(
        mut self,
        headers: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.config.otlp_headers = headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Exports to Zipkin's `/api/v2/spans` at `endpoint`. By default, nothing is exported to
    /// Zipkin.
    pub fn zipkin(mut self, endpoint: impl Into<String>) -> Self {
        self.config.zipkin_endpoint = endpoint.into();
        if !self.config.exporters.contains(&Exporter::Zipkin) {
            self.config.exporters.push(Exporter::Zipkin);
        }
        self
    }

    /// How long one batch may take to be sent, retries included, before its spans are counted
    /// as failed. By default, 10 seconds (the specification's default). Requests never wait
    /// for it: batches are sent on the exporters' own threads.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.config.otlp_timeout = timeout;
        self.config.zipkin_timeout = timeout;
        self
    }

    /// How often a batch refused with a retryable answer (gRPC `UNAVAILABLE`, or
    /// `RESOURCE_EXHAUSTED` with retry info; HTTP 429, 502, 503, 504; no answer at all) is tried
    /// again, with exponential back-off from 100 ms to 1.6 s plus up to 100 ms of jitter, waiting
    /// at least what the backend asks (`Retry-After`, gRPC `RetryInfo`), all within the
    /// [export timeout](Self::export_timeout). By default, 5; 0 switches retries off.
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.config.max_retries = retries;
        self
    }

    /// Compresses OTLP request bodies. By default, none.
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.config.otlp_compression = compression;
        self
    }

    /// The TLS set-up for an `https://` OTLP endpoint. By default, the system's roots and no
    /// client certificate.
    pub fn otlp_tls(mut self, tls: Tls) -> Self {
        self.config.otlp_tls = tls;
        self
    }

    /// Compresses Zipkin request bodies. By default, none.
    pub fn zipkin_compression(mut self, compression: Compression) -> Self {
        self.config.zipkin_compression = compression;
        self
    }

    /// The TLS set-up for an `https://` Zipkin endpoint. By default, the system's roots and no
    /// client certificate.
    pub fn zipkin_tls(mut self, tls: Tls) -> Self {
        self.config.zipkin_tls = tls;
        self
    }

    /// Most spans waiting for export; more are dropped and counted. By default, 2048.
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.config.max_queue_size = size.max(1);
        self
    }

    /// How long spans wait to be sent as one batch. By default, 500 ms.
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.config.scheduled_delay = delay;
        self
    }

    /// The `service.name` spans are reported under. By default, `unknown_service`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.config.service_name = name.into();
        self
    }

    /// The `service.version`. By default, none.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.config.service_version = Some(version.into());
        self
    }

    /// An extra resource attribute, e.g. `deployment.environment.name`. By default, none.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config
            .resource_attributes
            .push((key.into(), value.into()));
        self
    }

    /// Which traces are recorded and exported. By default, [`Sampling::ParentBasedAlwaysOn`].
    pub fn sampler(mut self, sampler: Sampling) -> Self {
        self.config.sampler = sampler;
        self
    }

    /// The Jaeger UI (e.g. `http://localhost:16686`), for a link to each trace. By default,
    /// no link.
    pub fn jaeger_ui(mut self, base: impl Into<String>) -> Self {
        self.config.jaeger_ui = Some(base.into().trim_end_matches('/').to_owned());
        self
    }

    /// The Zipkin UI (e.g. `http://localhost:9411`), for a link to each trace. By default,
    /// no link.
    pub fn zipkin_ui(mut self, base: impl Into<String>) -> Self {
        self.config.zipkin_ui = Some(base.into().trim_end_matches('/').to_owned());
        self
    }

    /// Exports nothing, whatever else is configured. By default, off.
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.config.sdk_disabled = disabled;
        self
    }

    /// The configuration.
    pub fn build(self) -> OtelConfig {
        self.config
    }
}

fn error(variable: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::new(variable, value, expected)
}

/// A parsed URL as the configuration keeps it: without a trailing `/`.
fn endpoint(url: url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

fn parse_exporters(value: &str) -> Result<Vec<Exporter>, ConfigError> {
    let mut exporters = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let exporter = match item.to_ascii_lowercase().as_str() {
            "otlp" => Exporter::Otlp,
            "zipkin" => Exporter::Zipkin,
            "none" => continue,
            _ => {
                return Err(error(
                    "OTEL_TRACES_EXPORTER",
                    value,
                    "otlp, zipkin or none, or a comma-separated list of them",
                ));
            }
        };
        if !exporters.contains(&exporter) {
            exporters.push(exporter);
        }
    }
    Ok(exporters)
}

fn parse_ratio(value: &str) -> Result<f64, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| {
            error(
                "OTEL_TRACES_SAMPLER_ARG",
                value,
                "a ratio from 0 to 1, e.g. 0.25",
            )
        })
}

fn parse_sampler(value: &str, arg: Option<&str>) -> Result<Sampling, ConfigError> {
    let ratio = || arg.map_or(Ok(1.0), parse_ratio);
    Ok(match value.trim().to_ascii_lowercase().as_str() {
        "always_on" => Sampling::AlwaysOn,
        "always_off" => Sampling::AlwaysOff,
        "traceidratio" => Sampling::TraceIdRatio(ratio()?),
        "parentbased_always_on" => Sampling::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampling::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampling::ParentBasedTraceIdRatio(ratio()?),
        _ => {
            return Err(error(
                "OTEL_TRACES_SAMPLER",
                value,
                "always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

#[cfg(test)]
mod tests {

    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<OtelConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Ok(OtelConfig::builder()
            .vars(|name| vars.get(name).cloned())?
            .build())
    }

    #[test]
    fn nothing_set_exports_nothing() {
        let config = from(&[]).unwrap();
        assert!(!config.exports());
        assert_eq!(config.service_name(), "unknown_service");
        assert_eq!(config.sampler(), Sampling::ParentBasedAlwaysOn);
        assert_eq!(config.otlp_endpoint(), "http://localhost:4318/v1/traces");
    }

    #[test]
    fn an_endpoint_alone_switches_its_exporter_on() {
        let config = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        assert_eq!(config.exporters(), &[Exporter::Otlp]);
        assert_eq!(config.otlp_endpoint(), "http://collector:4318/v1/traces");
        let config = from(&[(
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
            "http://z:9411/api/v2/spans",
        )])
        .unwrap();
        assert_eq!(config.exporters(), &[Exporter::Zipkin]);
    }

    #[test]
    fn signal_specific_variables_win_over_generic_ones() {
        let config = from(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=generic,x-a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces%20key"),
        ])
        .unwrap();
        assert_eq!(config.otlp_protocol(), Protocol::Grpc);
        assert_eq!(config.otlp_endpoint(), "http://traces:4317");
        assert_eq!(config.otlp_timeout, Duration::from_millis(700));
        assert_eq!(
            config.otlp_headers(),
            &[
                ("x-a".to_owned(), "1".to_owned()),
                ("api-key".to_owned(), "traces key".to_owned())
            ]
        );
    }

    #[test]
    fn generic_grpc_endpoint_is_used_as_is() {
        let config = from(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
        ])
        .unwrap();
        assert_eq!(config.otlp_endpoint(), "http://collector:4317");
    }

    #[test]
    fn service_name_beats_resource_attributes() {
        let config = from(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs,deployment.environment.name=dev%2C1",
        )])
        .unwrap();
        assert_eq!(config.service_name(), "from-attrs");
        assert_eq!(
            config.resource_attributes(),
            &[("deployment.environment.name".to_owned(), "dev,1".to_owned())]
        );
        let config = from(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
            ("OTEL_SERVICE_NAME", "shop"),
        ])
        .unwrap();
        assert_eq!(config.service_name(), "shop");
    }

    #[test]
    fn exporter_lists_and_none() {
        let config = from(&[
            ("OTEL_TRACES_EXPORTER", "zipkin, otlp"),
            (
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
                "http://z:9411/api/v2/spans",
            ),
        ])
        .unwrap();
        assert_eq!(config.exporters(), &[Exporter::Zipkin, Exporter::Otlp]);
        let config = from(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ])
        .unwrap();
        assert!(!config.exports());
        let config = from(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert!(!config.exports());
    }

    #[test]
    fn samplers_and_their_argument() {
        let cases = [
            ("always_on", None, Sampling::AlwaysOn),
            ("always_off", None, Sampling::AlwaysOff),
            ("traceidratio", Some("0.25"), Sampling::TraceIdRatio(0.25)),
            ("traceidratio", None, Sampling::TraceIdRatio(1.0)),
            (
                "parentbased_always_off",
                None,
                Sampling::ParentBasedAlwaysOff,
            ),
            (
                "parentbased_traceidratio",
                Some("0"),
                Sampling::ParentBasedTraceIdRatio(0.0),
            ),
        ];
        for (sampler, arg, expected) in cases {
            let mut vars = vec![("OTEL_TRACES_SAMPLER", sampler)];
            if let Some(arg) = arg {
                vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
            }
            assert_eq!(from(&vars).unwrap().sampler(), expected, "{sampler}");
        }
    }

    #[test]
    fn invalid_values_name_the_variable_and_what_is_accepted() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (
                &[("OTEL_SDK_DISABLED", "yes please")],
                "OTEL_SDK_DISABLED",
                "true or false",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "grpc or http/protobuf",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp")],
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "grpc or http/protobuf",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http:// or https:// URL",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_TIMEOUT", "3s")],
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "milliseconds",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
                "OTEL_EXPORTER_OTLP_HEADERS",
                "key=value",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_HEADERS", "a=%zz")],
                "OTEL_EXPORTER_OTLP_HEADERS",
                "percent-encoded",
            ),
            (
                &[("OTEL_TRACES_EXPORTER", "jaeger")],
                "OTEL_TRACES_EXPORTER",
                "otlp, zipkin or none",
            ),
            (
                &[("OTEL_TRACES_SAMPLER", "sometimes")],
                "OTEL_TRACES_SAMPLER",
                "parentbased_always_on",
            ),
            (
                &[
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
                ],
                "OTEL_TRACES_SAMPLER_ARG",
                "ratio from 0 to 1",
            ),
            (
                &[("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "ftp://x")],
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
                "URL",
            ),
            (
                &[("DEBUG_TOOLBAR_OTEL_JAEGER_UI", "localhost:16686")],
                "DEBUG_TOOLBAR_OTEL_JAEGER_UI",
                "URL",
            ),
        ];
        for (vars, variable, expected) in cases {
            let err = from(vars).unwrap_err();
            assert_eq!(err.variable(), *variable, "{vars:?}");
            let message = err.to_string();
            assert!(message.contains(variable), "{message}");
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn the_builder_sets_what_the_variables_set() {
        let config = OtelConfig::builder()
            .exporters([Exporter::Zipkin, Exporter::Otlp, Exporter::Zipkin])
            .otlp_headers([("api-key", "k1"), ("x-team", "web")])
            .service_name("shop")
            .service_version("1.2.3")
            .resource_attribute("deployment.environment.name", "dev")
            .sampler(Sampling::TraceIdRatio(0.5))
            .zipkin("http://z:9411/api/v2/spans")
            .jaeger_ui("http://jaeger:16686/")
            .zipkin_ui("http://zipkin:9411/")
            .build();
        assert_eq!(
            config.exporters(),
            &[Exporter::Zipkin, Exporter::Otlp],
            "listed once each, in order"
        );
        assert_eq!(
            config.otlp_headers(),
            &[
                ("api-key".to_owned(), "k1".to_owned()),
                ("x-team".to_owned(), "web".to_owned())
            ]
        );
        assert_eq!(config.service_name(), "shop");
        assert_eq!(config.service_version.as_deref(), Some("1.2.3"));
        assert_eq!(
            config.resource_attributes(),
            &[("deployment.environment.name".to_owned(), "dev".to_owned())]
        );
        assert_eq!(config.sampler(), Sampling::TraceIdRatio(0.5));
        assert_eq!(config.zipkin_endpoint(), "http://z:9411/api/v2/spans");
        assert_eq!(config.jaeger_ui(), Some("http://jaeger:16686"));
        assert_eq!(config.zipkin_ui(), Some("http://zipkin:9411"));

        let names: Vec<&str> = config.exporters().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["zipkin", "otlp"]);
        assert_eq!(
            [Protocol::Grpc.name(), Protocol::HttpProtobuf.name()],
            ["grpc", "http/protobuf"]
        );
    }

    #[test]
    fn sdk_disabled_lists_no_exporter_and_exports_nothing() {
        let config = OtelConfig::builder()
            .otlp(Protocol::Grpc, "http://collector:4317")
            .sdk_disabled(true)
            .build();
        assert!(!config.exports());
        assert!(config.exporters().is_empty());
        let config = from(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_TRACES_EXPORTER", "otlp"),
        ])
        .unwrap();
        assert_eq!(
            config.otlp_endpoint(),
            "http://localhost:4317",
            "gRPC's default port"
        );
    }

    #[test]
    fn variables_apply_over_what_the_builder_set() {
        let vars: HashMap<&str, &str> = [
            ("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "250"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.version=2.0.0,team=web"),
            ("DEBUG_TOOLBAR_OTEL_ZIPKIN_UI", "https://zipkin.example/"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ]
        .into_iter()
        .collect();
        let config = OtelConfig::builder()
            .sampler(Sampling::ParentBasedTraceIdRatio(1.0))
            .vars(|name| vars.get(name).map(|v| (*v).to_owned()))
            .unwrap()
            .build();
        assert_eq!(config.zipkin_timeout, Duration::from_millis(250));
        assert_eq!(config.service_version.as_deref(), Some("2.0.0"));
        assert_eq!(
            config.resource_attributes(),
            &[("team".to_owned(), "web".to_owned())]
        );
        assert_eq!(config.zipkin_ui(), Some("https://zipkin.example"));
        assert_eq!(
            config.sampler(),
            Sampling::ParentBasedTraceIdRatio(0.1),
            "the argument alone adjusts a ratio sampler set in code"
        );
    }

    #[test]
    fn a_sampler_argument_alone_leaves_other_samplers_alone() {
        for (sampler, expected) in [
            (Sampling::TraceIdRatio(1.0), Sampling::TraceIdRatio(0.3)),
            (Sampling::AlwaysOff, Sampling::AlwaysOff),
            (Sampling::ParentBasedAlwaysOn, Sampling::ParentBasedAlwaysOn),
        ] {
            let config = OtelConfig::builder()
                .sampler(sampler)
                .vars(|name| (name == "OTEL_TRACES_SAMPLER_ARG").then(|| "0.3".to_owned()))
                .unwrap()
                .build();
            assert_eq!(config.sampler(), expected, "{sampler:?}");
        }
        let err = OtelConfig::builder()
            .sampler(Sampling::TraceIdRatio(1.0))
            .vars(|name| (name == "OTEL_TRACES_SAMPLER_ARG").then(|| "half".to_owned()))
            .unwrap_err();
        assert_eq!(err.variable(), "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn more_invalid_values_name_the_variable() {
        type Case<'a> = (&'a str, &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            ("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "0", "greater than 0"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http:///v1/traces",
                "URL",
            ),
            ("DEBUG_TOOLBAR_OTEL_ZIPKIN_UI", "zipkin:9411", "URL"),
        ];
        for (variable, value, expected) in cases {
            let err = from(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable(), *variable);
            assert!(err.expected().contains(expected), "{err}");
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn invalid_pairs_are_reported_by_entry_and_key_never_by_value() {
        type Case<'a> = (&'a str, &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            ("OTEL_RESOURCE_ATTRIBUTES", "=nameless", "entry 1 is"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "x-team=web,api-key=sekr%4",
                "entry 2 (key \"api-key\")",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "api-key=k1,Bearer sekr",
                "entry 2 is",
            ),
        ];
        for (variable, value, position) in cases {
            let err = from(&[(variable, value)]).unwrap_err();
            let message = err.to_string();
            assert_eq!(err.variable(), *variable);
            assert!(err.expected().contains("key=value"), "{message}");
            assert!(message.contains(position), "{message}");
            for secret in ["nameless", "sekr", "k1"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
    }

    #[test]
    fn endpoints_in_errors_lose_their_credentials() {
        let err = from(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "ftp://user:sekr@collector:4317",
        )])
        .unwrap_err();
        assert!(!err.to_string().contains("sekr"), "{err}");
        assert!(err.to_string().contains("collector:4317"), "{err}");
    }

    #[test]
    fn debug_output_hides_header_values() {
        let config = OtelConfig::builder()
            .otlp_headers([("api-key", "sekr")])
            .build();
        let debug = format!("{config:?}");
        assert!(debug.contains("api-key"), "{debug}");
        assert!(!debug.contains("sekr"), "{debug}");
    }

    #[test]
    fn the_lossy_constructor_keeps_defaults_for_invalid_values_only() {
        let vars: HashMap<&str, &str> = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_SERVICE_NAME", "shop"),
            ("OTEL_TRACES_SAMPLER", "nope"),
        ]
        .into_iter()
        .collect();
        let config = OtelConfig::from_vars_lossy(|name| vars.get(name).map(|v| (*v).to_owned()));
        assert_eq!(config.service_name(), "shop");
        assert_eq!(config.otlp_protocol(), Protocol::HttpProtobuf);
        assert_eq!(config.sampler(), Sampling::ParentBasedAlwaysOn);
    }
}
