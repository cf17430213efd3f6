//! Signed vendor plugins: with `--require-signed`, a plugin `X.wasm` loads
//! only when `X.wasm.minisig` beside it is a minisign (Ed25519) signature of
//! its bytes by one of the operator's trusted keys (`--trusted-keys FILE`).
//! Built-in plugins are exempt: they are part of the binary.
//!
//! The cryptography is the `minisign-verify` crate's; this module only
//! finds the files, reads the key list and words the refusals. Signatures
//! must be pre-hashed (what `minisign -S` writes since 0.8); legacy ones are
//! refused.

use std::fmt;
use std::path::{Path, PathBuf};

use minisign_verify::{Error as MinisignError, PublicKey, Signature};

/// Largest `.minisig` file read: a signature is four short lines.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// The minisign public keys an operator trusts to sign vendor plugins.
#[derive(Clone)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
    /// Where the keys came from, for messages.
    origin: String,
}

#[derive(Clone)]
struct TrustedKey {
    key: PublicKey,
    /// The key id as minisign prints it (16 hex digits).
    id: String,
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("TrustedKeys").field("origin", &self.origin).field("ids", &ids).finish()
    }
}

impl TrustedKeys {
    /// Reads a file of minisign public keys: one base64 key a line, as the
    /// second line of a `minisign.pub`; blank lines, `#` comments and
    /// minisign's `untrusted comment:` lines are skipped, so public key
    /// files can be appended as they are.
    pub fn load(path: &Path) -> Result<TrustedKeys, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("trusted keys {}: {e}", path.display()))?;
        TrustedKeys::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a trusted keys file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<TrustedKeys, String> {
        let mut keys = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("untrusted comment:") {
                continue;
            }
            // A key, possibly followed by a comment of the operator's.
            let encoded = line.split_whitespace().next().unwrap_or_default();
            let invalid = || format!("{origin}:{}: not a minisign public key: {line:?}", number + 1);
            let key = PublicKey::from_base64(encoded).map_err(|_| invalid())?;
            let id = key_id(encoded, 2).ok_or_else(invalid)?;
            if !keys.iter().any(|k: &TrustedKey| k.id == id) {
                keys.push(TrustedKey { key, id });
            }
        }
        if keys.is_empty() {
            return Err(format!("{origin}: no minisign public key in the file"));
        }
        Ok(TrustedKeys { keys, origin: origin.to_owned() })
    }

    /// The ids of the trusted keys, as minisign prints them.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Where the keys came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A plugin whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The id of the key that signed it.
    pub key_id: String,
    /// The signature's trusted comment (signed too: usually a timestamp
    /// and the file name at signing time).
    pub trusted_comment: String,
}

/// Why a plugin's signature does not admit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No signature file beside the plugin (its expected path).
    #[error("not signed: {0} is missing")]
    Missing(String),
    /// The signature file cannot be read or parsed.
    #[error("unreadable signature {path}: {reason}")]
    Unreadable {
        /// The signature file.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Signed, but not by a trusted key.
    #[error("signed by key {key_id}, which is not one of the trusted keys ({trusted})")]
    UntrustedKey {
        /// The id of the key that signed it.
        key_id: String,
        /// The ids of the trusted keys, comma-separated.
        trusted: String,
    },
    /// The signature does not match the bytes (the signature file's path).
    #[error(
        "the signature {0} does not match the file: it was changed after signing, or the signature is another file's"
    )]
    Mismatch(String),
    /// A legacy minisign signature, not pre-hashed (the signature file's path).
    #[error(
        "{0} is a legacy (not pre-hashed) minisign signature; sign again without -l (minisign pre-hashes by default)"
    )]
    Legacy(String),
}

/// Where the signature of `plugin` is expected: `X.wasm.minisig`.
pub fn signature_path(plugin: &Path) -> PathBuf {
    let mut name = plugin.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// Checks that `wasm`, read from `plugin`, is signed by one of `keys`. The
/// bytes checked are the ones the caller goes on to compile.
pub fn verify(plugin: &Path, wasm: &[u8], keys: &TrustedKeys) -> Result<Verified, SignatureError> {
    let path = signature_path(plugin);
    let shown = path.display().to_string();
    let text = match read_limited(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SignatureError::Missing(shown)),
        Err(e) => return Err(SignatureError::Unreadable { path: shown, reason: e.to_string() }),
    };
    let unreadable = |reason: &str| SignatureError::Unreadable { path: shown.clone(), reason: reason.to_owned() };
    let signature = Signature::decode(&text).map_err(|e| unreadable(&format!("not a minisign signature ({e})")))?;
    // The key id is the signature line's bytes 2..10 (after the algorithm).
    let signature_line = text.lines().nth(1).unwrap_or_default().trim();
    let key_id = key_id(signature_line, 2).ok_or_else(|| unreadable("not a minisign signature"))?;
    let Some(trusted) = keys.keys.iter().find(|k| k.id == key_id) else {
        return Err(SignatureError::UntrustedKey { key_id, trusted: keys.ids().join(", ") });
    };
    match trusted.key.verify(wasm, &signature, false) {
        Ok(()) => Ok(Verified { key_id, trusted_comment: signature.trusted_comment().to_owned() }),
        Err(MinisignError::UnexpectedAlgorithm) => Err(SignatureError::Legacy(shown)),
        Err(MinisignError::UnexpectedKeyId) => {
            Err(SignatureError::UntrustedKey { key_id, trusted: keys.ids().join(", ") })
        }
        Err(_) => Err(SignatureError::Mismatch(shown)),
    }
}

/// The registry's step before compiling a vendor plugin: with trusted keys
/// (`--require-signed`), the plugin must be signed by one of them.
pub fn admit(plugin: &Path, wasm: &[u8], keys: Option<&TrustedKeys>) -> Result<(), String> {
    let Some(keys) = keys else { return Ok(()) };
    match verify(plugin, wasm, keys) {
        Ok(verified) => {
            tracing::debug!("{}: signed by trusted key {}", plugin.display(), verified.key_id);
            Ok(())
        }
        Err(e) => Err(format!(
            "refused by --require-signed: {e} (vendor plugins must be signed with minisign by a key in {})",
            keys.origin
        )),
    }
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_SIGNATURE_BYTES).read_to_string(&mut text)?;
    Ok(text)
}

/// The 8-byte key id at `offset` of a base64 minisign key or signature
/// line, as minisign prints it (hex of the little-endian number).
fn key_id(encoded: &str, offset: usize) -> Option<String> {
    let bytes = base64_decode(encoded)?;
    let id: [u8; 8] = bytes.get(offset..offset + 8)?.try_into().ok()?;
    Some(format!("{:016X}", u64::from_le_bytes(id)))
}

/// Standard base64 with padding, for reading the key id out of a key or a
/// signature (the verification itself is minisign-verify's).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut bits = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            bits |= value(c)? << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh key pair: its public key file (as `minisign -G` writes it)
    /// and its secret key.
    fn key_pair() -> (String, minisign::SecretKey) {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        (pair.pk.to_box().unwrap().into_string(), pair.sk)
    }

    fn sign(secret: &minisign::SecretKey, data: &[u8]) -> String {
        minisign::sign(None, secret, data, Some("file:p.wasm"), None).unwrap().into_string()
    }

    #[test]
    fn base64_decodes_like_the_standard() {
        assert_eq!(base64_decode("aGVsbG8K").unwrap(), b"hello\n");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aA==").unwrap(), b"h");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*bc").is_none());
    }

    #[test]
    fn key_files_skip_comments_and_name_bad_lines() {
        let (public, _) = key_pair();
        let printed = public.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned();
        let keys = TrustedKeys::parse(&format!("# operator's keys\n\n{public}"), "keys.txt").unwrap();
        assert_eq!(keys.ids(), [printed.as_str()], "the id minisign prints");
        let err = TrustedKeys::parse("# nothing\n", "keys.txt").unwrap_err();
        assert!(err.contains("no minisign public key"), "{err}");
        let err = TrustedKeys::parse("RWQnot-a-key\n", "keys.txt").unwrap_err();
        assert!(err.starts_with("keys.txt:1: not a minisign public key"), "{err}");
    }

    #[test]
    fn only_a_trusted_key_signing_these_bytes_admits_a_plugin() {
        let (public, secret) = key_pair();
        let (_, stranger) = key_pair();
        let keys = TrustedKeys::parse(&public, "keys.txt").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("p.wasm");
        let wasm = b"\0asm plugin bytes";

        let missing = verify(&plugin, wasm, &keys).unwrap_err();
        assert_eq!(missing, SignatureError::Missing(format!("{}.minisig", plugin.display())));
        assert!(admit(&plugin, wasm, None).is_ok(), "nothing is required without trusted keys");
        let refused = admit(&plugin, wasm, Some(&keys)).unwrap_err();
        assert!(refused.contains("p.wasm.minisig is missing") && refused.contains("keys.txt"), "{refused}");

        std::fs::write(signature_path(&plugin), sign(&secret, wasm)).unwrap();
        let verified = verify(&plugin, wasm, &keys).unwrap();
        assert_eq!(verified.key_id, keys.ids()[0]);
        assert_eq!(verified.trusted_comment, "file:p.wasm");
        assert!(matches!(verify(&plugin, b"\0asm changed", &keys), Err(SignatureError::Mismatch(_))));

        std::fs::write(signature_path(&plugin), sign(&stranger, wasm)).unwrap();
        assert!(matches!(verify(&plugin, wasm, &keys), Err(SignatureError::UntrustedKey { .. })));

        std::fs::write(signature_path(&plugin), "untrusted comment: x\nnot base64\n").unwrap();
        assert!(matches!(verify(&plugin, wasm, &keys), Err(SignatureError::Unreadable { .. })));
    }
}
