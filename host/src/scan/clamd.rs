//! ClamAV through `clamd`'s `INSTREAM` command, over TCP or a Unix socket.
//!
//! The framing is a few lines (a command, then chunks each led by its
//! length as a big-endian u32, then a zero length), so no crate is used.
//! Every step has a deadline and the stream has a size cap: a scanner that
//! hangs or a file beyond what `clamd` accepts is a scan not done, which
//! the policy's `scanner-down` decides.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `clamd`'s default `StreamMaxLength`.
pub const DEFAULT_MAX_BYTES: u64 = 25 << 20;

/// Default deadline for connecting, and for each read and write.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes per `INSTREAM` chunk.
const CHUNK: usize = 64 << 10;

/// Longest reply read from `clamd`.
const MAX_REPLY: u64 = 4096;

/// How long a version string is reused before it is asked again (the
/// signature database version changes when `clamd` reloads).
const VERSION_TTL: Duration = Duration::from_secs(60);

/// Where `clamd` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `HOST:PORT`.
    Tcp(String),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl std::str::FromStr for Address {
    type Err = String;

    /// `unix:PATH` or a path with a `/` is a Unix socket; `tcp:HOST:PORT`
    /// or `HOST:PORT` is TCP.
    fn from_str(text: &str) -> Result<Address, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Address::Unix(path.into()));
        }
        let tcp = text.strip_prefix("tcp:").unwrap_or(text);
        if text.starts_with("tcp:") || !tcp.contains('/') {
            return match tcp.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Address::Tcp(tcp.into())),
                _ => Err(format!("{text:?} is neither HOST:PORT nor the path of a Unix socket")),
            };
        }
        Ok(Address::Unix(text.into()))
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(address) => f.write_str(address),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A `clamd` to scan with.
pub struct Clamd {
    address: Address,
    timeout: Duration,
    max_bytes: u64,
    version: Mutex<Option<(String, Instant)>>,
}

/// A connection to `clamd`.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

impl Clamd {
    /// `clamd` at `address`, with the default deadline and size cap.
    pub fn new(address: Address) -> Clamd {
        Clamd { address, timeout: DEFAULT_TIMEOUT, max_bytes: DEFAULT_MAX_BYTES, version: Mutex::new(None) }
    }

    /// Deadline for connecting and for each read and write.
    pub fn timeout(mut self, timeout: Duration) -> Clamd {
        self.timeout = timeout;
        self
    }

    /// Largest file sent; larger ones are not scanned (set it to `clamd`'s
    /// `StreamMaxLength`).
    pub fn max_bytes(mut self, bytes: u64) -> Clamd {
        self.max_bytes = bytes;
        self
    }

    fn connect(&self) -> Result<Box<dyn Stream>, String> {
        let failed = |e: std::io::Error| format!("clamd at {} is unreachable: {e}", self.address);
        match &self.address {
            Address::Tcp(address) => {
                let mut last = None;
                for addr in address.to_socket_addrs().map_err(failed)? {
                    match TcpStream::connect_timeout(&addr, self.timeout) {
                        Ok(stream) => {
                            stream.set_read_timeout(Some(self.timeout)).map_err(failed)?;
                            stream.set_write_timeout(Some(self.timeout)).map_err(failed)?;
                            return Ok(Box::new(stream));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(failed(last.unwrap_or_else(|| std::io::Error::other("no address"))))
            }
            Address::Unix(path) => {
                let stream = UnixStream::connect(path).map_err(failed)?;
                stream.set_read_timeout(Some(self.timeout)).map_err(failed)?;
                stream.set_write_timeout(Some(self.timeout)).map_err(failed)?;
                Ok(Box::new(stream))
            }
        }
    }

    /// Sends one `z`-command (NUL-terminated) and its payload, and reads the reply.
    fn exchange(&self, command: &[u8], payload: Option<&[u8]>) -> Result<String, String> {
        let broken = |e: std::io::Error| {
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                format!("clamd at {} did not answer within {} s", self.address, self.timeout.as_secs())
            } else {
                format!("clamd at {}: {e}", self.address)
            }
        };
        let mut stream = self.connect()?;
        stream.write_all(command).map_err(broken)?;
        if let Some(data) = payload {
            for chunk in data.chunks(CHUNK) {
                stream.write_all(&(chunk.len() as u32).to_be_bytes()).map_err(broken)?;
                stream.write_all(chunk).map_err(broken)?;
            }
            stream.write_all(&0u32.to_be_bytes()).map_err(broken)?;
        }
        stream.flush().map_err(broken)?;
        let mut reply = Vec::new();
        stream.take(MAX_REPLY).read_to_end(&mut reply).map_err(broken)?;
        let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
        let text = String::from_utf8_lossy(&reply[..end]).trim().to_owned();
        if text.is_empty() {
            return Err(format!("clamd at {} closed the connection without an answer", self.address));
        }
        Ok(text)
    }

    /// `ClamAV 1.4.3/27000/…` as `clamd` says it, asked at most once a minute.
    pub fn version(&self) -> Result<String, String> {
        let mut cached = self.version.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, at)) = cached.as_ref()
            && at.elapsed() < VERSION_TTL
        {
            return Ok(version.clone());
        }
        let version = self.exchange(b"zVERSION\0", None)?;
        *cached = Some((version.clone(), Instant::now()));
        Ok(version)
    }

    /// Scans `data`: the version that scanned, and the signature that
    /// matched (none when clean) or why no scan was done.
    pub fn scan(&self, data: &[u8]) -> (String, Result<Vec<String>, String>) {
        if data.len() as u64 > self.max_bytes {
            let why = format!("{} bytes, more than the clamd scan cap of {}", data.len(), self.max_bytes);
            return (String::new(), Err(why));
        }
        let version = match self.version() {
            Ok(version) => version,
            Err(e) => return (String::new(), Err(e)),
        };
        let result = self.exchange(b"zINSTREAM\0", Some(data)).and_then(|reply| verdict(&reply));
        if result.is_err() {
            // Ask again next time: clamd may have restarted with other signatures.
            *self.version.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        (version, result)
    }
}

/// Reads an `INSTREAM` reply: `stream: OK`, `stream: NAME FOUND`, or an error.
fn verdict(reply: &str) -> Result<Vec<String>, String> {
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(Vec::new()),
        Some(found) if found.ends_with(" FOUND") => Ok(vec![found.trim_end_matches(" FOUND").trim().to_owned()]),
        _ => Err(format!("clamd refused the scan: {reply}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_tcp_or_unix() {
        assert_eq!("127.0.0.1:3310".parse(), Ok(Address::Tcp("127.0.0.1:3310".into())));
        assert_eq!("tcp:localhost:3310".parse(), Ok(Address::Tcp("localhost:3310".into())));
        assert_eq!("/run/clamav/clamd.ctl".parse(), Ok(Address::Unix("/run/clamav/clamd.ctl".into())));
        assert_eq!("unix:clamd.sock".parse(), Ok(Address::Unix("clamd.sock".into())));
        assert!("localhost".parse::<Address>().is_err());
        assert!("tcp:host:port".parse::<Address>().is_err());
    }

    #[test]
    fn replies_are_clean_found_or_errors() {
        assert_eq!(verdict("stream: OK"), Ok(vec![]));
        assert_eq!(verdict("stream: Eicar-Test-Signature FOUND"), Ok(vec!["Eicar-Test-Signature".to_owned()]));
        assert!(verdict("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(verdict("stream: Can't allocate memory ERROR").is_err());
    }
}
