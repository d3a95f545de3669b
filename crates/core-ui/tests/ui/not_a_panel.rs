/// Forgot `impl Panel for Counter`.
struct Counter;

debug_toolbar_core::register_panel!(Counter);

fn main() {}
