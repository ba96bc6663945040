//! Reading and writing the PEM files.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::{CertError, pem_pair_paths};

/// What `write_pem_pair` does when a file it would write already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Fail with [`CertError::Exists`] and write nothing.
    #[default]
    Refuse,
    /// Replace the file (the key file still ends up with mode 0600).
    Overwrite,
}

/// Where a certificate and its key were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemPaths {
    /// `dir/stem.crt`.
    pub cert: PathBuf,
    /// `dir/stem.key`.
    pub key: PathBuf,
}

pub(crate) fn read(path: &Path) -> Result<String, CertError> {
    fs::read_to_string(path).map_err(|source| CertError::Read { path: path.to_path_buf(), source })
}

pub(crate) fn write_pair(
    dir: &Path,
    stem: &str,
    cert_pem: &str,
    key_pem: &str,
    existing: Existing,
) -> Result<PemPaths, CertError> {
    if stem.is_empty() || stem.contains(['/', '\\']) {
        return Err(CertError::Write {
            path: dir.join(stem),
            source: std::io::Error::new(ErrorKind::InvalidInput, "the file stem must be a plain, non-empty name"),
        });
    }
    let (cert, key) = pem_pair_paths(dir, stem);
    if existing == Existing::Refuse {
        for path in [&cert, &key] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(CertError::Exists { path: path.clone() });
            }
        }
    }
    fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_path_buf(), source })?;
    write_file(&cert, cert_pem, 0o644, existing)?;
    if let Err(err) = write_file(&key, key_pem, 0o600, existing) {
        // Leave no certificate without its key behind, so a rerun is not refused.
        if existing == Existing::Refuse {
            let _ = fs::remove_file(&cert);
        }
        return Err(err);
    }
    Ok(PemPaths { cert, key })
}

/// Writes `text` to a new file of mode `mode` (unix). An existing file is removed first when
/// overwriting, so the mode of a new file applies and no other link to it is changed.
fn write_file(path: &Path, text: &str, mode: u32, existing: Existing) -> Result<(), CertError> {
    let failed = |source| CertError::Write { path: path.to_path_buf(), source };
    if existing == Existing::Overwrite {
        match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(failed(e)),
            _ => {}
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    set_mode(&mut options, mode);
    let mut file: File = options.open(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists { CertError::Exists { path: path.to_path_buf() } } else { failed(e) }
    })?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(failed)
}

#[cfg(unix)]
fn set_mode(options: &mut OpenOptions, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(mode);
}

#[cfg(not(unix))]
fn set_mode(_: &mut OpenOptions, _: u32) {}
