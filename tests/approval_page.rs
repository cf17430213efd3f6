//! The approval page (`/holds`) in a real headless browser: Debian's
//! `chromium` driven by `chromedriver` over the W3C WebDriver HTTP API, with
//! a minimal client written here (std `TcpStream` and serde_json). The
//! submitter sends a held file with curl; the approver signs in through the
//! page's form, sees it with masked findings only, and approves it; the
//! submitter sees no approve button on her own file, then downloads it.
//! A screenshot of the list goes to `target/approval-page.png`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";

/// alice submits in group g1, bob approves g1.
const TOKENS: &str = "alice:alice-token-0123456789:submitter:g1\n\
                      bob:bob-token-0123456789ab:approver:g1\n";

const CONTACTS: &str = "name,mail\nTanaka,tanaka@example.jp\nSuzuki,suzuki@example.jp\nSato,sato@example.jp\n";
const FULL_VALUES: [&str; 3] = ["tanaka@example.jp", "suzuki@example.jp", "sato@example.jp"];

/// Every wait of this test is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed when dropped (the server, chromedriver).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve --profile outbound --spool WORK/spool --token-file WORK/tokens`.
struct Server {
    _child: Killed,
    http: SocketAddr,
    work: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let work = tempfile::tempdir().unwrap();
        let tokens = work.path().join("tokens");
        std::fs::write(&tokens, TOKENS).unwrap();
        let (child, http) = spawn_server(
            Command::new(env!("CARGO_BIN_EXE_sekisho"))
                .args(["serve", "--listen", "127.0.0.1:0", "--profile", "outbound", "--token-file"])
                .arg(&tokens)
                .arg("--spool")
                .arg(work.path().join("spool"))
                .arg("--audit")
                .arg(work.path().join("audit.jsonl"))
                .env("SEKISHO_CACHE_DIR", cache_dir())
                .env_remove("SEKISHO_TOKEN"),
        );
        Server { _child: Killed(child), http, work }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// curl as the user of `token`: (status, body).
    fn curl(&self, token: &str, args: &[&str], path: &str) -> (u16, Vec<u8>) {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .args(args)
            .arg(self.url(path))
            .output()
            .expect("curl");
        let raw = out.stdout;
        let cut = raw.iter().rposition(|&b| b == b'\n').expect("curl wrote no status");
        let status = String::from_utf8_lossy(&raw[cut + 1..]).trim().parse().expect("an HTTP status");
        (status, raw[..cut].to_vec())
    }
}

/// One HTTP/1.1 request to chromedriver, `Connection: close`; the JSON answer.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    // chromedriver keeps the connection open despite `Connection: close`:
    // read the head, then exactly the body its length announces.
    let mut raw = Vec::new();
    let mut buffer = [0u8; 65536];
    let (head, mut payload) = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse::<usize>().ok());
            let body = &raw[end + 4..];
            let complete = match length {
                Some(length) => body.len() >= length,
                None if head.contains("chunked") => body.ends_with(b"0\r\n\r\n"),
                None => false,
            };
            if complete {
                let body = length.map_or(body, |l| &body[..l]).to_vec();
                break (head, body);
            }
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            let end = raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {}", String::from_utf8_lossy(&raw))))?;
            break (String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase(), raw[end + 4..].to_vec());
        }
        raw.extend_from_slice(&buffer[..read]);
    };
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if head.contains("transfer-encoding: chunked") || head.contains("transfer-encoding:chunked") {
        payload = dechunk(&payload);
    }
    let value = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&payload).map_err(std::io::Error::other)?
    };
    Ok((status, value))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line]).split(';').next().unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// chromedriver on a free loopback port with one headless Chromium session;
/// the session is deleted and chromedriver killed when dropped.
struct Browser {
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
    _driver: Killed,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Killed(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let started = Instant::now();
        loop {
            if let Ok((200, status)) = http(port, "GET", "/status", None)
                && status["value"]["ready"] == true
            {
                break;
            }
            assert!(started.elapsed() < WAIT, "chromedriver did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64, "implicit": 0 },
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        }}});
        let (status, answer) = http(port, "POST", "/session", Some(&capabilities)).expect("new session");
        assert_eq!(status, 200, "new session: {answer:#}");
        let session = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("{answer:#}")).to_owned();
        Browser { port, session, _profile: profile, _driver: driver }
    }

    /// A WebDriver command of this session; its `value`, or a panic.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, answer) = http(self.port, method, &path, body.as_ref()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(status, 200, "{method} {path}: {answer:#}");
        answer["value"].clone()
    }

    fn go(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    fn source(&self) -> String {
        self.command("GET", "/source", None).as_str().unwrap().to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.command("POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap_or_else(|| panic!("{found:#}")).to_owned())
            .collect()
    }

    /// The first element matching `css`, waiting for it.
    fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_all(css).into_iter().next() {
                return element;
            }
            assert!(started.elapsed() < WAIT, "no {css} in {}", self.source());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/value"), Some(json!({ "text": text })));
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Waits until the page source contains `text`; the source.
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let source = self.source();
            if source.contains(text) {
                return source;
            }
            assert!(started.elapsed() < WAIT, "{text:?} never appeared in {source}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Signs in through the page's form, as the user of `token`.
    fn sign_in(&self, server: &Server, token: &str) {
        self.command("DELETE", "/cookie", None);
        self.go(&server.url("/holds"));
        self.wait_for("ログイン / Sign in");
        self.type_into("input[name=token]", token);
        self.click("form[action='/holds/login'] button[type=submit]");
        self.wait_for("送信者 / Sender");
    }

    /// The PNG screenshot of the window.
    fn screenshot(&self) -> Vec<u8> {
        base64_decode(self.command("GET", "/screenshot", None).as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn screenshot_path() -> PathBuf {
    root().join("target").join("approval-page.png")
}

fn contacts(dir: &Path) -> PathBuf {
    let file = dir.join("contacts.csv");
    std::fs::write(&file, CONTACTS).unwrap();
    file
}

#[test]
fn an_approver_approves_in_a_headless_browser() {
    if !(tool("curl") && tool("chromium") && tool("chromedriver")) {
        return;
    }
    let server = Server::start();
    let file = contacts(server.work.path());
    let data = format!("@{}", file.display());
    let (status, body) = server.curl(
        ALICE,
        &["--data-binary", &data, "-H", "Content-Type: application/octet-stream"],
        "/v1/sanitize?name=contacts.csv&to=partner-office",
    );
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let held: Value = serde_json::from_slice(&body).unwrap();
    let id = held["hold"].as_str().unwrap().to_owned();

    let browser = Browser::start();

    // alice, signed in, sees her file but no form to decide it; posting
    // a decision of her own file through the API is refused.
    browser.sign_in(&server, ALICE);
    let own = browser.wait_for("contacts.csv");
    assert!(own.contains("自分のファイルは承認できません"), "{own}");
    assert!(browser.find_all("button[value=approve]").is_empty(), "an approve button for alice: {own}");
    assert!(browser.find_all("input[name=csrf]").is_empty(), "{own}");
    let (status, _) = server.curl(ALICE, &["-X", "POST", "--data-binary", ""], &format!("/v1/holds/{id}/approve"));
    assert_eq!(status, 403, "alice approving her own file");

    // bob signs in through the form and sees the held file, masked.
    browser.sign_in(&server, BOB);
    let list = browser.wait_for("承認 / Approve");
    for text in ["contacts.csv", "alice", "partner-office", "t***@example.jp", "held", "却下 / Reject"] {
        assert!(list.contains(text), "{text} not in {list}");
    }
    for value in FULL_VALUES {
        assert!(!list.contains(value), "{value} in the page source: {list}");
    }
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let path = screenshot_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &png).unwrap();
    println!("screenshot of the list before approval: {}", path.display());

    browser.type_into(&format!("form[action='/holds/{id}/approve'] input[name=comment]"), "確認済み / checked");
    browser.click(&format!("form[action='/holds/{id}/approve'] button[value=approve]"));
    let after = browser.wait_for("approved");
    assert!(browser.find_all("button[value=approve]").is_empty(), "still an approve button: {after}");
    for value in FULL_VALUES {
        assert!(!after.contains(value), "{value} in the page source: {after}");
    }

    // The API agrees, and alice downloads the engine's rebuilt bytes.
    let (status, body) = server.curl(ALICE, &[], &format!("/v1/holds/{id}"));
    assert_eq!(status, 200);
    let record: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (record["status"].as_str(), record["decided_by"].as_str(), record["comment"].as_str()),
        (Some("approved"), Some("bob"), Some("確認済み / checked")),
        "{record:#}"
    );
    let (status, download) = server.curl(ALICE, &[], &format!("/v1/holds/{id}/file"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&download));
    let policy = sekisho::policy::Policy::profile("outbound").unwrap();
    let expected = sanitize_bytes(engine(), "contacts.csv", CONTACTS.as_bytes(), &policy);
    assert_eq!(download, expected.output.unwrap(), "byte-identical to the engine's output");
}
