//! `sekisho serve` as a client sees it: the real server on a loopback port,
//! driven with curl and with raw sockets for the requests curl will not send.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

/// A running server, killed when dropped.
struct Server {
    child: Child,
    http: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let (child, http) = spawn_server(
            Command::new(env!("CARGO_BIN_EXE_sekisho"))
                .args(["serve", "--listen", "127.0.0.1:0"])
                .args(args)
                .env("SEKISHO_CACHE_DIR", cache_dir())
                .env_remove("SEKISHO_TOKEN"),
        );
        Server { child, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Peak and current resident memory of the server, in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok())
        };
        (field("VmHWM:").unwrap_or(0), field("VmRSS:").unwrap_or(0))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response from curl: status, headers (lowercase names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn curl(args: &[&str]) -> Reply {
    let out = Command::new("curl").args(["-s", "-i", "--max-time", "60"]).args(args).output().expect("curl");
    parse_http(&out.stdout).unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(&out.stderr)))
}

fn parse_http(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Reply { status, headers, body: raw[end + 4..].to_vec() })
}

fn post(server: &Server, path: &str, file: &Path, extra: &[&str]) -> Reply {
    let url = server.url(path);
    let data = format!("@{}", file.display());
    let mut args = vec!["--data-binary", &data, "-H", "Content-Type: application/octet-stream"];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

fn curl_available() -> bool {
    tool("curl")
}

#[test]
fn every_endpoint_answers() {
    if !curl_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let audit = work.path().join("audit.jsonl");
    let server = Server::start(&["--audit", audit.to_str().unwrap(), "--allow-profile", "keep-links"]);
    let health = curl(&[&server.url("/healthz")]);
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok\n"[..]));
    let plugins = curl(&[&server.url("/v1/plugins")]).json();
    assert!(plugins.as_array().unwrap().iter().any(|p| p["name"] == "ooxml"), "{plugins}");
    let policy = curl(&[&server.url("/v1/policy")]);
    assert!(String::from_utf8_lossy(&policy.body).contains("[classes]"));

    // A file that passes comes back, with its outcome and report id.
    let csv = root().join("examples/samples/invoice.csv");
    let clean = post(&server, "/v1/sanitize?name=invoice.csv", &csv, &[]);
    assert_eq!(clean.status, 200);
    assert_eq!(clean.header("x-sekisho-outcome"), Some("sanitized"));
    assert!(String::from_utf8_lossy(&clean.body).contains("'=cmd|"), "the formula is quoted");
    let id = clean.header("x-sekisho-report-id").unwrap().to_owned();
    let report = curl(&[&server.url(&format!("/v1/reports/{id}"))]).json();
    assert_eq!(report["outcome"], "sanitized");
    assert_eq!(curl(&[&server.url("/v1/reports/nope")]).status, 404);

    // A macro document downloads under its macro-free name.
    let docm_file = work.path().join("a.docm");
    std::fs::write(&docm_file, kit::office::docm("Quarterly report")).unwrap();
    let docm = post(&server, "/v1/sanitize", &docm_file, &["-H", "X-Filename: a.docm"]);
    assert_eq!(docm.status, 200);
    assert!(docm.header("content-disposition").unwrap().contains("a.docx"), "{:?}", docm.headers);
    assert_eq!(docm.header("x-sekisho-outcome"), Some("sanitized"));
    assert!(docm.body.starts_with(b"PK"), "the rebuilt document is the body");

    // Refusals carry the report and a status that says why: an Excel 4
    // macro sheet cannot be cut out of a binary workbook, so strict blocks it.
    let xls = work.path().join("x.xls");
    std::fs::write(&xls, kit::office::xls_with_excel4_macro_sheet()).unwrap();
    let blocked = post(&server, "/v1/sanitize?name=x.xls", &xls, &[]);
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.json()["outcome"], "blocked");
    assert_eq!(blocked.json()["reason"]["class"], "macros");
    let binary = work.path().join("tool.bin");
    std::fs::write(&binary, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0 an executable").unwrap();
    assert_eq!(post(&server, "/v1/sanitize?name=tool.bin", &binary, &[]).status, 415);
    assert_eq!(post(&server, "/v1/sanitize?profile=lenient", &csv, &[]).status, 400);
    let scan = post(&server, "/v1/scan?name=invoice.csv&profile=keep-links", &csv, &[]);
    assert_eq!((scan.status, scan.json()["outcome"].as_str()), (200, Some("sanitized")));

    let metrics = String::from_utf8(curl(&[&server.url("/metrics")]).body).unwrap();
    assert!(metrics.contains("sekisho_files_total{outcome=\"sanitized\",format=\"csv\"} 2"), "{metrics}");
    assert!(metrics.contains("sekisho_files_total{outcome=\"blocked\",format=\"ole2\"} 1"), "{metrics}");
    assert!(metrics.contains("sekisho_request_seconds_count 5"), "{metrics}");
    drop(server);
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "one audit line per file decision");
    assert!(lines.iter().all(|l| l["interface"] == "http" && l["client"] == "127.0.0.1"));
}

#[test]
fn tokens_are_checked() {
    if !curl_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let tokens = work.path().join("tokens");
    std::fs::write(&tokens, "gateway-a:0123456789abcdef0123\n").unwrap();
    let server = Server::start(&["--token-file", tokens.to_str().unwrap()]);
    let csv = root().join("examples/samples/invoice.csv");
    let anonymous = post(&server, "/v1/sanitize", &csv, &[]);
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert_eq!(post(&server, "/v1/sanitize", &csv, &["-H", "Authorization: Bearer wrong-token-0000000"]).status, 401);
    let allowed = post(&server, "/v1/sanitize", &csv, &["-H", "Authorization: Bearer 0123456789abcdef0123"]);
    assert_eq!(allowed.status, 200);
    assert_eq!(curl(&[&server.url("/healthz")]).status, 200, "health needs no token");
    // Off loopback without tokens the server refuses to start.
    let refused = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_TOKEN")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
}

/// Sends raw bytes and answers whatever comes back before the server closes
/// or a timeout. `finish` closes our side after sending, for requests that
/// would otherwise wait for more bytes.
fn raw(server: &Server, request: &[u8], finish: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.http).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(request);
    if finish {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[test]
fn malformed_requests_get_errors_and_the_server_stays_up() {
    if !curl_available() {
        return;
    }
    let server = Server::start(&[]);
    let huge_header = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1_000_000));
    let cases: Vec<Vec<u8>> = vec![
        b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n".to_vec(),
        huge_header.into_bytes(),
        b"POST /v1/sanitize HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nshort".to_vec(),
        b"POST /v1/sanitize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n".to_vec(),
        b"POST /v1/sanitize HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ];
    for case in cases {
        let answer = raw(&server, &case, true);
        if let Some(reply) = parse_http(&answer) {
            assert!(reply.status >= 400, "{}", String::from_utf8_lossy(&answer[..answer.len().min(200)]));
        }
        assert_eq!(curl(&[&server.url("/healthz")]).status, 200, "the server still answers");
    }
}

#[test]
fn over_capacity_load_gets_back_pressure_and_memory_stays_flat() {
    if !curl_available() {
        return;
    }
    let server = Server::start(&["--workers", "2", "--queue", "4", "--queue-wait-ms", "300"]);
    let csv = std::fs::read(root().join("examples/samples/invoice.csv")).unwrap();
    let expected =
        post(&server, "/v1/sanitize?name=invoice.csv", &root().join("examples/samples/invoice.csv"), &[]).body;
    let request = |body: &[u8]| {
        let mut head = format!(
            "POST /v1/sanitize?name=invoice.csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        head.extend_from_slice(body);
        head
    };
    let payload = request(&csv);
    let mut latencies = Vec::new();
    let (mut ok, mut busy) = (0, 0);
    let mut resident = Vec::new();
    let started = Instant::now();
    for _round in 0..5 {
        // 16 clients at once against 2 sandboxes and a queue of 4.
        let answers: Vec<(Duration, Vec<u8>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        let start = Instant::now();
                        let answer = raw(&server, &payload, false);
                        (start.elapsed(), answer)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (latency, answer) in answers {
            let reply = parse_http(&answer).expect("every request gets an answer");
            match reply.status {
                200 => {
                    assert_eq!(reply.body, expected, "an accepted file is answered correctly");
                    ok += 1;
                    latencies.push(latency);
                }
                503 => {
                    assert_eq!(reply.header("retry-after"), Some("1"));
                    busy += 1;
                }
                other => panic!("undocumented status {other}: {}", String::from_utf8_lossy(&reply.body)),
            }
        }
        resident.push(server.memory().1);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: usize| latencies.get(latencies.len() * p / 100).copied().unwrap_or_default();
    let (peak, _) = server.memory();
    eprintln!(
        "load: {} requests in {:.2}s ({:.0}/s), {ok} answered, {busy} busy; p50 {:?}, p99 {:?}; RSS by round {:?} KiB, peak {peak} KiB",
        ok + busy,
        elapsed.as_secs_f64(),
        f64::from(ok + busy) / elapsed.as_secs_f64(),
        percentile(50),
        percentile(99),
        resident
    );
    assert!(ok >= 10, "too few accepted: {ok}");
    // Flat: no growth from the second round on beyond allocator noise.
    assert!(resident[4] < resident[1] + 64 * 1024, "resident memory grows: {resident:?}");
}

#[test]
fn killing_the_server_mid_request_leaves_a_clean_audit_log() {
    if !curl_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let audit = work.path().join("audit.jsonl");
    let csv = root().join("examples/samples/invoice.csv");
    {
        let server = Server::start(&["--audit", audit.to_str().unwrap()]);
        assert_eq!(post(&server, "/v1/sanitize", &csv, &[]).status, 200);
        // A request whose body never finishes, then SIGKILL.
        let mut stream = TcpStream::connect(server.http).unwrap();
        stream.write_all(b"POST /v1/sanitize HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n").unwrap();
        stream.write_all(&[b'a'; 65536]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.ends_with('\n'));
    assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{text}");
    let restarted = Server::start(&["--audit", audit.to_str().unwrap()]);
    assert_eq!(post(&restarted, "/v1/sanitize", &csv, &[]).status, 200);
    drop(restarted);
    assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 2);
}

#[test]
fn the_openapi_file_documents_every_route() {
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/openapi.json")).unwrap()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (method, path) in sekisho::serve::http::ROUTES {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, sekisho::serve::http::ROUTES.len(), "the spec documents routes that do not exist");
}

#[test]
fn a_trickled_upload_times_out() {
    let server = Server::start(&["--request-timeout-s", "1"]);
    let mut stream = TcpStream::connect(server.http).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(b"POST /v1/sanitize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b").unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let reply = parse_http(&answer).expect("an answer, not a hang");
    assert_eq!(reply.status, 408);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// With the outbound profile, a file the audit holds is not delivered: 403,
/// `X-Sekisho-Outcome: held`, the report (masked values only) as the body;
/// the audit log carries no full value either.
#[test]
fn a_held_file_is_not_delivered() {
    if !curl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = Server::start(&["--profile", "outbound", "--audit", audit.to_str().unwrap()]);
    let contacts = dir.path().join("contacts.csv");
    std::fs::write(&contacts, "tanaka@example.jp\nsuzuki@example.jp\nsato@example.jp\n").unwrap();
    let reply = post(&server, "/v1/sanitize?name=contacts.csv", &contacts, &[]);
    assert_eq!(reply.status, 403, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("x-sekisho-outcome"), Some("held"));
    let report = reply.json();
    assert_eq!(report["reason"]["kind"], "personal-information", "{report:#}");
    drop(server);
    let written = format!("{}{}", String::from_utf8_lossy(&reply.body), std::fs::read_to_string(&audit).unwrap());
    for value in ["tanaka@", "suzuki@", "sato@"] {
        assert!(!written.contains(value), "{value} in {written}");
    }
    assert!(written.contains("t***@example.jp"), "{written}");
}
