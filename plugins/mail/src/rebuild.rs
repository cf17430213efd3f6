//! Walking the parsed message and rebuilding it part by part.
//!
//! mail-parser reads the message (RFC 2047/2231, charsets, broken MIME); the
//! walk decides what each part is: a multipart to rebuild, a text body, a
//! signature, encrypted content or an attachment. A multipart/signed loses
//! its signature and becomes its content; a multipart left with one part
//! becomes that part. Limits: multipart nesting depth, number of parts
//! (`max-entries`), decoded bytes (`max-expanded-bytes`). Forwarded messages
//! are attachments: they go back through the host, whose depth budget
//! bounds their nesting.

use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType, parsers::MessageStream};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Embedder, Failure, Findings, Policy};

use crate::body::HtmlMode;
use crate::headers;
use crate::mime::{Content, Node};

/// Deepest nesting of multiparts inside one message.
pub const MAX_DEPTH: usize = 16;

/// The state of one message rebuild.
pub struct Rebuild<'a, E: Embedder + ?Sized> {
    pub policy: &'a Policy,
    pub html_mode: HtmlMode,
    pub embedder: &'a mut E,
    /// The input: every part's offsets point into it.
    pub raw: &'a [u8],
    pub findings: Findings,
    /// What was removed, for the note added to the text body.
    pub notes: Vec<String>,
    parts: u32,
    expanded: u64,
}

/// A part of the input and what the walk knows about it.
pub struct Part<'m> {
    pub part: &'m MessagePart<'m>,
    /// Its MIME path ("1.2"); empty for the top of a multipart message.
    pub path: String,
    /// `type/subtype`, lowercase.
    pub media_type: String,
}

impl Part<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.part.content_type()?.attribute(name)
    }

    /// The file name, without any folder the sender put in front of it.
    pub fn name(&self) -> Option<String> {
        let name = self.part.attachment_name()?;
        let name = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
        (!name.is_empty()).then(|| name.to_owned())
    }

    pub fn disposition(&self) -> Option<&'static str> {
        let disposition = self.part.content_disposition()?;
        Some(if disposition.is_inline() { "inline" } else { "attachment" })
    }

    /// S/MIME enveloped data or PGP/MIME: nothing in it can be inspected.
    fn is_encrypted(&self) -> bool {
        let smime_type = self.param("smime-type").unwrap_or("enveloped-data").to_ascii_lowercase();
        matches!(self.media_type.as_str(), "multipart/encrypted" | "application/pgp-encrypted")
            || (matches!(self.media_type.as_str(), "application/pkcs7-mime" | "application/x-pkcs7-mime")
                && !matches!(smime_type.as_str(), "signed-data" | "certs-only"))
    }

    /// Where a finding is: the MIME path and what is there.
    pub fn location(&self, what: &str) -> String {
        format!("{} {what}", if self.path.is_empty() { "message" } else { &self.path })
    }

    /// Carries the headers that describe the part (disposition, Content-ID, description) over to `node`.
    pub fn carry(&self, mut node: Node) -> Node {
        node.disposition = self.disposition();
        node.content_id = self.part.content_id().filter(|id| is_printable(id)).map(str::to_owned);
        node.description = self.part.content_description().map(str::to_owned);
        node
    }
}

impl<'a, E: Embedder + ?Sized> Rebuild<'a, E> {
    pub fn new(policy: &'a Policy, html_mode: HtmlMode, embedder: &'a mut E, raw: &'a [u8]) -> Self {
        Rebuild {
            policy,
            html_mode,
            embedder,
            raw,
            findings: Findings::new(),
            notes: Vec::new(),
            parts: 0,
            expanded: 0,
        }
    }

    /// The rebuilt message: trace header, kept headers, rebuilt body.
    pub fn message(&mut self, message: &Message) -> Result<Vec<u8>, Failure> {
        let top = message.parts.first().ok_or_else(|| Failure::invalid("no message headers"))?;
        let mut head =
            format!("{}: sanitized by sekisho-{} {}\r\n", headers::TRACE, crate::NAME, env!("CARGO_PKG_VERSION"));
        let kept = headers::kept(self.raw, top, self.policy, &mut self.findings)?;
        headers::emit_text(&kept, self.embedder);
        head.push_str(&kept);
        head.push_str("MIME-Version: 1.0\r\n");
        let body = self.part(message, 0, String::new(), 0)?;
        let body = body.unwrap_or_else(|| Node::new("text/plain", Content::Text(String::new())));
        let mut out = head.into_bytes();
        out.extend_from_slice(&crate::body::with_notes(body, &self.notes).write());
        Ok(out)
    }

    fn part(&mut self, message: &Message, id: usize, path: String, depth: usize) -> Result<Option<Node>, Failure> {
        let part = message.parts.get(id).ok_or_else(|| Failure::invalid(format!("part {path} is missing")))?;
        self.parts += 1;
        if self.parts > self.policy.limits.max_entries {
            return Err(Failure::limit(format!("more than {} MIME parts", self.policy.limits.max_entries)));
        }
        let media_type = match (part.content_type(), &part.body) {
            (Some(ct), _) => format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase(),
            (None, PartType::Message(_)) => "message/rfc822".into(),
            (None, _) => "text/plain".into(),
        };
        let part = Part { part, path, media_type };
        if part.is_encrypted() {
            let location = part.location(&part.media_type);
            return Err(Failure::encrypted(format!("{location}: encrypted content cannot be inspected")));
        }
        match &part.part.body {
            PartType::Multipart(children) => self.multipart(message, &part, children, depth),
            _ => self.leaf(&part),
        }
    }

    fn multipart(
        &mut self,
        message: &Message,
        part: &Part,
        children: &[u32],
        depth: usize,
    ) -> Result<Option<Node>, Failure> {
        if depth >= MAX_DEPTH {
            return Err(Failure::limit(format!("multiparts nested deeper than {MAX_DEPTH}")));
        }
        let subtype = part.media_type.split_once('/').map_or("mixed", |(_, s)| s);
        let subtype = if is_token(subtype) { subtype } else { "mixed" };
        // In text mode a multipart/alternative keeps its text part; the HTML is dropped.
        let is_plain = |id: &u32| {
            message.parts.get(*id as usize).is_some_and(|p| {
                p.content_type().is_none_or(|ct| ct.ctype() == "text" && ct.subtype() == Some("plain"))
            })
        };
        let text_only = subtype == "alternative" && self.html_mode == HtmlMode::Text && children.iter().any(is_plain);
        let mut parts = Vec::new();
        for (n, id) in children.iter().enumerate() {
            let path = if part.path.is_empty() { format!("{}", n + 1) } else { format!("{}.{}", part.path, n + 1) };
            if text_only && !is_plain(id) {
                let detail = "HTML alternative removed, the text alternative is kept (html-mode text)";
                self.findings.push(ContentClass::Scripts, Disposition::Removed, format!("{path} alternative"), detail);
                continue;
            }
            parts.extend(self.part(message, *id as usize, path, depth + 1)?);
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => {
                let mut node = Node::new(format!("multipart/{subtype}"), Content::Parts(parts));
                let params = part.part.content_type().and_then(|ct| ct.attributes()).unwrap_or_default();
                node.params = params
                    .iter()
                    .filter(|a| a.name != "boundary" && is_token(&a.name) && is_printable(&a.value))
                    .map(|a| (a.name.to_string(), a.value.to_string()))
                    .collect();
                Some(node)
            }
        })
    }

    fn leaf(&mut self, part: &Part) -> Result<Option<Node>, Failure> {
        let media_type = part.media_type.as_str();
        if matches!(
            media_type,
            "application/pkcs7-signature" | "application/x-pkcs7-signature" | "application/pgp-signature"
        ) {
            let detail = "signature: it cannot verify once the message is rebuilt";
            let location = part.location(media_type);
            let decision =
                self.findings.decide(self.policy, ContentClass::Metadata, Disposition::Removed, location, detail)?;
            return Ok((decision == Decision::Keep).then(|| Node::new(media_type, Content::Data(self.data(part.part)))));
        }
        let attached = part.disposition() == Some("attachment") || part.name().is_some();
        if media_type.starts_with("multipart/") && !attached {
            let detail = "multipart without its boundary: its body is kept as text";
            self.findings.decide(
                self.policy,
                ContentClass::MalformedStructure,
                Disposition::Neutralized,
                part.location(media_type),
                detail,
            )?;
            return self.body(part, false).map(Some);
        }
        if !attached && matches!(media_type, "text/plain" | "text/html") {
            return self.body(part, media_type == "text/html").map(Some);
        }
        let data = self.data(part.part);
        self.attachment(part, data)
    }

    /// The decoded content of a non-text part (an attachment, a forwarded message).
    pub fn data(&self, part: &MessagePart) -> Vec<u8> {
        match &part.body {
            PartType::Binary(data) | PartType::InlineBinary(data) if !is_uuencoded(part) => data.to_vec(),
            _ => self.decoded(part),
        }
    }

    /// The part's bytes with the transfer encoding (base64, quoted-printable,
    /// uuencode) undone; a broken encoding gives the bytes as they are.
    pub fn decoded(&self, part: &MessagePart) -> Vec<u8> {
        let body = self.raw.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
        let decoded = match part.encoding {
            Encoding::Base64 => MessageStream::new(body).decode_base64_mime(b""),
            Encoding::QuotedPrintable => MessageStream::new(body).decode_quoted_printable_mime(b""),
            Encoding::None if is_uuencoded(part) => return uudecode(body).unwrap_or_else(|| body.to_vec()),
            Encoding::None => return body.to_vec(),
        };
        if decoded.0 == usize::MAX { body.to_vec() } else { decoded.1.into_owned() }
    }

    /// Counts decoded bytes against `max-expanded-bytes`.
    pub fn account(&mut self, bytes: usize) -> Result<(), Failure> {
        self.expanded += bytes as u64;
        if self.expanded > self.policy.limits.max_expanded_bytes {
            return Err(Failure::limit(format!(
                "parts decode to more than {} bytes",
                self.policy.limits.max_expanded_bytes
            )));
        }
        Ok(())
    }
}

fn is_uuencoded(part: &MessagePart) -> bool {
    part.content_transfer_encoding()
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "x-uuencode" | "uuencode" | "x-uue"))
}

/// Decodes the first `begin … end` block of uuencoded data.
fn uudecode(text: &[u8]) -> Option<Vec<u8>> {
    let mut lines = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    lines.by_ref().find(|l| l.starts_with(b"begin "))?;
    let mut out = Vec::new();
    for line in lines {
        let Some((&count, data)) = line.split_first() else { continue };
        let count = (count.wrapping_sub(b' ') & 63) as usize;
        if count == 0 || line == b"end" {
            break;
        }
        let sextets: Vec<u8> = data.iter().map(|b| b.wrapping_sub(b' ') & 63).collect();
        let mut bytes = Vec::with_capacity(count + 2);
        for group in sextets.chunks(4) {
            let n = group.iter().enumerate().fold(0u32, |n, (i, &s)| n | (s as u32) << (18 - 6 * i));
            bytes.extend_from_slice(&n.to_be_bytes()[1..]);
        }
        bytes.truncate(count);
        out.extend_from_slice(&bytes);
    }
    Some(out)
}

/// An RFC 2045 token (a media subtype or parameter name that can be written as is).
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

pub fn is_printable(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::uudecode;

    #[test]
    fn uudecode_reads_a_block() {
        let block = b"begin 644 cat.txt\n#0V%T\n`\nend\n";
        assert_eq!(uudecode(block).unwrap(), b"Cat");
    }
}
