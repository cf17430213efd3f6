//! The HTTP API (documented in `docs/openapi.json`).
//!
//! `POST /v1/sanitize` takes the file as the raw request body, its name in
//! `?name=` or an `X-Filename` header, and a profile in `?profile=`. A file
//! that passes comes back as the body, with the outcome in headers and the
//! report available at `GET /v1/reports/{id}`; a refused file gets its JSON
//! report as the body and a status that says why.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::holds::{Hold, SpoolError};
use super::limits::{self, Busy};
use super::media::content_type;
use super::naming::{base_name, content_disposition, download_name};
use super::{Gateway, Refusal, User, stopped};
use crate::Sanitized;
use crate::audit::Origin;
use crate::report::{Outcome, ReasonKind, Report};

/// Every route, as documented in `docs/openapi.json` (a test compares them).
pub const ROUTES: [(&str, &str); 16] = [
    ("post", "/v1/sanitize"),
    ("get", "/v1/holds"),
    ("get", "/v1/holds/{id}"),
    ("post", "/v1/holds/{id}/approve"),
    ("post", "/v1/holds/{id}/reject"),
    ("get", "/v1/holds/{id}/file"),
    ("get", "/holds"),
    ("post", "/holds/login"),
    ("post", "/holds/{id}/{action}"),
    ("post", "/v1/scan"),
    ("get", "/v1/reports/{id}"),
    ("get", "/v1/plugins"),
    ("get", "/v1/policy"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

/// The router over a gateway.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let api = Router::new()
        .route("/v1/sanitize", post(sanitize))
        .route("/v1/scan", post(scan))
        .route("/v1/reports/{id}", get(report))
        .route("/v1/holds", get(list_holds))
        .route("/v1/holds/{id}", get(show_hold))
        .route("/v1/holds/{id}/approve", post(approve_hold))
        .route("/v1/holds/{id}/reject", post(reject_hold))
        .route("/v1/holds/{id}/file", get(hold_file))
        .route("/v1/plugins", get(plugins))
        .route("/v1/policy", get(policy))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&gateway), authenticate));
    Router::new()
        .merge(api)
        .route("/healthz", get(|| async { "ok\n" }))
        // The approval page signs in with its own session cookie.
        .route("/holds", get(super::page::show))
        .route("/holds/login", post(super::page::login))
        .route("/holds/{id}/{action}", post(super::page::decide))
        .route("/readyz", get(readyz))
        .layer(middleware::from_fn(log_request))
        .with_state(gateway)
}

/// Serves the HTTP API on `listener` until `stop` turns true, then lets the
/// requests in progress finish and returns.
///
/// Its own accept loop, so that connections are bounded: at most
/// `max-connections`, and `max-connections-per-client` per client address,
/// where an idle connection (no request in progress, or its head not yet
/// complete) is closed to admit a new one and a new one is refused (503)
/// only when all are busy. A request head must arrive within the header
/// timeout, counted from the connection's start or its previous answer, so
/// slow headers and idle keep-alive connections are cut off.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, stop: watch::Receiver<bool>) {
    let router = router(Arc::clone(&gateway));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's header timer runs from the moment a connection waits for a
    // head: it is the keep-alive idle limit too.
    let head = gateway.config.header_timeout.min(gateway.config.idle_timeout).max(Duration::from_millis(100));
    builder.timer(TokioTimer::new()).header_read_timeout(head).max_buf_size(64 << 10);
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut connections = JoinSet::new();
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match gateway.http_connections.admit(peer.ip()) {
                    Ok(slot) => {
                        let task = connection(stream, peer, slot, router.clone(), builder.clone(), Arc::clone(&gateway), stop.clone());
                        connections.spawn(task);
                    }
                    Err(turned) => {
                        gateway.metrics.connection("http", turned.reason());
                        // Answered within reason; beyond the cap, closed at once.
                        if refusing.load(Ordering::Relaxed) < gateway.config.max_connections {
                            refusing.fetch_add(1, Ordering::Relaxed);
                            let refusing = Arc::clone(&refusing);
                            connections.spawn(async move {
                                refuse(stream, turned).await;
                                refusing.fetch_sub(1, Ordering::Relaxed);
                            });
                        }
                    }
                },
                // Out of file descriptors, or a connection reset before it
                // was accepted: pause rather than spin.
                Err(e) => {
                    tracing::warn!("HTTP accept: {e}");
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
        tracing::error!("HTTP connection task failed: {e}");
    }
}

/// The 503 for a connection over a limit, then the close.
async fn refuse(mut stream: TcpStream, turned: limits::Turned) {
    let body = format!("{{\"error\":\"too many connections ({})\"}}\n", turned.reason());
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves one connection with hyper, marking it busy while a request is in
/// progress (from its head to the end of its answer's body).
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: limits::Conn,
    router: Router,
    builder: hyper::server::conn::http1::Builder,
    gateway: Arc<Gateway>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let slot = Arc::new(slot);
    let marks = Arc::clone(&slot);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let busy = marks.busy();
        let mut router = router.clone();
        async move {
            let response = tower_service::Service::call(&mut router, request.map(Body::new)).await;
            response.map(|response| response.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let conn = builder.serve_connection(TokioIo::new(Lingering(Some(stream))), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    if e.is_timeout() {
                        gateway.metrics.connection("http", "header-timeout");
                    }
                    tracing::debug!("HTTP {peer}: {e}");
                }
                break;
            }
            // Closed to admit another, or shutdown: an idle connection
            // closes now, a busy one after its answer.
            () = slot.closing(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = stopped(&mut stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Sockets lingering at once (see [`Lingering`]); beyond, closed at once.
static LINGERING: AtomicUsize = AtomicUsize::new(0);
const MAX_LINGERING: usize = 1024;
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 16 << 20;

/// A connection's socket that lingers when hyper is done with it: closing a
/// socket with unread input (the body of an upload refused before it was
/// read: 413, 503) makes the kernel reset the connection, which can destroy
/// the answer before the client reads it. So the write side is shut and
/// what the client still sends is read and discarded for a moment, within
/// bounds of time, bytes and sockets.
struct Lingering(Option<TcpStream>);

impl AsyncRead for Lingering {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(stream) => Pin::new(stream).poll_read(cx, buf),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(stream) => Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(stream) => Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(stream) => Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(mut stream) = self.0.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if LINGERING.fetch_add(1, Ordering::Relaxed) >= MAX_LINGERING {
            LINGERING.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        runtime.spawn(async move {
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
            LINGERING.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// An answer's body that keeps its connection marked busy until it is sent
/// (or dropped).
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// One log line per request (shown with `serve -v`).
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    // Nothing the gateway sends is to be sniffed into another type.
    response.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let outcome = response.headers().get("x-sekisho-outcome").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, %path, status = response.status().as_u16(), outcome, ms, "HTTP request");
    response
}

async fn authenticate(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match gateway.authenticate(bearer) {
        Some(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None => {
            let mut response = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// 200 when a file sent now would be taken (a sandbox slot or a queue
/// place, and upload budget), else 503 saying why.
async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway.ready() {
        Ok(()) => "ready\n".into_response(),
        Err(why) => {
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, why);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

#[derive(Deserialize)]
struct FileQuery {
    name: Option<String>,
    profile: Option<String>,
    /// The recipient of a file that may be held (kept with the hold).
    to: Option<String>,
}

async fn sanitize(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Query(query): Query<FileQuery>,
    request: Request,
) -> Response {
    let user = request.extensions().get::<User>().cloned();
    let recipient = query.to.clone().filter(|to| !to.trim().is_empty());
    let (id, mut result) = match decide(&gateway, client, query, request).await {
        Ok(decided) => decided,
        Err(response) => return response,
    };
    // A held file is rebuilt but not delivered: it waits for approval, in
    // the spool when there is one.
    if result.report.outcome == Outcome::Held
        && let (Some(spool), Some(user), Some(output)) = (&gateway.spool, &user, &result.output)
    {
        let mut response = match spool.hold(user, recipient, &result.report, output, None) {
            Ok(hold) => {
                let origin = origin(client, user);
                gateway.audit_hold("hold", &hold, Some(&origin));
                let body = serde_json::json!({ "hold": hold.id, "status": hold.status, "report": result.report });
                let mut response = json(&body);
                *response.status_mut() = StatusCode::ACCEPTED;
                response.headers_mut().insert(header::LOCATION, value(&format!("/v1/holds/{}", hold.id)));
                response
            }
            Err(SpoolError::Full) => {
                tracing::warn!("the approval spool is full: a held file was refused");
                error(StatusCode::INSUFFICIENT_STORAGE, "the approval spool is full; retry later")
            }
            Err(e) => {
                tracing::error!("spool: {e:?}");
                error(StatusCode::INTERNAL_SERVER_ERROR, "the held file could not be stored for approval")
            }
        };
        outcome_headers(response.headers_mut(), &result.report, &id);
        return response;
    }
    let output = result.output.take().filter(|_| result.report.outcome.passed());
    let report = &result.report;
    let mut response = match (output, &report.output) {
        (Some(bytes), Some(_)) => file_response(bytes, report),
        _ => {
            // Saved with `curl -OJ`, a refusal is a report named after the file.
            let mut response = json(report);
            *response.status_mut() = refusal_status(report);
            let file = format!("{}.sekisho.json", base_name(&report.input.name).unwrap_or_else(|| "file".into()));
            let disposition = value(&content_disposition("attachment", &file));
            response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
            response
        }
    };
    outcome_headers(response.headers_mut(), report, &id);
    response
}

/// The rebuilt bytes as the answer, typed and named as the report says.
fn file_response(bytes: Vec<u8>, report: &Report) -> Response {
    let mut response = Response::new(Body::from(bytes));
    if let Some(info) = &report.output {
        let headers = response.headers_mut();
        // The rebuilt bytes' type, with their charset for text.
        headers.insert(header::CONTENT_TYPE, value(&content_type(&info.media_type)));
        let file = download_name(&report.input.name, &info.extension);
        headers.insert(header::CONTENT_DISPOSITION, value(&content_disposition("attachment", &file)));
        headers.insert("x-sekisho-extension", value(&info.extension));
    }
    response
}

fn origin(client: SocketAddr, user: &User) -> Origin {
    Origin {
        interface: "http",
        client: Some(client.ip().to_string()),
        user: Some(user.name.clone()).filter(|u| !u.is_empty()),
    }
}

/// The spool and the caller of a hold route, or the answer to send instead.
fn hold_caller<'a>(gateway: &'a Gateway, request: &Request) -> Result<(&'a super::holds::Spool, User), Response> {
    let Some(spool) = &gateway.spool else {
        return Err(error(StatusCode::NOT_FOUND, "this server keeps no held files (no --spool)"));
    };
    let Some(user) = request.extensions().get::<User>().cloned() else {
        return Err(error(StatusCode::UNAUTHORIZED, "a valid bearer token is required"));
    };
    Ok((spool, user))
}

fn spool_error(e: SpoolError) -> Response {
    match e {
        SpoolError::NotFound => error(StatusCode::NOT_FOUND, "no such held file that you may see"),
        SpoolError::Forbidden(why) => error(StatusCode::FORBIDDEN, why),
        SpoolError::Conflict(why) => error(StatusCode::CONFLICT, &why),
        SpoolError::Gone(why) => error(StatusCode::GONE, &why),
        SpoolError::Full => error(StatusCode::INSUFFICIENT_STORAGE, "the approval spool is full"),
        SpoolError::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
        SpoolError::Io(why) => {
            tracing::error!("spool: {why}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the spool failed")
        }
    }
}

/// Records as the API shows them.
fn holds_json(holds: &[Hold]) -> Response {
    json(holds)
}

async fn list_holds(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    match hold_caller(&gateway, &request) {
        Ok((spool, user)) => holds_json(&spool.list(&user)),
        Err(response) => response,
    }
}

async fn show_hold(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>, request: Request) -> Response {
    let (spool, user) = match hold_caller(&gateway, &request) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match spool.get(&id, &user) {
        Ok(hold) => json(&hold),
        Err(e) => spool_error(e),
    }
}

#[derive(Deserialize, Default)]
struct Decision {
    comment: Option<String>,
}

async fn approve_hold(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    decide_hold(gateway, client, id, request, true).await
}

async fn reject_hold(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    decide_hold(gateway, client, id, request, false).await
}

/// Most bytes of a decision's body (a JSON comment).
const MAX_DECISION_BYTES: usize = 16 << 10;

async fn decide_hold(
    gateway: Arc<Gateway>,
    client: SocketAddr,
    id: String,
    request: Request,
    approve: bool,
) -> Response {
    let (_, user) = match hold_caller(&gateway, &request) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let body = match axum::body::to_bytes(request.into_body(), MAX_DECISION_BYTES).await {
        Ok(body) => body,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "the decision's body is too large"),
    };
    let decision: Decision = if body.iter().all(u8::is_ascii_whitespace) {
        Decision::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(decision) => decision,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("expected {{\"comment\": \"…\"}}: {e}")),
        }
    };
    let comment = decision.comment.filter(|c| !c.trim().is_empty()).map(|c| c.chars().take(2000).collect());
    match gateway.decide_hold(&id, &user, approve, comment, &origin(client, &user)).await {
        Ok(hold) => json(&hold),
        Err(super::HoldDecisionError::Spool(e)) => spool_error(e),
        Err(super::HoldDecisionError::Delivery(why)) => {
            tracing::warn!("hold {id}: {why}");
            error(StatusCode::BAD_GATEWAY, &format!("the held message was not delivered, try again ({why})"))
        }
    }
}

async fn hold_file(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (spool, user) = match hold_caller(&gateway, &request) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match spool.download(&id, &user) {
        Ok((hold, bytes)) => {
            gateway.audit_hold("download", &hold, Some(&origin(client, &user)));
            let mut response = file_response(bytes, &hold.report);
            response.headers_mut().insert("x-sekisho-hold", value(&hold.id));
            response
        }
        Err(e) => spool_error(e),
    }
}

async fn scan(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Query(query): Query<FileQuery>,
    request: Request,
) -> Response {
    match decide(&gateway, client, query, request).await {
        Ok((id, result)) => {
            let mut response = json(&result.report);
            outcome_headers(response.headers_mut(), &result.report, &id);
            response
        }
        Err(response) => response,
    }
}

/// Reads the request and has the gateway decide its file within the
/// request timeout; answers the report id and the result, or the error
/// response to send instead.
async fn decide(
    gateway: &Arc<Gateway>,
    client: SocketAddr,
    query: FileQuery,
    request: Request,
) -> Result<(String, Sanitized), Response> {
    let (name, policy, origin, body, upload) = prepare(gateway, client, query, request).await?;
    let decided = gateway.sanitize(name, body, policy, origin, Some(upload));
    match tokio::time::timeout(gateway.config.request_timeout, decided).await {
        Ok(Ok(decided)) => Ok(decided),
        Ok(Err(refusal)) => Err(refused(gateway, refusal)),
        Err(_) => Err(error(StatusCode::GATEWAY_TIMEOUT, "the file was not decided in time")),
    }
}

/// The password candidates a client sent with the file: each
/// `X-Sekisho-Password` header, in order (UTF-8; a value that is not is
/// ignored). They reach the plugins only when the policy says
/// `encrypted = "try-passwords"`, and are never logged or reported.
fn request_passwords(headers: &HeaderMap) -> Vec<crate::policy::Password> {
    headers
        .get_all("x-sekisho-password")
        .iter()
        .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
        .filter(|secret| !secret.is_empty())
        .map(|secret| crate::policy::Password::new(secret, crate::policy::PasswordSource::Request))
        .collect()
}

/// Reads the file and everything about it from a request. The body is
/// bounded before it is buffered: a declared length over the input limit is
/// refused at once (413, nothing read), a body that grows past it while
/// streaming likewise, and every byte kept is drawn from the upload budget
/// shared with ICAP (503 when spent). The whole body has the request
/// timeout (408).
async fn prepare(
    gateway: &Gateway,
    client: SocketAddr,
    query: FileQuery,
    request: Request,
) -> Result<(String, crate::policy::Policy, Origin, Vec<u8>, limits::Upload), Response> {
    let policy = gateway.policy(query.profile.as_deref()).map_err(|r| refused(gateway, r))?;
    let policy = policy.with_passwords(request_passwords(request.headers()));
    let user = request.extensions().get::<User>().map(|u| u.name.clone()).filter(|u| !u.is_empty());
    let name = query
        .name
        .or_else(|| request.headers().get("x-filename").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "upload".into());
    let limit = policy.limits.max_input_bytes;
    let too_large = |size: &str| {
        gateway.metrics.rejected_too_large.fetch_add(1, Ordering::Relaxed);
        let mut response = error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the file is {size} bytes, more than this server's limit of {limit} bytes"),
        );
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    let mut body = request.into_body();
    let declared = body.size_hint().exact();
    if let Some(size) = declared
        && size > limit
    {
        return Err(too_large(&size.to_string()));
    }
    let mut upload = gateway.start_upload().map_err(|r| refused(gateway, r))?;
    if let Some(size) = declared {
        upload.reserve(size).map_err(|_| refused(gateway, gateway.budget_spent()))?;
    }
    let capacity = usize::try_from(declared.unwrap_or(0)).unwrap_or(0);
    let mut data = Vec::with_capacity(capacity);
    // A client that trickles its upload does not hold a connection forever.
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| error(StatusCode::BAD_REQUEST, &format!("reading the request body: {e}")))?;
            let Ok(chunk) = frame.into_data() else { continue };
            let size = data.len() as u64 + chunk.len() as u64;
            if size > limit {
                return Err(too_large(&format!("more than {}", size - 1)));
            }
            upload.reserve(size).map_err(|_| refused(gateway, gateway.budget_spent()))?;
            data.extend_from_slice(&chunk);
        }
        Ok(())
    };
    tokio::time::timeout(gateway.config.request_timeout, read)
        .await
        .map_err(|_| error(StatusCode::REQUEST_TIMEOUT, "the upload took too long"))??;
    let origin = Origin { interface: "http", client: Some(client.ip().to_string()), user };
    Ok((name, policy, origin, data, upload))
}

async fn report(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>, request: Request) -> Response {
    let Some(user) = request.extensions().get::<User>() else {
        return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    };
    match gateway.report(&id, user) {
        Some(report) => json(&*report),
        // Another user's report is not said to exist.
        None => error(
            StatusCode::NOT_FOUND,
            "no such report of yours (reports are kept for the last 4096 files; a user reads their own, an admin all)",
        ),
    }
}

async fn plugins(State(gateway): State<Arc<Gateway>>) -> Response {
    let plugins: Vec<&crate::registry::Plugin> = gateway.engine().registry().plugins().iter().map(|p| &**p).collect();
    json(&plugins)
}

async fn policy(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut response = gateway.config.policy.to_toml().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/toml; charset=utf-8"));
    response
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut response = gateway.render_metrics().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// The status of a refused file: blocked or held 403, unsupported 415, too
/// large 413, a scanner that could not scan 503, other failures 422.
fn refusal_status(report: &Report) -> StatusCode {
    if report.retry_later() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match (report.outcome, report.reason.as_ref().map(|r| r.kind)) {
        (Outcome::Blocked | Outcome::Held, _) => StatusCode::FORBIDDEN,
        (Outcome::Unsupported, _) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        (_, Some(ReasonKind::TooLarge)) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn refused(gateway: &Gateway, refusal: Refusal) -> Response {
    let message = gateway.explain(&refusal);
    if refusal.transient() {
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, &message);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        error(StatusCode::BAD_REQUEST, &message)
    }
}

fn outcome_headers(headers: &mut HeaderMap, report: &Report, id: &str) {
    headers.insert("x-sekisho-outcome", value(report.outcome.name()));
    headers.insert("x-sekisho-report-id", value(id));
    if let Some(reason) = &report.reason {
        headers.insert("x-sekisho-reason", value(&reason.detail.chars().take(200).collect::<String>()));
    }
}

fn json<T: serde::Serialize + ?Sized>(body: &T) -> Response {
    match serde_json::to_vec_pretty(body) {
        Ok(bytes) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))], bytes)
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut response = json(&serde_json::json!({ "error": message }));
    *response.status_mut() = status;
    response
}

/// A header value from any text: characters a header cannot carry become `?`.
fn value(text: &str) -> HeaderValue {
    let clean: String = text.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in name order at every level, whether or not serde_json keeps
    /// insertion order (a dependency may turn that on): a stable file.
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let ordered: std::collections::BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(ordered.into_iter().collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }

    /// `docs/openapi.json` holds the report's JSON Schema as the Rust types
    /// generate it, so the document cannot drift from the code. Run with
    /// `SEKISHO_UPDATE_OPENAPI=1` to write the generated schemas into it.
    #[test]
    fn the_openapi_file_carries_the_generated_report_schema() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let mut document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|settings| settings.definitions_path = "/components/schemas".into())
            .into_generator();
        generator.subschema_for::<Report>();
        let generated = generator.take_definitions(true);
        assert!(generated.contains_key("Report") && generated.contains_key("Item"), "{generated:?}");
        if std::env::var_os("SEKISHO_UPDATE_OPENAPI").is_some() {
            let schemas = document["components"]["schemas"].as_object_mut().unwrap();
            schemas.extend(generated);
            let document = sorted(document);
            std::fs::write(&path, serde_json::to_string_pretty(&document).unwrap() + "\n").unwrap();
            return;
        }
        for (name, schema) in &generated {
            assert_eq!(
                &document["components"]["schemas"][name], schema,
                "docs/openapi.json is out of date for {name}: rerun this test with SEKISHO_UPDATE_OPENAPI=1"
            );
        }
    }
}
