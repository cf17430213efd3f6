//! Embedded files (`/EF` in file specifications: the `/EmbeddedFiles` name
//! tree, file attachment annotations, portfolios). With `sanitize` each file
//! goes back through the host to its own plugin and is put back rebuilt;
//! files that cannot be rebuilt are removed.

use std::collections::{BTreeMap, BTreeSet};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, Embedded, Embedder, Failure, Findings, Policy};

/// Rebuilds or removes every embedded file stream.
pub fn rebuild<E: Embedder + ?Sized>(
    doc: &mut Document,
    policy: &Policy,
    findings: &mut Findings,
    embedder: &mut E,
) -> Result<(), Failure> {
    let files = embedded_streams(doc);
    let mut removed = BTreeSet::new();
    for (id, name) in files {
        let location = format!("embedded file {name:?}");
        let limit = policy.limits.max_expanded_bytes as usize;
        let content = |doc: &Document| {
            doc.get_object(id).and_then(Object::as_stream).and_then(|s| s.decompressed_content_with_limit(limit))
        };
        match policy.action(ContentClass::EmbeddedFiles) {
            Action::Allow => {
                // Kept as it is: the host's scanners see it (an unreadable
                // one as its raw stream).
                if embedder.wants_active() {
                    let raw = || doc.get_object(id).and_then(Object::as_stream).map(|s| s.content.clone());
                    if let Ok(data) = content(doc).or_else(|_| raw()) {
                        embedder.inspect_active(ContentClass::EmbeddedFiles, true, &location, &data);
                    }
                }
                findings.push(ContentClass::EmbeddedFiles, Disposition::Kept, location, "attached file kept as is");
                continue;
            }
            Action::Block => {
                findings.decide(
                    policy,
                    ContentClass::EmbeddedFiles,
                    Disposition::Blocked,
                    location,
                    "attached file",
                )?;
                continue;
            }
            Action::Sanitize => {}
        }
        let data = match content(doc) {
            Ok(data) => data,
            Err(e) => {
                findings.push(
                    ContentClass::EmbeddedFiles,
                    Disposition::Removed,
                    location,
                    format!("unreadable attached file removed: {e}"),
                );
                removed.insert(id);
                continue;
            }
        };
        match findings.embed(embedder, ContentClass::EmbeddedFiles, &location, &name, &data)? {
            Embedded::Rebuilt(rebuilt) => {
                let mut stream = Stream::new(
                    Dictionary::from_iter([("Type", Object::Name(b"EmbeddedFile".to_vec()))]),
                    rebuilt.data,
                );
                stream.compress().map_err(|e| Failure::invalid(format!("compressing {name:?}: {e}")))?;
                doc.objects.insert(id, Object::Stream(stream));
            }
            Embedded::Refused(why) => {
                findings.push(ContentClass::EmbeddedFiles, Disposition::Removed, location, format!("{why}: removed"));
                removed.insert(id);
            }
        }
    }
    if !removed.is_empty() {
        for id in &removed {
            doc.objects.remove(id);
        }
        detach(doc, &removed);
    }
    Ok(())
}

/// Embedded file streams and the name their file specification gives them.
fn embedded_streams(doc: &Document) -> BTreeMap<ObjectId, String> {
    let mut files = BTreeMap::new();
    let mut visit = |dict: &Dictionary| {
        let Ok(ef) = dict.get(b"EF").and_then(Object::as_dict) else { return };
        let name = [&b"UF"[..], b"F"]
            .iter()
            .find_map(|key| dict.get(key).and_then(Object::as_str).ok())
            .map(decode_text)
            .unwrap_or_else(|| "attachment".into());
        for (_, value) in ef.iter() {
            if let Ok(id) = value.as_reference() {
                files.entry(id).or_insert_with(|| name.clone());
            }
        }
    };
    for object in doc.objects.values() {
        walk_dicts(object, &mut visit);
    }
    files
}

fn walk_dicts(object: &Object, visit: &mut impl FnMut(&Dictionary)) {
    match object {
        Object::Dictionary(dict) => {
            visit(dict);
            dict.iter().for_each(|(_, v)| walk_dicts(v, visit));
        }
        Object::Array(items) => items.iter().for_each(|v| walk_dicts(v, visit)),
        _ => {}
    }
}

/// Removes `/EF` entries that point to removed files, and the
/// `/EmbeddedFiles` name tree when no file is left.
fn detach(doc: &mut Document, removed: &BTreeSet<ObjectId>) {
    fn strip(object: &mut Object, removed: &BTreeSet<ObjectId>) {
        match object {
            Object::Dictionary(dict) => {
                if let Ok(Object::Dictionary(ef)) = dict.get_mut(b"EF") {
                    let gone: Vec<Vec<u8>> = ef
                        .iter()
                        .filter(|(_, v)| v.as_reference().is_ok_and(|id| removed.contains(&id)))
                        .map(|(k, _)| k.clone())
                        .collect();
                    gone.iter().for_each(|k| {
                        ef.remove(k);
                    });
                    if ef.is_empty() {
                        dict.remove(b"EF");
                    }
                }
                dict.iter_mut().for_each(|(_, v)| strip(v, removed));
            }
            Object::Array(items) => items.iter_mut().for_each(|v| strip(v, removed)),
            _ => {}
        }
    }
    for object in doc.objects.values_mut() {
        strip(object, removed);
    }
    if embedded_streams(doc).is_empty() {
        remove_name_tree(doc);
    }
}

fn remove_name_tree(doc: &mut Document) {
    let Ok(root) = doc.trailer.get(b"Root").and_then(Object::as_reference) else { return };
    let names_ref = doc.get_dictionary(root).ok().and_then(|c| c.get(b"Names").ok().cloned());
    match names_ref {
        Some(Object::Reference(id)) => {
            if let Ok(Object::Dictionary(names)) = doc.get_object_mut(id) {
                names.remove(b"EmbeddedFiles");
            }
        }
        Some(Object::Dictionary(_)) => {
            if let Ok(Object::Dictionary(catalog)) = doc.get_object_mut(root)
                && let Ok(Object::Dictionary(names)) = catalog.get_mut(b"Names")
            {
                names.remove(b"EmbeddedFiles");
            }
        }
        _ => {}
    }
}

/// A PDF text string: UTF-16BE with a BOM, else PDFDocEncoding (read as Latin-1).
fn decode_text(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    bytes.iter().map(|&b| b as char).collect()
}

/// True when a file specification (inline or by reference) still has a file.
pub fn has_file(doc: &Document, spec: &Object) -> bool {
    let dict = match spec {
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    };
    dict.is_some_and(|d| d.has(b"EF"))
}
