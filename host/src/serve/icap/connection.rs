//! A client connection as the parser reads it: a buffered stream with a
//! bounded line reader, header reader and exact reader, every read under a
//! no-progress timeout and, when set, one deadline for a whole phase (the
//! request head, the body), so a client that trickles a byte at a time
//! resets nothing. Generic over the stream, so the parser runs on memory
//! in tests and fuzzing.

use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::head::is_token;
use super::{Error, MAX_HEADERS, bad};

/// How long a read or a write may make no progress.
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// After an error answer, how long and how much the server reads and
/// discards before closing (see [`Conn::linger`]).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// A deadline for a phase of a request, and what it is called when missed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    pub at: Instant,
    /// The metric reason (`header-timeout`, `body-timeout`).
    pub kind: &'static str,
    pub message: &'static str,
}

/// A client connection, read through a buffer.
pub(super) struct Conn<S> {
    pub stream: BufReader<S>,
    pub deadline: Option<Deadline>,
    io_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn { stream: BufReader::with_capacity(64 << 10, stream), deadline: None, io_timeout: IO_TIMEOUT }
    }

    /// Buffered bytes, reading more when there are none.
    pub async fn fill(&mut self) -> Result<&[u8], Error> {
        let (mut wait, mut kind, mut message) =
            (self.io_timeout, "io-timeout", "the client stopped sending in the middle of a request");
        if let Some(deadline) = self.deadline {
            let left = deadline.at.saturating_duration_since(Instant::now());
            if left <= wait {
                (wait, kind, message) = (left, deadline.kind, deadline.message);
            }
        }
        match tokio::time::timeout(wait, self.stream.fill_buf()).await {
            Err(_) => Err(Error::Timeout(kind, message.into())),
            Ok(Err(_)) => Err(Error::Gone),
            Ok(Ok([])) => Err(bad("the connection closed in the middle of a request")),
            Ok(Ok(bytes)) => Ok(bytes),
        }
    }

    /// A line ending with CRLF, without it; `max` bounds it, CRLF included.
    pub async fn line(&mut self, max: usize, too_long: &str) -> Result<Vec<u8>, Error> {
        let mut line = Vec::new();
        loop {
            let bytes = self.fill().await?;
            let (take, end) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (bytes.len(), false),
            };
            if line.len() + take > max {
                return Err(bad(too_long));
            }
            line.extend_from_slice(&bytes[..take]);
            self.stream.consume(take);
            if end {
                break;
            }
        }
        match line.strip_suffix(b"\r\n") {
            Some(content) if !content.contains(&b'\r') => Ok(content.to_vec()),
            _ => Err(bad("a line does not end with CRLF")),
        }
    }

    /// Header lines up to the empty one: (name, value) pairs, within
    /// `budget` bytes (decreased) and [`MAX_HEADERS`] lines.
    pub async fn headers(&mut self, budget: &mut usize, too_large: &str) -> Result<Vec<(String, String)>, Error> {
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let line = self.line(*budget, too_large).await?;
            *budget -= line.len() + 2;
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                return Ok(headers);
            }
            if line.starts_with([' ', '\t']) {
                let (_, value) = headers.last_mut().ok_or_else(|| bad("a folded line opens the headers"))?;
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            let (name, value) = line.split_once(':').ok_or_else(|| bad("a header line without a colon"))?;
            if name.is_empty() || !name.bytes().all(is_token) {
                return Err(bad("a malformed header name"));
            }
            if headers.len() == MAX_HEADERS {
                return Err(bad("more than 100 headers"));
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }

    /// Exactly `n` bytes.
    pub async fn exact(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let bytes = self.fill().await?;
            let take = bytes.len().min(n - out.len());
            out.extend_from_slice(&bytes[..take]);
            self.stream.consume(take);
        }
        Ok(out)
    }

    /// Writes everything, as long as the client keeps reading.
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        let stream = self.stream.get_mut();
        while !bytes.is_empty() {
            match tokio::time::timeout(self.io_timeout, stream.write(bytes)).await {
                Ok(Ok(n)) if n > 0 => bytes = &bytes[n..],
                _ => return Err(Error::Gone),
            }
        }
        Ok(())
    }

    /// Closes after an error answer without losing it: closing a socket
    /// with unread input makes the kernel reset the connection, which can
    /// destroy the answer before the client reads it. So the write side is
    /// shut first, and what the client still sends is read and discarded
    /// for a moment.
    pub async fn linger(mut self) {
        let stream = self.stream.get_mut();
        let _ = stream.shutdown().await;
        let mut sink = vec![0; 16 << 10];
        let _ = tokio::time::timeout(LINGER_TIME, async {
            let mut total = 0;
            while total < LINGER_BYTES {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(bytes: &[u8]) -> Conn<super::super::Memory> {
        Conn::new(super::super::Memory::new(bytes))
    }

    #[tokio::test]
    async fn lines_are_bounded_and_end_with_crlf() {
        let mut c = conn(b"OPTIONS x ICAP/1.0\r\nbare\nlong line\r\n");
        assert_eq!(c.line(100, "long").await.unwrap(), b"OPTIONS x ICAP/1.0");
        assert!(matches!(c.line(100, "long").await, Err(Error::Reply(400, _))));
        let mut c = conn(b"0123456789\r\n");
        assert!(matches!(c.line(5, "too long").await, Err(Error::Reply(400, m)) if m == "too long"));
        let mut c = conn(b"a\rb\r\n");
        assert!(c.line(100, "long").await.is_err());
        // The end of the input in the middle of a line is an error, not a hang.
        let mut c = conn(b"no end");
        assert!(matches!(c.line(100, "long").await, Err(Error::Reply(400, _))));
    }

    #[tokio::test]
    async fn headers_fold_and_are_bounded() {
        let mut c = conn(b"A: 1\r\n  continued\r\nB:2\r\n\r\n");
        let mut budget = 1000;
        let headers = c.headers(&mut budget, "big").await.unwrap();
        assert_eq!(headers, [("A".into(), "1 continued".into()), ("B".into(), "2".into())]);
        let mut c = conn(b" folded first\r\n\r\n");
        assert!(c.headers(&mut 1000, "big").await.is_err());
        let mut c = conn(b"Bad Name: x\r\n\r\n");
        assert!(c.headers(&mut 1000, "big").await.is_err());
        let many: Vec<u8> =
            (0..=MAX_HEADERS).flat_map(|i| format!("H{i}: v\r\n").into_bytes()).chain(*b"\r\n").collect();
        assert!(conn(&many).headers(&mut (1 << 20), "big").await.is_err());
        let mut small = 10;
        assert!(conn(b"Header: a long value\r\n\r\n").headers(&mut small, "big").await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_bounds_a_whole_phase() {
        let (client, server) = tokio::io::duplex(64);
        let mut c = Conn::new(server);
        c.deadline =
            Some(Deadline { at: Instant::now() + Duration::from_secs(2), kind: "header-timeout", message: "slow" });
        let trickle = tokio::spawn(async move {
            let mut client = client;
            for _ in 0..100 {
                if client.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let started = Instant::now();
        let result = c.line(1000, "long").await;
        assert!(matches!(result, Err(Error::Timeout("header-timeout", _))), "{result:?}");
        assert!(started.elapsed() <= Duration::from_millis(2100), "{:?}", started.elapsed());
        trickle.abort();
    }
}
