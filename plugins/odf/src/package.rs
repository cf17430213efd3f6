//! The members of a package: which stay, which go, and the manifest that
//! lists the survivors.
//!
//! Three passes. By name: macro libraries, metadata and signatures. Then
//! every declared XML member through the content rules, which also tell
//! which members the document uses. Then the other members by what the XML
//! said: data of removed OLE objects goes, OLE data nothing keeps goes,
//! declared members stay, members used but undeclared stay and are declared,
//! the rest are unknown.
//!
//! Sub-documents (`Object 1/`: a chart, a formula, an embedded text, declared
//! with an OpenDocument media type) are cleaned where they lie, with the same
//! rules applied to names relative to their folder. They are not standalone
//! files: they have no `mimetype` or manifest of their own, share the
//! package's manifest, and may use its members (`../Pictures/…`); nor does
//! the host know chart or formula packages. Handling them in place needs no
//! repackaging and no depth limit, and keeps the manifest consistent.

use std::collections::BTreeSet;
use std::ops::Bound;

use sekisho_plugin_sdk::package::Part;
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, FailureKind, Findings, Policy};

use crate::content::{self, Links, Scope};
use crate::manifest::{self, Manifest};

/// Members removed by name, relative to their (sub-)document: a folder
/// prefix (ending in `/`) or an exact name.
const BY_NAME: [(&str, ContentClass, &str); 5] = [
    ("Basic/", ContentClass::Macros, "StarBasic macro library"),
    ("Scripts/", ContentClass::Macros, "macro scripts (Python, JavaScript, BeanShell)"),
    ("Dialogs/", ContentClass::Macros, "Basic dialog library"),
    ("Thumbnails/", ContentClass::Metadata, "preview image of the first page"),
    ("meta.xml", ContentClass::Metadata, "document properties (author, dates, statistics)"),
];

/// XML members every (sub-)document may have, declared or not.
const STANDARD: [&str; 5] = ["content.xml", "styles.xml", "settings.xml", "meta.xml", "manifest.rdf"];

/// The signature of an OLE compound file.
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Rebuilds the members of a package, in order; `mimetype` (already checked)
/// stays as it is and the manifest is written anew.
pub fn rebuild(parts: Vec<Part>, policy: &Policy, findings: &mut Findings) -> Result<Vec<Part>, Failure> {
    let manifest = parts
        .iter()
        .find(|p| p.name == manifest::PATH && !p.is_dir)
        .ok_or_else(|| Failure::invalid("no META-INF/manifest.xml: not an OpenDocument package"))?;
    let stripped = content::without_external_dtd(&manifest.data);
    let manifest = Manifest::parse(stripped.as_deref().unwrap_or(&manifest.data)).map_err(in_member(manifest::PATH))?;
    let inputs: BTreeSet<String> = parts.iter().map(|p| p.name.clone()).collect();
    let roots = manifest.sub_documents();
    let mut rebuild = Rebuild { policy, findings, manifest, roots, links: Links::default(), added: Vec::new() };

    let mut first = Vec::with_capacity(parts.len());
    for part in parts {
        first.push(rebuild.first(part)?);
    }
    let mut kept = Vec::with_capacity(first.len());
    for slot in first {
        match slot {
            Slot::Kept(part) => kept.push(part),
            Slot::Later(part) => kept.extend(rebuild.second(part)?),
            Slot::Gone => {}
        }
    }
    let manifest = rebuild.manifest(&inputs, &kept)?;
    if let Some(part) = kept.iter_mut().find(|p| p.name == manifest::PATH) {
        part.data = manifest;
    }
    Ok(kept)
}

/// A member after the first pass.
enum Slot {
    Kept(Part),
    /// Decided once every XML member has been read.
    Later(Part),
    Gone,
}

struct Rebuild<'a> {
    policy: &'a Policy,
    findings: &'a mut Findings,
    manifest: Manifest,
    /// Sub-document folders (`Object 1/`).
    roots: BTreeSet<String>,
    links: Links,
    /// Members kept without a manifest entry, to be declared.
    added: Vec<String>,
}

impl Rebuild<'_> {
    /// Removes members by name and cleans the XML members.
    fn first(&mut self, mut part: Part) -> Result<Slot, Failure> {
        let name = &part.name.clone();
        if name == "mimetype" || name == manifest::PATH {
            return Ok(Slot::Kept(part));
        }
        if name.starts_with("META-INF/") && name.contains("signatures") {
            let detail = "digital signature: it cannot stay valid once the package is rebuilt";
            let removed = self.removes(ContentClass::Metadata, name, detail)?;
            return Ok(if removed { Slot::Gone } else { Slot::Kept(part) });
        }
        let by_name = self.relative_names(name).into_iter().find_map(|(at, relative)| {
            let rule = BY_NAME
                .iter()
                .find(|(rule, ..)| if rule.ends_with('/') { relative.starts_with(rule) } else { relative == *rule });
            rule.map(|&(rule, class, detail)| (format!("{}{rule}", &name[..at]), class, detail))
        });
        // What the policy keeps is cleaned like any other member.
        if let Some((location, class, detail)) = by_name
            && self.removes(class, &location, detail)?
        {
            return Ok(Slot::Gone);
        }
        if part.is_dir {
            return Ok(Slot::Kept(part));
        }
        let root = self.root_of(name).to_owned();
        let standard = STANDARD.contains(&&name[root.len()..]);
        if !is_xml(name) || !(standard || self.manifest.declares(name)) {
            return Ok(Slot::Later(part));
        }
        let ui = self.relative_names(name).iter().any(|(_, relative)| relative.starts_with("Configurations2/"));
        let scope = Scope { name, root: &root, ui };
        let cleaned = content::clean(&part.data, &scope, self.policy, self.findings, &mut self.links);
        if let Some(data) = cleaned.map_err(in_member(name))? {
            part.data = data;
        }
        if !self.manifest.declares(name) {
            self.undeclared(name)?;
        }
        Ok(Slot::Kept(part))
    }

    /// Decides the other members by what the XML members said of them.
    fn second(&mut self, part: Part) -> Result<Option<Part>, Failure> {
        let name = &part.name.clone();
        if self.links.orphans.contains(name) && !self.links.used.contains(name) {
            return Ok(None);
        }
        let ole = part.data.starts_with(&OLE_MAGIC) && !self.links.kept_ole.contains(name);
        if ole && self.removes(ContentClass::ActiveObjects, name, "binary OLE object (application data)")? {
            return Ok(None);
        }
        if self.manifest.declares(name) {
            return Ok(Some(part));
        }
        if self.links.used.contains(name) && !is_xml(name) {
            self.undeclared(name)?;
            return Ok(Some(part));
        }
        let removed = self.removes(ContentClass::UnknownParts, name, "not declared in the manifest")?;
        Ok((!removed).then_some(part))
    }

    /// The manifest listing what is left: entries of removed members go,
    /// entries naming no member of the input go as a repair.
    fn manifest(&mut self, inputs: &BTreeSet<String>, kept: &[Part]) -> Result<Vec<u8>, Failure> {
        let outputs: BTreeSet<String> = kept.iter().map(|p| p.name.clone()).collect();
        let mut keep_stale = true;
        let stale = self.manifest.entries.iter().filter(|e| !present(inputs, &e.path)).count();
        // One occurrence per stale entry.
        for _ in 0..stale {
            let detail = "entry for a member the package does not have";
            let class = ContentClass::MalformedStructure;
            let decision =
                self.findings.decide_grouped(self.policy, class, Disposition::Removed, manifest::PATH, detail)?;
            keep_stale = decision == Decision::Keep;
        }
        let keep =
            |entry: &manifest::Entry| present(&outputs, &entry.path) || (keep_stale && !present(inputs, &entry.path));
        Ok(self.manifest.write(keep, &self.added))
    }

    /// True when the policy removes what `location` holds.
    fn removes(&mut self, class: ContentClass, location: &str, detail: &str) -> Result<bool, Failure> {
        let decision = self.findings.decide_grouped(self.policy, class, Disposition::Removed, location, detail)?;
        Ok(decision == Decision::Sanitize)
    }

    /// A member the document needs has no manifest entry.
    fn undeclared(&mut self, name: &str) -> Result<(), Failure> {
        let detail = "used by the document but missing from the manifest: declared";
        let decision = self.findings.decide_grouped(
            self.policy,
            ContentClass::MalformedStructure,
            Disposition::Neutralized,
            name,
            detail,
        )?;
        if decision == Decision::Sanitize {
            self.added.push(name.to_owned());
        }
        Ok(())
    }

    /// `name` relative to the package and to each sub-document holding it,
    /// with the length of the folder cut off.
    fn relative_names<'n>(&self, name: &'n str) -> Vec<(usize, &'n str)> {
        let inner = manifest::folders(name).filter(|folder| self.roots.contains(*folder));
        std::iter::once((0, name)).chain(inner.map(|root| (root.len(), &name[root.len()..]))).collect()
    }

    /// The folder of the innermost (sub-)document holding `name`.
    fn root_of<'n>(&self, name: &'n str) -> &'n str {
        manifest::folders(name).filter(|folder| self.roots.contains(*folder)).last().unwrap_or("")
    }
}

/// True when a manifest path names a member of `names`, or a folder holding one.
fn present(names: &BTreeSet<String>, path: &str) -> bool {
    path == "/"
        || names.contains(path)
        || (path.ends_with('/')
            && names
                .range::<str, _>((Bound::Included(path), Bound::Unbounded))
                .next()
                .is_some_and(|n| n.starts_with(path)))
}

fn is_xml(name: &str) -> bool {
    name.ends_with(".xml") || name.ends_with(".rdf")
}

/// Names the member in an invalid-structure failure.
fn in_member(name: &str) -> impl FnOnce(Failure) -> Failure + '_ {
    move |mut failure| {
        if failure.kind == FailureKind::InvalidStructure {
            failure.detail = format!("{name}: {}", failure.detail);
        }
        failure
    }
}
