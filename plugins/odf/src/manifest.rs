//! `META-INF/manifest.xml`: which members the package declares, which
//! folders are sub-documents, and whether anything is encrypted.
//!
//! The manifest is written anew from its entries rather than edited: the
//! rebuilt package must have an entry for every member it keeps and none for
//! a member it removed, and new entries cannot be spliced in with an
//! element-by-element rewrite. Only attributes of the manifest vocabulary are
//! kept (`manifest:size` describes encrypted data and goes), so writing it
//! again gives the same bytes.

use std::collections::BTreeSet;

use sekisho_plugin_sdk::Failure;
use sekisho_plugin_sdk::xml::{self, Node};

/// The member name of the manifest.
pub const PATH: &str = "META-INF/manifest.xml";
const NS: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";
/// Media type of the user-interface configuration folder (`Configurations2/`),
/// whose members LibreOffice does not list one by one.
const UI_CONFIGURATION: &str = "application/vnd.sun.xml.ui.configuration";
/// Media types of sub-documents (`Object 1/`: a chart, a formula, a text…).
const ODF_MEDIA: &str = "application/vnd.oasis.opendocument.";

/// One `manifest:file-entry`.
#[derive(Debug)]
pub struct Entry {
    pub path: String,
    media_type: String,
    /// Manifest attributes in input order, as (local name, value).
    attributes: Vec<(String, String)>,
}

/// The parsed manifest.
#[derive(Debug)]
pub struct Manifest {
    /// Attributes of `manifest:manifest` (its version).
    root: Vec<(String, String)>,
    pub entries: Vec<Entry>,
    paths: BTreeSet<String>,
    /// Configuration folders, whose members are declared with them.
    ui_folders: BTreeSet<String>,
}

impl Manifest {
    /// Parses the manifest; an encrypted package is refused.
    pub fn parse(xml: &[u8]) -> Result<Manifest, Failure> {
        let mut manifest =
            Manifest { root: Vec::new(), entries: Vec::new(), paths: BTreeSet::new(), ui_folders: BTreeSet::new() };
        let mut depth = 0usize;
        xml::scan(xml, |node| {
            match node {
                Node::Start(element) => {
                    depth += 1;
                    if element.namespace == NS && matches!(element.local, "encryption-data" | "keyinfo") {
                        return Err(Failure::encrypted("the package is encrypted with a password"));
                    }
                    let attributes = || -> Result<Vec<(String, String)>, Failure> {
                        let all = element.attributes()?.into_iter();
                        Ok(all.filter(|a| a.namespace == NS && a.local != "size").map(|a| (a.local, a.value)).collect())
                    };
                    match depth {
                        1 if element.is(NS, "manifest") => manifest.root = attributes()?,
                        1 => return Err(Failure::invalid("the root element is not manifest:manifest")),
                        2 if element.is(NS, "file-entry") => {
                            let attributes = attributes()?;
                            let value = |name: &str| attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                            if let Some(path) = value("full-path") {
                                let media_type = value("media-type").unwrap_or_default();
                                if media_type == UI_CONFIGURATION && path.ends_with('/') {
                                    manifest.ui_folders.insert(path.clone());
                                }
                                manifest.paths.insert(path.clone());
                                manifest.entries.push(Entry { path, media_type, attributes });
                            }
                        }
                        _ => {}
                    }
                }
                Node::End => depth = depth.saturating_sub(1),
                Node::Text(_) => {}
            }
            Ok(())
        })?;
        if depth != 0 {
            return Err(Failure::invalid("the manifest is truncated"));
        }
        Ok(manifest)
    }

    /// True when `name` has an entry, or lies in the configuration folder.
    pub fn declares(&self, name: &str) -> bool {
        self.paths.contains(name) || folders(name).any(|folder| self.ui_folders.contains(folder))
    }

    /// The folders that hold sub-documents, e.g. `Object 1/`.
    pub fn sub_documents(&self) -> BTreeSet<String> {
        let folders = self.entries.iter().filter(|e| e.path.len() > 1 && e.path.ends_with('/'));
        folders.filter(|e| e.media_type.starts_with(ODF_MEDIA)).map(|e| e.path.clone()).collect()
    }

    /// The manifest with the entries `keep` selects, then new entries for
    /// `added` members.
    pub fn write(&self, keep: impl Fn(&Entry) -> bool, added: &[String]) -> Vec<u8> {
        let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest:manifest xmlns:manifest=\"{NS}\"");
        push_attributes(&mut out, &self.root);
        out.push_str(">\n");
        let new =
            added.iter().map(|path| vec![("full-path".to_owned(), path.clone()), ("media-type".into(), "".into())]);
        let kept = self.entries.iter().filter(|e| keep(e)).map(|e| e.attributes.clone());
        for attributes in kept.chain(new) {
            out.push_str(" <manifest:file-entry");
            push_attributes(&mut out, &attributes);
            out.push_str("/>\n");
        }
        out.push_str("</manifest:manifest>\n");
        out.into_bytes()
    }
}

/// The folders holding `name`, outermost first: `a/` and `a/b/` for `a/b/c`.
pub fn folders(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(|(i, _)| &name[..=i]).filter(move |folder| folder.len() < name.len())
}

fn push_attributes(out: &mut String, attributes: &[(String, String)]) {
    for (name, value) in attributes {
        out.push_str(" manifest:");
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                // Written raw, these would read back as spaces.
                '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2" xmlns:x="urn:x">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="Configurations2/" manifest:media-type="application/vnd.sun.xml.ui.configuration"/>
 <manifest:file-entry manifest:media-type="application/x-gdi;name=&quot;a&amp;b&quot;&#10;" manifest:full-path="ObjectReplacements/Object 1" x:y="z"/>
 <manifest:file-entry manifest:full-path="Object 1/" manifest:media-type="application/vnd.oasis.opendocument.chart"/>
</manifest:manifest>"#;

    #[test]
    fn entries_sub_documents_and_configuration() {
        let manifest = Manifest::parse(MANIFEST.as_bytes()).unwrap();
        assert_eq!(manifest.sub_documents().into_iter().collect::<Vec<_>>(), ["Object 1/"]);
        assert_eq!(folders("a/b/c").collect::<Vec<_>>(), ["a/", "a/b/"]);
        assert_eq!(folders("a/b/").collect::<Vec<_>>(), ["a/"]);
        assert!(manifest.declares("Configurations2/accelerator/current.xml"));
        assert!(manifest.declares("ObjectReplacements/Object 1"));
        assert!(!manifest.declares("Object 1/content.xml"));
    }

    #[test]
    fn writing_keeps_manifest_attributes_and_reads_back_the_same() {
        let manifest = Manifest::parse(MANIFEST.as_bytes()).unwrap();
        let written = manifest.write(|e| e.path != "Object 1/", &["Pictures/a.png".to_owned()]);
        let text = String::from_utf8(written.clone()).unwrap();
        assert!(text.contains(r#"manifest:media-type="application/x-gdi;name=&quot;a&amp;b&quot;&#10;""#), "{text}");
        assert!(!text.contains("x:y") && !text.contains("Object 1/"));
        assert!(text.contains(r#"<manifest:file-entry manifest:full-path="Pictures/a.png" manifest:media-type=""/>"#));
        let again = Manifest::parse(&written).unwrap().write(|_| true, &[]);
        assert_eq!(again, written);
    }

    #[test]
    fn encryption_and_other_roots_are_refused() {
        let encrypted = MANIFEST
            .replace(r#"x:y="z"/>"#, r#"><manifest:encryption-data manifest:checksum="x"/></manifest:file-entry>"#);
        let failure = Manifest::parse(encrypted.as_bytes()).unwrap_err();
        assert_eq!(failure.kind, sekisho_plugin_sdk::FailureKind::Encrypted);
        assert!(Manifest::parse(b"<a/>").is_err());
        assert!(
            Manifest::parse(
                b"<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">"
            )
            .is_err()
        );
    }
}
