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
//! ICAP URI chooses a built-in policy profile.
//!
//! The parser faces whatever a client sends: every line, header section and
//! body is bounded, reads time out (idle keep-alive connections and slow
//! clients go away), and a framing error answers `400 Bad Request` and closes
//! the connection, because where the next request starts can no longer be
//! trusted. A body is kept in memory up to the policy's input limit; the
//! rest of a larger one is read and thrown away, and the file is refused.
//!
//! Compressed bodies (`Content-Encoding: gzip`…) are refused rather than
//! decompressed: the bytes would not be the file, and a proxy can ask
//! servers for identity encoding. Partial content (`206`) is refused too: a
//! range of a file cannot be checked as the file.

use super::naming::{content_disposition, disposition_filename, percent_decode, url_file_name};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Gateway, IcapRefusal, Refusal};
use crate::audit::Origin;
use crate::policy::Policy;
use crate::report::Outcome;

/// Bytes of the ICAP request line and headers; also of the encapsulated
/// HTTP headers, and of the trailers of a chunked body.
const MAX_HEADER_BYTES: usize = 64 << 10;
/// Header lines in one header section.
const MAX_HEADERS: usize = 100;
/// A chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 4096;
/// How long a read or a write may make no progress.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a keep-alive connection may wait for its next request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the headers of one request may take to arrive, however they
/// trickle in (a slowloris client resets no timer by sending a byte).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 256;
/// Bytes a client sends before the server asks for the rest: a small file
/// then fits in one round trip.
const PREVIEW: usize = 4096;
/// How long a client may keep the OPTIONS answer. The service tag changes
/// only with a restart (plugins or policy).
const OPTIONS_TTL: u64 = 3600;
/// After an error answer, how long and how much the server reads and
/// discards before closing (see [`Conn::linger`]).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;
const SERVER: &str = concat!("Sekisho/", env!("CARGO_PKG_VERSION"));

/// Serves ICAP on `listener` until `stop` turns true, then finishes the
/// requests in progress and returns.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if connections.len() < MAX_CONNECTIONS => {
                    connections.spawn(connection(stream, peer, Arc::clone(&gateway), stop.clone()));
                }
                // Turned away with an answer, within reason: beyond twice
                // the limit, a connection is closed at once.
                Ok((stream, _)) if connections.len() < 2 * MAX_CONNECTIONS => {
                    let answer = Reply::new(503).header("X-Sekisho-Error", "too many connections").close();
                    let istag = gateway.istag.clone();
                    connections.spawn(async move {
                        let mut conn = Conn::new(stream);
                        if answer.send(&mut conn, &istag).await.is_ok() {
                            conn.linger().await;
                        }
                    });
                }
                Ok(_) => {}
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

/// Returns when `stop` turns true, or when its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!("ICAP connection task failed: {e}");
    }
}

/// Serves the requests of one connection in turn, until the client closes
/// it, stays idle, breaks the protocol, or the server stops.
async fn connection(stream: TcpStream, peer: SocketAddr, gateway: Arc<Gateway>, mut stop: watch::Receiver<bool>) {
    // Answers are written in a few pieces; Nagle's algorithm would hold the
    // last one back for a delayed acknowledgement.
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(stream);
    loop {
        // Between requests an idle connection yields to a stop.
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            next = tokio::time::timeout(IDLE_TIMEOUT, conn.stream.fill_buf()) => match next {
                Ok(Ok(bytes)) if !bytes.is_empty() => {}
                _ => break,
            },
        }
        match handle(&mut conn, &gateway, peer).await {
            Ok(true) if !*stop.borrow() => {}
            Ok(_) => break,
            Err(Error::Reply(status, message)) => {
                tracing::debug!("ICAP {peer}: {status} {message}");
                let answer = Reply::new(status).header("X-Sekisho-Error", message).close();
                if answer.send(&mut conn, &gateway.istag).await.is_ok() {
                    conn.linger().await;
                }
                return;
            }
            Err(Error::Gone) => return,
        }
    }
    let _ = conn.stream.get_mut().shutdown().await;
}

/// Why a request could not be served to the end.
#[derive(Debug)]
enum Error {
    /// Answer this status with this explanation, then close the connection.
    Reply(u16, String),
    /// The connection failed: there is nobody to answer.
    Gone,
}

fn bad(message: impl Into<String>) -> Error {
    Error::Reply(400, message.into())
}

/// The status and explanation of a request the gateway did not process.
fn refusal_status(refusal: Refusal) -> (u16, String) {
    match refusal {
        Refusal::Busy => (503, "all sandboxes are busy; retry later".into()),
        Refusal::UnknownProfile(name) => (404, format!("unknown profile {name:?}")),
    }
}

/// Serves one request. Returns whether the connection may carry another.
async fn handle(conn: &mut Conn, gateway: &Arc<Gateway>, peer: SocketAddr) -> Result<bool, Error> {
    let message = match tokio::time::timeout(HEAD_TIMEOUT, read_message(conn)).await {
        Ok(message) => message?,
        Err(_) => return Err(Error::Reply(408, "the request headers took too long".into())),
    };
    let keep_alive = !message.header("Connection").is_some_and(|v| has_token(v, "close"));
    // An unknown profile is a proxy misconfiguration: answered before the
    // body is read, so the connection closes.
    let policy = gateway.policy(message.profile.as_deref()).map_err(|refusal| {
        let (status, text) = refusal_status(refusal);
        Error::Reply(status, text)
    })?;
    let started = std::time::Instant::now();
    let (method, path) = (message.method, message.path.clone());
    match message.method {
        Method::Options => {
            if message.has_body {
                read_chunks(conn, &mut Body::new(0)).await?;
            }
            options(&message.path).send(conn, &gateway.istag).await?;
        }
        Method::Reqmod | Method::Respmod => modify(conn, gateway, peer, message, policy).await?,
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(client = %peer, method = ?method, path = %path, ms, "ICAP request");
    Ok(keep_alive)
}

/// The answer to OPTIONS: what the service does and how to talk to it.
fn options(path: &str) -> Reply<'static> {
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
        .header("Max-Connections", MAX_CONNECTIONS.to_string())
        .header("Options-TTL", OPTIONS_TTL.to_string())
        .header("Allow", "204")
        .header("Preview", PREVIEW.to_string())
        .header("Transfer-Preview", "*")
}

/// RESPMOD and REQMOD: reads the body, sanitizes it, answers what to deliver.
async fn modify(
    conn: &mut Conn,
    gateway: &Arc<Gateway>,
    peer: SocketAddr,
    message: Message,
    policy: Policy,
) -> Result<(), Error> {
    let limit = policy.limits.max_input_bytes.min(gateway.config.policy.limits.max_input_bytes);
    let mut body = Body::new(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut continued = false;
    if message.has_body {
        let ieof = read_chunks(conn, &mut body).await?;
        if message.preview && !ieof {
            conn.write(b"ICAP/1.0 100 Continue\r\n\r\n").await?;
            continued = true;
            read_chunks(conn, &mut body).await?;
        }
    }
    // 204 is allowed when the client says so, and in answer to a preview
    // (one that held the whole body, as the server never answers early).
    let may_204 = message.header("Allow").is_some_and(|v| has_token(v, "204"))
        || (message.preview && message.has_body && !continued);
    let respmod = message.method == Method::Respmod;
    let Message { req, res, .. } = message;
    let name = file_name(if respmod { res.as_ref() } else { None }, req.as_ref(), respmod);
    let (kind, mut head) = match (respmod, req, res) {
        (true, _, res) => ("res", res.unwrap_or_else(|| HttpHead::new("HTTP/1.1 200 OK"))),
        (false, Some(req), _) => ("req", req),
        // `layout` requires req-hdr in REQMOD.
        (false, None, _) => return Err(bad("REQMOD without req-hdr")),
    };
    if body.size == 0 {
        // No body, or an empty one: nothing to check.
        let answer = if may_204 { Reply::new(204) } else { Reply::new(200).message(kind, head.to_bytes(), None) };
        return answer.send(conn, &gateway.istag).await;
    }

    let verdict = match unfit(&head, respmod, &body) {
        Some(reason) => Verdict::Refuse { outcome: "failed".into(), reason, id: None },
        None => {
            let origin = Origin { interface: "icap", client: Some(peer.ip().to_string()), user: None };
            match gateway.sanitize(name.clone(), body.data, policy, origin).await {
                Ok((id, result)) => verdict(id, result),
                Err(refusal) => {
                    // The body was read: the connection stays usable.
                    let (status, text) = refusal_status(refusal);
                    return Reply::new(status).header("X-Sekisho-Error", text).send(conn, &gateway.istag).await;
                }
            }
        }
    };
    match verdict {
        Verdict::Pass { bytes, media_type, extension, outcome, id, unchanged } => {
            // 204 delivers the original head too: only when its type is right.
            let answer = if unchanged && may_204 && declared_type(&head).as_deref() == Some(&*media_type) {
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

/// What becomes of a file.
enum Verdict {
    /// It passed: these bytes are delivered.
    Pass { bytes: Vec<u8>, media_type: String, extension: String, outcome: String, id: String, unchanged: bool },
    /// It is refused and replaced by an explanation.
    Refuse { outcome: String, reason: String, id: Option<String> },
}

fn verdict(id: String, result: crate::Sanitized) -> Verdict {
    let report = result.report;
    let outcome = report.outcome.name().to_owned();
    match (result.output, report.output) {
        (Some(bytes), Some(info)) => Verdict::Pass {
            unchanged: report.outcome == Outcome::Clean && info.sha256 == report.input.sha256,
            bytes,
            media_type: info.media_type.to_ascii_lowercase(),
            extension: info.extension,
            outcome,
            id,
        },
        _ => Verdict::Refuse {
            outcome,
            reason: report.reason.map_or_else(|| "the file did not pass".into(), |r| r.detail),
            id: Some(id),
        },
    }
}

/// Why a body cannot be sanitized as a file, before trying.
fn unfit(head: &HttpHead, respmod: bool, body: &Body) -> Option<String> {
    let encoded = |name: &str, ignored: &[&str]| {
        head.values(name)
            .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>())
            .find(|t| !t.is_empty() && t != "identity" && !ignored.contains(&t.as_str()))
    };
    if let Some(coding) = encoded("Content-Encoding", &[]).or_else(|| encoded("Transfer-Encoding", &["chunked"])) {
        return Some(format!(
            "the body is compressed ({coding}); files are checked uncompressed only, \
             so the proxy should ask for identity encoding"
        ));
    }
    if respmod && head.status() == Some(206) {
        return Some("partial content (a range request): a part of a file cannot be checked".into());
    }
    if body.size > body.limit as u64 {
        return Some(format!("{} bytes, more than the limit of {}", body.size, body.limit));
    }
    None
}

/// The name used to detect the type: the `Content-Disposition` file name,
/// else the last segment of the request URL.
fn file_name(response: Option<&HttpHead>, request: Option<&HttpHead>, respmod: bool) -> String {
    response
        .or(request)
        .and_then(|head| head.get("Content-Disposition"))
        .and_then(|value| disposition_filename(&value))
        .or_else(|| request.and_then(HttpHead::target).and_then(|url| url_file_name(&url)))
        .unwrap_or_else(|| if respmod { "download" } else { "upload" }.into())
}

/// Adapts the HTTP head of a passing file to the bytes delivered.
fn deliver(head: &mut HttpHead, response: bool, size: usize, media_type: &str, extension: &str, unchanged: bool) {
    for name in ["Content-Length", "Transfer-Encoding", "Content-Encoding"] {
        head.remove(name);
    }
    if !unchanged {
        // Checksums and validators of the original bytes.
        for name in ["Content-MD5", "ETag", "Digest", "Content-Digest", "Repr-Digest"] {
            head.remove(name);
        }
    }
    // Nothing upstream speaks for the gateway.
    head.fields.retain(|line| !line.get(..10).is_some_and(|p| p.eq_ignore_ascii_case(b"x-sekisho-")));
    head.set("Content-Length", &size.to_string());
    if response {
        // A range of a file is refused, so ranges should not be asked for.
        head.set("Accept-Ranges", "none");
    }
    // The declared type is kept (with its parameters, e.g. charset) only
    // when it is the type found; a lying one could make a browser render it.
    if declared_type(head).as_deref() != Some(media_type) {
        head.set("Content-Type", media_type);
    }
    if let Some(value) = head.get("Content-Disposition")
        && let Some(file) = disposition_filename(&value)
        && let Some((stem, ext)) = file.rsplit_once('.')
        && !stem.is_empty()
        && !ext.eq_ignore_ascii_case(extension)
    {
        let kind = value.split(';').next().map(str::trim).filter(|k| !k.is_empty()).unwrap_or("attachment");
        head.set("Content-Disposition", &content_disposition(kind, &format!("{stem}.{extension}")));
    }
}

/// The media type a head declares, without parameters, in lowercase.
fn declared_type(head: &HttpHead) -> Option<String> {
    head.get("Content-Type").map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// The HTTP message that replaces a refused file: a 403 page, or a 200
/// text file for clients that save whatever they get.
fn replacement(style: IcapRefusal, name: &str, outcome: &str, reason: &str, id: Option<&str>) -> (HttpHead, Vec<u8>) {
    let report = id.map(|id| format!("Report id: {id}")).unwrap_or_default();
    let (mut head, body) = match style {
        IcapRefusal::Page => {
            let mut head = HttpHead::new("HTTP/1.1 403 Forbidden");
            head.set("Content-Type", "text/html; charset=utf-8");
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>File refused</title></head>\n\
                 <body><h1>File refused</h1>\n<p>The content gateway did not let <b>{}</b> through: {}.</p>\n\
                 <p>{}</p>\n<p><small>{}</small></p></body></html>\n",
                escape_html(name),
                escape_html(outcome),
                escape_html(reason),
                escape_html(&report)
            );
            (head, page)
        }
        IcapRefusal::TextFile => {
            let mut head = HttpHead::new("HTTP/1.1 200 OK");
            head.set("Content-Type", "text/plain; charset=utf-8");
            head.set("Content-Disposition", &content_disposition("attachment", &format!("{name}.refused.txt")));
            let text = format!(
                "The content gateway did not let {name} through: {outcome}.\n{reason}\n{report}\n\
                 This text replaces the file.\n"
            );
            (head, text)
        }
    };
    head.set("Content-Length", &body.len().to_string());
    head.set("Cache-Control", "no-store");
    head.set("X-Content-Type-Options", "nosniff");
    head.set("X-Sekisho-Outcome", outcome);
    head.set("X-Sekisho-Reason", &reason.chars().take(200).collect::<String>());
    if let Some(id) = id {
        head.set("X-Sekisho-Report-Id", id);
    }
    (head, body.into_bytes())
}

/// The ICAP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Options,
    Reqmod,
    Respmod,
}

/// An ICAP request up to its body.
struct Message {
    method: Method,
    /// The path of the ICAP URI, e.g. `/respmod`.
    path: String,
    /// `?profile=` of the ICAP URI.
    profile: Option<String>,
    headers: Vec<(String, String)>,
    /// The encapsulated HTTP request and response heads.
    req: Option<HttpHead>,
    res: Option<HttpHead>,
    /// A chunked body follows (`req-body`, `res-body` or `opt-body`).
    has_body: bool,
    /// The body starts with a preview (`Preview: n`).
    preview: bool,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads an ICAP request line, its headers and the encapsulated HTTP heads.
async fn read_message(conn: &mut Conn) -> Result<Message, Error> {
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
fn parse_uri(uri: &str) -> Result<(String, Option<String>), Error> {
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
#[derive(Default)]
struct Layout {
    req: Option<Range<usize>>,
    res: Option<Range<usize>>,
    has_body: bool,
    /// Bytes of encapsulated headers: the offset of the body (or null-body).
    head_len: usize,
}

/// Checks `Encapsulated` against the method: the header blocks in order,
/// the first at 0, each before the next, and one body entry last.
fn layout(method: Method, value: Option<&str>) -> Result<Layout, Error> {
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

/// A decoded body, kept up to `limit` bytes; beyond it only counted.
struct Body {
    data: Vec<u8>,
    limit: usize,
    size: u64,
}

impl Body {
    fn new(limit: usize) -> Body {
        Body { data: Vec::new(), limit, size: 0 }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        if self.size <= self.limit as u64 {
            self.data.extend_from_slice(bytes);
        } else if !self.data.is_empty() {
            self.data = Vec::new();
        }
    }
}

/// Reads chunks up to the last (empty) one and its trailers. Returns
/// whether the last chunk carries `ieof`: a preview that is the whole body.
async fn read_chunks(conn: &mut Conn, body: &mut Body) -> Result<bool, Error> {
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
            body.push(&bytes[..n]);
            conn.stream.consume(n);
            left -= n as u64;
        }
        if !conn.line(2, "a chunk is longer than its size").await?.is_empty() {
            return Err(bad("a chunk is longer than its size"));
        }
    }
}

/// The size and the `ieof` extension of a chunk-size line (`1a2b;ieof`).
fn chunk_header(line: &[u8]) -> Result<(u64, bool), Error> {
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

/// An encapsulated HTTP head: the start line and the header lines, kept
/// byte for byte so that what is not changed goes back as it came.
struct HttpHead {
    start: Vec<u8>,
    fields: Vec<Vec<u8>>,
}

impl HttpHead {
    fn new(start: &str) -> HttpHead {
        HttpHead { start: start.as_bytes().to_vec(), fields: Vec::new() }
    }

    /// Parses a block that ends with its empty line, where `Encapsulated`
    /// says, and has no other.
    fn parse(block: &[u8]) -> Result<HttpHead, Error> {
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

    fn is_named(line: &[u8], name: &str) -> bool {
        line.get(..name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && line.get(name.len()) == Some(&b':')
    }

    /// The values of a header, trimmed.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.fields
            .iter()
            .filter(move |line| HttpHead::is_named(line, name))
            .map(move |line| String::from_utf8_lossy(&line[name.len() + 1..]).trim().to_owned())
    }

    fn get(&self, name: &str) -> Option<String> {
        self.values(name).next()
    }

    fn remove(&mut self, name: &str) {
        self.fields.retain(|line| !HttpHead::is_named(line, name));
    }

    /// Replaces every value of a header by one.
    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.fields.push(format!("{name}: {}", header_value(value)).into_bytes());
    }

    /// The status code of a response head.
    fn status(&self) -> Option<u16> {
        self.start.split(|&b| b == b' ').nth(1).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
    }

    /// The target (URL) of a request head.
    fn target(&self) -> Option<String> {
        self.start.split(|&b| b == b' ').nth(1).map(|t| String::from_utf8_lossy(t).into_owned())
    }

    fn to_bytes(&self) -> Vec<u8> {
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

/// The HTTP message an ICAP response carries: `req` or `res`, its head and its body.
type Encapsulated<'a> = (&'static str, Vec<u8>, Option<&'a [u8]>);

/// An ICAP response.
struct Reply<'a> {
    status: u16,
    headers: Vec<(&'static str, String)>,
    message: Option<Encapsulated<'a>>,
    close: bool,
}

impl<'a> Reply<'a> {
    fn new(status: u16) -> Reply<'a> {
        Reply { status, headers: Vec::new(), message: None, close: false }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply<'a> {
        self.headers.push((name, value.into()));
        self
    }

    fn message(mut self, kind: &'static str, head: Vec<u8>, body: Option<&'a [u8]>) -> Reply<'a> {
        self.message = Some((kind, head, body));
        self
    }

    fn close(mut self) -> Reply<'a> {
        self.close = true;
        self
    }

    /// Writes the response; a body goes as one chunk.
    async fn send(self, conn: &mut Conn, istag: &str) -> Result<(), Error> {
        let phrase = match self.status {
            200 => "OK",
            204 => "No Content",
            400 => "Bad Request",
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

/// A client connection, read through a buffer.
struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn { stream: BufReader::with_capacity(64 << 10, stream) }
    }

    /// Buffered bytes, reading more when there are none.
    async fn fill(&mut self) -> Result<&[u8], Error> {
        match tokio::time::timeout(IO_TIMEOUT, self.stream.fill_buf()).await {
            Err(_) => Err(Error::Reply(408, "the client stopped sending in the middle of a request".into())),
            Ok(Err(_)) => Err(Error::Gone),
            Ok(Ok([])) => Err(bad("the connection closed in the middle of a request")),
            Ok(Ok(bytes)) => Ok(bytes),
        }
    }

    /// A line ending with CRLF, without it; `max` bounds it, CRLF included.
    async fn line(&mut self, max: usize, too_long: &str) -> Result<Vec<u8>, Error> {
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
    async fn headers(&mut self, budget: &mut usize, too_large: &str) -> Result<Vec<(String, String)>, Error> {
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
    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, Error> {
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
    async fn write(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        let stream = self.stream.get_mut();
        while !bytes.is_empty() {
            match tokio::time::timeout(IO_TIMEOUT, stream.write(bytes)).await {
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
    async fn linger(mut self) {
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

/// A token character of an HTTP or ICAP header name.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True when a comma-separated header value holds `token`.
fn has_token(value: &str, token: &str) -> bool {
    value.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A header value from any text: characters a header cannot carry become `?`.
fn header_value(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect()
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
