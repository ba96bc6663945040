//! The operator's admin token: what a node's `ClusterService` requires
//! (`authorization: Bearer <token>`; the node holds only its blake3, in
//! `api.admin.token_blake3`).

use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};

use crate::ClientError;

/// Fewest characters an admin token may have (`veritrace init` and
/// `veritrace keygen admin-token` write 64 hex digits: 256 random bits).
pub const MIN_TOKEN_CHARS: usize = 32;

/// An admin token. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<secret>)")
    }
}

impl AdminToken {
    /// A token given as text: trimmed, at least [`MIN_TOKEN_CHARS`]
    /// printable ASCII characters.
    pub fn new(text: &str) -> Result<Self, ClientError> {
        Self::checked(text, None)
    }

    /// The first line of `path` (mode 0600 by `veritrace init`).
    pub fn from_file(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::InvalidAdminToken { path: Some(path.to_path_buf()), reason: e.to_string() })?;
        Self::checked(text.lines().next().unwrap_or_default(), Some(path.to_path_buf()))
    }

    fn checked(text: &str, path: Option<PathBuf>) -> Result<Self, ClientError> {
        let token = text.trim();
        let bad = |reason: String| ClientError::InvalidAdminToken { path: path.clone(), reason };
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(bad(format!("the admin token has fewer than {MIN_TOKEN_CHARS} characters")));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("the admin token must be printable ASCII without spaces".into()));
        }
        Ok(AdminToken(token.to_owned()))
    }

    /// The `authorization` header value.
    pub(crate) fn header(&self) -> Option<MetadataValue<Ascii>> {
        format!("Bearer {}", self.0).parse().ok()
    }
}

/// Adds the admin token, if any, to each `ClusterService` call.
#[derive(Clone, Default)]
pub(crate) struct AttachAdminToken(Option<MetadataValue<Ascii>>);

impl AttachAdminToken {
    pub(crate) fn new(token: Option<&AdminToken>) -> Self {
        AttachAdminToken(token.and_then(AdminToken::header))
    }
}

impl std::fmt::Debug for AttachAdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "AttachAdminToken(<secret>)" } else { "AttachAdminToken(none)" })
    }
}

impl tonic::service::Interceptor for AttachAdminToken {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            req.metadata_mut().insert("authorization", value.clone());
        }
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_printable_first_lines_and_never_printed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("admin.token");
        let token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(&path, format!("{token}\n# comment\n")).unwrap_or_else(|e| panic!("{e}"));
        let read = AdminToken::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, AdminToken::new(token).unwrap_or_else(|e| panic!("{e}")));
        assert!(!format!("{read:?}").contains("0123"));
        assert!(AdminToken::new("short").is_err_and(|e| e.to_string().contains("fewer than 32")));
        assert!(AdminToken::new(&format!("{token} x")).is_err());
        let missing = AdminToken::from_file(&dir.path().join("missing"));
        assert!(missing.is_err_and(|e| e.to_string().contains("missing")));
    }
}
