//! Writing a set of objects as one pack, without delta search.
//!
//! The bulk path builds its objects in memory and hands them to git as a
//! single pack (format version 2: header, one zlib stream per object, SHA-1
//! trailer). libgit2's indexer, fed through `Odb::packwriter`, checks it and
//! writes the `.idx`. Deltas and compression are left to `git gc`: searching
//! for deltas cost more than everything else the bulk path does, and even
//! zlib's fastest level took a third of it, so the streams use stored
//! (uncompressed) blocks. A pack of 10,000 issues is about 9 MB.

use flate2::{Compress, Compression, FlushCompress, Status};
use git2::{ObjectType, Oid, Signature};
use sha1::{Digest, Sha1};

/// Builds a pack in memory.
pub(crate) struct PackBuf {
    bytes: Vec<u8>,
    count: u32,
    /// One zlib stream writer for all objects: setting one up (zeroing its
    /// tables) costs more than writing a small document.
    zlib: Compress,
}

impl PackBuf {
    pub(crate) fn new() -> Self {
        let mut bytes = Vec::with_capacity(1 << 20);
        bytes.extend_from_slice(b"PACK");
        bytes.extend_from_slice(&2u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        PackBuf {
            bytes,
            count: 0,
            zlib: Compress::new(Compression::none(), true),
        }
    }

    /// Appends one whole (undeltified) object.
    pub(crate) fn add(&mut self, kind: ObjectType, data: &[u8]) {
        let type_bits: u8 = match kind {
            ObjectType::Commit => 1,
            ObjectType::Tree => 2,
            ObjectType::Blob => 3,
            _ => 4,
        };
        // Size header: type in bits 4-6 of the first byte, size in 4 then 7-bit groups.
        let mut size = data.len();
        let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            self.bytes.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        self.bytes.push(byte);
        self.zlib.reset();
        loop {
            // zlib's worst case is a few bytes per 16 KiB block over the input size.
            self.bytes.reserve(data.len() + data.len() / 1000 + 64);
            let consumed = self.zlib.total_in() as usize;
            let status = self
                .zlib
                .compress_vec(&data[consumed..], &mut self.bytes, FlushCompress::Finish)
                .expect("deflating into memory cannot fail");
            if status == Status::StreamEnd {
                break;
            }
        }
        self.count += 1;
    }

    /// The finished pack: count patched in, SHA-1 trailer appended.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.bytes[8..12].copy_from_slice(&self.count.to_be_bytes());
        let digest = Sha1::digest(&self.bytes);
        self.bytes.extend_from_slice(&digest);
        self.bytes
    }
}

fn signature_line(role: &str, sig: &Signature<'_>) -> String {
    let when = sig.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{role} {} <{}> {} {sign}{:02}{:02}\n",
        String::from_utf8_lossy(sig.name_bytes()),
        String::from_utf8_lossy(sig.email_bytes()),
        when.seconds(),
        offset.abs() / 60,
        offset.abs() % 60
    )
}

/// A commit object's content, as libgit2 writes it.
pub(crate) fn commit_bytes(
    tree: Oid,
    parent: Option<Oid>,
    sig: &Signature<'_>,
    message: &str,
) -> Vec<u8> {
    let mut out = format!("tree {tree}\n");
    if let Some(parent) = parent {
        out.push_str(&format!("parent {parent}\n"));
    }
    out.push_str(&signature_line("author", sig));
    out.push_str(&signature_line("committer", sig));
    out.push('\n');
    out.push_str(message);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The objects serialized here must hash exactly as libgit2's own.
    #[test]
    fn trees_and_commits_match_libgit2() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = git2::Repository::init_bare(dir.path()).expect("init");
        let blob = repo.blob(b"x").expect("blob");
        let mut sub = repo.treebuilder(None).expect("builder");
        sub.insert("f", blob, 0o100644).expect("insert");
        let sub = sub.write().expect("write");
        let mut b = repo.treebuilder(None).expect("builder");
        // `a.b` sorts before `a/` but after `a` as a file would: the folder rule matters.
        for (name, id, mode) in [
            ("a.b", blob, 0o100644),
            ("a", sub, 0o040000),
            ("a-c", blob, 0o100644),
            ("b", blob, 0o100755),
        ] {
            b.insert(name, id, mode).expect("insert");
        }
        let expected = b.write().expect("write");
        let ours = crate::tree::splice(
            &[],
            [
                ("b", 0o100755, blob),
                ("a", 0o040000, sub),
                ("a.b", 0o100644, blob),
                ("a-c", 0o100644, blob),
            ]
            .into_iter()
            .map(|(name, mode, id)| crate::tree::Edit {
                name,
                to: Some((mode, id)),
            })
            .collect(),
        )
        .expect("splice");
        assert_eq!(
            Oid::hash_object(ObjectType::Tree, &ours).expect("hash"),
            expected
        );

        let sig = Signature::new(
            "alice",
            "alice@example.org",
            &git2::Time::new(1_700_000_000, -330),
        )
        .expect("sig");
        let tree = repo.find_tree(expected).expect("tree");
        let commit = repo
            .commit(None, &sig, &sig, "one\n\ntwo", &tree, &[])
            .expect("commit");
        let ours = commit_bytes(expected, None, &sig, "one\n\ntwo");
        assert_eq!(
            Oid::hash_object(ObjectType::Commit, &ours).expect("hash"),
            commit
        );
        let child = repo
            .commit(
                None,
                &sig,
                &sig,
                "child",
                &tree,
                &[&repo.find_commit(commit).expect("c")],
            )
            .expect("commit");
        let ours = commit_bytes(expected, Some(commit), &sig, "child");
        assert_eq!(
            Oid::hash_object(ObjectType::Commit, &ours).expect("hash"),
            child
        );
    }
}
