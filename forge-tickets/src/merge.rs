//! Three-way merge of ticket documents, used as git's merge driver in clones.
//!
//! Keys changed on one side only take that side. Lists that are sets (tags,
//! links, watchers, reaction users) merge as sets: what either side added is
//! added, what either side removed is removed. Objects (custom fields,
//! reactions) merge key by key. When both sides set one scalar key to
//! different values, the side whose `updated_at` (or `edited_at`) is later
//! wins, and on a tie the greater value as JSON text — so every clone
//! resolves the conflict the same way, and the loser stays in the history.

use serde_json::{Map, Value};

/// Merges `ours` and `theirs`, both derived from `base` (`Value::Null` when
/// the file was added on both sides). Fails only when the documents are not
/// JSON objects or are two different issues or comments.
pub fn merge_documents(base: &Value, ours: &Value, theirs: &Value) -> Result<Value, String> {
    let (Some(o), Some(t)) = (ours.as_object(), theirs.as_object()) else {
        return Err("both sides must be JSON objects".into());
    };
    for identity in ["uid", "id"] {
        if o.get(identity) != t.get(identity) {
            return Err(format!(
                "the two sides are different documents (`{identity}` {} vs {})",
                o.get(identity).unwrap_or(&Value::Null),
                t.get(identity).unwrap_or(&Value::Null)
            ));
        }
    }
    let empty = Map::new();
    let b = base.as_object().unwrap_or(&empty);
    let ours_wins = ours_is_later(o, t);
    Ok(Value::Object(merge_objects(b, o, t, ours_wins)))
}

fn stamp(doc: &Map<String, Value>) -> &str {
    ["updated_at", "edited_at", "created_at"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .unwrap_or("")
}

fn ours_is_later(o: &Map<String, Value>, t: &Map<String, Value>) -> bool {
    // RFC 3339 UTC strings of one format compare in time order.
    match stamp(o).cmp(stamp(t)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            serde_json::to_string(o).unwrap_or_default()
                >= serde_json::to_string(t).unwrap_or_default()
        }
    }
}

fn merge_objects(
    b: &Map<String, Value>,
    o: &Map<String, Value>,
    t: &Map<String, Value>,
    ours_wins: bool,
) -> Map<String, Value> {
    let mut keys: Vec<&String> = o.keys().chain(t.keys()).chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let (bv, ov, tv) = (b.get(key), o.get(key), t.get(key));
        if let Some(v) = merge_value(key, bv, ov, tv, ours_wins) {
            out.insert(key.clone(), v);
        }
    }
    out
}

fn merge_value(
    key: &str,
    b: Option<&Value>,
    o: Option<&Value>,
    t: Option<&Value>,
    ours_wins: bool,
) -> Option<Value> {
    if o == t {
        return o.cloned();
    }
    if o == b {
        return t.cloned();
    }
    if t == b {
        return o.cloned();
    }
    // Both sides changed this key, differently.
    if matches!(key, "updated_at" | "edited_at") {
        // The later time; values that are not times, by their JSON text,
        // so that both sides pick the same.
        return o.into_iter().chain(t).max_by(|x, y| order(x, y)).cloned();
    }
    match (o, t) {
        (Some(Value::Array(oa)), Some(Value::Array(ta))) if is_set(oa) && is_set(ta) => {
            let empty = Vec::new();
            let ba = b.and_then(Value::as_array).unwrap_or(&empty);
            Some(Value::Array(merge_sets(ba, oa, ta)))
        }
        (Some(Value::Object(om)), Some(Value::Object(tm))) => {
            let empty = Map::new();
            let bm = b.and_then(Value::as_object).unwrap_or(&empty);
            Some(Value::Object(merge_objects(bm, om, tm, ours_wins)))
        }
        _ => {
            if ours_wins {
                o.cloned()
            } else {
                t.cloned()
            }
        }
    }
}

/// Lists of scalars are sets in ticket documents (tags, links, watchers).
fn is_set(items: &[Value]) -> bool {
    items.iter().all(|v| v.is_string() || v.is_number())
}

/// A total order of scalar JSON values: numbers (by value, then by their
/// text, so 1 and 1.0 differ), then strings, then anything else by its text.
fn order(x: &Value, y: &Value) -> std::cmp::Ordering {
    let rank = |v: &Value| match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        _ => 2,
    };
    rank(x).cmp(&rank(y)).then_with(|| match (x, y) {
        (Value::Number(a), Value::Number(b)) => {
            let (fa, fb) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            fa.total_cmp(&fb)
                .then_with(|| a.to_string().cmp(&b.to_string()))
        }
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => x.to_string().cmp(&y.to_string()),
    })
}

/// What either side added stays; what either side removed goes. Linear in
/// the sizes of the three lists (hashed by JSON text), sorted the same way
/// whichever side is ours.
fn merge_sets(b: &[Value], o: &[Value], t: &[Value]) -> Vec<Value> {
    use std::collections::HashSet;
    let keys = |list: &[Value]| -> HashSet<String> { list.iter().map(Value::to_string).collect() };
    let (bk, ok, tk) = (keys(b), keys(o), keys(t));
    let mut seen = HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    for v in o.iter().chain(t) {
        let key = v.to_string();
        let removed = bk.contains(&key) && (!ok.contains(&key) || !tk.contains(&key));
        if !removed && seen.insert(key) {
            out.push(v.clone());
        }
    }
    out.sort_by(order);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(base: Value, ours: Value, theirs: Value, expected: Value) {
        let merged = merge_documents(&base, &ours, &theirs).expect("merges");
        assert_eq!(merged, expected);
        // Every clone must reach the same result, whichever side it is on.
        let swapped = merge_documents(&base, &theirs, &ours).expect("merges");
        assert_eq!(swapped, expected, "merge is symmetric");
    }

    #[test]
    fn different_fields_both_apply() {
        check(
            json!({"uid": "u", "title": "a", "priority": null, "updated_at": "2026-01-01T00:00:00Z"}),
            json!({"uid": "u", "title": "b", "priority": null, "updated_at": "2026-01-02T00:00:00Z"}),
            json!({"uid": "u", "title": "a", "priority": "High", "updated_at": "2026-01-03T00:00:00Z"}),
            json!({"uid": "u", "title": "b", "priority": "High", "updated_at": "2026-01-03T00:00:00Z"}),
        );
    }

    #[test]
    fn same_field_later_edit_wins() {
        check(
            json!({"uid": "u", "title": "a", "updated_at": "2026-01-01T00:00:00Z"}),
            json!({"uid": "u", "title": "ours", "updated_at": "2026-01-02T00:00:00Z"}),
            json!({"uid": "u", "title": "theirs", "updated_at": "2026-01-03T00:00:00Z"}),
            json!({"uid": "u", "title": "theirs", "updated_at": "2026-01-03T00:00:00Z"}),
        );
    }

    #[test]
    fn same_field_same_time_is_still_deterministic() {
        check(
            json!({"uid": "u", "title": "a", "updated_at": "2026-01-01T00:00:00Z"}),
            json!({"uid": "u", "title": "x", "updated_at": "2026-01-02T00:00:00Z"}),
            json!({"uid": "u", "title": "y", "updated_at": "2026-01-02T00:00:00Z"}),
            json!({"uid": "u", "title": "y", "updated_at": "2026-01-02T00:00:00Z"}),
        );
    }

    #[test]
    fn sets_merge_additions_and_removals() {
        check(
            json!({"uid": "u", "tags": ["a", "b"], "depends": [1]}),
            json!({"uid": "u", "tags": ["a", "c"], "depends": [1, 2]}),
            json!({"uid": "u", "tags": ["b", "d"], "depends": [1, 3]}),
            json!({"uid": "u", "tags": ["c", "d"], "depends": [1, 2, 3]}),
        );
    }

    #[test]
    fn nested_objects_merge_per_key() {
        check(
            json!({"id": "c", "reactions": {}}),
            json!({"id": "c", "reactions": {"+1": ["bob"]}}),
            json!({"id": "c", "reactions": {"+1": ["carol"], "heart": ["dan"]}}),
            json!({"id": "c", "reactions": {"+1": ["bob", "carol"], "heart": ["dan"]}}),
        );
    }

    #[test]
    fn two_different_issues_do_not_merge() {
        let err = merge_documents(&Value::Null, &json!({"uid": "a"}), &json!({"uid": "b"}))
            .expect_err("refused");
        assert!(err.contains("different documents"), "{err}");
    }
}
