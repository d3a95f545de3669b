//! What `cargo package` needs: every file a library crate embeds lies inside that crate, and the
//! README, which the actix crate ships as its crates.io page, links only to absolute URLs.

use std::path::{Path, PathBuf};

const LIBRARY_CRATES: [&str; 4] = ["core", "panels", "otel", "actix"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal arguments of `include_str!` and `include_bytes!` in `source`.
fn embedded_paths(source: &str) -> Vec<&str> {
    ["include_str!(\"", "include_bytes!(\""]
        .iter()
        .flat_map(|open| {
            source
                .match_indices(open)
                .map(move |(at, _)| at + open.len())
        })
        .filter_map(|start| {
            let rest = &source[start..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn every_embedded_file_lies_inside_its_crate() {
    let mut checked = 0;
    for name in LIBRARY_CRATES {
        let crate_dir = workspace()
            .join("crates")
            .join(name)
            .canonicalize()
            .unwrap();
        let mut files = Vec::new();
        rust_files(&crate_dir, &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for embedded in embedded_paths(&source) {
                let target = file.parent().unwrap().join(embedded);
                let target = target
                    .canonicalize()
                    .unwrap_or_else(|e| panic!("{}: {embedded}: {e}", file.display()));
                assert!(
                    target.starts_with(&crate_dir),
                    "{} embeds {}, outside its crate: cargo package would not ship it",
                    file.display(),
                    target.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 18, "only {checked} embedded files found");
}

#[test]
fn the_readme_links_only_to_absolute_urls() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let relative: Vec<&str> = readme
        .match_indices("](")
        .map(|(at, _)| &readme[at + 2..])
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.starts_with("https://") && !target.starts_with('#'))
        .collect();
    assert!(
        relative.is_empty(),
        "README links that break on crates.io: {relative:?}"
    );
}
