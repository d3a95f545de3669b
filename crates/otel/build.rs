//! Finds the version of `opentelemetry_sdk` this crate is built against, for the
//! `telemetry.sdk.version` resource attribute of exported spans.
//!
//! Cargo does not tell a build script its dependencies' versions, so this reads the
//! `Cargo.lock` of the workspace being built (the nearest one above the build directory).

use std::path::{Path, PathBuf};

fn main() {
    let version = lock_file()
        .and_then(|lock| {
            println!("cargo:rerun-if-changed={}", lock.display());
            std::fs::read_to_string(lock).ok()
        })
        .and_then(|text| package_version(&text, "opentelemetry_sdk"))
        .unwrap_or_else(|| "0.33".to_owned());
    println!("cargo:rustc-env=DEBUG_TOOLBAR_OTEL_SDK_VERSION={version}");
}

fn lock_file() -> Option<PathBuf> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR")?);
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    [out_dir.as_path(), manifest_dir.as_path()]
        .into_iter()
        .flat_map(Path::ancestors)
        .map(|dir| dir.join("Cargo.lock"))
        .find(|lock| lock.is_file())
}

/// The version of the first `[[package]]` named `name` in a `Cargo.lock`.
fn package_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}
