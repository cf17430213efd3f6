//! The package as parts and relationships, and the order of the rebuild:
//! decide parts, cut relationships, rebuild embedded documents, drop what
//! is no longer reachable, rewrite the XML that stays.

use std::collections::{BTreeMap, BTreeSet};

use sekisho_plugin_sdk::package::Part;
use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Embedded, Embedder, Failure, Findings, Policy};

use crate::classify::{self, is_embedded_package, is_passive, part_class, relationship_class};
use crate::fields::contains;
use crate::markup::{self, Context};
use crate::opc::{self, CONTENT_TYPES, ContentTypes, Relationship, key};
use sekisho_plugin_sdk::pictures::{self, Picture};
use sekisho_plugin_sdk::vba::CFB_SIGNATURE;

/// A package being rebuilt.
pub struct Package {
    /// The parts, in input order; removed ones are `None`.
    parts: Vec<Option<Part>>,
    /// Part key → position.
    index: BTreeMap<String, usize>,
    types: ContentTypes,
    /// Source part key (`""` for the package) → its relationships.
    rels: BTreeMap<String, Vec<Relationship>>,
    /// Source part key → ids of its removed relationships.
    cut: BTreeMap<String, BTreeSet<String>>,
}

impl Package {
    /// Reads the content types and every relationships part.
    pub fn load(parts: Vec<Part>) -> Result<Package, Failure> {
        let parts: Vec<Part> = parts.into_iter().filter(|p| !p.is_dir).collect();
        let index: BTreeMap<String, usize> = parts.iter().enumerate().map(|(i, p)| (key(&p.name), i)).collect();
        let types_part = index
            .get(&key(CONTENT_TYPES))
            .ok_or_else(|| Failure::invalid("not an Office Open XML package: no [Content_Types].xml"))?;
        let types = ContentTypes::parse(&parts[*types_part].data)?;
        let mut rels = BTreeMap::new();
        for part in &parts {
            if let Some(source) = opc::source_of(&part.name) {
                rels.insert(source.clone(), opc::parse_rels(&source, &part.data)?);
            }
        }
        if !rels.contains_key("") {
            return Err(Failure::invalid("not an Office Open XML package: no package relationships (_rels/.rels)"));
        }
        Ok(Package { parts: parts.into_iter().map(Some).collect(), index, types, rels, cut: BTreeMap::new() })
    }

    /// The kept parts, `[Content_Types].xml` first.
    pub fn parts(&self) -> impl Iterator<Item = &Part> {
        let types = self.parts.iter().flatten().filter(|p| key(&p.name) == key(CONTENT_TYPES));
        types.chain(self.parts.iter().flatten().filter(|p| key(&p.name) != key(CONTENT_TYPES)))
    }

    /// The host's format id for the rebuilt package, from its main part's
    /// content type and whether a VBA project is left.
    pub fn format(&self) -> Option<&'static str> {
        let main = self.rels.get("")?.iter().find(|r| r.short_kind() == "officeDocument")?.part.clone()?;
        let content_type = self.types.of(&main)?;
        let macros = content_type.contains("macroenabled") || self.kept_keys().any(|k| k.ends_with("vbaproject.bin"));
        let family = if content_type.contains("wordprocessingml") || content_type.contains("ms-word") {
            ("docx", "docm")
        } else if content_type.contains("spreadsheetml") || content_type.contains("ms-excel") {
            ("xlsx", "xlsm")
        } else if content_type.contains("presentationml") || content_type.contains("ms-powerpoint") {
            ("pptx", "pptm")
        } else {
            return None;
        };
        Some(if macros { family.1 } else { family.0 })
    }

    /// Applies the policy to the whole package.
    pub fn sanitize<E: Embedder + ?Sized>(
        &mut self,
        policy: &Policy,
        findings: &mut Findings,
        embedder: &mut E,
    ) -> Result<(), Failure> {
        let targeted: BTreeSet<String> = self.rels.values().flatten().filter_map(|r| r.part.clone()).collect();
        let embedded: BTreeSet<String> =
            self.rels.values().flatten().filter(|r| is_embedded_package(r)).filter_map(|r| r.part.clone()).collect();
        let mut kept_orphans = BTreeSet::new();
        self.decide_parts(policy, findings, embedder, &targeted, &embedded, &mut kept_orphans)?;
        self.rebuild_pictures(policy, findings, embedder)?;
        self.decide_relationships(policy, findings)?;
        self.rebuild_embedded(policy, findings, embedder, &embedded)?;
        let opaque = self.check_legacy_drawings(policy, findings)?;
        self.drop_unreachable(&kept_orphans);
        self.rewrite_xml(policy, findings, &opaque)
    }

    fn decide_parts<E: Embedder + ?Sized>(
        &mut self,
        policy: &Policy,
        findings: &mut Findings,
        embedder: &mut E,
        targeted: &BTreeSet<String>,
        embedded: &BTreeSet<String>,
        kept_orphans: &mut BTreeSet<String>,
    ) -> Result<(), Failure> {
        for position in 0..self.parts.len() {
            let Some(part) = &self.parts[position] else { continue };
            let (name, part_key) = (part.name.clone(), key(&part.name));
            if part_key == key(CONTENT_TYPES) || opc::source_of(&name).is_some() || embedded.contains(&part_key) {
                continue;
            }
            let verdict = match self.types.of(&name) {
                None => Some((ContentClass::UnknownParts, "part without a content type".to_owned())),
                Some(ct) => match part_class(ct, &part_key) {
                    Some((ContentClass::ExternalLinks, _)) if contains(&part.data, b"<ddeLink") => {
                        Some((ContentClass::Dde, "DDE link to another application".to_owned()))
                    }
                    Some((class, label)) => Some((class, label.to_owned())),
                    None if !is_passive(ct) => Some((ContentClass::UnknownParts, format!("content type {ct}"))),
                    None if !targeted.contains(&part_key) => {
                        Some((ContentClass::UnknownParts, "part that nothing refers to".to_owned()))
                    }
                    None => None,
                },
            };
            let Some((class, detail)) = verdict else { continue };
            // The host's scanners see each module's source, kept or not.
            if class == ContentClass::Macros && part.data.starts_with(CFB_SIGNATURE) {
                let kept = policy.action(ContentClass::Macros) == Action::Allow;
                sekisho_plugin_sdk::vba::inspect_bin(embedder, &part.data, kept, &name);
            }
            match findings.decide(policy, class, Disposition::Removed, &name, detail)? {
                Decision::Sanitize => self.parts[position] = None,
                Decision::Keep if !targeted.contains(&part_key) => {
                    kept_orphans.insert(part_key);
                }
                Decision::Keep => {}
            }
        }
        Ok(())
    }

    /// Every raster picture left (`image/*` parts) goes through the image
    /// plugin, unless the policy keeps pictures as they are.
    fn rebuild_pictures<E: Embedder + ?Sized>(
        &mut self,
        policy: &Policy,
        findings: &mut Findings,
        embedder: &mut E,
    ) -> Result<(), Failure> {
        for position in 0..self.parts.len() {
            let Some(part) = &self.parts[position] else { continue };
            if !self.types.of(&part.name).is_some_and(|ct| ct.to_ascii_lowercase().starts_with("image/")) {
                continue;
            }
            let file = part.name.rsplit('/').next().unwrap_or(&part.name);
            match pictures::rebuild(findings, policy, embedder, &part.name, file, &part.data)? {
                Picture::Keep => {}
                Picture::Rebuilt(data) => {
                    if let Some(part) = &mut self.parts[position] {
                        part.data = data;
                    }
                }
                Picture::Remove => self.parts[position] = None,
            }
        }
        Ok(())
    }

    fn decide_relationships(&mut self, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
        let mut removed_targets = Vec::new();
        for (source, rels) in &self.rels {
            if !source.is_empty() && !self.exists(source) {
                continue;
            }
            let location = if source.is_empty() { "package relationships" } else { source.as_str() };
            for rel in rels {
                let verdict = match (&rel.part, relationship_class(rel)) {
                    (_, Some((ContentClass::Hyperlinks, _))) if policy.keeps_links() => None,
                    (_, Some((class, label))) if rel.external => Some((class, format!("{label} {:?}", rel.target))),
                    (Some(target), Some((class, label))) if self.exists(target) => {
                        Some((class, format!("{label} ({})", rel.target)))
                    }
                    (Some(target), _) if self.exists(target) || self.index.contains_key(target) => None,
                    _ if rel.external => None,
                    _ => Some((
                        ContentClass::MalformedStructure,
                        format!("relationship to a missing part {:?}", rel.target),
                    )),
                };
                let Some((class, detail)) = verdict else { continue };
                if findings.decide(policy, class, Disposition::Removed, location, detail)? == Decision::Sanitize {
                    self.cut.entry(source.clone()).or_default().insert(rel.id.clone());
                    if !rel.external
                        && let Some(target) = &rel.part
                    {
                        removed_targets.push(target.clone());
                    }
                }
            }
        }
        for target in removed_targets {
            self.remove(&target);
        }
        Ok(())
    }

    fn rebuild_embedded<E: Embedder + ?Sized>(
        &mut self,
        policy: &Policy,
        findings: &mut Findings,
        embedder: &mut E,
        embedded: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        for target in embedded {
            let Some(&position) = self.index.get(target) else { continue };
            let Some(part) = &mut self.parts[position] else { continue };
            let name = part.name.clone();
            let file = name.rsplit('/').next().unwrap_or(&name).to_owned();
            if policy.action(ContentClass::EmbeddedFiles) != Action::Sanitize {
                findings.decide(
                    policy,
                    ContentClass::EmbeddedFiles,
                    Disposition::Removed,
                    &name,
                    "embedded document",
                )?;
                continue;
            }
            match findings.embed(embedder, ContentClass::EmbeddedFiles, &name, &file, &part.data)? {
                Embedded::Rebuilt(rebuilt) => part.data = rebuilt.data,
                Embedded::Refused(why) => {
                    findings.push(ContentClass::EmbeddedFiles, Disposition::Removed, &name, format!("{why}: removed"));
                    self.parts[position] = None;
                }
            }
        }
        Ok(())
    }

    /// Legacy VML drawings are often not XML at all (Office writes
    /// `<![if gte mso 9]>` conditionals into them): they cannot be rewritten,
    /// so they are malformed structure. Answers the ones kept as they are.
    fn check_legacy_drawings(&mut self, policy: &Policy, findings: &mut Findings) -> Result<BTreeSet<String>, Failure> {
        let mut opaque = BTreeSet::new();
        for position in 0..self.parts.len() {
            let Some(part) = &self.parts[position] else { continue };
            let part_key = key(&part.name);
            if !self.types.of(&part_key).is_some_and(|ct| ct.contains("vmldrawing")) {
                continue;
            }
            let Err(error) = sekisho_plugin_sdk::xml::scan(&part.data, |_| Ok(())) else { continue };
            let detail = format!("legacy VML drawing that is not well-formed XML ({})", error.detail);
            match findings.decide(policy, ContentClass::MalformedStructure, Disposition::Removed, &part.name, detail)? {
                Decision::Sanitize => self.parts[position] = None,
                Decision::Keep => {
                    opaque.insert(part_key);
                }
            }
        }
        Ok(opaque)
    }

    /// Removes what no kept relationship reaches any more (the targets of
    /// removed parts' relationships, relationships of removed parts), and
    /// cuts relationships to removed parts.
    fn drop_unreachable(&mut self, kept_orphans: &BTreeSet<String>) {
        loop {
            let mut reachable: BTreeSet<String> = kept_orphans.clone();
            let mut queue = vec![String::new()];
            reachable.insert(String::new());
            while let Some(source) = queue.pop() {
                let cut = self.cut.get(&source);
                for rel in self.rels.get(&source).into_iter().flatten() {
                    let Some(target) = &rel.part else { continue };
                    if cut.is_some_and(|c| c.contains(&rel.id)) || !self.exists(target) {
                        continue;
                    }
                    if reachable.insert(target.clone()) {
                        queue.push(target.clone());
                    }
                }
            }
            let unreachable: Vec<String> = self
                .kept_keys()
                .filter(|k| *k != key(CONTENT_TYPES))
                .filter(|k| match opc::source_of(k) {
                    Some(source) => !reachable.contains(&source),
                    None => !reachable.contains(*k),
                })
                .map(str::to_owned)
                .collect();
            let mut changed = !unreachable.is_empty();
            for part in unreachable {
                self.remove(&part);
            }
            for (source, rels) in &self.rels {
                for rel in rels {
                    let dangling = rel.part.as_ref().is_some_and(|t| !self.exists(t));
                    if dangling && self.cut.entry(source.clone()).or_default().insert(rel.id.clone()) {
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn rewrite_xml(
        &mut self,
        policy: &Policy,
        findings: &mut Findings,
        opaque: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        let kept: Vec<String> = self.parts.iter().flatten().map(|p| p.name.clone()).collect();
        let macros_left = self
            .kept_keys()
            .any(|k| self.types.of(k).is_some_and(|ct| matches!(part_class(ct, k), Some((ContentClass::Macros, _)))));
        let comments_removed = self.rels.iter().any(|(source, rels)| {
            rels.iter().any(|r| r.short_kind() == "comments" && self.cut.get(source).is_some_and(|c| c.contains(&r.id)))
        });
        let none = BTreeSet::new();
        for position in 0..self.parts.len() {
            let Some(part) = &self.parts[position] else { continue };
            let part_key = key(&part.name);
            let in_part =
                |failure: Failure| Failure { detail: format!("{}: {}", part.name, failure.detail), ..failure };
            let rewritten = if opaque.contains(&part_key) {
                None
            } else if part_key == key(CONTENT_TYPES) {
                let retype = |ct: &str| if macros_left { None } else { classify::macro_free(ct) };
                ContentTypes::rewrite(&part.data, &kept, retype).map_err(in_part)?
            } else if let Some(source) = opc::source_of(&part_key) {
                let cut: Vec<String> = self.cut.get(&source).into_iter().flatten().cloned().collect();
                opc::rewrite_rels(&part.data, &cut).map_err(in_part)?
            } else if self.types.of(&part_key).is_some_and(is_xml) {
                let content_type = self.types.of(&part_key).unwrap_or_default();
                let ctx = Context {
                    policy,
                    part: &part.name,
                    removed: self.cut.get(&part_key).unwrap_or(&none),
                    comments_removed,
                    is_workbook: is_workbook(content_type),
                };
                markup::rewrite(&ctx, &part.data, findings).map_err(in_part)?
            } else {
                None
            };
            if let (Some(data), Some(part)) = (rewritten, &mut self.parts[position]) {
                if part_key == key(CONTENT_TYPES) {
                    self.types = ContentTypes::parse(&data)?;
                }
                part.data = data;
            }
        }
        Ok(())
    }

    /// The key of the main part (the package's `officeDocument`), when kept.
    pub fn main_part(&self) -> Option<String> {
        let main = self.rels.get("")?.iter().find(|r| r.short_kind() == "officeDocument")?.part.clone()?;
        self.exists(&main).then_some(main)
    }

    /// A kept part, by name or key.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts[*self.index.get(&key(name))?].as_ref()
    }

    /// The names of the kept parts, in input order.
    pub fn part_names(&self) -> Vec<String> {
        self.parts.iter().flatten().map(|p| p.name.clone()).collect()
    }

    /// The (lowercase) content type of a part.
    pub fn content_type(&self, name: &str) -> Option<&str> {
        self.types.of(name)
    }

    /// The kept relationships of `source` to kept parts: (type, id, target key).
    pub fn relationships(&self, source: &str) -> Vec<(String, String, String)> {
        let source = key(source);
        let cut = self.cut.get(&source);
        let rels = self.rels.get(&source).into_iter().flatten();
        rels.filter(|r| !cut.is_some_and(|c| c.contains(&r.id)))
            .filter_map(|r| Some((r.kind.clone(), r.id.clone(), r.part.clone().filter(|p| self.exists(p))?)))
            .collect()
    }

    fn exists(&self, part_key: &str) -> bool {
        self.index.get(part_key).is_some_and(|&i| self.parts[i].is_some())
    }

    fn remove(&mut self, part_key: &str) {
        if let Some(&i) = self.index.get(part_key) {
            self.parts[i] = None;
        }
    }

    fn kept_keys(&self) -> impl Iterator<Item = &str> {
        self.index.iter().filter(|(_, i)| self.parts[**i].is_some()).map(|(k, _)| k.as_str())
    }
}

fn is_xml(content_type: &str) -> bool {
    content_type.ends_with("xml") || content_type.contains("vmldrawing")
}

fn is_workbook(content_type: &str) -> bool {
    content_type.ends_with(".main+xml") && (content_type.contains("spreadsheetml") || content_type.contains("ms-excel"))
}
