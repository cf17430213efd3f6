//! The HTTP API (documented in `docs/openapi.json`).
//!
//! `POST /v1/sanitize` takes the file as the raw request body, its name in
//! `?name=` or an `X-Filename` header, and a profile in `?profile=`. A file
//! that passes comes back as the body, with the outcome in headers and the
//! report available at `GET /v1/reports/{id}`; a refused file gets its JSON
//! report as the body and a status that says why.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::naming::{base_name, content_disposition, download_name};
use super::{Gateway, Refusal};
use crate::Sanitized;
use crate::audit::Origin;
use crate::report::{Outcome, ReasonKind, Report};

/// Every route, as documented in `docs/openapi.json` (a test compares them).
pub const ROUTES: [(&str, &str); 7] = [
    ("post", "/v1/sanitize"),
    ("post", "/v1/scan"),
    ("get", "/v1/reports/{id}"),
    ("get", "/v1/plugins"),
    ("get", "/v1/policy"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

/// The router over a gateway.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let limit = gateway.config.policy.limits.max_input_bytes.min(usize::MAX as u64) as usize;
    let api = Router::new()
        .route("/v1/sanitize", post(sanitize))
        .route("/v1/scan", post(scan))
        .route("/v1/reports/{id}", get(report))
        .route("/v1/plugins", get(plugins))
        .route("/v1/policy", get(policy))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&gateway), authenticate));
    Router::new()
        .merge(api)
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(log_request))
        .with_state(gateway)
}

/// One log line per request (shown with `serve -v`).
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let outcome = response.headers().get("x-sekisho-outcome").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, %path, status = response.status().as_u16(), outcome, ms, "HTTP request");
    response
}

/// The user a request authenticated as, for the audit log.
#[derive(Clone)]
struct User(String);

async fn authenticate(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match gateway.authenticate(bearer) {
        Some(user) => {
            request.extensions_mut().insert(User(user));
            next.run(request).await
        }
        None => {
            let mut response = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

#[derive(Deserialize)]
struct FileQuery {
    name: Option<String>,
    profile: Option<String>,
}

async fn sanitize(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Query(query): Query<FileQuery>,
    request: Request,
) -> Response {
    let (id, mut result) = match decide(&gateway, client, query, request).await {
        Ok(decided) => decided,
        Err(response) => return response,
    };
    let output = result.output.take();
    let report = &result.report;
    let mut response = match (output, &report.output) {
        (Some(bytes), Some(info)) => {
            let mut response = Response::new(Body::from(bytes));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, value(&info.media_type));
            let file = download_name(&report.input.name, &info.extension);
            headers.insert(header::CONTENT_DISPOSITION, value(&content_disposition("attachment", &file)));
            headers.insert("x-sekisho-extension", value(&info.extension));
            response
        }
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
    let (name, policy, origin, body) = prepare(gateway, client, query, request).await?;
    match tokio::time::timeout(gateway.config.request_timeout, gateway.sanitize(name, body, policy, origin)).await {
        Ok(Ok(decided)) => Ok(decided),
        Ok(Err(refusal)) => Err(refused(refusal)),
        Err(_) => Err(error(StatusCode::GATEWAY_TIMEOUT, "the file was not decided in time")),
    }
}

/// Reads the file and everything about it from a request.
async fn prepare(
    gateway: &Gateway,
    client: SocketAddr,
    query: FileQuery,
    request: Request,
) -> Result<(String, crate::policy::Policy, Origin, Vec<u8>), Response> {
    let policy = gateway.policy(query.profile.as_deref()).map_err(refused)?;
    let user = request.extensions().get::<User>().map(|u| u.0.clone()).filter(|u| !u.is_empty());
    let name = query
        .name
        .or_else(|| request.headers().get("x-filename").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "upload".into());
    // A client that trickles its upload does not hold a connection forever.
    let upload =
        tokio::time::timeout(gateway.config.request_timeout, axum::body::to_bytes(request.into_body(), usize::MAX));
    let body: Bytes = upload
        .await
        .map_err(|_| error(StatusCode::REQUEST_TIMEOUT, "the upload took too long"))?
        .map_err(|e| error(StatusCode::PAYLOAD_TOO_LARGE, &format!("reading the request body: {e}")))?;
    let origin = Origin { interface: "http", client: Some(client.ip().to_string()), user };
    Ok((name, policy, origin, body.to_vec()))
}

async fn report(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    match gateway.report(&id) {
        Some(report) => json(&*report),
        None => error(StatusCode::NOT_FOUND, "no such report (reports are kept for the last 4096 files)"),
    }
}

async fn plugins(State(gateway): State<Arc<Gateway>>) -> Response {
    let plugins: Vec<&crate::registry::Plugin> = gateway.engine().registry().plugins().iter().map(|p| &**p).collect();
    json(&plugins)
}

async fn policy(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut response = gateway.config.policy.to_toml().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/toml"));
    response
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut response = gateway.metrics.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// The status of a refused file: blocked 403, unsupported 415, too large
/// 413, other failures 422.
fn refusal_status(report: &Report) -> StatusCode {
    match (report.outcome, report.reason.as_ref().map(|r| r.kind)) {
        (Outcome::Blocked, _) => StatusCode::FORBIDDEN,
        (Outcome::Unsupported, _) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        (_, Some(ReasonKind::TooLarge)) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Busy => {
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "all sandboxes are busy; retry later");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Refusal::UnknownProfile(name) => error(StatusCode::BAD_REQUEST, &format!("unknown profile {name:?}")),
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
        Ok(bytes) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response(),
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
