//! The encapsulated HTTP heads of an ICAP message: parsed strictly (CRLF
//! lines, token names, no bare CR or LF, at most 100 fields), kept byte for
//! byte so that what the gateway does not change goes back as it came.

use super::{Error, MAX_HEADERS, bad};

/// An encapsulated HTTP head: the start line and the header lines, kept
/// byte for byte so that what is not changed goes back as it came.
pub(super) struct HttpHead {
    pub start: Vec<u8>,
    pub fields: Vec<Vec<u8>>,
}

impl HttpHead {
    pub(super) fn new(start: &str) -> HttpHead {
        HttpHead { start: start.as_bytes().to_vec(), fields: Vec::new() }
    }

    /// Parses a block that ends with its empty line, where `Encapsulated`
    /// says, and has no other.
    pub(super) fn parse(block: &[u8]) -> Result<HttpHead, Error> {
        let misplaced = || bad("an encapsulated HTTP head does not end where Encapsulated says");
        if !block.ends_with(b"\r\n\r\n") {
            return Err(misplaced());
        }
        // Without the final "\n\r\n", every line ends with its CR.
        let text = &block[..block.len() - 3];
        let mut lines = text.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r"));
        let start = lines.next().flatten().filter(|s| !s.is_empty()).ok_or_else(misplaced)?.to_vec();
        let mut fields: Vec<Vec<u8>> = Vec::new();
        for line in lines {
            let line = line.ok_or_else(|| bad("a bare LF in an encapsulated HTTP head"))?;
            match line.first() {
                None => return Err(misplaced()),
                // An obsolete folded line continues the previous one.
                Some(b' ' | b'\t') => {
                    let last = fields.last_mut().ok_or_else(|| bad("a folded line opens an HTTP head"))?;
                    last.push(b' ');
                    last.extend_from_slice(line.trim_ascii());
                }
                Some(_) => {
                    let name = line.split(|&b| b == b':').next().unwrap_or_default();
                    if name.len() == line.len() || name.is_empty() || !name.iter().all(|&b| is_token(b)) {
                        return Err(bad("a malformed header line in an encapsulated HTTP head"));
                    }
                    if fields.len() == MAX_HEADERS {
                        return Err(bad("more than 100 headers in an encapsulated HTTP head"));
                    }
                    fields.push(line.to_vec());
                }
            }
        }
        if start.contains(&b'\r') || fields.iter().any(|f| f.contains(&b'\r')) {
            return Err(bad("a bare CR in an encapsulated HTTP head"));
        }
        Ok(HttpHead { start, fields })
    }

    pub(super) fn is_named(line: &[u8], name: &str) -> bool {
        line.get(..name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && line.get(name.len()) == Some(&b':')
    }

    /// The values of a header, trimmed.
    pub(super) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.fields
            .iter()
            .filter(move |line| HttpHead::is_named(line, name))
            .map(move |line| String::from_utf8_lossy(&line[name.len() + 1..]).trim().to_owned())
    }

    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.values(name).next()
    }

    pub(super) fn remove(&mut self, name: &str) {
        self.fields.retain(|line| !HttpHead::is_named(line, name));
    }

    /// Replaces every value of a header by one.
    pub(super) fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.fields.push(format!("{name}: {}", header_value(value)).into_bytes());
    }

    /// The status code of a response head.
    pub(super) fn status(&self) -> Option<u16> {
        self.start.split(|&b| b == b' ').nth(1).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
    }

    /// The target (URL) of a request head.
    pub(super) fn target(&self) -> Option<String> {
        self.start.split(|&b| b == b' ').nth(1).map(|t| String::from_utf8_lossy(t).into_owned())
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.start.clone();
        out.extend_from_slice(b"\r\n");
        for line in &self.fields {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A token character of an HTTP or ICAP header name.
pub(super) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True when a comma-separated header value holds `token`.
pub(super) fn has_token(value: &str, token: &str) -> bool {
    value.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A header value from any text: characters a header cannot carry become `?`.
pub(super) fn header_value(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_strictly_and_round_trip() {
        let block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Long: a\r\n b\r\n\r\n";
        let head = HttpHead::parse(block).unwrap();
        assert_eq!(head.status(), Some(200));
        assert_eq!(head.get("content-type").as_deref(), Some("text/html"));
        assert_eq!(head.get("X-Long").as_deref(), Some("a b"));
        let again = HttpHead::parse(&head.to_bytes()).unwrap();
        assert_eq!(again.fields, head.fields);
        for bad in [
            &b"HTTP/1.1 200 OK\r\nA: b\r\n"[..],
            b"HTTP/1.1 200 OK\r\nA: b\n\r\n",
            b"HTTP/1.1 200 OK\r\nA b\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n a\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nA: b\r\n\r\n",
            b"\r\n\r\n",
        ] {
            assert!(HttpHead::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let many: Vec<u8> = b"GET / HTTP/1.1\r\n"
            .iter()
            .copied()
            .chain((0..=MAX_HEADERS).flat_map(|i| format!("H{i}: v\r\n").into_bytes()))
            .chain(*b"\r\n")
            .collect();
        assert!(HttpHead::parse(&many).is_err());
    }

    #[test]
    fn set_replaces_and_cleans_values() {
        let mut head = HttpHead::parse(b"GET /a%20b.pdf?x HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n").unwrap();
        assert_eq!(head.target().as_deref(), Some("/a%20b.pdf?x"));
        head.set("A", "x\r\nInjected: yes");
        assert_eq!(head.values("a").collect::<Vec<_>>(), ["x??Injected: yes"]);
        assert!(has_token("keep-alive, Close", "close"));
        assert!(!has_token("closed", "close"));
    }
}
