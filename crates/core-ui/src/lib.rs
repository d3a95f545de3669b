//! Compile-fail tests of debug-toolbar-core's macros (`tests/ui`); nothing to use here.
