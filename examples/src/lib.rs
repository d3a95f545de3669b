//! Examples of actix-debug-toolbar (`examples/*.rs`), and the README's Rust code blocks compiled
//! as doctests of this crate.

/// The README's code blocks, each compiled by `cargo test --doc -p debug-toolbar-examples`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
