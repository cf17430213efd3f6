//! Helpers shared by the corpus and handmade tests: running the plugin,
//! reading the rebuilt package, and the invariants every output must hold.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{Cursor, Read, Write};

use sekisho_plugin_sdk::xml::{self, Node};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, Failure, Finding, HyperlinkMode, Policy};

pub const MANIFEST_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";

/// The strict profile: everything sanitized, links kept as text.
pub fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

pub fn run(format: &str, input: &[u8], policy: &Policy) -> Result<(Vec<u8>, Vec<Finding>), Failure> {
    let mut out = Vec::new();
    let rebuilt =
        sekisho_odf::sanitize(format, Cursor::new(input), &mut out, policy, &mut sekisho_plugin_sdk::RefuseAll)?;
    assert_eq!(rebuilt.format, format);
    Ok((out, rebuilt.findings))
}

/// Runs the plugin and checks the properties every output has: a valid
/// package, deterministic, idempotent with nothing found the second time.
pub fn rebuild(format: &str, input: &[u8], policy: &Policy) -> (Vec<u8>, Vec<Finding>) {
    let (out, findings) = run(format, input, policy).unwrap_or_else(|f| panic!("{:?}: {}", f.kind, f.detail));
    // Kept anomalies leave the manifest as the input had it.
    let repaired = [ContentClass::MalformedStructure, ContentClass::UnknownParts];
    let repairs = repaired.iter().all(|&class| policy.action(class) == Action::Sanitize);
    assert_valid(&out, repairs);
    let (same, _) = run(format, input, policy).unwrap();
    assert_eq!(same, out, "not deterministic");
    let (again, found) = run(format, &out, policy).unwrap();
    assert_eq!(again, out, "not idempotent");
    if policy.rules.iter().all(|rule| rule.action == Action::Sanitize) {
        assert!(found.is_empty(), "the second pass found {found:?}");
    }
    (out, findings)
}

/// Member names in archive order.
pub fn names(package: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(package)).unwrap();
    (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned()).collect()
}

pub fn member(package: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(package)).unwrap();
    let mut file = archive.by_name(name).ok()?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).unwrap();
    Some(data)
}

pub fn text_member(package: &[u8], name: &str) -> String {
    String::from_utf8(member(package, name).unwrap_or_else(|| panic!("no {name}"))).unwrap()
}

/// The text nodes of an XML member, concatenated.
pub fn text_of(xml: &[u8]) -> String {
    let mut text = String::new();
    xml::scan(xml, |node| {
        if let Node::Text(t) = node {
            text.push_str(&t);
        }
        Ok(())
    })
    .unwrap();
    text
}

/// `mimetype` first, stored, readable at the fixed offsets magic-number
/// tools use; every entry of the manifest naming a member and, when the
/// manifest is `repaired`, every member listed; every XML member of the
/// document well formed.
pub fn assert_valid(package: &[u8], repaired: bool) {
    assert_eq!(&package[30..38], b"mimetype", "mimetype is not the first member");
    let media_type = member(package, "mimetype").unwrap();
    assert_eq!(&package[38..38 + media_type.len()], &media_type[..], "mimetype is not stored");
    let mut archive = zip::ZipArchive::new(Cursor::new(package)).unwrap();
    assert_eq!(archive.by_index(0).unwrap().compression(), zip::CompressionMethod::Stored);
    let names = names(package);
    let mut entries = Vec::new();
    xml::scan(&member(package, "META-INF/manifest.xml").unwrap(), |node| {
        if let Node::Start(e) = node
            && e.is(MANIFEST_NS, "file-entry")
        {
            let media_type = e.attribute(MANIFEST_NS, "media-type")?.unwrap_or_default();
            entries.push((e.attribute(MANIFEST_NS, "full-path")?.unwrap(), media_type));
        }
        Ok(())
    })
    .unwrap();
    // Members of the configuration folder are declared with it.
    let configuration = entries.iter().filter(|(_, media)| media == "application/vnd.sun.xml.ui.configuration");
    let configuration: Vec<&String> = configuration.map(|(path, _)| path).collect();
    for name in &names {
        let exempt = name.ends_with('/') || name == "mimetype" || name.starts_with("META-INF/");
        let listed = entries.iter().any(|(path, _)| path == name) || configuration.iter().any(|c| name.starts_with(*c));
        assert!(exempt || !repaired || listed, "member {name} has no manifest entry");
    }
    for (entry, _) in &entries {
        let present =
            entry == "/" || names.iter().any(|n| n == entry || (entry.ends_with('/') && n.starts_with(entry)));
        assert!(present, "manifest entry {entry} names no member");
    }
    for name in names.iter().filter(|n| n.ends_with(".xml")) {
        xml::scan(&member(package, name).unwrap(), |_| Ok(())).unwrap_or_else(|f| panic!("{name}: {}", f.detail));
    }
}

pub fn has(findings: &[Finding], class: ContentClass, disposition: Disposition) -> bool {
    findings.iter().any(|f| f.class == class && f.disposition == disposition)
}

/// A package with `members` in order, each stored or deflated.
pub fn zip_of(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for &(name, data, stored) in members {
        let method = if stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        if name.ends_with('/') {
            writer.add_directory(name, options).unwrap();
        } else {
            writer.start_file(name, options).unwrap();
            writer.write_all(data).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}
