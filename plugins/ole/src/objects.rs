//! Embedded OLE objects: the storages under Word's `ObjectPool` and Excel's
//! `MBD…` storages. An object that is an Office document (a binary one, an
//! OOXML package in a `Package` stream, a PDF in `CONTENTS`) goes back
//! through the host and is put back rebuilt; packaged files
//! (`Ole10Native`, the packaged-executable kind), Equation Editor objects,
//! ActiveX controls and anything else are active objects, removed. The
//! object's presentation (the picture the document shows) is elsewhere in
//! the document and stays.

use std::io::Cursor;

use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Embedded, Embedder, Failure, Findings, Policy};

use crate::tree::{Node, Storage};

/// What an object storage holds.
enum Object {
    /// A whole compound document: rebuilt as one, with this extension.
    Compound(&'static str),
    /// A document in one stream (`Package`: OOXML; `CONTENTS`: PDF).
    InStream(&'static str, &'static str),
    /// Active content, with a label.
    Active(&'static str),
}

fn classify(object: &Storage) -> Object {
    let has = |name: &str| object.has(name);
    if has("\u{1}Ole10Native") {
        Object::Active("packaged file (Ole10Native)")
    } else if has("Equation Native") {
        Object::Active("Equation Editor object")
    } else if has("\u{3}OCXNAME") {
        Object::Active("ActiveX control")
    } else if has("WordDocument") {
        Object::Compound("doc")
    } else if has("Workbook") || has("Book") {
        Object::Compound("xls")
    } else if has("PowerPoint Document") {
        Object::Compound("ppt")
    } else if object.stream("Package").is_some() {
        Object::InStream("Package", "zip")
    } else if object.stream("CONTENTS").is_some_and(|d| d.starts_with(b"%PDF")) {
        Object::InStream("CONTENTS", "pdf")
    } else {
        Object::Active("OLE object")
    }
}

/// Sanitizes one object storage in place; `false` when it must be removed.
pub fn sanitize<E: Embedder + ?Sized>(
    location: &str,
    object: &mut Storage,
    policy: &Policy,
    findings: &mut Findings,
    embedder: &mut E,
) -> Result<bool, Failure> {
    let kind = classify(object);
    if let Object::Active(label) = kind {
        return Ok(findings.decide(policy, ContentClass::ActiveObjects, Disposition::Removed, location, label)?
            == Decision::Keep);
    }
    if policy.action(ContentClass::EmbeddedFiles) != Action::Sanitize {
        let decision = findings.decide(
            policy,
            ContentClass::EmbeddedFiles,
            Disposition::Removed,
            location,
            "embedded document",
        )?;
        return Ok(decision == Decision::Keep);
    }
    let (data, name) = match kind {
        Object::Compound(extension) => (object.write()?, format!("object.{extension}")),
        Object::InStream(stream, extension) => {
            (object.stream(stream).unwrap_or_default().to_vec(), format!("object.{extension}"))
        }
        Object::Active(_) => return Ok(false),
    };
    let rebuilt = match findings.embed(embedder, ContentClass::EmbeddedFiles, location, &name, &data)? {
        Embedded::Rebuilt(rebuilt) => rebuilt.data,
        Embedded::Refused(why) => {
            findings.push(ContentClass::EmbeddedFiles, Disposition::Removed, location, format!("{why}: removed"));
            return Ok(false);
        }
    };
    match kind {
        Object::Compound(_) => {
            // Plugin output: read with the same care as any input.
            let size = rebuilt.len() as u64;
            let clsid = object.clsid;
            *object = Storage::read(Cursor::new(rebuilt), size)?;
            object.clsid = clsid;
        }
        Object::InStream(stream, _) => {
            if let Some(data) = object.stream_mut(stream) {
                *data = rebuilt;
            }
        }
        Object::Active(_) => {}
    }
    Ok(true)
}

/// Sanitizes every object storage under `pool` (Word's `ObjectPool`).
pub fn sanitize_pool<E: Embedder + ?Sized>(
    pool: &mut Storage,
    policy: &Policy,
    findings: &mut Findings,
    embedder: &mut E,
) -> Result<(), Failure> {
    let mut kept = Vec::with_capacity(pool.children.len());
    for (name, node) in std::mem::take(&mut pool.children) {
        let location = format!("ObjectPool/{name}");
        match node {
            Node::Storage(mut object) => {
                if sanitize(&location, &mut object, policy, findings, embedder)? {
                    kept.push((name, Node::Storage(object)));
                }
            }
            Node::Stream(data) => kept.push((name, Node::Stream(data))),
        }
    }
    pool.children = kept;
    Ok(())
}
