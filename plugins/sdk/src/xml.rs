//! Streaming XML edits for document-package plugins (OOXML, ODF, SVG).
//!
//! A part is read once with namespaces resolved ([`scan`]) to find what to
//! change, then rewritten ([`rewrite`]) with one [`Edit`] per element, chosen
//! by the element's position in document order. Untouched parts keep their
//! exact bytes: [`rewrite`] answers `None` when nothing changed. Document
//! type declarations are refused, so no entity can expand.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Writer, XmlVersion};

use crate::Failure;

/// One start (or empty) element, with its namespace resolved.
pub struct Element<'a> {
    /// Position among the start elements of the part, from 0.
    pub index: usize,
    /// Namespace URI, empty when unbound.
    pub namespace: &'a str,
    pub local: &'a str,
    start: &'a BytesStart<'a>,
    reader: &'a NsReader<&'a [u8]>,
}

/// One attribute of an element, with its namespace resolved and its value
/// unescaped.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub namespace: String,
    pub local: String,
    pub value: String,
}

impl Element<'_> {
    /// True for the element `local` in namespace `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }

    /// The element's attributes; an attribute that is not well formed makes
    /// the part invalid.
    pub fn attributes(&self) -> Result<Vec<Attribute>, Failure> {
        let mut attributes = Vec::new();
        for attribute in self.start.attributes().with_checks(true) {
            let attribute = attribute.map_err(|e| Failure::invalid(format!("XML attribute: {e}")))?;
            let (namespace, local) = self.reader.resolver().resolve_attribute(attribute.key);
            let namespace = match namespace {
                ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
                _ => String::new(),
            };
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| Failure::invalid(format!("XML attribute: {e}")))?;
            attributes.push(Attribute { namespace, local: local.as_ref().to_owned(), value: value.into_owned() });
        }
        Ok(attributes)
    }

    /// The value of the attribute `local` in `namespace` ("" for none).
    pub fn attribute(&self, namespace: &str, local: &str) -> Result<Option<String>, Failure> {
        let found = self.attributes()?.into_iter().find(|a| a.namespace == namespace && a.local == local);
        Ok(found.map(|a| a.value))
    }

    /// The same start tag without the attributes `drop` selects.
    pub fn without_attributes(&self, mut drop: impl FnMut(&Attribute) -> bool) -> Result<Edit, Failure> {
        let resolved = self.attributes()?;
        let mut start = BytesStart::new(self.start.name().as_ref().to_owned());
        for (attribute, raw) in resolved.iter().zip(self.start.attributes().with_checks(false)) {
            let raw = raw.map_err(|e| Failure::invalid(format!("XML attribute: {e}")))?;
            if !drop(attribute) {
                start.push_attribute(raw);
            }
        }
        Ok(Edit::Replace(start.into_owned()))
    }
}

/// What to do with one element.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    Keep,
    /// Remove the element and everything in it.
    Drop,
    /// Remove the element's tags, keep its content.
    Unwrap,
    /// Replace the start tag (same name, other attributes).
    Replace(BytesStart<'static>),
}

/// What [`scan`] reports, in document order.
pub enum Node<'a> {
    Start(Element<'a>),
    /// Character data (entity and character references resolved).
    Text(Cow<'a, str>),
    /// The end of the innermost open element (also sent after an empty one).
    End,
}

/// Reads `xml` once, reporting elements, text and ends to `visit`.
pub fn scan(xml: &[u8], mut visit: impl FnMut(Node<'_>) -> Result<(), Failure>) -> Result<(), Failure> {
    let mut reader = NsReader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let (mut index, mut depth) = (0, 0usize);
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(invalid)?;
        let namespace = bound(&namespace).to_owned();
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                depth += usize::from(!empty);
                let local = start.local_name().as_ref().to_owned();
                visit(Node::Start(Element { index, namespace: &namespace, local: &local, start, reader: &reader }))?;
                index += 1;
                if empty {
                    visit(Node::End)?;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                visit(Node::End)?
            }
            Event::Text(text) => visit(Node::Text(Cow::Borrowed(&*text)))?,
            Event::CData(data) => visit(Node::Text(Cow::Borrowed(&*data)))?,
            Event::GeneralRef(reference) => visit(Node::Text(Cow::Owned(resolve_reference(&reference)?)))?,
            Event::DocType(_) => return Err(Failure::invalid("XML part declares a document type (DTD)")),
            Event::Eof if depth > 0 => {
                return Err(Failure::invalid("XML is not well formed: it ends inside an element"));
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// Rewrites `xml`, asking `edit` what to do with each element outside the
/// ones already dropped. `None` when every answer was [`Edit::Keep`].
pub fn rewrite(
    xml: &[u8],
    mut edit: impl FnMut(&Element<'_>) -> Result<Edit, Failure>,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut reader = NsReader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    // For each open element: is its end tag written?
    let mut open: Vec<bool> = Vec::new();
    // Depth of open elements inside a dropped one (0: not dropping).
    let mut dropping = 0usize;
    let (mut index, mut changed) = (0usize, false);
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(invalid)?;
        let namespace = bound(&namespace).to_owned();
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                let this = index;
                index += 1;
                if dropping > 0 {
                    dropping += usize::from(!empty);
                    continue;
                }
                let local = start.local_name().as_ref().to_owned();
                let element = Element { index: this, namespace: &namespace, local: &local, start, reader: &reader };
                let decision = edit(&element)?;
                changed |= decision != Edit::Keep;
                match decision {
                    Edit::Keep => {
                        write(&mut writer, event.borrow())?;
                        if !empty {
                            open.push(true);
                        }
                    }
                    Edit::Drop => dropping = usize::from(!empty),
                    Edit::Unwrap => {
                        if !empty {
                            open.push(false);
                        }
                    }
                    Edit::Replace(replacement) => {
                        write(&mut writer, if empty { Event::Empty(replacement) } else { Event::Start(replacement) })?;
                        if !empty {
                            open.push(true);
                        }
                    }
                }
            }
            Event::End(_) if dropping > 0 => dropping -= 1,
            Event::End(_) => {
                if open.pop().unwrap_or(true) {
                    write(&mut writer, event)?;
                }
            }
            Event::DocType(_) => return Err(Failure::invalid("XML part declares a document type (DTD)")),
            Event::Eof if dropping > 0 || !open.is_empty() => {
                return Err(Failure::invalid("XML is not well formed: it ends inside an element"));
            }
            Event::Eof => break,
            _ if dropping > 0 => {}
            other => write(&mut writer, other)?,
        }
    }
    Ok(changed.then(|| writer.into_inner()))
}

fn write(writer: &mut Writer<Vec<u8>>, event: Event<'_>) -> Result<(), Failure> {
    writer.write_event(event).map_err(|e| Failure::invalid(format!("rewriting XML: {e}")))
}

fn bound<'a>(namespace: &'a ResolveResult<'_>) -> &'a str {
    match namespace {
        ResolveResult::Bound(ns) => ns.as_ref(),
        _ => "",
    }
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, Failure> {
    if reference.is_char_ref() {
        let c = reference.resolve_char_ref().map_err(invalid)?;
        return c.map(String::from).ok_or_else(|| Failure::invalid("XML character reference to nothing"));
    }
    let name: &str = reference;
    quick_xml::escape::resolve_predefined_entity(name)
        .map(str::to_owned)
        .ok_or_else(|| Failure::invalid(format!("XML reference to an undeclared entity &{name};")))
}

fn invalid(error: impl std::fmt::Display) -> Failure {
    Failure::invalid(format!("XML is not well formed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = "urn:w";

    #[test]
    fn unchanged_parts_answer_none() {
        let xml = br#"<?xml version="1.0"?><a xmlns="urn:w"><b x="1">t &amp; u</b></a>"#;
        assert_eq!(rewrite(xml, |_| Ok(Edit::Keep)).unwrap(), None);
    }

    #[test]
    fn drop_unwrap_and_replace() {
        let xml = br#"<w:a xmlns:w="urn:w"><w:del><w:t>gone</w:t></w:del><w:ins><w:t>kept</w:t></w:ins><w:h w:id="1" w:k="2"/></w:a>"#;
        let out = rewrite(xml, |e| match e.local {
            "del" => Ok(Edit::Drop),
            "ins" => Ok(Edit::Unwrap),
            "h" => e.without_attributes(|a| a.local == "id"),
            _ => Ok(Edit::Keep),
        })
        .unwrap()
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"<w:a xmlns:w="urn:w"><w:t>kept</w:t><w:h w:k="2"/></w:a>"#);
    }

    #[test]
    fn scan_resolves_namespaces_and_references() {
        let xml = br#"<x:a xmlns:x="urn:w"><x:b>1 &lt; 2&#33;</x:b></x:a>"#;
        let (mut names, mut text) = (Vec::new(), String::new());
        scan(xml, |node| {
            match node {
                Node::Start(e) => names.push((e.is(W, "a"), e.is(W, "b"), e.index)),
                Node::Text(t) => text.push_str(&t),
                Node::End => {}
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(names, vec![(true, false, 0), (false, true, 1)]);
        assert_eq!(text, "1 < 2!");
    }

    #[test]
    fn dtds_and_broken_xml_are_refused() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>"#;
        assert!(rewrite(bomb, |_| Ok(Edit::Keep)).is_err());
        assert!(scan(bomb, |_| Ok(())).is_err());
        assert!(rewrite(b"<a><b></a>", |_| Ok(Edit::Keep)).is_err());
        assert!(rewrite(b"<a><b/>", |_| Ok(Edit::Keep)).is_err());
        assert!(scan(b"<a><b/>", |_| Ok(())).is_err());
        assert!(scan(b"<a>&unknown;</a>", |_| Ok(())).is_err());
    }
}
