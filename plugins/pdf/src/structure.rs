//! What the raw bytes say about the file's structure, before parsing:
//! data before the header or after the last `%%EOF` (polyglots), and
//! incremental updates that the rebuild folds into one revision.

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure, Findings, Policy};

/// Records structural anomalies the rebuild removes. The rebuild always
/// removes them; the policy can only block the file for them.
pub fn raw_findings(bytes: &[u8], policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    let class = ContentClass::MalformedStructure;
    let Some(header) = find(bytes, b"%PDF-") else {
        return Err(Failure::invalid("no %PDF- header"));
    };
    if header > 0 {
        let detail = format!("{header} bytes before the %PDF- header (polyglot or wrapper)");
        findings.decide(policy, class, Disposition::Removed, "file start", detail)?;
    }
    let eofs: Vec<usize> = positions(bytes, b"%%EOF").collect();
    if let Some(&last) = eofs.last() {
        let tail = &bytes[last + 5..];
        let trailing = tail.iter().filter(|b| !b.is_ascii_whitespace()).count();
        if trailing > 0 {
            let detail = format!("{} bytes after the last %%EOF", tail.len());
            findings.decide(policy, class, Disposition::Removed, "file end", detail)?;
        }
    }
    // A linearized file has two sections by design; more than that are updates.
    let linearized = bytes.len() > 1024 && find(&bytes[..1024], b"/Linearized").is_some();
    let updates = eofs.len().saturating_sub(if linearized { 2 } else { 1 });
    if updates > 0 {
        let detail =
            format!("{updates} incremental update(s) merged: earlier revisions and unreferenced objects dropped");
        findings.decide(policy, class, Disposition::Removed, "revisions", detail)?;
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn positions<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack.windows(needle.len()).enumerate().filter(move |(_, w)| *w == needle).map(|(i, _)| i)
}
