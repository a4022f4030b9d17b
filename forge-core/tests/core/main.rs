#![allow(missing_docs)]
//! Properties of name and path validation on generated input: nothing
//! panics, and what is accepted is safe to use as a path.

mod markdown;

use forge_core::name;
use forge_core::repo_access::{parse_ssh_command, RepoRef};
use proptest::prelude::*;

/// Strings with the characters that make paths and names go wrong.
fn tricky() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("/".to_string()),
            Just("..".to_string()),
            Just(".".to_string()),
            Just("~".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just("%2F".to_string()),
            Just(".git".to_string()),
            Just("forks".to_string()),
            Just("tickets".to_string()),
            "[a-zA-Z0-9_-]{1,4}",
            "\\PC{1,2}",
            prop::char::range('\0', '\u{1f}').prop_map(String::from),
        ],
        0..10,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn accepted_project_names_are_safe_paths(text in tricky()) {
        if name::split_project(&text).is_ok() {
            prop_assert!(!text.split('/').any(|p| p.is_empty() || p == "." || p == ".."), "{text:?}");
            prop_assert!(!text.starts_with('/') && !text.chars().any(char::is_control), "{text:?}");
        }
        let _ = name::validate("user", &text);
        let _ = name::validate_label("tag", &text);
        let _ = name::printable(&text);
    }

    #[test]
    fn repository_paths_parse_to_what_they_display(text in tricky()) {
        if let Ok(repo) = RepoRef::parse(&text) {
            prop_assert!(!repo.project.split('/').any(|p| p == ".." || p == "." || p.is_empty()));
            prop_assert_eq!(RepoRef::parse(&repo.display()).ok(), Some(repo));
        }
    }

    #[test]
    fn ssh_commands_never_panic_and_never_take_options(text in tricky(), verb in prop_oneof![
        Just("git-upload-pack "), Just("git-receive-pack "), Just("git upload-pack "), Just("ls ")
    ]) {
        if let Ok((_, path)) = parse_ssh_command(&format!("{verb}{text}")) {
            prop_assert!(!path.starts_with('-') && !path.chars().any(char::is_control), "{path:?}");
        }
    }
}
