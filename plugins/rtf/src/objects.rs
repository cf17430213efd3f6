//! What an `\object` group holds, read the way Word reads it.
//!
//! `\objdata` is hex text, but Word also accepts whitespace, control words,
//! nested groups, `\'hh` escapes and `\bin` runs inside it, and exploits
//! (Equation Editor, packaged executables) use all of them to hide the
//! payload from scanners. The payload is decoded with those rules to name
//! the object in the report and to find embedded documents, which are sent
//! through the host; whatever the decoding finds, an object is only ever
//! kept when the policy allows its class.

use sekisho_plugin_sdk::ContentClass;

use crate::fields;
use crate::syntax::{Group, Kind, Node};

/// An object, classified.
pub struct Object {
    pub class: ContentClass,
    pub detail: String,
    /// An embedded document to send through the host: a name and its bytes.
    pub document: Option<(String, Vec<u8>)>,
}

/// Classifies the object group `group`, the `number`-th of the file.
pub fn classify(group: &Group, number: usize) -> Object {
    let declared = group.child(b"objclass").map(|g| clip(fields::text(g).trim()));
    let payload = find_objdata(group).map(|(holder, index)| decode(&holder.nodes[index + 1..]));
    let ole = payload.as_ref().and_then(|p| Ole1::parse(&p.bytes));
    let class = ole.as_ref().map(|o| o.class.clone()).or(declared.clone()).unwrap_or_else(|| "unknown".into());
    let lower = class.to_ascii_lowercase();
    let obfuscated = payload.as_ref().is_some_and(|p| p.obfuscated);
    let object = |class, detail: String| Object { class, detail, document: None };
    let mut object = if group.has_word(b"objocx") || group.has_word(b"objhtml") || lower.starts_with("forms.") {
        object(ContentClass::ActiveObjects, format!("ActiveX control {class:?}"))
    } else if group.has_word(b"objlink") || group.has_word(b"objautlink") || ole.as_ref().is_some_and(|o| o.format == 1)
    {
        let source = ole.as_ref().map(|o| format!(" from {:?}", o.topic)).unwrap_or_default();
        object(ContentClass::ExternalLinks, format!("linked object {class:?}{source}"))
    } else {
        match &ole {
            Some(ole) if lower == "package" => {
                object(ContentClass::ActiveObjects, format!("OLE package holding {:?}", package_name(ole.data)))
            }
            Some(_) if lower.starts_with("equation.") => {
                object(ContentClass::ActiveObjects, format!("Equation Editor object {class:?}"))
            }
            Some(ole) => match document_extension(ole) {
                Some(extension)
                    if ole.complete
                        && !obfuscated
                        && declared.as_ref().is_none_or(|d| d.eq_ignore_ascii_case(&class)) =>
                {
                    Object {
                        class: ContentClass::EmbeddedFiles,
                        detail: format!("embedded {class} document"),
                        document: Some((format!("object{number}.{extension}"), ole.data.to_vec())),
                    }
                }
                _ => object(ContentClass::ActiveObjects, format!("OLE object of class {class:?}")),
            },
            None if payload.is_none() => {
                object(ContentClass::ActiveObjects, format!("OLE object {class:?} without data"))
            }
            None => object(ContentClass::ActiveObjects, "object data that is not a well-formed OLE object".into()),
        }
    };
    if group.has_word(b"objupdate") {
        object.detail.push_str("; updates itself when the document opens (\\objupdate)");
    }
    if obfuscated {
        object.detail.push_str("; its data is obfuscated");
    }
    object
}

/// The group holding the first `\objdata` of the object and the word's
/// index in it, outside the `\result` (the visible fallback).
fn find_objdata<'g, 'a>(group: &'g Group<'a>) -> Option<(&'g Group<'a>, usize)> {
    for (index, node) in group.nodes.iter().enumerate() {
        match node {
            Node::Token(token) if token.word() == Some(b"objdata") => return Some((group, index)),
            Node::Group(nested) if !nested.has_word(b"result") => {
                if let Some(found) = find_objdata(nested) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// Object data decoded from hex as Word does it.
#[derive(Default)]
struct Payload {
    bytes: Vec<u8>,
    /// A hex digit waiting for the second half of its byte.
    half: Option<u8>,
    /// Something other than hex digits and whitespace was in the hex.
    obfuscated: bool,
}

impl Payload {
    fn digit(&mut self, digit: u8) {
        match self.half.take() {
            Some(high) => self.bytes.push(high << 4 | digit),
            None => self.half = Some(digit),
        }
    }
}

/// Decodes the hex that follows `\objdata`: whitespace, control words and
/// nested groups are skipped, `\bin` data is taken as it is (as if written in
/// hex), and a `\'hh` drops a pending half byte (a quirk of Word's reader
/// that exploits rely on).
fn decode(nodes: &[Node]) -> Payload {
    let mut payload = Payload::default();
    for node in nodes {
        let Node::Token(token) = node else {
            payload.obfuscated = true;
            continue;
        };
        match token.kind {
            Kind::Text => {
                for &b in token.bytes {
                    if let Some(value) = char::from(b).to_digit(16) {
                        payload.digit(value as u8);
                    } else if !b.is_ascii_whitespace() {
                        payload.obfuscated = true;
                    }
                }
            }
            Kind::Bin { data } => {
                payload.obfuscated = true;
                for &b in data {
                    payload.digit(b >> 4);
                    payload.digit(b & 15);
                }
            }
            Kind::Symbol(b'\'') => {
                payload.obfuscated = true;
                payload.half = None;
            }
            Kind::Symbol(_) | Kind::Word { .. } => payload.obfuscated = true,
        }
    }
    payload
}

/// An OLE 1.0 object header ([MS-OLEDS] 2.2.4) and its native data.
struct Ole1<'d> {
    /// 1 linked, 2 embedded.
    format: u32,
    class: String,
    /// For a linked object, the linked file.
    topic: String,
    data: &'d [u8],
    /// The data is as long as the header says.
    complete: bool,
}

impl<'d> Ole1<'d> {
    fn parse(bytes: &'d [u8]) -> Option<Ole1<'d>> {
        let mut rest = bytes;
        let _version = take_u32(&mut rest)?;
        let format = take_u32(&mut rest)?;
        let class = take_string(&mut rest)?;
        let topic = take_string(&mut rest)?;
        let _item = take_string(&mut rest)?;
        let (data, complete) = match format {
            2 => {
                let size = take_u32(&mut rest)? as usize;
                (&rest[..size.min(rest.len())], size <= rest.len())
            }
            _ => (&[][..], true),
        };
        Some(Ole1 { format, class, topic, data, complete })
    }
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    let (head, tail) = rest.split_first_chunk::<4>()?;
    *rest = tail;
    Some(u32::from_le_bytes(*head))
}

/// A length-prefixed run of bytes.
fn take<'d>(rest: &mut &'d [u8]) -> Option<&'d [u8]> {
    let size = take_u32(rest)? as usize;
    let bytes = rest.get(..size)?;
    *rest = &rest[size..];
    Some(bytes)
}

/// A length-prefixed, NUL-terminated ANSI string.
fn take_string(rest: &mut &[u8]) -> Option<String> {
    Some(clip(String::from_utf8_lossy(take(rest)?).trim_end_matches('\0')))
}

/// The file name inside an OLE package (`Ole10Native` without its size,
/// which the OLE 1.0 header holds: flags, then the name).
fn package_name(data: &[u8]) -> String {
    let name = data.get(2..).unwrap_or_default();
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    clip(&String::from_utf8_lossy(&name[..end]))
}

/// Class ids of Office and PDF documents ([MS-OLEDS]: an embedded object
/// stored as a compound file is loaded by the CLSID of its root storage,
/// whatever the class name in the header says).
const DOCUMENT_CLSIDS: &[&str] = &[
    "00020810-0000-0000-C000-000000000046", // Excel.Sheet.5
    "00020811-0000-0000-C000-000000000046", // Excel.Chart.5
    "00020820-0000-0000-C000-000000000046", // Excel.Sheet.8
    "00020821-0000-0000-C000-000000000046", // Excel.Chart.8
    "00020830-0000-0000-C000-000000000046", // Excel.Sheet.12
    "00020832-0000-0000-C000-000000000046", // Excel.SheetMacroEnabled.12
    "00020900-0000-0000-C000-000000000046", // Word.Document.6
    "00020906-0000-0000-C000-000000000046", // Word.Document.8
    "F4754C9B-64F5-4B40-8AF4-679732AC0607", // Word.Document.12
    "18A06B6B-2F3F-4E2B-A611-52BE631B2D22", // Word.DocumentMacroEnabled.12
    "64818D10-4F9B-11CF-86EA-00AA00B929E8", // PowerPoint.Show.8
    "64818D11-4F9B-11CF-86EA-00AA00B929E8", // PowerPoint.Slide.8
    "CF4F55F4-8F87-4D47-80BB-5808164BB3F8", // PowerPoint.Show.12
    "048EB43E-2059-422F-95E0-557DA96038AF", // PowerPoint.Slide.12
    "B801CA65-A1FC-11D0-85AD-444553540000", // AcroExch.Document
];

/// The extension of an embedded Office or PDF document, from its class and
/// its content; `None` for anything else.
fn document_extension(ole: &Ole1) -> Option<&'static str> {
    let class = ole.class.to_ascii_lowercase();
    let family = ["word.", "excel.", "powerpoint.", "acroexch."].into_iter().position(|p| class.starts_with(p))?;
    let data = ole.data;
    Some(if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        if !root_clsid(data).is_some_and(|clsid| DOCUMENT_CLSIDS.contains(&clsid.as_str())) {
            return None;
        }
        ["doc", "xls", "ppt", "ole"][family]
    } else if data.starts_with(b"PK\x03\x04") {
        ["docx", "xlsx", "pptx", "zip"][family]
    } else if data.starts_with(b"%PDF-") {
        "pdf"
    } else {
        return None;
    })
}

/// The CLSID of a compound file's root storage, as text.
fn root_clsid(cfb: &[u8]) -> Option<String> {
    let shift = u16::from_le_bytes(cfb.get(0x1E..0x20)?.try_into().ok()?);
    let first_directory = u32::from_le_bytes(cfb.get(0x30..0x34)?.try_into().ok()?) as usize;
    if !matches!(shift, 9 | 12) {
        return None;
    }
    let root = first_directory.checked_add(1)?.checked_mul(1 << shift)?;
    let id = cfb.get(root.checked_add(0x50)?..root.checked_add(0x60)?)?;
    let (d1, d2, d3) = (
        u32::from_le_bytes(id[0..4].try_into().ok()?),
        u16::from_le_bytes(id[4..6].try_into().ok()?),
        u16::from_le_bytes(id[6..8].try_into().ok()?),
    );
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    Some(format!("{d1:08X}-{d2:04X}-{d3:04X}-{}-{}", hex(&id[8..10]), hex(&id[10..16])))
}

/// A name from the file, cut short for the report.
fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn ole1(class: &str, data: &[u8]) -> String {
        let mut bytes = vec![1, 5, 0, 0, 2, 0, 0, 0];
        for field in [format!("{class}\0").as_bytes(), b"", b"", data] {
            bytes.extend((field.len() as u32).to_le_bytes());
            bytes.extend(field);
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn classify_src(src: &str) -> Object {
        classify(&parse(src.as_bytes()).unwrap().root, 1)
    }

    /// The head of a compound file whose root storage has `clsid`.
    fn cfb(clsid: [u8; 16]) -> Vec<u8> {
        let mut data = vec![0; 1024];
        data[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        data[0x1E] = 9;
        data[512 + 0x50..512 + 0x60].copy_from_slice(&clsid);
        data
    }

    const WORD_8: [u8; 16] = [6, 9, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];
    const EQUATION_3: [u8; 16] = [2, 0xCE, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

    #[test]
    fn embedded_documents_are_recognized() {
        assert_eq!(root_clsid(&cfb(WORD_8)).unwrap(), "00020906-0000-0000-C000-000000000046");
        let hex = ole1("Word.Document.8", &cfb(WORD_8));
        let object = classify_src(&format!(
            "{{\\object\\objemb{{\\*\\objclass Word.Document.8}}{{\\*\\objdata \r\n{}\r\n}}{{\\result x}}}}",
            hex
        ));
        assert_eq!(object.class, ContentClass::EmbeddedFiles);
        let (name, data) = object.document.unwrap();
        assert_eq!((name.as_str(), data.len()), ("object1.doc", 1024));
        let disguised = ole1("Word.Document.8", &cfb(EQUATION_3));
        let object = classify_src(&format!("{{\\object\\objemb{{\\*\\objdata {disguised}}}}}"));
        assert_eq!(object.class, ContentClass::ActiveObjects);
    }

    #[test]
    fn obfuscated_and_mismatched_objects_are_active() {
        let hex = ole1("Word.Document.8", &cfb(WORD_8));
        // A half byte before `\'hh` is dropped, as in Word: the payload is intact.
        let (head, tail) = hex.split_at(10);
        let src = format!("{{\\object\\objemb{{\\*\\objdata {head}f\\'41{{\\*\\x 77}} \\fnil {tail}}}}}");
        let object = classify_src(&src);
        assert_eq!(object.class, ContentClass::ActiveObjects);
        assert!(object.detail.contains("obfuscated"), "{}", object.detail);
        assert!(object.detail.contains("Word.Document.8"), "{}", object.detail);
        let src = format!("{{\\object\\objemb{{\\*\\objclass Equation.3}}{{\\*\\objdata {hex}}}}}");
        assert_eq!(classify_src(&src).class, ContentClass::ActiveObjects);
    }

    #[test]
    fn packages_links_and_controls() {
        let package = ole1("Package", b"\x02\0evil.exe\0C:\\evil.exe\0");
        let object = classify_src(&format!("{{\\object\\objemb\\objupdate{{\\*\\objdata {package}}}}}"));
        assert_eq!(object.class, ContentClass::ActiveObjects);
        assert_eq!(
            object.detail,
            "OLE package holding \"evil.exe\"; updates itself when the document opens (\\objupdate)"
        );
        let linked = classify_src("{\\object\\objautlink{\\*\\objclass Word.Document.8}}");
        assert_eq!(linked.class, ContentClass::ExternalLinks);
        assert_eq!(classify_src("{\\object\\objocx{\\*\\objclass Forms.Image.1}}").class, ContentClass::ActiveObjects);
        let bare = classify_src("{\\object\\objemb{\\*\\objclass PBrush}{\\result x}}");
        assert_eq!(bare.detail, "OLE object \"PBrush\" without data");
        assert_eq!(
            classify_src("{\\object{\\*\\objdata 0102}}").detail,
            "object data that is not a well-formed OLE object"
        );
    }
}
