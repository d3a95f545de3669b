//! Cross-crate integration and end-to-end tests of the debug toolbar live in `it/`; this
//! library is empty so that the package has a target besides its one test binary.
