//! ICAP responses: the status line, the service tag, headers (values
//! cleaned of anything a header cannot carry), `Encapsulated`, and an
//! encapsulated HTTP message whose body goes as one chunk.

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::Conn;
use super::head::header_value;
use super::{Error, SERVER};

/// The HTTP message an ICAP response carries: `req` or `res`, its head and its body.
pub(super) type Encapsulated<'a> = (&'static str, Vec<u8>, Option<&'a [u8]>);

/// An ICAP response.
pub(super) struct Reply<'a> {
    status: u16,
    headers: Vec<(&'static str, String)>,
    message: Option<Encapsulated<'a>>,
    close: bool,
}

impl<'a> Reply<'a> {
    pub(super) fn new(status: u16) -> Reply<'a> {
        Reply { status, headers: Vec::new(), message: None, close: false }
    }

    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply<'a> {
        self.headers.push((name, value.into()));
        self
    }

    pub(super) fn message(mut self, kind: &'static str, head: Vec<u8>, body: Option<&'a [u8]>) -> Reply<'a> {
        self.message = Some((kind, head, body));
        self
    }

    pub(super) fn close(mut self) -> Reply<'a> {
        self.close = true;
        self
    }

    /// Writes the response; a body goes as one chunk.
    pub(super) async fn send<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        conn: &mut Conn<S>,
        istag: &str,
    ) -> Result<(), Error> {
        let phrase = match self.status {
            200 => "OK",
            204 => "No Content",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "ICAP Service Not Found",
            408 => "Request Timeout",
            501 => "Method Not Implemented",
            503 => "Service Unavailable",
            505 => "ICAP Version Not Supported",
            _ => "Status",
        };
        let mut out = format!("ICAP/1.0 {} {phrase}\r\nISTag: \"{istag}\"\r\nServer: {SERVER}\r\n", self.status);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {}\r\n", header_value(value)));
        }
        if self.close {
            out.push_str("Connection: close\r\n");
        }
        let encapsulated = match &self.message {
            None => "null-body=0".to_owned(),
            Some((kind, head, Some(_))) => format!("{kind}-hdr=0, {kind}-body={}", head.len()),
            Some((kind, head, None)) => format!("{kind}-hdr=0, null-body={}", head.len()),
        };
        out.push_str(&format!("Encapsulated: {encapsulated}\r\n\r\n"));
        let mut out = out.into_bytes();
        if let Some((_, head, body)) = self.message {
            out.extend_from_slice(&head);
            match body {
                Some(body) if !body.is_empty() => {
                    out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                    conn.write(&out).await?;
                    conn.write(body).await?;
                    out = b"\r\n0\r\n\r\n".to_vec();
                }
                Some(_) => out.extend_from_slice(b"0\r\n\r\n"),
                None => {}
            }
        }
        conn.write(&out).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::Memory;
    use super::*;

    #[tokio::test]
    async fn replies_frame_their_message() {
        let mut conn = Conn::new(Memory::new(b""));
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n".to_vec();
        let length = head.len();
        Reply::new(200)
            .header("X-Sekisho-Outcome", "clean\r\nEvil: 1")
            .message("res", head, Some(b"abc"))
            .send(&mut conn, "tag")
            .await
            .unwrap();
        let out = String::from_utf8(conn.stream.into_inner().output).unwrap();
        assert!(out.starts_with("ICAP/1.0 200 OK\r\nISTag: \"tag\"\r\n"), "{out}");
        assert!(out.contains("X-Sekisho-Outcome: clean??Evil: 1\r\n"), "{out}");
        assert!(out.contains(&format!("Encapsulated: res-hdr=0, res-body={length}\r\n\r\n")), "{out}");
        assert!(out.ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "{out}");
        let mut conn = Conn::new(Memory::new(b""));
        Reply::new(503).close().send(&mut conn, "t").await.unwrap();
        let out = String::from_utf8(conn.stream.into_inner().output).unwrap();
        assert!(out.contains("Connection: close\r\n") && out.ends_with("Encapsulated: null-body=0\r\n\r\n"), "{out}");
    }
}
