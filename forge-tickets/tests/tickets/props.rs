//! Properties of the parsers, the merge of concurrent edits, magic words
//! and document paths, on generated input.

use forge_tickets::engine::kind::{classify, DocFile, Slot, PROVISIONAL_BASE};
use forge_tickets::magic::issue_references;
use forge_tickets::merge::merge_documents;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Scalars of the kinds ticket documents hold, floats and negatives included.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z]{0,3}".prop_map(Value::String),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// A document-like object: a few keys, scalar values, sets, nested maps.
fn document() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        scalar(),
        prop::collection::vec(scalar(), 0..6).prop_map(Value::Array),
        prop::collection::btree_map("[a-c]", scalar(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    prop::collection::btree_map(
        prop_oneof![
            Just("title".to_string()),
            Just("tags".to_string()),
            Just("updated_at".to_string()),
            "[a-e]"
        ],
        value,
        0..6,
    )
    .prop_map(|m| {
        let mut map: Map<String, Value> = m.into_iter().collect();
        map.insert("uid".into(), json!("same"));
        Value::Object(map)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_merge_never_panics_and_is_symmetric(b in document(), o in document(), t in document()) {
        let ours = merge_documents(&b, &o, &t);
        let theirs = merge_documents(&b, &t, &o);
        prop_assert_eq!(ours, theirs);
    }

    #[test]
    fn the_merge_is_idempotent(b in document(), o in document()) {
        prop_assert_eq!(merge_documents(&b, &o, &o).ok(), Some(o.clone()));
        let merged = merge_documents(&b, &o, &b).expect("same document");
        prop_assert_eq!(merge_documents(&b, &merged, &merged).ok(), Some(merged));
    }

    #[test]
    fn document_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), n in 0u64..300) {
        let _ = forge_tickets::doc::parse_issue(&format!("{:02}/{n}/issue.json", n % 100), &bytes);
        let _ = forge_tickets::doc::parse_comment(&format!("{:02}/{n}/comment-x.json", n % 100), &bytes);
        let _ = forge_tickets::request::parse_request(&format!("{:02}/{n}/request.json", n % 100), &bytes);
    }

    #[test]
    fn document_parsers_take_any_json(doc in document(), number in any::<u64>(), id in any::<i64>()) {
        let mut doc = doc;
        doc["number"] = json!(number);
        doc["id"] = json!(id);
        let bytes = serde_json::to_vec(&doc).expect("json");
        let _ = forge_tickets::doc::parse_issue("01/1/issue.json", &bytes);
        let _ = forge_tickets::request::parse_request("01/1/request.json", &bytes);
        let _ = forge_tickets::doc::parse_comment("01/1/comment-x.json", &bytes);
    }

    #[test]
    fn magic_words_find_only_what_the_text_names(
        words in prop::collection::vec(
            prop_oneof![
                Just("Fixes".to_string()), Just("closes".to_string()), Just("relates to".to_string()),
                Just("and".to_string()), Just(",".to_string()), Just(":".to_string()), Just(" ".to_string()),
                (0u64..1000).prop_map(|n| format!("#{n}")),
                "[a-zé✓ \\n]{0,4}",
            ],
            0..40,
        )
    ) {
        let text = words.join(" ");
        let found = issue_references(&text);
        let mut seen = std::collections::HashSet::new();
        for r in &found {
            prop_assert!(text.contains(&format!("#{}", r.number())), "{r:?} not in {text:?}");
            prop_assert!(seen.insert(*r), "{r:?} twice");
        }
    }

    #[test]
    fn magic_words_never_panic_on_any_text(text in "\\PC{0,200}") {
        let _ = issue_references(&text);
    }

    #[test]
    fn document_paths_classify_and_round_trip(n in 1u64..PROVISIONAL_BASE, id in "[a-zA-Z0-9_-]{1,64}") {
        let dir = Slot::Numbered(n).dir();
        prop_assert_eq!(classify(&format!("{dir}/issue.json"), "issue.json"), Some((Slot::Numbered(n), DocFile::Main)));
        prop_assert_eq!(
            classify(&format!("new/{id}/comment-{id}.json"), "issue.json"),
            Some((Slot::Provisional(id.clone()), DocFile::Comment(id.clone())))
        );
    }

    #[test]
    fn any_path_classifies_to_itself_or_nothing(path in "[0-9a-z/._-]{0,30}") {
        if let Some((slot, file)) = classify(&path, "issue.json") {
            let again = match file {
                DocFile::Main => format!("{}/issue.json", slot.dir()),
                DocFile::Comment(id) => format!("{}/comment-{id}.json", slot.dir()),
            };
            prop_assert_eq!(again, path);
        }
    }

    #[test]
    fn issue_numbers_parse_with_checked_arithmetic(text in "[~#]?[0-9]{0,25}") {
        if let Some(n) = forge_tickets::parse_number(&text) {
            prop_assert!(n > 0);
            prop_assert_eq!(forge_tickets::parse_number(&forge_tickets::display_number(n)), Some(n));
        }
    }
}
