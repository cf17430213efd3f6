//! Bytes on an SMTP connection: a buffered reader with deadlines that
//! hands out commands and message data (parsed by `smtp-proto`), replies
//! that are held back while pipelined commands are still buffered, and
//! the encoding of a message for `DATA`.

use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver, RequestReceiver};
use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The connection ended: the peer closed it, a read or write failed, or a
/// deadline passed.
#[derive(Debug)]
pub(super) struct Closed(pub(super) String);

/// One side of an SMTP conversation, buffered both ways.
pub(super) struct Wire {
    stream: TcpStream,
    /// Bytes received and not yet consumed.
    input: Vec<u8>,
    /// Replies or commands not yet sent.
    output: Vec<u8>,
}

impl Wire {
    pub(super) fn new(stream: TcpStream) -> Wire {
        Wire { stream, input: Vec::with_capacity(8192), output: Vec::with_capacity(512) }
    }

    /// Queues one line (CRLF added). With PIPELINING, replies go out when
    /// the buffered commands are answered, not one packet each.
    pub(super) fn line(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    /// Queues raw bytes.
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// Sends what is queued.
    pub(super) async fn flush(&mut self, deadline: Instant) -> Result<(), Closed> {
        if self.output.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.output);
        match tokio::time::timeout_at(deadline, self.stream.write_all(&out)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Closed(format!("write: {e}"))),
            Err(_) => Err(Closed("write timed out".into())),
        }
    }

    /// Whether received bytes wait to be consumed (pipelined commands).
    pub(super) fn has_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Sends what is queued, then reads more bytes before `deadline`.
    async fn fill(&mut self, deadline: Instant) -> Result<(), Closed> {
        self.flush(deadline).await?;
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => Err(Closed("closed by the peer".into())),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(Closed(format!("read: {e}"))),
            Err(_) => Err(Closed("timed out".into())),
        }
    }

    /// The next command, or why its line is not one (the line is consumed
    /// either way). Lines are bounded by the parser (4 KiB).
    pub(super) async fn command(
        &mut self,
        receiver: &mut RequestReceiver,
        deadline: Instant,
    ) -> Result<Result<Request<String>, ParseError>, Closed> {
        loop {
            if !self.input.is_empty() {
                let mut bytes = self.input.iter();
                let parsed = receiver.ingest(&mut bytes).map(Request::into_owned);
                let mut consumed = self.input.len() - bytes.len();
                match parsed {
                    Err(ParseError::NeedsMoreData { .. }) => self.input.drain(..consumed),
                    other => {
                        if other.is_err() && consumed == 0 {
                            // Never parse the same bad bytes twice: skip the line.
                            consumed = self.input.iter().position(|&b| b == b'\n').map_or(self.input.len(), |i| i + 1);
                        }
                        self.input.drain(..consumed);
                        return Ok(other);
                    }
                };
            }
            self.fill(deadline).await?;
        }
    }

    /// The message after `354`, dot-unstuffed, up to its final `.` line.
    /// A message longer than `limit` is read to its end and thrown away:
    /// `Ok(None)`. `reserve` is asked for the bytes as they grow (the
    /// gateway's upload budget); when it says no, the rest is thrown away
    /// too and its error returned.
    pub(super) async fn message<E>(
        &mut self,
        limit: usize,
        deadline: Instant,
        mut reserve: impl FnMut(usize) -> Result<(), E>,
    ) -> Result<Result<Option<Vec<u8>>, E>, Closed> {
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut discard: Option<(DummyDataReceiver, Option<E>)> = None;
        loop {
            let mut bytes = self.input.iter();
            let done = match &mut discard {
                Some((dummy, _)) => dummy.ingest(&mut bytes),
                None => receiver.ingest(&mut bytes, &mut message),
            };
            let consumed = self.input.len() - bytes.len();
            self.input.drain(..consumed);
            if discard.is_none() {
                if message.len() > limit {
                    discard = Some((DummyDataReceiver::new_data(&receiver), None));
                    message = Vec::new();
                } else if let Err(e) = reserve(message.len()) {
                    discard = Some((DummyDataReceiver::new_data(&receiver), Some(e)));
                    message = Vec::new();
                }
            }
            if done {
                return Ok(match discard {
                    None => Ok(Some(message)),
                    Some((_, None)) => Ok(None),
                    Some((_, Some(e))) => Err(e),
                });
            }
            self.fill(deadline).await?;
        }
    }

    /// Reads one reply (all its lines) from a server.
    pub(super) async fn reply(&mut self, deadline: Instant) -> Result<Reply, Closed> {
        loop {
            if let Some(reply) = self.take_reply()? {
                return Ok(reply);
            }
            self.fill(deadline).await?;
        }
    }

    /// A complete reply from the buffered bytes, if they hold one. Each line
    /// is `CODE-text` or, the last, `CODE text`; all lines share the code.
    fn take_reply(&mut self) -> Result<Option<Reply>, Closed> {
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(end) = self.input[start..].iter().position(|&b| b == b'\n') {
            let line = &self.input[start..start + end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            start += end + 1;
            let code = line.get(..3).and_then(|c| std::str::from_utf8(c).ok()).and_then(|c| c.parse::<u16>().ok());
            let (Some(code), separator) = (code, line.get(3).copied()) else {
                return Err(Closed(format!("not an SMTP reply: {:?}", String::from_utf8_lossy(line))));
            };
            lines.push(String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned());
            if lines.len() > 100 || start > 64 * 1024 {
                return Err(Closed("reply too long".into()));
            }
            if separator != Some(b'-') {
                self.input.drain(..start);
                return Ok(Some(Reply { code, lines }));
            }
        }
        Ok(None)
    }
}

/// A server's reply: its code and the text of each line.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    pub(super) code: u16,
    pub(super) lines: Vec<String>,
}

impl Reply {
    /// 2xx.
    pub(super) fn positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The text of the last line, made safe to repeat in a reply of ours.
    pub(super) fn text(&self) -> String {
        safe_text(self.lines.last().map_or("", String::as_str))
    }

    /// Whether a line of the reply (EHLO keywords) starts with `keyword`.
    pub(super) fn has_keyword(&self, keyword: &str) -> bool {
        self.lines
            .iter()
            .skip(1)
            .any(|l| l.split_ascii_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(keyword)))
    }
}

/// Text from elsewhere (a reason, a next hop's reply) fit for one reply
/// line: printable ASCII only, bounded, so it can neither end the line nor
/// carry a second one.
pub(super) fn safe_text(text: &str) -> String {
    let mut out: String = text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    if out.len() > 200 {
        out.truncate(200);
        out.push_str("...");
    }
    out
}

/// A message as `DATA` sends it: every line ending is CRLF (a bare CR or
/// LF becomes one, so no bare line ending can reach a next hop that reads
/// them differently: SMTP smuggling), lines starting with `.` get a second
/// one, and the final `.` line closes it.
pub(super) fn data_encoding(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut line_start = true;
    let mut i = 0;
    while i < message.len() {
        let byte = message[i];
        match byte {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if byte == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line_start = true;
            }
            _ => {
                if line_start && byte == b'.' {
                    out.push(b'.');
                }
                out.push(byte);
                line_start = false;
            }
        }
        i += 1;
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Deadlines for reading commands, which RFC 5321 (4.5.3.2) puts at
/// five minutes or more.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_encoding_stuffs_dots_and_normalizes_every_line_ending() {
        assert_eq!(data_encoding(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data_encoding(b".x"), b"..x\r\n.\r\n");
        // Bare LF and bare CR cannot end the data at a lenient next hop.
        assert_eq!(data_encoding(b"a\n.\nMAIL FROM:<x>\r\n"), b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
        assert_eq!(data_encoding(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(data_encoding(b""), b".\r\n");
    }

    #[test]
    fn safe_text_keeps_one_printable_line() {
        assert_eq!(safe_text("ok\r\n250 forged"), "ok??250 forged");
        assert_eq!(safe_text("見積"), "??");
        assert!(safe_text(&"x".repeat(500)).len() <= 203);
    }
}
