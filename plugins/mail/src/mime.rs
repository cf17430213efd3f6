//! The rebuilt message as a tree of parts, and how it is written as MIME.
//!
//! Everything is written in 7-bit form: text as UTF-8 in `7bit`,
//! quoted-printable or base64, binary data in base64, parameters in RFC 2047
//! or RFC 2231 form. The output then passes any mail hop and can be put
//! inside another message unchanged. Boundaries come from a hash of what they
//! enclose, so the same message always gives the same bytes.

/// One part of the rebuilt message.
#[derive(Debug, Clone)]
pub struct Node {
    /// `type/subtype`, lowercase.
    pub media_type: String,
    /// Content-Type parameters other than `boundary`, `charset` and `name`.
    pub params: Vec<(String, String)>,
    pub content: Content,
    /// `inline` or `attachment`, when the input said.
    pub disposition: Option<&'static str>,
    /// The file name, written as `name` and `filename`.
    pub name: Option<String>,
    /// Content-ID without its angle brackets.
    pub content_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Content {
    /// A text body of the message (plain or HTML), written as UTF-8.
    Text(String),
    /// An attachment, written in base64.
    Data(Vec<u8>),
    /// A message/rfc822 part, written as it is.
    Message(Vec<u8>),
    Parts(Vec<Node>),
}

impl Node {
    pub fn new(media_type: impl Into<String>, content: Content) -> Node {
        Node {
            media_type: media_type.into(),
            params: Vec::new(),
            content,
            disposition: None,
            name: None,
            content_id: None,
            description: None,
        }
    }

    /// Content headers, an empty line and the body.
    pub fn write(&self) -> Vec<u8> {
        let mut head = format!("Content-Type: {}", self.media_type);
        let (encoding, body) = match &self.content {
            Content::Text(text) => {
                param(&mut head, "charset", "utf-8");
                text_body(text)
            }
            Content::Data(data) => ("base64", base64(data)),
            Content::Message(data) => (if data.is_ascii() { "7bit" } else { "8bit" }, data.clone()),
            Content::Parts(parts) => {
                let parts: Vec<Vec<u8>> = parts.iter().map(Node::write).collect();
                let boundary = boundary(&parts);
                param(&mut head, "boundary", &boundary);
                ("7bit", multipart_body(&parts, &boundary))
            }
        };
        for (name, value) in &self.params {
            param(&mut head, name, value);
        }
        if let Some(name) = &self.name {
            param(&mut head, "name", name);
        }
        head.push_str("\r\n");
        if encoding != "7bit" {
            head.push_str(&format!("Content-Transfer-Encoding: {encoding}\r\n"));
        }
        if self.disposition.is_some() || self.name.is_some() {
            head.push_str("Content-Disposition: ");
            head.push_str(self.disposition.unwrap_or("attachment"));
            if let Some(name) = &self.name {
                rfc2231_param(&mut head, "filename", name);
            }
            head.push_str("\r\n");
        }
        if let Some(id) = &self.content_id {
            head.push_str(&format!("Content-ID: <{id}>\r\n"));
        }
        if let Some(description) = &self.description {
            head.push_str(&format!("Content-Description: {}\r\n", crate::headers::encode_text(description)));
        }
        let mut out = head.into_bytes();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        out
    }
}

/// Appends `; name="value"`, the value in RFC 2047 words when it is not
/// printable ASCII (the form mail clients read in `name`).
fn param(head: &mut String, name: &str, value: &str) {
    let printable = value.bytes().all(|b| (b' '..=b'~').contains(&b));
    let value = if printable { value.replace('\\', "\\\\").replace('"', "\\\"") } else { encoded_words(value, " ") };
    head.push_str(&format!(";\r\n\t{name}=\"{value}\""));
}

/// Appends an RFC 2231 parameter (`filename*0*=utf-8''%E3…`) when the value
/// is not printable ASCII, split into continuations that keep lines short.
fn rfc2231_param(head: &mut String, name: &str, value: &str) {
    if value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return param(head, name, value);
    }
    let mut chunks = vec![String::from("utf-8''")];
    for byte in value.bytes() {
        let piece = if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            (byte as char).to_string()
        } else {
            format!("%{byte:02X}")
        };
        if chunks.last().is_some_and(|c| c.len() + piece.len() > 60) {
            chunks.push(String::new());
        }
        chunks.last_mut().expect("never empty").push_str(&piece);
    }
    for (i, chunk) in chunks.iter().enumerate() {
        head.push_str(&format!(";\r\n\t{name}*{i}*={chunk}"));
    }
}

/// RFC 2047 encoded words (UTF-8, base64) of at most 75 characters, joined by `separator`.
pub fn encoded_words(text: &str, separator: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if at + c.len_utf8() - start > 45 {
            words.push(&text[start..at]);
            start = at;
        }
    }
    words.push(&text[start..]);
    let words: Vec<String> = words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", String::from_utf8(base64_line(w.as_bytes())).unwrap_or_default()))
        .collect();
    words.join(separator)
}

/// Text in canonical form (CRLF line breaks) and the lightest encoding that
/// carries it: `7bit` for short ASCII lines, quoted-printable for mostly
/// ASCII text, base64 for the rest (Japanese text is a third larger in
/// base64, three times larger in quoted-printable).
fn text_body(text: &str) -> (&'static str, Vec<u8>) {
    let canonical = text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
    let bytes = canonical.as_bytes();
    let plain = bytes.iter().all(|&b| matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~'));
    if plain && canonical.split("\r\n").all(|line| line.len() <= 998) {
        return ("7bit", canonical.into_bytes());
    }
    let escaped = bytes.iter().filter(|&&b| !(b' '..=b'~').contains(&b)).count();
    if escaped * 3 <= bytes.len() {
        ("quoted-printable", quoted_printable(&canonical))
    } else {
        ("base64", base64(bytes))
    }
}

/// Quoted-printable (RFC 2045 6.7) of CRLF text, lines of at most 76 characters.
fn quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for (n, line) in text.split("\r\n").enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let bytes = line.as_bytes();
        let mut width = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal = match b {
                b' ' | b'\t' => !last,
                b'=' => false,
                b'!'..=b'~' => true,
                _ => false,
            };
            let size = if literal { 1 } else { 3 };
            // Leave room for the soft break `=`, unless this is the line's last byte.
            if width + size > if last { 76 } else { 75 } {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            }
            width += size;
        }
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters.
fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 * 4 + data.len() / 57 * 2 + 4);
    for (n, chunk) in data.chunks(57).enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&base64_line(chunk));
    }
    out
}

fn base64_line(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= group.len() { BASE64[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' });
        }
    }
    out
}

/// A boundary that appears in none of the parts: a hash of their content,
/// with a counter for the (unlikely) case where a part contains it.
fn boundary(parts: &[Vec<u8>]) -> String {
    let hash = parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, part| {
        part.iter().fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
    });
    (0u32..)
        .map(|n| format!("=_sekisho_{:016x}", hash.wrapping_add(n as u64)))
        .find(|b| !parts.iter().any(|part| contains(part, format!("--{b}").as_bytes())))
        .expect("a free boundary")
}

fn multipart_body(parts: &[Vec<u8>], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(base64(b"Man"), b"TWFu");
        assert_eq!(base64(b"Ma"), b"TWE=");
        assert_eq!(base64(b"M"), b"TQ==");
        assert_eq!(quoted_printable("a=b \r\nc\t"), b"a=3Db=20\r\nc=09");
        let long = "x".repeat(100);
        let qp = String::from_utf8(quoted_printable(&long)).unwrap();
        assert!(qp.lines().all(|l| l.len() <= 76), "{qp}");
        assert_eq!(qp.replace("=\r\n", ""), long);
        assert_eq!(encoded_words("日本", " "), "=?UTF-8?B?5pel5pys?=");
    }

    #[test]
    fn text_encoding_depends_on_content() {
        assert_eq!(text_body("hello\nworld").0, "7bit");
        assert_eq!(text_body("café au lait, a mostly ASCII line").0, "quoted-printable");
        assert_eq!(text_body("日本語のメール本文です").0, "base64");
    }
}
