//! Export that survives a collector restart, over TLS and compressed: the demo served for real,
//! its spans sent to in-process receivers that refuse the first batches the way a restarting
//! collector does, or that speak TLS with certificates the test made.

use std::time::{Duration, Instant};

use actix_debug_toolbar::otel::{
    Compression, OtelConfig, OtelConfigBuilder, OtelPanel, Protocol, Tls,
};

use crate::otel::pki::Pki;
use crate::otel::receivers::{Receivers, Setup, Wire};
use crate::otel::{TRACE, TRACEPARENT, USERS_SPANS, demo_server, get_users, shut_down};

/// A panel exporting as `config` says, quickly, within `timeout` per batch.
fn panel(config: OtelConfigBuilder, timeout: Duration) -> OtelPanel {
    OtelPanel::try_new(
        config
            .service_name("demo-under-test")
            .scheduled_delay(Duration::from_millis(50))
            .export_timeout(timeout)
            .build(),
    )
    .expect("exporters build")
}

/// Serves one `GET /users` with the test's `traceparent` and stops the server; the export
/// goes on in the background.
async fn one_request(otel: &OtelPanel) {
    let (base, _toolbar, handle) = demo_server(otel).await;
    let _ = get_users(&base, Some(TRACEPARENT)).await;
    handle.stop(true).await;
}

#[actix_web::test]
async fn a_collector_that_refuses_twice_loses_no_span_on_any_wire() {
    let receivers = Receivers::start_with(Setup {
        refuse_first: 2,
        tls: None,
    });
    let grpc = panel(
        OtelConfig::builder().otlp(Protocol::Grpc, receivers.grpc_endpoint.clone()),
        Duration::from_secs(10),
    );
    let http = panel(
        OtelConfig::builder().otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone()),
        Duration::from_secs(10),
    );
    let zipkin = panel(
        OtelConfig::builder().zipkin(receivers.zipkin_endpoint.clone()),
        Duration::from_secs(10),
    );
    let started = Instant::now();
    for otel in [&grpc, &http, &zipkin] {
        one_request(otel).await;
    }
    let requests_took = started.elapsed();
    for wire in [Wire::Grpc, Wire::Http, Wire::Zipkin] {
        let spans = receivers.wait_for(wire, TRACE, USERS_SPANS, Duration::from_secs(15));
        assert!(
            spans.len() >= USERS_SPANS,
            "{wire:?}: {} spans",
            spans.len()
        );
        let arrivals: Vec<_> = receivers
            .arrivals()
            .into_iter()
            .filter(|a| a.wire == wire)
            .collect();
        let accepted: Vec<bool> = arrivals.iter().map(|a| a.accepted).collect();
        assert_eq!(
            accepted,
            [false, false, true],
            "{wire:?}: one batch, sent three times"
        );
        // Each refusal asked for one second; back-off and jitter add at most a few hundred ms.
        let waited = arrivals[2].at - arrivals[0].at;
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_secs(4),
            "{wire:?}: delivered {waited:?} after the first refusal"
        );
    }
    for otel in [&grpc, &http, &zipkin] {
        shut_down(otel).await.expect("flushed");
        let status = &otel.export_status()[0];
        assert_eq!(
            (status.exported as usize, status.failed, status.dropped),
            (USERS_SPANS, 0, 0),
            "{status:#?}"
        );
    }
    assert!(
        requests_took < Duration::from_secs(2),
        "requests never wait for export: {requests_took:?}"
    );
}

#[actix_web::test]
async fn an_outage_longer_than_the_timeout_is_counted_as_failed() {
    let receivers = Receivers::start_with(Setup {
        refuse_first: 100,
        tls: None,
    });
    let otel = panel(
        OtelConfig::builder().otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone()),
        Duration::from_millis(1500),
    );
    one_request(&otel).await;
    let started = Instant::now();
    shut_down(&otel).await.expect("shut down");
    let status = &otel.export_status()[0];
    assert_eq!(status.failed as usize, USERS_SPANS, "{status:#?}");
    assert_eq!(status.exported, 0);
    assert!(status.failing);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by the timeout: {:?}",
        started.elapsed()
    );
    let refused = receivers.arrivals().len();
    assert!((1..=3).contains(&refused), "{refused} attempts in 1.5 s");
}

#[actix_web::test]
async fn every_wire_speaks_mutual_tls_with_the_certificates_it_is_given() {
    let pki = Pki::new();
    let receivers = Receivers::start_with(Setup {
        refuse_first: 0,
        tls: Some(&pki),
    });
    assert!(receivers.grpc_endpoint.starts_with("https://"));
    let tls = Tls::new()
        .certificate(&pki.ca_file)
        .client_identity(&pki.client_file, &pki.client_key_file);
    let grpc = panel(
        OtelConfig::builder()
            .otlp(Protocol::Grpc, receivers.grpc_endpoint.clone())
            .otlp_tls(tls.clone())
            .otlp_compression(Compression::Gzip),
        Duration::from_secs(5),
    );
    let http = panel(
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone())
            .otlp_tls(tls.clone())
            .otlp_compression(Compression::Gzip),
        Duration::from_secs(5),
    );
    let zipkin = panel(
        OtelConfig::builder()
            .zipkin(receivers.zipkin_endpoint.clone())
            .zipkin_tls(tls)
            .zipkin_compression(Compression::Gzip),
        Duration::from_secs(5),
    );
    for otel in [&grpc, &http, &zipkin] {
        one_request(otel).await;
        shut_down(otel).await.expect("flushed");
        let status = &otel.export_status()[0];
        assert_eq!(status.exported as usize, USERS_SPANS, "{status:#?}");
    }
    for wire in [Wire::Grpc, Wire::Http, Wire::Zipkin] {
        let spans = receivers.wait_for(wire, TRACE, USERS_SPANS, Duration::from_secs(5));
        assert_eq!(spans.len(), USERS_SPANS, "{wire:?}");
        assert!(spans.iter().all(|s| s.service_name == "demo-under-test"));
    }
    let encodings: Vec<(Wire, Option<String>)> = receivers
        .arrivals()
        .into_iter()
        .map(|a| (a.wire, a.encoding))
        .collect();
    for wire in [Wire::Grpc, Wire::Http, Wire::Zipkin] {
        assert!(
            encodings.contains(&(wire, Some("gzip".to_owned()))),
            "{wire:?} compressed: {encodings:?}"
        );
    }
}

#[actix_web::test]
async fn a_server_the_roots_do_not_trust_or_a_missing_client_certificate_fails_the_export() {
    let pki = Pki::new();
    let receivers = Receivers::start_with(Setup {
        refuse_first: 0,
        tls: Some(&pki),
    });
    let other = Pki::new();
    let cases = [
        // The system's roots do not know the test's CA.
        ("system roots", Tls::new()),
        // Another CA.
        ("another CA", Tls::new().certificate(&other.ca_file)),
        // The right CA, but no client certificate for a server that asks for one.
        (
            "no client certificate",
            Tls::new().certificate(&pki.ca_file),
        ),
    ];
    for (case, tls) in cases {
        for config in [
            OtelConfig::builder()
                .otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone())
                .otlp_tls(tls.clone()),
            OtelConfig::builder()
                .otlp(Protocol::Grpc, receivers.grpc_endpoint.clone())
                .otlp_tls(tls.clone()),
            OtelConfig::builder()
                .zipkin(receivers.zipkin_endpoint.clone())
                .zipkin_tls(tls.clone()),
        ] {
            let otel = panel(config.max_retries(0), Duration::from_secs(2));
            one_request(&otel).await;
            let _ = shut_down(&otel).await;
            let status = &otel.export_status()[0];
            assert_eq!(
                (status.exported, status.failed as usize),
                (0, USERS_SPANS),
                "{case}: {status:#?}"
            );
        }
    }
    assert!(
        receivers.arrivals().is_empty(),
        "no batch got through the handshake"
    );
}

#[test]
fn tls_files_that_cannot_be_read_fail_the_build_and_name_the_file() {
    let pki = Pki::new();
    let missing = std::env::temp_dir().join("debug-toolbar-no-such-ca.pem");
    for config in [
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, "https://127.0.0.1:9/v1/traces")
            .otlp_tls(Tls::new().certificate(&missing)),
        OtelConfig::builder()
            .otlp(Protocol::Grpc, "https://127.0.0.1:9")
            .otlp_tls(Tls::new().certificate(&missing)),
        OtelConfig::builder()
            .zipkin("https://127.0.0.1:9/api/v2/spans")
            .zipkin_tls(
                Tls::new()
                    .certificate(&pki.ca_file)
                    .client_identity(&pki.client_file, &missing),
            ),
    ] {
        let err = OtelPanel::try_new(config.build()).unwrap_err().to_string();
        assert!(err.contains("debug-toolbar-no-such-ca.pem"), "{err}");
    }
    let key = std::fs::read_to_string(&pki.client_key_file).unwrap();
    let err = OtelPanel::try_new(
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, "https://127.0.0.1:9/v1/traces")
            .otlp_tls(Tls::new().client_identity(&pki.client_key_file, &pki.client_file))
            .build(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        !err.contains(key.lines().nth(1).unwrap_or("-")),
        "no key material: {err}"
    );
}

#[test]
fn the_tls_variables_configure_the_otlp_exporter() {
    let pki = Pki::new();
    let ca = pki.ca_file.display().to_string();
    let client = pki.client_file.display().to_string();
    let key = pki.client_key_file.display().to_string();
    let vars = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:4317"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nowhere/generic.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca.as_str()),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client.as_str()),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", key.as_str()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let config = OtelConfig::builder().vars(lookup).unwrap().build();
    let expected = OtelConfig::builder()
        .otlp(Protocol::Grpc, "https://127.0.0.1:4317")
        .otlp_tls(
            Tls::new()
                .certificate(&pki.ca_file)
                .client_identity(&pki.client_file, &pki.client_key_file),
        )
        .otlp_compression(Compression::Gzip)
        .build();
    assert_eq!(config, expected, "signal-specific variables win");
    OtelPanel::try_new(config).expect("the files are readable");

    let err = OtelConfig::builder()
        .vars(|name| {
            (name == "OTEL_EXPORTER_OTLP_CLIENT_KEY").then(|| "/secret/key.pem".to_owned())
        })
        .unwrap_err();
    assert_eq!(err.variable(), "OTEL_EXPORTER_OTLP_CLIENT_KEY");
    assert!(!err.to_string().contains("/secret"), "{err}");
    let err = OtelConfig::builder()
        .vars(|name| (name == "OTEL_EXPORTER_OTLP_COMPRESSION").then(|| "br".to_owned()))
        .unwrap_err();
    assert!(err.to_string().contains("gzip or none"), "{err}");
}
