//! Tree objects edited as bytes.
//!
//! A commit that adds one comment to a discussion rewrites the folder that
//! holds it. Through libgit2's tree builder that costs an allocation, a
//! hash-map insert and a formatted write for every entry of the folder, so
//! each comment on a long discussion cost more than the one before. Here
//! the folder's bytes are copied entry by entry and the changed entries are
//! spliced in at their place: one pass, no allocation per entry.
//!
//! An entry is `<octal mode> <name>\0<20-byte id>`; entries are sorted by
//! name bytewise, a folder's name compared as if it ended with `/`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use git2::Oid;

use crate::Error;

/// The mode of a folder entry.
pub(crate) const FOLDER: u32 = 0o040000;
/// The mode of a regular file entry.
pub(crate) const FILE: u32 = 0o100644;

/// One entry of a tree's bytes.
struct Entry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: &'a [u8],
    /// The whole entry, as stored.
    raw: &'a [u8],
}

impl Entry<'_> {
    fn is_folder(&self) -> bool {
        self.mode == b"40000"
    }
}

fn corrupt(why: &str) -> Error {
    Error::Git {
        path: "tree object".into(),
        message: format!("malformed tree: {why}"),
    }
}

/// The entries of a tree's bytes, in stored order.
struct Entries<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let all = self.rest;
        let Some(space) = all.iter().position(|&b| b == b' ') else {
            self.rest = &[];
            return Some(Err(corrupt("an entry without a mode")));
        };
        let Some(nul) = all[space..].iter().position(|&b| b == 0).map(|n| space + n) else {
            self.rest = &[];
            return Some(Err(corrupt("an entry without a name")));
        };
        let end = nul + 1 + 20;
        if all.len() < end {
            self.rest = &[];
            return Some(Err(corrupt("an entry cut short")));
        }
        self.rest = &all[end..];
        Some(Ok(Entry {
            mode: &all[..space],
            name: &all[space + 1..nul],
            id: &all[nul + 1..end],
            raw: &all[..end],
        }))
    }
}

fn entries(raw: &[u8]) -> Entries<'_> {
    Entries { rest: raw }
}

/// Git's order of two entries: names bytewise, a folder's as if it ended with `/`.
fn order(a: &[u8], a_folder: bool, b: &[u8], b_folder: bool) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        other => return other,
    }
    let end = |name: &[u8], folder: bool| {
        name.get(common)
            .copied()
            .unwrap_or(if folder { b'/' } else { 0 })
    };
    end(a, a_folder).cmp(&end(b, b_folder))
}

/// The mode and id of the entry called `name` in a tree's bytes.
pub(crate) fn find(raw: &[u8], name: &str) -> Result<Option<(u32, Oid)>, Error> {
    for entry in entries(raw) {
        let entry = entry?;
        if entry.name == name.as_bytes() {
            let mode = std::str::from_utf8(entry.mode)
                .ok()
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .ok_or_else(|| corrupt("a mode that is not octal"))?;
            let id = Oid::from_bytes(entry.id).map_err(|_| corrupt("a bad object id"))?;
            return Ok(Some((mode, id)));
        }
    }
    Ok(None)
}

/// A change to one entry of a tree: its new mode and id, or `None` to
/// remove it. Of several changes to one name, the last counts.
pub(crate) struct Edit<'a> {
    pub(crate) name: &'a str,
    pub(crate) to: Option<(u32, Oid)>,
}

/// A tree's bytes with `edits` applied; empty when no entry is left.
pub(crate) fn splice(raw: &[u8], edits: Vec<Edit<'_>>) -> Result<Vec<u8>, Error> {
    let mut last: BTreeMap<&[u8], Option<(u32, Oid)>> = BTreeMap::new();
    for edit in edits {
        last.insert(edit.name.as_bytes(), edit.to);
    }
    let mut added: Vec<(&[u8], u32, Oid)> = last
        .iter()
        .filter_map(|(name, to)| to.map(|(mode, id)| (*name, mode, id)))
        .collect();
    added.sort_by(|a, b| order(a.0, a.1 == FOLDER, b.0, b.1 == FOLDER));
    let mut out = Vec::with_capacity(raw.len() + added.len() * 64);
    let put = |out: &mut Vec<u8>, (name, mode, id): (&[u8], u32, Oid)| {
        out.extend_from_slice(format!("{mode:o} ").as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    };
    let mut next = added.iter().copied().peekable();
    for entry in entries(raw) {
        let entry = entry?;
        if last.contains_key(entry.name) {
            continue;
        }
        while let Some(add) = next
            .next_if(|a| order(a.0, a.1 == FOLDER, entry.name, entry.is_folder()) == Ordering::Less)
        {
            put(&mut out, add);
        }
        out.extend_from_slice(entry.raw);
    }
    for add in next {
        put(&mut out, add);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{ObjectType, Repository};

    /// Changes to entries by name, as in [`Edit`].
    type Edits<'a> = Vec<(&'a str, Option<(u32, Oid)>)>;

    fn id(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("20 bytes")
    }

    /// The same edits through libgit2's tree builder, for comparison.
    fn libgit2(
        repo: &Repository,
        base: &[(&str, u32, Oid)],
        edits: &[(&str, Option<(u32, Oid)>)],
    ) -> Vec<u8> {
        let mut b = repo.treebuilder(None).expect("builder");
        for (name, mode, id) in base {
            b.insert(name, *id, *mode as i32).expect("insert");
        }
        for (name, to) in edits {
            match to {
                Some((mode, id)) => {
                    b.insert(name, *id, *mode as i32).expect("insert");
                }
                None => {
                    if b.get(name).expect("get").is_some() {
                        b.remove(name).expect("remove");
                    }
                }
            }
        }
        let tree = b.write().expect("write");
        let odb = repo.odb().expect("odb");
        let object = odb.read(tree).expect("read");
        assert_eq!(object.kind(), ObjectType::Tree);
        object.data().to_vec()
    }

    #[test]
    fn splicing_matches_libgit2s_tree_builder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        git2::opts::strict_object_creation(false);
        // Names whose order depends on the folder rule: "a-b" < "a.c" <
        // "a/" (a folder) < "a0", while a file "a" sorts before "a-b".
        let base = [
            ("a", FOLDER, id(1)),
            ("a-b", FILE, id(2)),
            ("a.c", FILE, id(3)),
            ("a0", FILE, id(4)),
            ("comment-2.json", FILE, id(5)),
            ("issue.json", FILE, id(6)),
        ];
        let raw = libgit2(&repo, &base, &[]);
        let cases: Vec<Edits<'_>> = vec![
            vec![],
            vec![("comment-1.json", Some((FILE, id(7))))],
            vec![
                ("comment-3.json", Some((FILE, id(7)))),
                ("zz", Some((FILE, id(8)))),
            ],
            vec![("issue.json", Some((FILE, id(9))))],
            vec![("a", Some((FILE, id(9))))],
            vec![("a0", Some((FOLDER, id(9)))), ("a-b", None)],
            vec![("a.c", None), ("missing", None), ("a", None)],
            vec![("b", Some((FILE, id(9)))), ("b", None)],
            vec![("b", None), ("b", Some((FOLDER, id(9))))],
            base.iter().map(|(n, _, _)| (*n, None)).collect(),
        ];
        for edits in cases {
            let ours = splice(
                &raw,
                edits
                    .iter()
                    .map(|(name, to)| Edit { name, to: *to })
                    .collect(),
            )
            .expect("splice");
            assert_eq!(ours, libgit2(&repo, &base, &edits), "{edits:?}");
        }
        assert_eq!(find(&raw, "a").expect("find"), Some((FOLDER, id(1))));
        assert_eq!(find(&raw, "a0").expect("find"), Some((FILE, id(4))));
        assert_eq!(find(&raw, "b").expect("find"), None);
    }

    #[test]
    fn malformed_trees_are_errors_not_panics() {
        for raw in [
            &b"100644"[..],
            b"100644 name",
            b"100644 name\0short",
            b"\0\0\0",
        ] {
            assert!(splice(raw, vec![]).is_err(), "{raw:?}");
            assert!(find(raw, "x").is_err(), "{raw:?}");
        }
    }
}
