//! Writing a set of objects as one pack, without delta search.
//!
//! The bulk path builds its objects in memory and hands them to git as a
//! single pack (format version 2: header, one zlib stream per object, SHA-1
//! trailer). libgit2's indexer, fed through `Odb::packwriter`, checks it and
//! writes the `.idx`. Deltas are left to `git gc`: searching for them here
//! cost more than everything else the bulk path does.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use git2::ObjectType;
use sha1::{Digest, Sha1};

/// Builds a pack in memory.
pub(crate) struct PackBuf {
    bytes: Vec<u8>,
    count: u32,
}

impl PackBuf {
    pub(crate) fn new() -> Self {
        let mut bytes = Vec::with_capacity(1 << 20);
        bytes.extend_from_slice(b"PACK");
        bytes.extend_from_slice(&2u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        PackBuf { bytes, count: 0 }
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
        let mut z = ZlibEncoder::new(&mut self.bytes, Compression::fast());
        z.write_all(data).expect("writing to a Vec cannot fail");
        z.finish().expect("writing to a Vec cannot fail");
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
