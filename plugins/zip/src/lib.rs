//! Sekisho `zip` plugin: plain ZIP archives.
//!
//! The archive is rebuilt member by member. Every file member goes back
//! through the host (`sanitize-embedded`) to the plugin for its own type;
//! names that would escape the extraction folder are rewritten; symlinks
//! fall under policy; inflation is counted on the bytes
//! actually produced, so lying headers and overlapping entries cannot smuggle
//! a bomb through. The output is deterministic: input order, input
//! timestamps, fixed compression settings.
//!
//! Encrypted members (ZipCrypto, WinZip AES) are opened with the policy's
//! password candidates, inside this sandbox, and rebuilt like the others;
//! the output is not encrypted unless the policy says `reencrypt`, which
//! writes each of them AES-256 encrypted with the password that opened it.
//! A member no candidate opens fails the archive as `encrypted` (kept as
//! it is when the `encryption` class is allowed). Without candidates
//! (`encrypted = "block"`) encrypted members fall under the `encryption`
//! class, as before: removed by default.
//!
//! The archive hands the host no text of its own (`Host::emit_text`): each
//! member's text comes from its own plugin, under the member's report, and
//! member names are not text.

use std::collections::BTreeSet;
use std::io::{Read, Seek, Write};

use sekisho_plugin_sdk::package::{PackageReader, Unreadable, safe_name, write_failure};
use sekisho_plugin_sdk::passwords;
use sekisho_plugin_sdk::{
    Action, ContentClass, Decision, Disposition, Embedded, Embedder, Failure, FailureKind, Findings, Format, Magic,
    PluginInfo, Policy, Rebuilt,
};
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

/// Plugin name as reported to the host.
pub const NAME: &str = "zip";

/// Describes the `zip` format.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "zip".into(),
            media_types: vec!["application/zip".into()],
            extensions: vec!["zip".into()],
            magic: vec![Magic { offset: 0, bytes: b"PK\x03\x04".to_vec() }],
            ..Default::default()
        }],
        classes: vec![
            ContentClass::EmbeddedFiles,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
            ContentClass::Encryption,
            ContentClass::Metadata,
        ],
        ..Default::default()
    }
}

/// Rebuilds the archive read from `input` into `output`.
pub fn sanitize<R, W, E>(input: R, output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let mut reader = PackageReader::open(input, &policy.limits)?;
    let mut rebuild =
        Rebuild { policy, findings: Findings::new(), writer: ZipWriter::new_stream(output), names: BTreeSet::new() };
    if reader.archive().has_duplicate_names() {
        // The reader keeps the last entry of each name; the others never reach the output.
        rebuild.findings.decide(
            policy,
            ContentClass::MalformedStructure,
            Disposition::Removed,
            "central directory",
            "entries with duplicate names: only the last of each is kept",
        )?;
    }
    for index in 0..reader.archive().len() {
        rebuild.member(&mut reader, index, embedder)?;
    }
    rebuild.comment(reader.archive().comment())?;
    let Rebuild { findings, writer, .. } = rebuild;
    writer.finish().map_err(write_failure)?;
    Ok(Rebuilt { format: "zip".into(), findings: findings.into_vec() })
}

/// The state of one archive rebuild.
struct Rebuild<'p, W: Write> {
    policy: &'p Policy,
    findings: Findings,
    writer: ZipWriter<zip::write::StreamWriter<W>>,
    /// Names already written, to drop duplicates.
    names: BTreeSet<String>,
}

impl<W: Write> Rebuild<'_, W> {
    fn member<R: Read + Seek, E: Embedder + ?Sized>(
        &mut self,
        reader: &mut PackageReader<R>,
        index: usize,
        embedder: &mut E,
    ) -> Result<(), Failure> {
        let policy = self.policy;
        let mut file =
            reader.archive().by_index_raw(index).map_err(|e| Failure::invalid(format!("entry {index}: {e}")))?;
        let original = String::from_utf8_lossy(file.name_raw()).into_owned();
        let is_dir = file.is_dir();
        let Some(name) = self.safe_member_name(&original, is_dir)? else {
            return Ok(());
        };
        let options = member_options(&file);
        if file.is_symlink() {
            let mut target = String::new();
            (&mut file).take(4096).read_to_string(&mut target).ok();
            let detail = format!("symbolic link to {target:?}");
            if self.findings.decide(
                policy,
                ContentClass::MalformedStructure,
                Disposition::Removed,
                &original,
                detail,
            )? == Decision::Keep
            {
                self.writer.add_symlink(&name, target, options).map_err(write_failure)?;
            }
            return Ok(());
        }
        if is_dir {
            return self.writer.add_directory(&name, options).map_err(write_failure);
        }
        if file.encrypted() && !policy.passwords.is_empty() {
            drop(file);
            return self.encrypted_member(reader, index, &original, name, options, embedder);
        }
        if file.encrypted() {
            let decision = self.findings.decide(
                policy,
                ContentClass::Encryption,
                Disposition::Removed,
                &original,
                "encrypted member cannot be inspected",
            )?;
            if decision == Decision::Keep {
                self.writer.raw_copy_file_rename(file, &name).map_err(write_failure)?;
            }
            return Ok(());
        }
        drop(file);
        let data = match reader.inflate(index) {
            Ok(data) => data,
            Err(Unreadable::Limit(failure)) => return Err(failure),
            Err(Unreadable::Broken(detail)) => {
                let decision = self.findings.decide(
                    policy,
                    ContentClass::MalformedStructure,
                    Disposition::Removed,
                    &original,
                    format!("member cannot be read: {detail}"),
                )?;
                if decision == Decision::Keep {
                    let raw = reader.archive().by_index_raw(index).map_err(|e| Failure::invalid(e.to_string()))?;
                    self.writer.raw_copy_file_rename(raw, &name).map_err(write_failure)?;
                }
                return Ok(());
            }
        };
        let (name, data) = match self.sanitize_member(embedder, &original, name, data)? {
            Some(member) => member,
            None => return Ok(()),
        };
        self.writer.start_file(name, options).map_err(write_failure)?;
        self.writer.write_all(&data).map_err(write_failure)
    }

    /// An encrypted member, opened with the policy's password candidates.
    fn encrypted_member<R: Read + Seek, E: Embedder + ?Sized>(
        &mut self,
        reader: &mut PackageReader<R>,
        index: usize,
        original: &str,
        name: String,
        options: SimpleFileOptions,
        embedder: &mut E,
    ) -> Result<(), Failure> {
        let policy = self.policy;
        let what = format!("member {original:?}");
        let opened =
            passwords::open(policy, &what, |password| match reader.inflate_with_password(index, password.as_bytes()) {
                Ok(data) => Ok(data),
                Err(Unreadable::Limit(failure)) => Err(failure),
                Err(Unreadable::Broken(detail)) => Err(Failure::invalid(format!("{what} cannot be read: {detail}"))),
            });
        let (data, opened) = match opened {
            Ok(found) => found,
            // Allowed encrypted content stays as it is.
            Err(failure)
                if failure.kind == FailureKind::Encrypted
                    && policy.action(ContentClass::Encryption) == Action::Allow =>
            {
                self.findings.push(ContentClass::Encryption, Disposition::Kept, original, failure.detail);
                let raw = reader.archive().by_index_raw(index).map_err(|e| Failure::invalid(e.to_string()))?;
                return self.writer.raw_copy_file_rename(raw, &name).map_err(write_failure);
            }
            Err(failure) => return Err(failure.with_findings(self.findings.clone())),
        };
        let secret = opened.secret(policy);
        self.findings.decrypted(original, opened, policy.reencrypt.then_some("AES-256"));
        let Some((name, data)) = self.sanitize_member(embedder, original, name, data)? else {
            return Ok(());
        };
        let options = if policy.reencrypt { options.with_aes_encryption(AesMode::Aes256, secret) } else { options };
        self.writer.start_file(name, options).map_err(write_failure)?;
        self.writer.write_all(&data).map_err(write_failure)
    }

    /// The safe name of a member, `None` when the member is dropped.
    fn safe_member_name(&mut self, original: &str, is_dir: bool) -> Result<Option<String>, Failure> {
        let policy = self.policy;
        let Some(safe) = safe_name(original, is_dir) else {
            self.findings.decide(
                policy,
                ContentClass::MalformedStructure,
                Disposition::Removed,
                original,
                "member name has no usable path component",
            )?;
            return Ok(None);
        };
        let mut name = safe.path;
        if !safe.problems.is_empty() {
            let detail = format!("{} rewritten to {name:?}", safe.problems.join(", "));
            let decision = self.findings.decide(
                policy,
                ContentClass::MalformedStructure,
                Disposition::Neutralized,
                original,
                detail,
            )?;
            if decision == Decision::Keep {
                name = original.to_owned();
            }
        }
        if !self.names.insert(name.clone()) {
            self.findings.decide(
                policy,
                ContentClass::MalformedStructure,
                Disposition::Removed,
                original,
                format!("duplicate member name {name:?}"),
            )?;
            return Ok(None);
        }
        Ok(Some(name))
    }

    /// Sends a member through the host; `None` when it is dropped.
    fn sanitize_member<E: Embedder + ?Sized>(
        &mut self,
        embedder: &mut E,
        original: &str,
        name: String,
        data: Vec<u8>,
    ) -> Result<Option<(String, Vec<u8>)>, Failure> {
        let policy = self.policy;
        let rebuilt = match self.findings.embed(embedder, ContentClass::EmbeddedFiles, original, &name, &data)? {
            Embedded::Rebuilt(rebuilt) => rebuilt,
            Embedded::Refused(why) => {
                let decision =
                    self.findings.decide(policy, ContentClass::UnknownParts, Disposition::Removed, original, why)?;
                return Ok((decision == Decision::Keep).then_some((name, data)));
            }
        };
        let mut renamed = with_extension(&name, &rebuilt.extension);
        if renamed != name && !self.names.insert(renamed.clone()) {
            renamed = name.clone();
        }
        if renamed != name {
            let detail = format!("member rebuilt as {}, renamed to {renamed:?}", rebuilt.format);
            self.findings.push(ContentClass::EmbeddedFiles, Disposition::Neutralized, original, detail);
        }
        Ok(Some((renamed, rebuilt.data)))
    }

    fn comment(&mut self, comment: &[u8]) -> Result<(), Failure> {
        if comment.is_empty() {
            return Ok(());
        }
        let decision = self.findings.decide(
            self.policy,
            ContentClass::Metadata,
            Disposition::Removed,
            "archive comment",
            format!("{} bytes", comment.len()),
        )?;
        if decision == Decision::Keep {
            self.writer.set_raw_comment(comment.into()).map_err(write_failure)?;
        }
        Ok(())
    }
}

/// Deterministic options: compression kept as stored or deflated, the
/// input's timestamp, permission bits without setuid/setgid/sticky.
fn member_options<R: Read>(file: &zip::read::ZipFile<'_, R>) -> SimpleFileOptions {
    let method = match file.compression() {
        CompressionMethod::Stored => CompressionMethod::Stored,
        _ => CompressionMethod::Deflated,
    };
    let mut options = SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(None)
        .last_modified_time(file.last_modified().unwrap_or_default())
        .large_file(file.size() >= u32::MAX as u64);
    if let Some(mode) = file.unix_mode() {
        options = options.unix_permissions(mode & 0o777);
    }
    options
}

/// `name` with its extension replaced by `extension` when they differ
/// (a `.docm` rebuilt as `.docx`); names without an extension stay.
fn with_extension(name: &str, extension: &str) -> String {
    let file_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[file_start..].rfind('.') {
        Some(dot) if !extension.is_empty() => {
            let stem = &name[..file_start + dot];
            let current = &name[file_start + dot + 1..];
            if current.eq_ignore_ascii_case(extension) { name.to_owned() } else { format!("{stem}.{extension}") }
        }
        _ => name.to_owned(),
    }
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);

#[cfg(test)]
mod tests {
    use super::with_extension;

    #[test]
    fn extension_is_replaced_only_when_it_differs() {
        assert_eq!(with_extension("a/report.docm", "docx"), "a/report.docx");
        assert_eq!(with_extension("a/report.DOCX", "docx"), "a/report.DOCX");
        assert_eq!(with_extension("a.b/README", "txt"), "a.b/README");
    }
}
