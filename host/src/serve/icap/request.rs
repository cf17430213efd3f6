//! An ICAP request up to its body: the request line, the ICAP headers,
//! the `Encapsulated` layout checked against the method, and the
//! encapsulated HTTP heads. Everything is bounded (64 KiB of headers, 100
//! lines per section) and every irregularity is an error, as where the next
//! request starts could no longer be trusted.

use std::ops::Range;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::Conn;
use super::head::HttpHead;
use super::{Error, MAX_HEADER_BYTES, bad};
use crate::serve::naming::percent_decode;

/// The ICAP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Options,
    Reqmod,
    Respmod,
}

/// An ICAP request up to its body.
pub(super) struct Message {
    pub method: Method,
    /// The path of the ICAP URI, e.g. `/respmod`.
    pub path: String,
    /// `?profile=` of the ICAP URI.
    pub profile: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The encapsulated HTTP request and response heads.
    pub req: Option<HttpHead>,
    pub res: Option<HttpHead>,
    /// A chunked body follows (`req-body`, `res-body` or `opt-body`).
    pub has_body: bool,
    /// The body starts with a preview (`Preview: n`).
    pub preview: bool,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads an ICAP request line, its headers and the encapsulated HTTP heads.
pub(super) async fn read_message<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut Conn<S>) -> Result<Message, Error> {
    const TOO_LARGE: &str = "the ICAP headers are larger than 64 KiB";
    let mut budget = MAX_HEADER_BYTES;
    let line = conn.line(budget, TOO_LARGE).await?;
    budget -= line.len() + 2;
    let line = String::from_utf8(line).map_err(|_| bad("the request line is not text"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("a malformed request line"));
    };
    if version != "ICAP/1.0" {
        return Err(match version.strip_prefix("ICAP/") {
            Some(_) => Error::Reply(505, format!("{version} is not supported; this server speaks ICAP/1.0")),
            None => bad("not an ICAP request"),
        });
    }
    let method = match method {
        "OPTIONS" => Method::Options,
        "REQMOD" => Method::Reqmod,
        "RESPMOD" => Method::Respmod,
        other => return Err(Error::Reply(501, format!("method {other:?} is not implemented"))),
    };
    let (path, profile) = parse_uri(uri)?;
    let headers = conn.headers(&mut budget, TOO_LARGE).await?;
    let find = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let layout = layout(method, find("Encapsulated"))?;
    let preview = match find("Preview") {
        Some(value) => {
            value.parse::<u64>().map_err(|_| bad(format!("a bad Preview header {value:?}")))?;
            true
        }
        None => false,
    };
    if layout.head_len > MAX_HEADER_BYTES {
        return Err(bad("the encapsulated HTTP headers are larger than 64 KiB"));
    }
    let block = conn.exact(layout.head_len).await?;
    let req = layout.req.map(|range| HttpHead::parse(&block[range])).transpose()?;
    let res = layout.res.map(|range| HttpHead::parse(&block[range])).transpose()?;
    Ok(Message { method, path, profile, headers, req, res, has_body: layout.has_body, preview })
}

/// The path and the `profile` parameter of an ICAP URI
/// (`icap://host:port/service?profile=name`, or only `/service…`).
pub(super) fn parse_uri(uri: &str) -> Result<(String, Option<String>), Error> {
    let rest = match uri.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("icap://") => {
            let after = &uri[7..];
            after.find('/').map_or("/", |i| &after[i..])
        }
        _ if uri.starts_with('/') => uri,
        _ => return Err(bad(format!("a bad ICAP URI {uri:?}"))),
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let profile = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "profile")
        .map(|(_, value)| percent_decode(value));
    Ok((path.to_owned(), profile))
}

/// Where the encapsulated parts lie, from the `Encapsulated` header.
#[derive(Debug, Default)]
pub(super) struct Layout {
    req: Option<Range<usize>>,
    res: Option<Range<usize>>,
    has_body: bool,
    /// Bytes of encapsulated headers: the offset of the body (or null-body).
    head_len: usize,
}

/// Checks `Encapsulated` against the method: the header blocks in order,
/// the first at 0, each before the next, and one body entry last.
pub(super) fn layout(method: Method, value: Option<&str>) -> Result<Layout, Error> {
    let Some(value) = value else {
        return match method {
            Method::Options => Ok(Layout::default()),
            _ => Err(bad("the Encapsulated header is missing")),
        };
    };
    let mut entries = Vec::new();
    for entry in value.split(',') {
        let (name, offset) = entry.split_once('=').ok_or_else(|| bad(format!("a bad Encapsulated entry {entry:?}")))?;
        let offset: usize =
            offset.trim().parse().map_err(|_| bad(format!("a bad Encapsulated offset {:?}", offset.trim())))?;
        entries.push((name.trim().to_ascii_lowercase(), offset));
    }
    let Some(((last, head_len), heads)) = entries.split_last() else {
        return Err(bad("the Encapsulated header is empty"));
    };
    let bodies: &[&str] = match method {
        Method::Options => &["null-body", "opt-body"],
        Method::Reqmod => &["null-body", "req-body"],
        Method::Respmod => &["null-body", "res-body"],
    };
    if !bodies.contains(&last.as_str()) {
        return Err(bad(format!("Encapsulated must end with one of {bodies:?} for {method:?}")));
    }
    let mut layout = Layout { has_body: last != "null-body", head_len: *head_len, ..Layout::default() };
    let mut start = 0;
    for (i, (name, offset)) in heads.iter().enumerate() {
        let end = heads.get(i + 1).map_or(*head_len, |(_, next)| *next);
        if *offset != start || end <= *offset {
            return Err(bad("Encapsulated offsets must start at 0 and increase"));
        }
        match name.as_str() {
            "req-hdr" if i == 0 && method != Method::Options => layout.req = Some(*offset..end),
            "res-hdr" if layout.res.is_none() && method == Method::Respmod => layout.res = Some(*offset..end),
            _ => return Err(bad(format!("{name} is out of place in Encapsulated"))),
        }
        start = end;
    }
    if heads.is_empty() && *head_len != 0 {
        return Err(bad("Encapsulated offsets must start at 0"));
    }
    if method == Method::Reqmod && layout.req.is_none() {
        return Err(bad("REQMOD needs the HTTP request headers (req-hdr)"));
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::super::Memory;
    use super::*;

    async fn parse(bytes: &[u8]) -> Result<Message, Error> {
        read_message(&mut Conn::new(Memory::new(bytes))).await
    }

    #[tokio::test]
    async fn a_respmod_head_parses() {
        let req = "GET http://h/a.pdf HTTP/1.1\r\nHost: h\r\n\r\n";
        let res = "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n";
        let text = format!(
            "RESPMOD icap://gw:1344/respmod?profile=strict&x=1 ICAP/1.0\r\nHost: gw\r\nAllow: 204\r\nPreview: 0\r\n\
             Encapsulated: req-hdr=0, res-hdr={}, res-body={}\r\n\r\n{req}{res}",
            req.len(),
            req.len() + res.len()
        );
        let message = parse(text.as_bytes()).await.unwrap();
        assert_eq!(message.method, Method::Respmod);
        assert_eq!((message.path.as_str(), message.profile.as_deref()), ("/respmod", Some("strict")));
        assert!(message.has_body && message.preview);
        assert_eq!(message.header("allow"), Some("204"));
        assert_eq!(message.res.unwrap().status(), Some(200));
        assert_eq!(message.req.unwrap().target().as_deref(), Some("http://h/a.pdf"));
    }

    #[tokio::test]
    async fn bad_request_lines_get_their_status() {
        let status = |r: Result<Message, Error>| match r {
            Err(Error::Reply(status, _)) => status,
            other => panic!("{:?}", other.map(|m| m.method)),
        };
        assert_eq!(status(parse(b"GET / ICAP/1.0\r\n\r\n").await), 501);
        assert_eq!(status(parse(b"OPTIONS /x ICAP/2.0\r\n\r\n").await), 505);
        assert_eq!(status(parse(b"OPTIONS /x HTTP/1.1\r\n\r\n").await), 400);
        assert_eq!(status(parse(b"OPTIONS  /x ICAP/1.0\r\n\r\n").await), 400);
        assert_eq!(status(parse(b"OPTIONS x ICAP/1.0\r\n\r\n").await), 400);
        assert_eq!(status(parse(b"RESPMOD /x ICAP/1.0\r\n\r\n").await), 400);
        assert_eq!(status(parse(b"OPTIONS /x ICAP/1.0\r\nPreview: -1\r\n\r\n").await), 400);
        assert!(parse(b"OPTIONS /x ICAP/1.0\r\n\r\n").await.is_ok());
    }

    #[test]
    fn encapsulated_offsets_are_checked_against_the_method() {
        let ok = layout(Method::Respmod, Some("req-hdr=0, res-hdr=10, res-body=30")).unwrap();
        assert_eq!((ok.req, ok.res, ok.has_body, ok.head_len), (Some(0..10), Some(10..30), true, 30));
        assert!(layout(Method::Reqmod, Some("req-hdr=0, null-body=5")).is_ok());
        assert!(layout(Method::Options, None).is_ok());
        for (method, value) in [
            (Method::Respmod, None),
            (Method::Respmod, Some("")),
            (Method::Respmod, Some("res-hdr=5, res-body=10")),
            (Method::Respmod, Some("res-hdr=0, req-hdr=10, res-body=20")),
            (Method::Respmod, Some("req-hdr=0, res-hdr=0, res-body=20")),
            (Method::Respmod, Some("res-hdr=0, res-body=x")),
            (Method::Respmod, Some("res-hdr=0, req-body=10")),
            (Method::Reqmod, Some("res-hdr=0, null-body=10")),
            (Method::Reqmod, Some("null-body=0")),
            (Method::Options, Some("req-hdr=0, opt-body=4")),
            (Method::Respmod, Some("res-hdr=0, res-body=99999999999999999999999")),
        ] {
            assert!(layout(method, value).is_err(), "{method:?} {value:?}");
        }
    }

    #[test]
    fn uris_give_a_path_and_a_profile() {
        assert_eq!(
            parse_uri("icap://h:1344/sanitize?profile=keep%2Dlinks").unwrap(),
            ("/sanitize".into(), Some("keep-links".into()))
        );
        assert_eq!(parse_uri("ICAP://h").unwrap(), ("/".into(), None));
        assert_eq!(parse_uri("/reqmod?a=b").unwrap(), ("/reqmod".into(), None));
        assert!(parse_uri("http://h/x").is_err());
        assert!(parse_uri("sanitize").is_err());
    }
}
