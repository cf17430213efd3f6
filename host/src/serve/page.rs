//! The approval page (`GET /holds`): server-rendered HTML for approvers who
//! use a browser, no JavaScript, Japanese and English labels.
//!
//! A browser cannot send a bearer header from a form, so the page signs in
//! with the token once (`POST /holds/login`) and gets a session cookie
//! (random, `HttpOnly`, `SameSite=Strict`, `Path=/holds`). Each session
//! has its own random CSRF token, carried by every form and checked on
//! every POST. Decisions go through the same spool checks and audit lines
//! as the API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::HoldDecisionError;
use super::holds::{Hold, SpoolError, Status};
use super::media::escape_html;
use super::{Gateway, User};

/// How long a page session lasts.
const SESSION_TIME: Duration = Duration::from_secs(8 * 3600);
const COOKIE: &str = "sekisho_session";

/// Signed-in browsers: session id → (user, CSRF token, start).
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, (User, String, Instant)>>);

impl Sessions {
    fn open(&self, user: User) -> Option<(String, String)> {
        let (id, csrf) = (random()?, random()?);
        let mut sessions = self.0.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, (_, _, started)| started.elapsed() < SESSION_TIME);
        sessions.insert(id.clone(), (user, csrf.clone(), Instant::now()));
        Some((id, csrf))
    }

    fn find(&self, headers: &HeaderMap) -> Option<(User, String)> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|c| c.strip_prefix('=')))?;
        let sessions = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (user, csrf, started) = sessions.get(id)?;
        (started.elapsed() < SESSION_TIME).then(|| (user.clone(), csrf.clone()))
    }
}

fn random() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

fn page(body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <title>承認待ちファイル / Held files — Sekisho</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:.3em .6em;vertical-align:top}}</style></head>\
         <body><h1>承認待ちファイル / Held files</h1>\n{body}\n</body></html>\n"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

fn login_form(message: &str) -> Response {
    page(&format!(
        "<p>{}</p><form method=\"post\" action=\"/holds/login\">\
         <label>トークン / Token <input type=\"password\" name=\"token\" autocomplete=\"off\"></label> \
         <button type=\"submit\">ログイン / Sign in</button></form>",
        escape_html(message)
    ))
}

fn age(hold: &Hold) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let minutes = now.saturating_sub(hold.created_unix) / 60;
    if minutes < 120 { format!("{minutes} 分 / min") } else { format!("{} 時間 / h", minutes / 60) }
}

fn row(hold: &Hold, user: &User, csrf: &str) -> String {
    let findings: Vec<String> = hold
        .findings
        .iter()
        .map(|f| format!("{} ×{} ({}: {}) {}", f.detector, f.count, f.file, f.location, f.masked.join(", ")))
        .collect();
    let actions = if hold.status == Status::Held && hold.decidable_by(user) {
        let form = |verb: &str, label: &str| {
            format!(
                "<form method=\"post\" action=\"/holds/{id}/{verb}\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"text\" name=\"comment\" placeholder=\"コメント / comment\"> \
                 <button type=\"submit\" name=\"verb\" value=\"{verb}\">{label}</button></form>",
                id = escape_html(&hold.id),
                csrf = escape_html(csrf),
            )
        };
        format!("{}{}", form("approve", "承認 / Approve"), form("reject", "却下 / Reject"))
    } else if hold.submitter == user.name && hold.status == Status::Held {
        "自分のファイルは承認できません / You cannot decide your own file".into()
    } else {
        String::new()
    };
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape_html(&hold.name),
        escape_html(&hold.submitter),
        escape_html(hold.recipient.as_deref().unwrap_or("-")),
        escape_html(&findings.join("; ")),
        escape_html(&age(hold)),
        escape_html(hold.status.name()),
        actions
    )
}

/// `GET /holds`: the sign-in form, or the held files the user may see.
pub async fn show(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let Some(spool) = &gateway.spool else {
        return (StatusCode::NOT_FOUND, "this server keeps no held files (no --spool)\n").into_response();
    };
    let Some((user, csrf)) = gateway.sessions.find(&headers) else {
        return login_form("承認者のトークンでログインしてください / Sign in with your token");
    };
    let rows: String = spool.list(&user).iter().map(|h| row(h, &user, &csrf)).collect();
    page(&format!(
        "<p>{} ({})</p><table><tr><th>ファイル / File</th><th>送信者 / Sender</th><th>宛先 / Recipient</th>\
         <th>検出 / Findings (masked)</th><th>経過 / Age</th><th>状態 / Status</th><th>操作 / Action</th></tr>\
         {rows}</table>",
        escape_html(&user.name),
        user.role.name()
    ))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct Login {
    token: String,
}

/// `POST /holds/login`: a session cookie for a valid token.
pub async fn login(State(gateway): State<Arc<Gateway>>, Form(login): Form<Login>) -> Response {
    let Some(user) = gateway.authenticate(Some(&login.token)) else {
        let mut response = login_form("トークンが正しくありません / Invalid token");
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    };
    let Some((id, _)) = gateway.sessions.open(user) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness\n").into_response();
    };
    let cookie = format!("{COOKIE}={id}; Path=/holds; HttpOnly; SameSite=Strict; Max-Age={}", SESSION_TIME.as_secs());
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/holds")]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A decision form's fields.
#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: String,
    comment: Option<String>,
}

/// `POST /holds/{id}/{verb}`: approve or reject from the page.
pub async fn decide(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path((id, verb)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    if gateway.spool.is_none() {
        return (StatusCode::NOT_FOUND, "this server keeps no held files (no --spool)\n").into_response();
    }
    let Some((user, csrf)) = gateway.sessions.find(&headers) else {
        let mut response = login_form("ログインしてください / Please sign in");
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    };
    if !super::constant_time_eq(csrf.as_bytes(), form.csrf.as_bytes()) {
        return (StatusCode::FORBIDDEN, "CSRF token mismatch\n").into_response();
    }
    let approve = match verb.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return (StatusCode::NOT_FOUND, "no such action\n").into_response(),
    };
    let comment = form.comment.filter(|c| !c.trim().is_empty()).map(|c| c.chars().take(2000).collect());
    let origin = crate::audit::Origin {
        interface: "http",
        client: Some(client.ip().to_string()),
        user: Some(user.name.clone()).filter(|u| !u.is_empty()),
    };
    match gateway.decide_hold(&id, &user, approve, comment, &origin).await {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/holds")]).into_response(),
        Err(e) => {
            let (status, message) = match e {
                HoldDecisionError::Spool(SpoolError::NotFound) => {
                    (StatusCode::NOT_FOUND, "見つかりません / Not found".to_owned())
                }
                HoldDecisionError::Spool(SpoolError::Forbidden(why)) => (StatusCode::FORBIDDEN, why.to_owned()),
                HoldDecisionError::Spool(SpoolError::Conflict(why)) => (StatusCode::CONFLICT, why),
                HoldDecisionError::Spool(SpoolError::Invalid(why)) => (StatusCode::BAD_REQUEST, why),
                HoldDecisionError::Delivery(why) => (
                    StatusCode::BAD_GATEWAY,
                    format!("配送できませんでした。もう一度お試しください / Not delivered, try again ({why})"),
                ),
                HoldDecisionError::Spool(other) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{other:?}")),
            };
            let mut response =
                page(&format!("<p>{}</p><p><a href=\"/holds\">戻る / Back</a></p>", escape_html(&message)));
            *response.status_mut() = status;
            response
        }
    }
}
