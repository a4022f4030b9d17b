//! A forge home's secret key files (`webhook.key`, `mail.key`): 32 random
//! bytes, made on first need with mode 0600; two processes making one at
//! once end up with the same.

use std::path::Path;

/// The 32-byte key at `path`, made if it is missing. The error names the
/// file and what to do.
pub(crate) fn load_or_create(path: &Path) -> Result<[u8; 32], String> {
    let bad = |e: String| format!("{}: {e}", path.display());
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|_| {
            bad("not a 32-byte key: restore it from a backup (what it protects cannot be read without it)".into())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    std::io::Write::write_all(&mut file, &key).map_err(|e| bad(e.to_string()))?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
                Err(e) => Err(bad(e.to_string())),
            }
        }
        Err(e) => Err(bad(e.to_string())),
    }
}
