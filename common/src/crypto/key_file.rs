//! The local install's encryption key: generated on first start into a file
//! only its owner can read (`0600`, in a `0700` folder), read from it on
//! every later start. Local mode only; production takes its keys from
//! `HERALD_ENCRYPTION_KEY(S)`. Ingest and dispatchers started at the same
//! time agree on one key: the file is written whole under a temporary name
//! and linked into place only if no other process got there first.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{CryptoError, EncryptionKey, KeyId, Keyring};

/// The well-known key local installs used before each generated its own:
/// still in a local keyring to read old rows (never to write), until
/// `herald-ingest rotate-keys` has rewritten them.
const LEGACY_DEV_SEED: &[u8] = b"herald insecure local development key";
/// Id of the key in the key file.
pub const LOCAL_KEY_ID: &str = "local";
/// Id of the legacy development key.
pub const LEGACY_DEV_KEY_ID: &str = "dev-legacy";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or create the key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the key file {path} does not hold a key: {source}")]
    Invalid { path: PathBuf, source: CryptoError },
}

/// The key in `path`, made (with its folder) if the file does not exist.
/// Returns whether it was created now.
pub fn load_or_create(path: &Path) -> Result<(EncryptionKey, bool), KeyFileError> {
    let io_err = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    match read(path) {
        Ok(key) => return Ok((key, false)),
        Err(KeyFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_dir(dir).map_err(io_err)?;
    let key = EncryptionKey::generate();
    let mut file = tempfile::Builder::new()
        .prefix(".herald-key")
        .tempfile_in(dir)
        .map_err(io_err)?;
    writeln!(file, "{}", key.to_base64()).map_err(io_err)?;
    file.as_file().sync_all().map_err(io_err)?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok((key, true)),
        // Another process wrote it first: use that one.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok((read(path)?, false)),
        Err(e) => Err(io_err(e.error)),
    }
}

/// A local install's keyring: the key of `path` (made if missing) encrypts,
/// the legacy development key only decrypts. Also says whether the file was
/// created now.
pub fn local_keyring(path: &Path) -> Result<(Keyring, bool), KeyFileError> {
    let (key, created) = load_or_create(path)?;
    let id = |s: &str| {
        KeyId::parse(s).map_err(|source| KeyFileError::Invalid {
            path: path.to_path_buf(),
            source,
        })
    };
    let legacy = EncryptionKey::derive_insecure(LEGACY_DEV_SEED);
    let ring = Keyring::new(vec![
        (id(LOCAL_KEY_ID)?, key),
        (id(LEGACY_DEV_KEY_ID)?, legacy),
    ])
    .map_err(|source| KeyFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((ring, created))
}

fn read(path: &Path) -> Result<EncryptionKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    warn_if_readable_by_others(path);
    EncryptionKey::from_base64(text.trim()).map_err(|source| KeyFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "The encryption key file can be read by other users; chmod 600 it.");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_read_after() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state/herald/encryption.key");
        let (first, created) = load_or_create(&path).expect("create");
        assert!(created);
        let (again, created) = load_or_create(&path).expect("read");
        assert!(!created);
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
        }
        let leftovers = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "only the key file");
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("encryption.key");
        std::fs::write(&path, "not a key\n").expect("write");
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::Invalid { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "not a key\n");
    }

    #[test]
    fn processes_starting_together_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k/encryption.key");
        let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&path).expect("key").0 .0))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
