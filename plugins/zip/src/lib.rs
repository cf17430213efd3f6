//! Sekisho `zip` plugin: plain ZIP archives.
//!
//! The archive is rebuilt member by member. Every file member goes back
//! through the host (`sanitize-embedded`) to the plugin for its own type;
//! names that would escape the extraction folder are rewritten; symlinks and
//! encrypted members fall under policy; inflation is counted on the bytes
//! actually produced, so lying headers and overlapping entries cannot smuggle
//! a bomb through. The output is deterministic: input order, input
//! timestamps, fixed compression settings.

mod paths;

use std::collections::BTreeSet;
use std::io::{Read, Seek, Write};

use sekisho_plugin_sdk::{
    ContentClass, Decision, Disposition, EmbeddedOutcome, EmbeddedRefusal, Embedder, Failure, FailureKind, Findings,
    Format, Magic, PluginInfo, Policy, Rebuilt,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub use paths::{SafeName, safe_name};

/// Plugin name as reported to the host.
pub const NAME: &str = "zip";

/// Inflation allowed whatever the ratio, so small archives of text are not
/// refused for compressing well.
const RATIO_FLOOR_BYTES: u64 = 1 << 20;

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
        }],
        classes: vec![
            ContentClass::EmbeddedFiles,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
            ContentClass::Encryption,
            ContentClass::Metadata,
        ],
    }
}

/// Rebuilds the archive read from `input` into `output`.
pub fn sanitize<R, W, E>(input: R, output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let mut input = input;
    let input_size =
        input.seek(std::io::SeekFrom::End(0)).map_err(|e| Failure::invalid(format!("reading input: {e}")))?;
    let mut archive =
        ZipArchive::new(input).map_err(|e| Failure::invalid(format!("not a readable ZIP archive: {e}")))?;
    let limits = &policy.limits;
    if archive.len() > limits.max_entries as usize {
        return Err(Failure::limit(format!(
            "{} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        )));
    }
    if archive.has_overlapping_entries().map_err(|e| Failure::invalid(format!("reading entries: {e}")))? {
        return Err(Failure::invalid("entries overlap each other (a zip bomb construction)"));
    }
    let budget = limits
        .max_expanded_bytes
        .min(input_size.saturating_mul(limits.max_expansion_ratio as u64).max(RATIO_FLOOR_BYTES));
    let mut rebuild = Rebuild {
        policy,
        findings: Findings::new(),
        writer: ZipWriter::new_stream(output),
        names: BTreeSet::new(),
        inflated: 0,
        budget,
    };
    if archive.has_duplicate_names() {
        // The reader keeps the last entry of each name; the others never reach the output.
        rebuild.findings.decide(
            policy,
            ContentClass::MalformedStructure,
            Disposition::Removed,
            "central directory",
            "entries with duplicate names: only the last of each is kept",
        )?;
    }
    for index in 0..archive.len() {
        rebuild.member(&mut archive, index, embedder)?;
    }
    rebuild.comment(archive.comment())?;
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
    /// Bytes inflated so far, counted as they are produced.
    inflated: u64,
    budget: u64,
}

impl<W: Write> Rebuild<'_, W> {
    fn member<R: Read + Seek, E: Embedder + ?Sized>(
        &mut self,
        archive: &mut ZipArchive<R>,
        index: usize,
        embedder: &mut E,
    ) -> Result<(), Failure> {
        let policy = self.policy;
        let mut file = archive.by_index_raw(index).map_err(|e| Failure::invalid(format!("entry {index}: {e}")))?;
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
        let data = match self.inflate(archive, index) {
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
                    let raw = archive.by_index_raw(index).map_err(|e| Failure::invalid(e.to_string()))?;
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

    /// Inflates one member, counting the bytes actually produced against the budget.
    fn inflate<R: Read + Seek>(&mut self, archive: &mut ZipArchive<R>, index: usize) -> Result<Vec<u8>, Unreadable> {
        let file = archive.by_index(index).map_err(|e| Unreadable::Broken(e.to_string()))?;
        let remaining = self.budget.saturating_sub(self.inflated);
        let declared = file.size();
        let mut data = Vec::with_capacity(declared.min(remaining).min(64 << 20) as usize);
        file.take(remaining.saturating_add(1)).read_to_end(&mut data).map_err(|e| Unreadable::Broken(e.to_string()))?;
        self.inflated += data.len() as u64;
        if self.inflated > self.budget {
            return Err(Unreadable::Limit(Failure::limit(format!(
                "archive inflates to more than {} bytes (expanded-bytes and expansion-ratio limits)",
                self.budget
            ))));
        }
        Ok(data)
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
        match embedder.sanitize_embedded(&name, &data) {
            Ok(rebuilt) => {
                let mut renamed = with_extension(&name, &rebuilt.extension);
                if renamed != name && !self.names.insert(renamed.clone()) {
                    renamed = name.clone();
                }
                if rebuilt.outcome == EmbeddedOutcome::Sanitized || renamed != name {
                    let detail = if renamed != name {
                        format!("member rebuilt as {}, renamed to {renamed:?}", rebuilt.format)
                    } else {
                        "member rebuilt with active content removed".to_owned()
                    };
                    self.findings.push(ContentClass::EmbeddedFiles, Disposition::Neutralized, original, detail);
                }
                Ok(Some((renamed, rebuilt.data)))
            }
            Err(EmbeddedRefusal::Unsupported(kind)) => {
                let detail = format!("no plugin rebuilds this member ({kind})");
                let decision =
                    self.findings.decide(policy, ContentClass::UnknownParts, Disposition::Removed, original, detail)?;
                Ok((decision == Decision::Keep).then_some((name, data)))
            }
            Err(EmbeddedRefusal::Failed(detail)) => {
                let detail = format!("member could not be rebuilt: {detail}");
                let decision = self.findings.decide(
                    policy,
                    ContentClass::MalformedStructure,
                    Disposition::Removed,
                    original,
                    detail,
                )?;
                Ok((decision == Decision::Keep).then_some((name, data)))
            }
            Err(EmbeddedRefusal::Blocked(detail)) => {
                self.findings.push(ContentClass::EmbeddedFiles, Disposition::Blocked, original, detail.clone());
                Err(Failure {
                    kind: FailureKind::Blocked(ContentClass::EmbeddedFiles),
                    detail: format!("member {original:?} is blocked: {detail}"),
                    findings: self.findings.as_slice().to_vec(),
                })
            }
            Err(EmbeddedRefusal::LimitExceeded(detail)) => {
                Err(Failure::limit(format!("member {original:?}: {detail}")).with_findings(self.findings.clone()))
            }
        }
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

/// Why a member's data could not be used.
enum Unreadable {
    /// An inflation limit: the whole archive fails.
    Limit(Failure),
    /// The member is broken or uses an unsupported method: policy decides.
    Broken(String),
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

fn write_failure(error: impl std::fmt::Display) -> Failure {
    Failure::too_large(format!("writing archive: {error}"))
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
