//! The ICAP server (RFC 3507), so that a proxy such as Squid sanitizes what
//! passes through it without its users doing anything.
//!
//! A proxy hands over the HTTP response it downloaded (`RESPMOD`) or the
//! request carrying an upload (`REQMOD`). The body is sanitized by the same
//! [`Gateway`] as the HTTP API, and the answer tells the proxy what to
//! deliver instead: `204 No Content` when the file is clean and comes out
//! byte-identical, the rebuilt file with its HTTP headers adapted (length,
//! type, corrected extension), or, for a refused file, a replacement that
//! says why ([`IcapRefusal`]). Every service path is accepted
//! (`icap://host/sanitize`, `/respmod`, `/reqmod`); `?profile=NAME` in the
//! ICAP URI chooses a profile the operator allows (`--allow-profile`),
//! which can only tighten the server's policy.
//!
//! Password candidates for an encrypted file come as on the HTTP API: each
//! `X-Sekisho-Password` header of the encapsulated HTTP request (an upload's
//! own, or the request a download answers). A REQMOD request goes on
//! without them (never `204`, which would forward them); the proxy should
//! not forward them to origin servers either (Squid:
//! `request_header_access X-Sekisho-Password deny all`).
//!
//! ICAP has no authentication: off loopback, only the addresses of
//! `--icap-allow` are served, others are closed at accept. Connections are
//! bounded per listener and per client address; at a bound the connection
//! idle longest (waiting for a request, or still sending its head) is
//! closed to admit the new one, so idle and slow sockets cannot lock out a
//! proxy. A request head has `--header-timeout-s` from its first byte (from
//! the accept for a new connection), a keep-alive connection
//! `--idle-timeout-s` between requests, and a body `--request-timeout-s`
//! for all of it, however it trickles in.
//!
//! The parser faces whatever a client sends: every line, header section and
//! body is bounded, reads time out (idle keep-alive connections and slow
//! clients go away), and a framing error answers `400 Bad Request` and closes
//! the connection, because where the next request starts can no longer be
//! trusted. A body is kept in memory up to the policy's input limit, each
//! byte drawn from the upload budget shared with the HTTP API (503 when it
//! is spent); the rest of a larger one is read and thrown away, and the
//! file is refused.
//!
//! Compressed bodies (`Content-Encoding: gzip`…) are refused rather than
//! decompressed: the bytes would not be the file, and a proxy can ask
//! servers for identity encoding. Partial content (`206`) is refused too: a
//! range of a file cannot be checked as the file.
//!
//! Modules: [`connection`] (the buffered, deadline-bound reader),
//! [`request`] (request line, headers, `Encapsulated`, HTTP heads),
//! [`head`] (encapsulated HTTP heads), [`framing`] (chunked bodies and
//! preview), [`reply`] (responses), [`deliver`] (what replaces the file).

mod connection;
mod deliver;
mod framing;
mod head;
mod reply;
mod request;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::connection::{Conn, Deadline};
use self::deliver::{Verdict, deliver, file_name, head_is_exact, replacement, unfit, verdict};
use self::framing::{Body, read_chunks};
use self::head::{HttpHead, has_token};
use self::reply::Reply;
use self::request::{Message, Method, read_message};
use super::{Gateway, IcapRefusal, Refusal, limits, stopped};
use crate::audit::Origin;
use crate::policy::{Password, PasswordSource, Policy};

/// The HTTP request header that carries a password candidate (repeatable),
/// as on the HTTP API.
const PASSWORD_HEADER: &str = "X-Sekisho-Password";

/// Bytes of the ICAP request line and headers; also of the encapsulated
/// HTTP headers, and of the trailers of a chunked body.
const MAX_HEADER_BYTES: usize = 64 << 10;
/// Header lines in one header section.
const MAX_HEADERS: usize = 100;
/// A chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 4096;
/// Bytes a client sends before the server asks for the rest: a small file
/// then fits in one round trip.
const PREVIEW: usize = 4096;
/// How long a client may keep the OPTIONS answer. The service tag changes
/// only with a restart (plugins or policy).
const OPTIONS_TTL: u64 = 3600;
const SERVER: &str = concat!("Sekisho/", env!("CARGO_PKG_VERSION"));

/// Serves ICAP on `listener` until `stop` turns true, then finishes the
/// requests in progress and returns.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let allow = &gateway.config.icap_allow;
                    if !allow.is_empty() && !allow.iter().any(|range| range.contains(peer.ip())) {
                        // No answer to an address that may not talk to us.
                        gateway.metrics.connection("icap", "address");
                        tracing::debug!("ICAP {peer}: not in --icap-allow, closed");
                        drop(stream);
                        continue;
                    }
                    match gateway.icap_connections.admit(peer.ip()) {
                        Ok(slot) => {
                            connections.spawn(connection(stream, peer, slot, Arc::clone(&gateway), stop.clone()));
                        }
                        // Turned away with an answer, within reason: beyond
                        // the cap of answers at once, closed at once.
                        Err(turned) => {
                            gateway.metrics.connection("icap", turned.reason());
                            if refusing.load(Ordering::Relaxed) < gateway.config.max_connections {
                                refusing.fetch_add(1, Ordering::Relaxed);
                                let refusing = Arc::clone(&refusing);
                                let answer = Reply::new(503)
                                    .header("X-Sekisho-Error", format!("too many connections ({})", turned.reason()))
                                    .close();
                                let istag = gateway.istag.clone();
                                connections.spawn(async move {
                                    let mut conn = Conn::new(stream);
                                    if answer.send(&mut conn, &istag).await.is_ok() {
                                        conn.linger().await;
                                    }
                                    refusing.fetch_sub(1, Ordering::Relaxed);
                                });
                            }
                        }
                    }
                }
                // Out of file descriptors, or a connection reset before it
                // was accepted: pause rather than spin.
                Err(e) => {
                    tracing::warn!("ICAP accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = connections.join_next() => log_panic(done),
        }
    }
    drop(listener);
    while let Some(done) = connections.join_next().await {
        log_panic(done);
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!("ICAP connection task failed: {e}");
    }
}

/// Serves the requests of one connection in turn, until the client closes
/// it, stays idle, breaks the protocol, is closed to admit another while
/// idle, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: limits::Conn,
    gateway: Arc<Gateway>,
    mut stop: watch::Receiver<bool>,
) {
    // Answers are written in a few pieces; Nagle's algorithm would hold the
    // last one back for a delayed acknowledgement.
    let _ = stream.set_nodelay(true);
    let config = &gateway.config;
    let mut conn = Conn::new(stream);
    let accepted = Instant::now();
    let mut first = true;
    let result = loop {
        // Between requests an idle connection yields to a stop, or to a
        // new connection when a limit is reached. A new connection's wait
        // counts toward its head's deadline.
        let wait = if first { config.header_timeout } else { config.idle_timeout };
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break Ok(()),
            () = slot.closing() => break Ok(()),
            next = tokio::time::timeout(wait, conn.stream.fill_buf()) => match next {
                Ok(Ok(bytes)) if !bytes.is_empty() => {}
                Ok(_) => break Ok(()),
                Err(_) => {
                    gateway.metrics.connection("icap", if first { "header-timeout" } else { "idle-timeout" });
                    break Ok(());
                }
            },
        }
        let start = if first { accepted } else { Instant::now() };
        first = false;
        conn.deadline = Some(Deadline {
            at: start + config.header_timeout,
            kind: "header-timeout",
            message: "the request headers took too long",
        });
        // Still idle while its head arrives: a slow head gives way too.
        let message = tokio::select! {
            message = read_message(&mut conn) => message,
            () = slot.closing() => break Ok(()),
        };
        conn.deadline = None;
        let busy = slot.busy();
        let served = match message {
            Ok(message) => handle(&mut conn, &gateway, peer, message).await,
            Err(e) => Err(e),
        };
        drop(busy);
        match served {
            Ok(true) if !*stop.borrow() => {}
            Ok(_) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    match result {
        Ok(()) => {
            let _ = conn.stream.get_mut().shutdown().await;
        }
        Err(error) => {
            let (status, message) = match error {
                Error::Gone => return,
                Error::Timeout(kind, message) => {
                    gateway.metrics.connection("icap", kind);
                    (408, message)
                }
                Error::Budget => {
                    gateway.metrics.rejected_uploads.fetch_add(1, Ordering::Relaxed);
                    (503, gateway.explain(&Refusal::Uploads(limits::Spent::Bytes)))
                }
                Error::Reply(status, message) => (status, message),
            };
            tracing::debug!("ICAP {peer}: {status} {message}");
            let answer = Reply::new(status).header("X-Sekisho-Error", message).close();
            if answer.send(&mut conn, &gateway.istag).await.is_ok() {
                conn.linger().await;
            }
        }
    }
}

/// Why a request could not be served to the end.
#[derive(Debug)]
#[doc(hidden)]
pub enum Error {
    /// Answer this status with this explanation, then close the connection.
    Reply(u16, String),
    /// A deadline passed (its metric reason, the explanation): answered
    /// 408, then the connection is closed.
    Timeout(&'static str, String),
    /// The upload budget has no room for the body: answered 503, then the
    /// connection is closed (the rest of the body is not read).
    Budget,
    /// The connection failed: there is nobody to answer.
    Gone,
}

fn bad(message: impl Into<String>) -> Error {
    Error::Reply(400, message.into())
}

/// The status and explanation of a request the gateway did not process.
fn refusal_status(gateway: &Gateway, refusal: Refusal) -> (u16, String) {
    let status = match refusal {
        Refusal::Busy | Refusal::Uploads(_) => 503,
        Refusal::UnknownProfile(_) => 404,
        Refusal::ProfileNotAllowed(_) => 403,
    };
    (status, gateway.explain(&refusal))
}

/// Serves one request whose head is read. Returns whether the connection
/// may carry another.
async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    gateway: &Arc<Gateway>,
    peer: SocketAddr,
    message: Message,
) -> Result<bool, Error> {
    let keep_alive = !message.header("Connection").is_some_and(|v| has_token(v, "close"));
    // A profile that is not allowed is a proxy misconfiguration: answered
    // before the body is read, so the connection closes.
    let policy = gateway.policy(message.profile.as_deref()).map_err(|refusal| {
        let (status, text) = refusal_status(gateway, refusal);
        Error::Reply(status, text)
    })?;
    let started = Instant::now();
    let (method, path) = (message.method, message.path.clone());
    // One deadline for the whole body, however it trickles in.
    conn.deadline = Some(Deadline {
        at: started + gateway.config.request_timeout,
        kind: "body-timeout",
        message: "the body took too long",
    });
    match message.method {
        Method::Options => {
            if message.has_body {
                read_chunks(conn, &mut Body::new(0, None)).await?;
            }
            conn.deadline = None;
            options(&message.path, gateway.icap_connections.max_per_client()).send(conn, &gateway.istag).await?;
        }
        Method::Reqmod | Method::Respmod => modify(conn, gateway, peer, message, policy).await?,
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(client = %peer, method = ?method, path = %path, ms, "ICAP request");
    Ok(keep_alive)
}

/// The answer to OPTIONS: what the service does and how to talk to it.
/// `Max-Connections` is the per-client limit, so a proxy that keeps to it
/// is never turned away.
fn options(path: &str, max_connections: usize) -> Reply<'static> {
    // A service named after one method announces that one, so a proxy
    // configured with the other warns about the mismatch.
    let service = path.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    let methods = match service.as_str() {
        "respmod" => "RESPMOD",
        "reqmod" => "REQMOD",
        _ => "RESPMOD, REQMOD",
    };
    Reply::new(200)
        .header("Methods", methods)
        .header("Service", format!("Sekisho {} content disarm and reconstruction", env!("CARGO_PKG_VERSION")))
        .header("Max-Connections", max_connections.to_string())
        .header("Options-TTL", OPTIONS_TTL.to_string())
        .header("Allow", "204")
        .header("Preview", PREVIEW.to_string())
        .header("Transfer-Preview", "*")
}

/// RESPMOD and REQMOD: reads the body, sanitizes it, answers what to deliver.
async fn modify<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    gateway: &Arc<Gateway>,
    peer: SocketAddr,
    message: Message,
    policy: Policy,
) -> Result<(), Error> {
    let limit = policy.limits.max_input_bytes;
    let upload = if message.has_body {
        // Taken before the body is read; without one, the body is not read
        // and the connection closes.
        let upload = gateway.start_upload().map_err(|refusal| {
            let (status, text) = refusal_status(gateway, refusal);
            Error::Reply(status, text)
        })?;
        Some(upload)
    } else {
        None
    };
    let mut body = Body::new(usize::try_from(limit).unwrap_or(usize::MAX), upload);
    let mut continued = false;
    if message.has_body {
        let ieof = read_chunks(conn, &mut body).await?;
        if message.preview && !ieof {
            conn.write(b"ICAP/1.0 100 Continue\r\n\r\n").await?;
            continued = true;
            read_chunks(conn, &mut body).await?;
        }
    }
    conn.deadline = None;
    // 204 is allowed when the client says so, and in answer to a preview
    // (one that held the whole body, as the server never answers early).
    let may_204 = message.header("Allow").is_some_and(|v| has_token(v, "204"))
        || (message.preview && message.has_body && !continued);
    let respmod = message.method == Method::Respmod;
    let Message { mut req, res, .. } = message;
    // Passwords the user's client sent with the file, as on the HTTP API:
    // `X-Sekisho-Password` headers of the HTTP request. They are taken out
    // of the request that goes on, so the upload never carries them further.
    let passwords: Vec<Password> = req
        .as_ref()
        .map(|req| req.values(PASSWORD_HEADER).map(|secret| Password::new(&secret, PasswordSource::Request)).collect())
        .unwrap_or_default();
    if let Some(req) = &mut req {
        req.remove(PASSWORD_HEADER);
    }
    let carried_passwords = !passwords.is_empty();
    let policy = policy.with_passwords(passwords);
    let name = file_name(if respmod { res.as_ref() } else { None }, req.as_ref(), respmod);
    let (kind, mut head) = match (respmod, req, res) {
        (true, _, res) => ("res", res.unwrap_or_else(|| HttpHead::new("HTTP/1.1 200 OK"))),
        (false, Some(req), _) => ("req", req),
        // `layout` requires req-hdr in REQMOD.
        (false, None, _) => return Err(bad("REQMOD without req-hdr")),
    };
    // 204 would send the request on as it came, password headers included.
    let may_204 = may_204 && !(carried_passwords && !respmod);
    if body.size == 0 {
        // No body, or an empty one: nothing to check.
        let answer = if may_204 { Reply::new(204) } else { Reply::new(200).message(kind, head.to_bytes(), None) };
        return answer.send(conn, &gateway.istag).await;
    }

    let verdict = match unfit(&head, respmod, &body) {
        Some(reason) => Verdict::Refuse { outcome: "failed".into(), reason, id: None },
        None => {
            let origin = Origin { interface: "icap", client: Some(peer.ip().to_string()), user: None };
            let Body { data, upload, .. } = body;
            match gateway.sanitize(name.clone(), data, policy, origin, upload).await {
                Ok((_, result)) if result.report.retry_later() => {
                    let why = result.report.reason.map(|r| r.detail).unwrap_or_default();
                    return Reply::new(503).header("X-Sekisho-Error", why).send(conn, &gateway.istag).await;
                }
                Ok((id, result)) => verdict(id, result),
                Err(refusal) => {
                    // The body was read: the connection stays usable.
                    let (status, text) = refusal_status(gateway, refusal);
                    return Reply::new(status).header("X-Sekisho-Error", text).send(conn, &gateway.istag).await;
                }
            }
        }
    };
    match verdict {
        Verdict::Pass { bytes, media_type, extension, outcome, id, unchanged } => {
            // 204 delivers the original head too: only when it already says
            // what the rebuilt bytes are (type, UTF-8 for text, no sniffing).
            let answer = if unchanged && may_204 && head_is_exact(&head, respmod, &media_type) {
                Reply::new(204)
            } else {
                deliver(&mut head, respmod, bytes.len(), &media_type, &extension, unchanged);
                head.set("X-Sekisho-Outcome", &outcome);
                head.set("X-Sekisho-Report-Id", &id);
                Reply::new(200).message(kind, head.to_bytes(), Some(&bytes))
            };
            answer
                .header("X-Sekisho-Outcome", outcome)
                .header("X-Sekisho-Report-Id", id)
                .send(conn, &gateway.istag)
                .await
        }
        Verdict::Refuse { outcome, reason, id } => {
            // A refused upload is answered with the page whatever the
            // setting: a 200 text file would tell the uploader it went through.
            let style = if respmod { gateway.config.icap_refusal } else { IcapRefusal::Page };
            let (head, page) = replacement(style, &name, &outcome, &reason, id.as_deref());
            let mut answer =
                Reply::new(200).message("res", head.to_bytes(), Some(&page)).header("X-Sekisho-Outcome", outcome);
            if let Some(id) = id {
                answer = answer.header("X-Sekisho-Report-Id", id);
            }
            answer.send(conn, &gateway.istag).await
        }
    }
}

/// An in-memory connection for tests and fuzzing: reads the given bytes,
/// then the end of input; keeps what is written.
#[doc(hidden)]
pub struct Memory {
    input: Vec<u8>,
    read: usize,
    pub output: Vec<u8>,
}

impl Memory {
    pub fn new(input: &[u8]) -> Memory {
        Memory { input: input.to_vec(), read: 0, output: Vec::new() }
    }
}

impl AsyncRead for Memory {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let rest = &self.input[self.read..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.read += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Memory {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        // Bounded, so a fuzzed reply cannot grow without end.
        let n = buf.len().min((16usize << 20).saturating_sub(self.output.len()));
        self.output.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The request parser on bytes in memory, for fuzzing and property tests:
/// reads one request head and, when it has one, its chunked body (and a
/// preview's continuation), as the server does, up to `limit` bytes kept.
/// Returns a summary of what was parsed, or the error status.
#[doc(hidden)]
pub async fn parse_request(input: &[u8], limit: usize) -> Result<ParsedRequest, u16> {
    let status = |e: Error| match e {
        Error::Reply(status, _) => status,
        Error::Timeout(..) => 408,
        Error::Budget => 503,
        Error::Gone => 0,
    };
    let mut conn = Conn::new(Memory::new(input));
    let mut parsed = Vec::new();
    loop {
        if conn.stream.fill_buf().await.map_or(true, |b| b.is_empty()) {
            return Ok(ParsedRequest { requests: parsed });
        }
        let message = read_message(&mut conn).await.map_err(status)?;
        let mut body = Body::new(limit, None);
        let mut chunks = 0;
        if message.has_body {
            let ieof = read_chunks(&mut conn, &mut body).await.map_err(status)?;
            chunks += 1;
            if message.preview && !ieof {
                read_chunks(&mut conn, &mut body).await.map_err(status)?;
                chunks += 1;
            }
        }
        // What the server would answer from the heads.
        if let Some(head) = message.res.as_ref().or(message.req.as_ref()) {
            let name = file_name(message.res.as_ref(), message.req.as_ref(), message.method == Method::Respmod);
            let mut head = HttpHead { start: head.start.clone(), fields: head.fields.clone() };
            deliver(&mut head, message.method == Method::Respmod, body.data.len(), "text/html", "html", false);
            let bytes = head.to_bytes();
            HttpHead::parse(&bytes).map_err(status)?;
            parsed.push((format!("{:?}", message.method), name, body.size, chunks));
        } else {
            parsed.push((format!("{:?}", message.method), String::new(), body.size, chunks));
        }
        if parsed.len() > 64 {
            return Ok(ParsedRequest { requests: parsed });
        }
    }
}

/// What [`parse_request`] found: per request its method, file name, body size and chunk sections read.
#[doc(hidden)]
#[derive(Debug)]
pub struct ParsedRequest {
    pub requests: Vec<(String, String, u64, usize)>,
}
