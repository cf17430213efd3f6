//! The Open Packaging Conventions layer: content types and relationships.
//!
//! Part names are compared case-insensitively (OPC says they are ASCII
//! case-insensitive), so every lookup key is lowercase and has no leading `/`.

use sekisho_plugin_sdk::Failure;
use sekisho_plugin_sdk::xml::{self, Edit, Node};

pub const CONTENT_TYPES: &str = "[Content_Types].xml";
const TYPES_NS: &str = "http://schemas.openxmlformats.org/package/2006/content-types";
const RELS_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

/// `[Content_Types].xml`: defaults by extension, overrides by part name.
#[derive(Debug, Default)]
pub struct ContentTypes {
    defaults: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
}

impl ContentTypes {
    pub fn parse(data: &[u8]) -> Result<Self, Failure> {
        let mut types = ContentTypes::default();
        xml::scan(data, |node| {
            let Node::Start(element) = node else { return Ok(()) };
            let content_type = element.attribute("", "ContentType")?.unwrap_or_default().to_ascii_lowercase();
            if element.is(TYPES_NS, "Default") {
                let extension = element.attribute("", "Extension")?.unwrap_or_default().to_ascii_lowercase();
                types.defaults.push((extension, content_type));
            } else if element.is(TYPES_NS, "Override") {
                let name = element.attribute("", "PartName")?.unwrap_or_default();
                types.overrides.push((key(&name), content_type));
            }
            Ok(())
        })?;
        Ok(types)
    }

    /// The (lowercase) content type of `part`, if any.
    pub fn of(&self, part: &str) -> Option<&str> {
        let part = key(part);
        if let Some((_, ct)) = self.overrides.iter().find(|(name, _)| *name == part) {
            return Some(ct);
        }
        let extension = part.rsplit_once('.').map(|(_, e)| e)?;
        self.defaults.iter().find(|(ext, _)| ext == extension).map(|(_, ct)| ct.as_str())
    }

    /// Rewrites `[Content_Types].xml` for the kept parts: overrides of removed
    /// parts and defaults no kept part uses go, and content types are
    /// replaced where `retype` says so (a macro-enabled main part).
    pub fn rewrite(
        data: &[u8],
        kept: &[String],
        retype: impl Fn(&str) -> Option<&'static str>,
    ) -> Result<Option<Vec<u8>>, Failure> {
        let kept: Vec<String> = kept.iter().map(|name| key(name)).collect();
        let overridden = |name: &str| kept.iter().any(|k| k == name);
        let types = ContentTypes::parse(data)?;
        let used_extension = |extension: &str| {
            kept.iter().any(|part| {
                part.rsplit_once('.').is_some_and(|(_, e)| e == extension)
                    && !types.overrides.iter().any(|(name, _)| name == part)
            })
        };
        xml::rewrite(data, |element| {
            let content_type = element.attribute("", "ContentType")?.unwrap_or_default().to_ascii_lowercase();
            let keep = if element.is(TYPES_NS, "Override") {
                overridden(&key(&element.attribute("", "PartName")?.unwrap_or_default()))
            } else if element.is(TYPES_NS, "Default") {
                used_extension(&element.attribute("", "Extension")?.unwrap_or_default().to_ascii_lowercase())
            } else {
                return Ok(Edit::Keep);
            };
            if !keep {
                return Ok(Edit::Drop);
            }
            match retype(&content_type) {
                Some(new_type) => {
                    let Edit::Replace(mut start) = element.without_attributes(|a| a.local == "ContentType")? else {
                        return Ok(Edit::Keep);
                    };
                    start.push_attribute(("ContentType", new_type));
                    Ok(Edit::Replace(start))
                }
                None => Ok(Edit::Keep),
            }
        })
    }
}

/// One relationship of a source part (or of the package).
#[derive(Debug, Clone)]
pub struct Relationship {
    pub id: String,
    /// The relationship type URI.
    pub kind: String,
    pub target: String,
    pub external: bool,
    /// The key of the target part, for internal relationships.
    pub part: Option<String>,
}

impl Relationship {
    /// The last segment of the type URI (`hyperlink`, `oleObject`…).
    pub fn short_kind(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}

/// Parses the relationships part of `source` (`""` for the package).
pub fn parse_rels(source: &str, data: &[u8]) -> Result<Vec<Relationship>, Failure> {
    let mut rels = Vec::new();
    xml::scan(data, |node| {
        let Node::Start(element) = node else { return Ok(()) };
        if !element.is(RELS_NS, "Relationship") {
            return Ok(());
        }
        let attribute = |name| element.attribute("", name).map(Option::unwrap_or_default);
        let (id, kind, target) = (attribute("Id")?, attribute("Type")?, attribute("Target")?);
        let external = attribute("TargetMode")?.eq_ignore_ascii_case("External");
        let part = if external { None } else { resolve(source, &target) };
        rels.push(Relationship { id, kind, target, external, part });
        Ok(())
    })?;
    Ok(rels)
}

/// Rewrites a relationships part without the relationships `drop` names.
pub fn rewrite_rels(data: &[u8], drop: &[String]) -> Result<Option<Vec<u8>>, Failure> {
    xml::rewrite(data, |element| {
        if element.is(RELS_NS, "Relationship")
            && drop.iter().any(|id| Some(id.as_str()) == element.attribute("", "Id").ok().flatten().as_deref())
        {
            return Ok(Edit::Drop);
        }
        Ok(Edit::Keep)
    })
}

/// The source part of a relationships part (`word/_rels/document.xml.rels`
/// → `word/document.xml`; `_rels/.rels` → `""`, the package).
pub fn source_of(rels: &str) -> Option<String> {
    let rels = key(rels);
    let stem = rels.strip_suffix(".rels")?;
    let (dir, file) = stem.rsplit_once("_rels/")?;
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    if dir.is_empty() { Some(file.to_owned()) } else { Some(format!("{dir}/{file}")) }
}

/// The lookup key of a part name: lowercase, no leading `/`.
pub fn key(name: &str) -> String {
    name.trim_start_matches('/').to_ascii_lowercase()
}

/// Resolves an internal target against its source part; `None` when it
/// climbs out of the package.
pub fn resolve(source: &str, target: &str) -> Option<String> {
    let target = percent_decode(target.split(['#', '?']).next().unwrap_or(""));
    let mut segments: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        source.rsplit_once('/').map(|(dir, _)| dir.split('/').collect()).unwrap_or_default()
    };
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    (!segments.is_empty()).then(|| key(&segments.join("/")))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_their_source() {
        assert_eq!(resolve("word/document.xml", "media/image1.png").as_deref(), Some("word/media/image1.png"));
        assert_eq!(resolve("xl/worksheets/sheet1.xml", "../drawings/d1.xml").as_deref(), Some("xl/drawings/d1.xml"));
        assert_eq!(resolve("", "/word/Document.xml").as_deref(), Some("word/document.xml"));
        assert_eq!(
            resolve("word/document.xml", "embeddings/My%20Sheet.xlsx").as_deref(),
            Some("word/embeddings/my sheet.xlsx")
        );
        assert_eq!(resolve("a.xml", "../../x"), None);
    }

    #[test]
    fn sources_of_rels_parts() {
        assert_eq!(source_of("word/_rels/document.xml.rels").as_deref(), Some("word/document.xml"));
        assert_eq!(source_of("_rels/.rels").as_deref(), Some(""));
        assert_eq!(source_of("word/media/x.png"), None);
    }
}
