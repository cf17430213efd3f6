//! Chunked ICAP bodies (RFC 3507 §4.4.1, the HTTP/1.1 chunked coding with
//! the `ieof` extension that ends a preview holding the whole body): every
//! chunk-size line and trailer section is bounded, a chunk must end where
//! its size says, and the body is kept only up to a limit, each kept byte
//! drawn from the gateway's upload budget.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite};

use super::connection::Conn;
use super::{Error, MAX_CHUNK_LINE, MAX_HEADER_BYTES, bad};
use crate::serve::limits::Upload;

/// A decoded body, kept up to `limit` bytes; beyond it only counted.
pub(super) struct Body {
    pub data: Vec<u8>,
    pub limit: usize,
    pub size: u64,
    /// The upload budget the kept bytes are drawn from (none: discarded bodies).
    pub upload: Option<Upload>,
}

impl Body {
    pub fn new(limit: usize, upload: Option<Upload>) -> Body {
        Body { data: Vec::new(), limit, size: 0, upload }
    }

    /// Adds decoded bytes; refuses (503) when the budget has no room for them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.size += bytes.len() as u64;
        if self.size <= self.limit as u64 {
            if let Some(upload) = &mut self.upload {
                upload.reserve(self.size).map_err(|_| Error::Budget)?;
            }
            self.data.extend_from_slice(bytes);
        } else if !self.data.is_empty() {
            self.data = Vec::new();
        }
        Ok(())
    }
}

/// Reads chunks up to the last (empty) one and its trailers. Returns
/// whether the last chunk carries `ieof`: a preview that is the whole body.
pub(super) async fn read_chunks<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    body: &mut Body,
) -> Result<bool, Error> {
    loop {
        let line = conn.line(MAX_CHUNK_LINE, "a chunk-size line is too long").await?;
        let (size, ieof) = chunk_header(&line)?;
        if size == 0 {
            let mut budget = MAX_HEADER_BYTES;
            conn.headers(&mut budget, "the chunk trailers are larger than 64 KiB").await?;
            return Ok(ieof);
        }
        let mut left = size;
        while left > 0 {
            let bytes = conn.fill().await?;
            let n = (bytes.len() as u64).min(left) as usize;
            body.push(&bytes[..n])?;
            conn.stream.consume(n);
            left -= n as u64;
        }
        if !conn.line(2, "a chunk is longer than its size").await?.is_empty() {
            return Err(bad("a chunk is longer than its size"));
        }
    }
}

/// The size and the `ieof` extension of a chunk-size line (`1a2b;ieof`).
pub(super) fn chunk_header(line: &[u8]) -> Result<(u64, bool), Error> {
    let text = std::str::from_utf8(line).map_err(|_| bad("a chunk-size line is not text"))?;
    let (size, extensions) = text.split_once(';').unwrap_or((text, ""));
    let size = size.trim_end_matches([' ', '\t']);
    // 16 hex digits fill a u64: no overflow.
    if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("a bad chunk size {:?}", size.chars().take(40).collect::<String>())));
    }
    let size = u64::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
    let ieof = extensions.split(';').any(|e| e.trim().eq_ignore_ascii_case("ieof"));
    Ok((size, ieof))
}

#[cfg(test)]
mod tests {
    use super::super::Memory;
    use super::*;

    async fn decode(bytes: &[u8], limit: usize) -> Result<(Body, bool), Error> {
        let mut conn = Conn::new(Memory::new(bytes));
        let mut body = Body::new(limit, None);
        let ieof = read_chunks(&mut conn, &mut body).await?;
        Ok((body, ieof))
    }

    #[test]
    fn chunk_sizes_are_strict_hex() {
        assert_eq!(chunk_header(b"1a").unwrap(), (26, false));
        assert_eq!(chunk_header(b"0; ieof").unwrap(), (0, true));
        assert_eq!(chunk_header(b"10 ;x=y;IEOF").unwrap(), (16, true));
        assert_eq!(chunk_header(b"ffffffffffffffff").unwrap(), (u64::MAX, false));
        for bad in [&b""[..], b"x", b"-1", b" 1", b"0x10", b"10000000000000000", b"1\xff", b"+1"] {
            assert!(chunk_header(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[tokio::test]
    async fn bodies_decode_and_are_bounded() {
        let (body, ieof) = decode(b"3\r\nabc\r\n2;x\r\nde\r\n0; ieof\r\n\r\n", 100).await.unwrap();
        assert_eq!((body.data.as_slice(), body.size, ieof), (&b"abcde"[..], 5, true));
        // Beyond the limit only counted.
        let (body, _) = decode(b"3\r\nabc\r\n3\r\ndef\r\n0\r\nTrailer: x\r\n\r\n", 4).await.unwrap();
        assert_eq!((body.data.len(), body.size), (0, 6));
        // A chunk longer than its size, a missing end, a huge size with no data.
        assert!(decode(b"2\r\nabc\r\n0\r\n\r\n", 100).await.is_err());
        assert!(decode(b"3\r\nabc\r\n", 100).await.is_err());
        assert!(decode(b"ffffffffffffffff\r\nabc", 100).await.is_err());
        assert!(decode(b"3\r\nabc0\r\n\r\n", 100).await.is_err());
    }

    #[tokio::test]
    async fn kept_bytes_are_drawn_from_the_budget() {
        let budget = crate::serve::limits::UploadBudget::new(4, 1024);
        let mut conn = Conn::new(Memory::new(
            b"800\r\n".iter().copied().chain([b'a'; 2048]).chain(*b"\r\n0\r\n\r\n").collect::<Vec<u8>>().as_slice(),
        ));
        let mut body = Body::new(1 << 20, Some(budget.start().unwrap()));
        assert!(matches!(read_chunks(&mut conn, &mut body).await, Err(Error::Budget)));
        drop(body);
        assert_eq!(budget.free_bytes(), 1024);
    }
}
