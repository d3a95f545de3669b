//! Integration tests: the middleware, its routes and panels through actix-web's test utilities,
//! and the demo in a real headless Chromium.

mod support;
