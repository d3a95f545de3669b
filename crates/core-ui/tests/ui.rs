//! `register_panel!` misused fails to compile with a message that says what to do.

#[test]
fn register_panel_of_a_type_that_is_not_a_panel_names_the_trait_to_implement() {
    trybuild::TestCases::new().compile_fail("tests/ui/not_a_panel.rs");
}
