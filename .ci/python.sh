#!/usr/bin/env bash
# Installs the OpenTelemetry Python SDK and its OTLP/HTTP exporter from PyPI, which the
# receiver test runs as a downstream service, when they are missing.
set -euo pipefail

if python3 -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http" 2>/dev/null; then
  echo "the OpenTelemetry Python SDK is installed"
  exit 0
fi

echo "installing opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http"
python3 -m pip install --quiet opentelemetry-sdk opentelemetry-exporter-otlp-proto-http \
  || python3 -m pip install --quiet --user --break-system-packages \
    opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
echo "the OpenTelemetry Python SDK is installed"
