//! The ICAP server (RFC 3507) as proxies use it: raw exchanges over TCP
//! (services, RESPMOD, REQMOD, preview, refusals, malformed input), the
//! reference client `c-icap-client`, and Squid downloading through the
//! gateway end to end.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// A child process, killed when the test ends, whatever happens.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sekisho serve` with HTTP and ICAP on free loopback ports.
struct Server {
    process: Process,
    http: SocketAddr,
    icap: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(["serve", "--listen", "127.0.0.1:0", "--icap", "127.0.0.1:0"])
            .args(args)
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .env_remove("SEKISHO_PLUGINS_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sekisho serve");
        let stderr = child.stderr.take().unwrap();
        let process = Process(child);
        // The server's stderr is forwarded to the test's, for failures.
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("server: {line}");
                let _ = lines.send(line);
            }
        });
        let (mut http, mut icap) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(300);
        while http.is_none() || icap.is_none() {
            let line = received
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("sekisho serve printed its addresses");
            if let Some(address) = line.strip_prefix("sekisho: HTTP API on http://") {
                http = Some(address.parse().unwrap());
            } else if let Some(address) = line.strip_prefix("sekisho: ICAP on icap://") {
                icap = Some(address.parse().unwrap());
            }
        }
        Server { process, http: http.unwrap(), icap: icap.unwrap() }
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.icap).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Client { reader: BufReader::new(stream.try_clone().unwrap()), stream }
    }

    /// One request on a new connection.
    fn exchange(&self, request: &[u8]) -> Answer {
        let mut client = self.connect();
        client.send(request);
        client.answer()
    }

    /// GET on the HTTP API: the body.
    fn http_get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(self.http).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_owned()
    }
}

/// An ICAP connection.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one ICAP answer and its encapsulated message.
    fn answer(&mut self) -> Answer {
        let status_line = self.line();
        assert!(status_line.starts_with("ICAP/1.0 "), "not an ICAP answer: {status_line:?}");
        let status = status_line[9..12].parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut answer = Answer { status, headers, head: None, body: None };
        let Some(encapsulated) = answer.header("Encapsulated").map(str::to_owned) else {
            return answer;
        };
        let entries: Vec<(&str, usize)> = encapsulated
            .split(',')
            .map(|e| e.trim().split_once('=').unwrap())
            .map(|(name, offset)| (name, offset.parse().unwrap()))
            .collect();
        let (last, head_len) = *entries.last().unwrap();
        if head_len > 0 {
            let mut head = vec![0; head_len];
            self.reader.read_exact(&mut head).unwrap();
            answer.head = Some(String::from_utf8(head).unwrap());
        }
        if last != "null-body" {
            let mut body = Vec::new();
            loop {
                let size = usize::from_str_radix(self.line().split(';').next().unwrap(), 16).unwrap();
                if size == 0 {
                    assert_eq!(self.line(), "");
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..]).unwrap();
                assert_eq!(self.line(), "");
            }
            answer.body = Some(body);
        }
        answer
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "a line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// True when the server closed the connection (after an error answer).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(self.reader.read_to_end(&mut rest), Ok(0))
    }
}

/// An ICAP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    /// The encapsulated HTTP head.
    head: Option<String>,
    body: Option<Vec<u8>>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn head(&self) -> &str {
        self.head.as_deref().unwrap_or_else(|| panic!("no HTTP head in {self:?}"))
    }

    /// The first line of the HTTP head.
    fn start_line(&self) -> &str {
        self.head().lines().next().unwrap()
    }

    fn http_header(&self, name: &str) -> Option<&str> {
        self.head().lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn body(&self) -> &[u8] {
        self.body.as_deref().unwrap_or_else(|| panic!("no body in {self:?}"))
    }
}

/// A RESPMOD or REQMOD request: the ICAP head, the encapsulated HTTP heads,
/// and the body as one chunk.
fn request(
    method: &str,
    service: &str,
    icap_headers: &[&str],
    req: Option<&str>,
    res: Option<&str>,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut encapsulated = Vec::new();
    let mut offset = 0;
    for (name, head) in [("req-hdr", req), ("res-hdr", res)] {
        if let Some(head) = head {
            encapsulated.push(format!("{name}={offset}"));
            offset += head.len();
        }
    }
    let body_kind = if method == "REQMOD" { "req-body" } else { "res-body" };
    encapsulated.push(format!("{}={offset}", if body.is_some() { body_kind } else { "null-body" }));
    let mut out = format!("{method} icap://127.0.0.1/{service} ICAP/1.0\r\nHost: 127.0.0.1\r\n").into_bytes();
    for header in icap_headers {
        out.extend_from_slice(format!("{header}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Encapsulated: {}\r\n\r\n", encapsulated.join(", ")).as_bytes());
    out.extend_from_slice(req.unwrap_or_default().as_bytes());
    out.extend_from_slice(res.unwrap_or_default().as_bytes());
    if let Some(body) = body {
        out.extend_from_slice(&chunk(body));
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}

/// One chunk of a chunked body (none for empty data).
fn chunk(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return Vec::new();
    }
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn get(url: &str) -> String {
    format!("GET {url} HTTP/1.1\r\nHost: example.test\r\n\r\n")
}

fn response(content_type: &str, length: usize, extra: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n{extra}\r\n")
}

/// A RESPMOD of `data` downloaded from `url`.
fn respmod(url: &str, content_type: &str, extra: &str, data: &[u8], icap_headers: &[&str]) -> Vec<u8> {
    let res = response(content_type, data.len(), extra);
    request("RESPMOD", "respmod", icap_headers, Some(&get(url)), Some(&res), Some(data))
}

/// A PDF that runs JavaScript when it opens (and launches a program from a
/// link), over 8 KiB so that previews see only part of it.
fn js_pdf() -> Vec<u8> {
    kit::pdf::with_javascript()
}

/// Not a format any plugin handles: an ELF header and noise.
fn elf() -> Vec<u8> {
    let mut data = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    data.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    data
}

const CLEAN_CSV: &[u8] = b"name,count\nalpha,1\nbeta,2\n";
/// The header an origin sends so that a clean text file may go unchanged (204).
const NOSNIFF: &str = "X-Content-Type-Options: nosniff\r\n";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts a sanitized PDF: no JavaScript left once qpdf has expanded any
/// compressed object streams, and the report of the gateway lists the
/// scripts it removed.
fn assert_sanitized_pdf(server: &Server, pdf: &[u8], report_id: &str) {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF: {:?}", String::from_utf8_lossy(&pdf[..pdf.len().min(40)]));
    let report: serde_json::Value =
        serde_json::from_str(&server.http_get(&format!("/v1/reports/{report_id}"))).unwrap();
    assert_eq!(report["outcome"], "sanitized");
    assert!(
        report["items"].as_array().unwrap().iter().any(|i| i["class"] == "scripts" && i["action"] == "removed"),
        "{report:#}"
    );
    if tool("qpdf") {
        let dir = tempfile::tempdir().unwrap();
        let expand = |data: &[u8], name: &str| {
            let (input, output) = (dir.path().join(name), dir.path().join(format!("{name}.qdf")));
            std::fs::write(&input, data).unwrap();
            let status =
                Command::new("qpdf").args(["--qdf", "--object-streams=disable"]).arg(&input).arg(&output).status();
            assert_ne!(status.unwrap().code(), Some(2), "qpdf cannot read {name}");
            std::fs::read(output).unwrap()
        };
        assert!(contains(&expand(&js_pdf(), "original.pdf"), b"/JavaScript"), "the test input lost its scripts");
        assert!(!contains(&expand(pdf, "sanitized.pdf"), b"/JavaScript"), "JavaScript left in the output");
    }
}

#[test]
fn options_describe_each_service_on_one_connection() {
    let server = Server::start(&["--allow-profile", "keep-macros"]);
    let mut client = server.connect();
    for (service, methods) in [("respmod", "RESPMOD"), ("reqmod", "REQMOD"), ("sanitize", "RESPMOD, REQMOD")] {
        client.send(format!("OPTIONS icap://127.0.0.1/{service} ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes());
        let answer = client.answer();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("Methods"), Some(methods));
        let istag = answer.header("ISTag").unwrap();
        assert!(istag.len() > 2 && istag.starts_with('"') && istag.ends_with('"'), "{istag}");
        assert!(answer.header("Allow").unwrap().contains("204"));
        assert_eq!(answer.header("Preview"), Some("4096"));
        assert_eq!(answer.header("Transfer-Preview"), Some("*"));
        assert_eq!(answer.header("Encapsulated"), Some("null-body=0"));
        assert!(answer.header("Service").unwrap().starts_with("Sekisho"));
        assert!(answer.header("Max-Connections").unwrap().parse::<u32>().unwrap() > 0);
        assert!(answer.header("Options-TTL").unwrap().parse::<u32>().unwrap() > 0);
    }
    // A profile in the service URI: a known one works, an unknown one is no service.
    let options = |query: &str| format!("OPTIONS icap://127.0.0.1/respmod?{query} ICAP/1.0\r\n\r\n").into_bytes();
    assert_eq!(server.exchange(&options("profile=keep-macros")).status, 200);
    let unknown = server.exchange(&options("profile=lenient"));
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(unknown.header("X-Sekisho-Error").unwrap().contains("lenient"));
}

#[test]
fn clean_file_is_204_when_allowed_else_echoed() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    // 204 hands the origin's head on: only when it says what the rebuilt
    // bytes are (their type, UTF-8, no sniffing).
    client.send(&respmod("http://example.test/t.csv", "text/csv; charset=utf-8", NOSNIFF, CLEAN_CSV, &["Allow: 204"]));
    let answer = client.answer();
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(answer.header("X-Sekisho-Outcome"), Some("clean"));

    // Without `Allow: 204`, the same bytes come back, on the same connection.
    client.send(&respmod("http://example.test/t.csv", "text/csv", "ETag: \"v1\"\r\n", CLEAN_CSV, &[]));
    let answer = client.answer();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("Encapsulated").unwrap().split(", ").next(), Some("res-hdr=0"));
    assert_eq!(answer.start_line(), "HTTP/1.1 200 OK");
    assert_eq!(answer.body(), CLEAN_CSV);
    assert_eq!(answer.http_header("Content-Length"), Some(&*CLEAN_CSV.len().to_string()));
    assert_eq!(answer.http_header("Content-Type"), Some("text/csv; charset=utf-8"));
    assert_eq!(answer.http_header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(answer.http_header("ETag"), Some("\"v1\""), "unchanged bytes keep their validator");
    assert_eq!(answer.http_header("X-Sekisho-Outcome"), Some("clean"));

    // Clean bytes declared as HTML are not waved through with 204: a
    // browser would render them.
    client.send(&respmod("http://example.test/t.csv", "text/html; charset=utf-8", "", CLEAN_CSV, &["Allow: 204"]));
    let answer = client.answer();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body(), CLEAN_CSV);
    assert_eq!(answer.http_header("Content-Type"), Some("text/csv; charset=utf-8"));
}

#[test]
fn respmod_pdf_with_javascript_comes_back_sanitized() {
    let server = Server::start(&[]);
    let pdf = js_pdf();
    let extra = "ETag: \"abc\"\r\nContent-MD5: xyz\r\nContent-Disposition: attachment; filename=\"buttons.pdf\"\r\n\
                 X-Sekisho-Outcome: clean\r\n";
    let answer = server.exchange(&respmod(
        "http://example.test/files/buttons.pdf",
        "application/pdf",
        extra,
        &pdf,
        &["Allow: 204"],
    ));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.start_line(), "HTTP/1.1 200 OK");
    let body = answer.body();
    assert_ne!(body, &pdf[..]);
    assert_eq!(answer.http_header("Content-Length"), Some(&*body.len().to_string()));
    assert_eq!(answer.http_header("Content-Type"), Some("application/pdf"));
    assert_eq!(answer.http_header("Content-Disposition"), Some("attachment; filename=\"buttons.pdf\""));
    assert_eq!(answer.http_header("ETag"), None, "a validator of the original bytes");
    assert_eq!(answer.http_header("Content-MD5"), None);
    assert_eq!(answer.http_header("X-Sekisho-Outcome"), Some("sanitized"), "the upstream one is replaced");
    assert_eq!(answer.head().matches("X-Sekisho-Outcome").count(), 1);
    let id = answer.http_header("X-Sekisho-Report-Id").unwrap();
    assert_eq!(answer.header("X-Sekisho-Report-Id"), Some(id));
    assert_sanitized_pdf(&server, body, id);
}

#[test]
fn lying_type_and_extension_are_corrected() {
    let server = Server::start(&[]);
    let text = b"plain text pretending to be a PDF\n";
    let extra = "Content-Disposition: attachment; filename=\"fake.pdf\"\r\n";
    let answer = server.exchange(&respmod("http://example.test/dl?id=7", "application/pdf", extra, text, &[]));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.http_header("Content-Type").unwrap().starts_with("text/plain"), "{answer:?}");
    assert_eq!(answer.http_header("Content-Disposition"), Some("attachment; filename=\"fake.txt\""));
    assert_eq!(answer.http_header("Content-Length"), Some(&*answer.body().len().to_string()));
}

#[test]
fn refused_files_become_the_403_page() {
    let server = Server::start(&[]);
    let expect_page = |answer: &Answer, outcome: &str, reason: &str| {
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.start_line(), "HTTP/1.1 403 Forbidden");
        assert_eq!(answer.http_header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(answer.http_header("X-Sekisho-Outcome"), Some(outcome));
        assert_eq!(answer.header("X-Sekisho-Outcome"), Some(outcome));
        let header_reason = answer.http_header("X-Sekisho-Reason").unwrap();
        assert!(header_reason.contains(reason), "{header_reason}");
        let page = String::from_utf8(answer.body().to_vec()).unwrap();
        assert_eq!(answer.http_header("Content-Length"), Some(&*page.len().to_string()));
        assert!(page.contains("File refused") && page.contains(reason), "{page}");
    };
    let binary = server.exchange(&respmod("http://example.test/tool", "application/octet-stream", "", &elf(), &[]));
    expect_page(&binary, "unsupported", "a Linux program (ELF)");
    assert!(String::from_utf8_lossy(binary.body()).contains("<b>tool</b>"), "the name from the URL");

    // Compressed bytes are not the file.
    let gzip = server.exchange(&respmod(
        "http://example.test/t.csv",
        "text/csv",
        "Content-Encoding: gzip\r\n",
        b"\x1f\x8b\x08\0",
        &[],
    ));
    expect_page(&gzip, "failed", "compressed (gzip)");

    // Neither is a range of it.
    let partial = "HTTP/1.1 206 Partial Content\r\nContent-Type: text/csv\r\nContent-Range: bytes 0-9/100\r\n\
                   Content-Length: 10\r\n\r\n";
    let range =
        request("RESPMOD", "respmod", &[], Some(&get("http://example.test/t.csv")), Some(partial), Some(b"name,count"));
    expect_page(&server.exchange(&range), "failed", "partial content");
}

#[test]
fn text_file_refusal_style() {
    let server = Server::start(&["--icap-refusal", "text-file"]);
    let answer =
        server.exchange(&respmod("http://example.test/a/tool.exe", "application/octet-stream", "", &elf(), &[]));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.start_line(), "HTTP/1.1 200 OK");
    assert_eq!(answer.http_header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(answer.http_header("Content-Disposition"), Some("attachment; filename=\"tool.exe.refused.txt\""));
    // A name Windows runs is refused by the executables class.
    assert_eq!(answer.http_header("X-Sekisho-Outcome"), Some("blocked"));
    let text = String::from_utf8(answer.body().to_vec()).unwrap();
    assert!(text.contains("tool.exe") && text.contains("blocked") && text.contains("run by Windows"), "{text}");
}

#[test]
fn reqmod_sanitizes_uploads() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let upload = b"a,b\n=1+1,2\n";
    let put = format!(
        "PUT http://example.test/upload/sheet.csv HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/csv\r\n\
         Content-Length: {}\r\n\r\n",
        upload.len()
    );
    client.send(&request("REQMOD", "reqmod", &["Allow: 204"], Some(&put), None, Some(upload)));
    let answer = client.answer();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.header("Encapsulated").unwrap().starts_with("req-hdr=0, req-body="), "{answer:?}");
    assert_eq!(answer.start_line(), "PUT http://example.test/upload/sheet.csv HTTP/1.1");
    assert_eq!(answer.body(), b"a,b\n'=1+1,2\n");
    assert_eq!(answer.http_header("Content-Length"), Some(&*answer.body().len().to_string()));
    assert_eq!(answer.http_header("Host"), Some("example.test"));
    assert_eq!(answer.http_header("X-Sekisho-Outcome"), Some("sanitized"));

    // A request without a body has nothing to check.
    let plain = get("http://example.test/page");
    client.send(&request("REQMOD", "reqmod", &["Allow: 204"], Some(&plain), None, None));
    assert_eq!(client.answer().status, 204);
    client.send(&request("REQMOD", "reqmod", &[], Some(&plain), None, None));
    let echoed = client.answer();
    assert_eq!(echoed.status, 200);
    assert_eq!(echoed.head.as_deref(), Some(&*plain));
    assert!(echoed.body.is_none());

    // A refused upload is answered with the page; the request goes nowhere.
    client.send(&request("REQMOD", "reqmod", &[], Some(&put), None, Some(&elf())));
    let refused = client.answer();
    assert!(refused.header("Encapsulated").unwrap().starts_with("res-hdr=0, res-body="), "{refused:?}");
    assert_eq!(refused.start_line(), "HTTP/1.1 403 Forbidden");
    assert_eq!(refused.http_header("X-Sekisho-Outcome"), Some("unsupported"));
}

#[test]
fn preview_asks_for_the_rest_with_100_continue() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let pdf = js_pdf();
    let res = response("application/pdf", pdf.len(), "");
    let preview = 4096;
    let head = request(
        "RESPMOD",
        "respmod",
        &["Allow: 204", &format!("Preview: {preview}")],
        Some(&get("http://example.test/js.pdf")),
        Some(&res),
        Some(b""),
    );
    // `request` ends the (empty) body with its last chunk: send the preview in between.
    client.send(&head[..head.len() - 5]);
    client.send(&chunk(&pdf[..preview]));
    client.send(b"0\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status, 100, "{answer:?}");
    client.send(&chunk(&pdf[preview..pdf.len() / 2]));
    client.send(&chunk(&pdf[pdf.len() / 2..]));
    client.send(b"0\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_sanitized_pdf(&server, answer.body(), answer.http_header("X-Sekisho-Report-Id").unwrap());

    // A whole file in the preview (`ieof`): no 100, and 204 is allowed
    // without `Allow: 204`.
    let res = response("text/csv; charset=utf-8", CLEAN_CSV.len(), NOSNIFF);
    let head = request(
        "RESPMOD",
        "respmod",
        &["Preview: 4096"],
        Some(&get("http://example.test/t.csv")),
        Some(&res),
        Some(b""),
    );
    client.send(&head[..head.len() - 5]);
    client.send(&chunk(CLEAN_CSV));
    client.send(b"0; ieof\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status, 204, "{answer:?}");
}

#[test]
fn body_over_the_input_limit_is_refused_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let shown = Command::new(env!("CARGO_BIN_EXE_sekisho")).args(["policy", "show"]).output().unwrap();
    let policy = String::from_utf8(shown.stdout).unwrap();
    let line = policy.lines().find(|l| l.starts_with("max-input-bytes")).unwrap();
    let file = dir.path().join("small.toml");
    std::fs::write(&file, policy.replace(line, "max-input-bytes = 1000")).unwrap();
    let server = Server::start(&["--policy", file.to_str().unwrap()]);

    let mut client = server.connect();
    let big: Vec<u8> = b"x,y\n".iter().copied().cycle().take(5000).collect();
    let res = response("text/csv", big.len(), "");
    let head = request("RESPMOD", "respmod", &[], Some(&get("http://example.test/big.csv")), Some(&res), Some(b""));
    client.send(&head[..head.len() - 5]);
    for part in big.chunks(700) {
        client.send(&chunk(part));
    }
    client.send(b"0\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.start_line(), "HTTP/1.1 403 Forbidden", "{answer:?}");
    assert!(answer.http_header("X-Sekisho-Reason").unwrap().contains("5000 bytes, more than the limit of 1000"));
    client.send(b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\n\r\n");
    assert_eq!(client.answer().status, 200);
}

#[test]
fn malformed_requests_get_an_error_and_the_server_goes_on() {
    let server = Server::start(&[]);
    let req = get("http://example.test/t.csv");
    let res = response("text/csv", 3, "");
    // An ICAP head with the given Encapsulated value, the heads, then `tail`.
    let with = |encapsulated: &str, tail: &[u8]| {
        let mut out =
            format!("RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nEncapsulated: {encapsulated}\r\n\r\n{req}{res}")
                .into_bytes();
        out.extend_from_slice(tail);
        out
    };
    let good = format!("req-hdr=0, res-hdr={}, res-body={}", req.len(), req.len() + res.len());
    let huge_header = format!("OPTIONS icap://127.0.0.1/ ICAP/1.0\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
    let many_headers = format!("OPTIONS icap://127.0.0.1/ ICAP/1.0\r\n{}\r\n", "X-H: 1\r\n".repeat(150));
    let big_http_head = {
        let res = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
        format!("RESPMOD icap://127.0.0.1/ ICAP/1.0\r\nEncapsulated: res-hdr=0, res-body={}\r\n\r\n{res}", res.len())
    };
    // (what, bytes, close the sending side after them, expected status)
    let cases: Vec<(&str, Vec<u8>, bool, u16)> = vec![
        ("truncated chunk", with(&good, b"100\r\nabc"), true, 400),
        ("truncated headers", b"OPTIONS icap://127.0.0.1/ ICAP/1.0\r\nHost: x".to_vec(), true, 400),
        ("non-hex chunk size", with(&good, b"zz\r\nabc\r\n0\r\n\r\n"), false, 400),
        ("negative chunk size", with(&good, b"-3\r\nabc\r\n0\r\n\r\n"), false, 400),
        ("chunk size overflow", with(&good, b"1ffffffffffffffff\r\nabc\r\n0\r\n\r\n"), false, 400),
        ("chunk longer than its size", with(&good, b"3\r\nabcdef\r\n0\r\n\r\n"), false, 400),
        ("chunk-size line without end", with(&good, &[b'1'; 10_000]), false, 400),
        ("huge header", huge_header.into_bytes(), false, 400),
        ("too many headers", many_headers.into_bytes(), false, 400),
        ("huge HTTP head", big_http_head.into_bytes(), false, 400),
        (
            "offsets too small",
            with(&format!("req-hdr=0, res-hdr=10, res-body={}", req.len() + res.len()), b"3\r\nabc\r\n0\r\n\r\n"),
            false,
            400,
        ),
        (
            "offsets too large",
            with(
                &format!("req-hdr=0, res-hdr={}, res-body={}", req.len(), req.len() + res.len() + 9),
                b"3\r\nabc\r\n0\r\n\r\n",
            ),
            true,
            400,
        ),
        (
            "offsets not from 0",
            with(&format!("req-hdr=4, res-hdr={}, res-body={}", req.len(), req.len() + res.len()), b""),
            false,
            400,
        ),
        (
            "offsets out of order",
            with(&format!("res-hdr=0, req-hdr={}, res-body={}", res.len(), req.len() + res.len()), b""),
            false,
            400,
        ),
        ("bad offset", with("req-hdr=0, res-hdr=x, res-body=9", b""), false, 400),
        ("body for the other method", with(&good.replace("res-body", "req-body"), b""), false, 400),
        ("missing Encapsulated", b"RESPMOD icap://127.0.0.1/ ICAP/1.0\r\n\r\n".to_vec(), false, 400),
        (
            "bad Preview",
            b"RESPMOD icap://127.0.0.1/ ICAP/1.0\r\nPreview: lots\r\nEncapsulated: null-body=0\r\n\r\n".to_vec(),
            false,
            400,
        ),
        ("garbage", b"HELLO\r\n\r\n".to_vec(), false, 400),
        ("bare LF", b"OPTIONS icap://127.0.0.1/ ICAP/1.0\n\n".to_vec(), false, 400),
        ("header without colon", b"OPTIONS icap://127.0.0.1/ ICAP/1.0\r\nHost\r\n\r\n".to_vec(), false, 400),
        ("HTTP on the ICAP port", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), false, 400),
        ("bad URI", b"OPTIONS http://x/ ICAP/1.0\r\n\r\n".to_vec(), false, 400),
        ("unknown method", b"DELETE icap://127.0.0.1/ ICAP/1.0\r\n\r\n".to_vec(), false, 501),
        ("other version", b"OPTIONS icap://127.0.0.1/ ICAP/2.0\r\n\r\n".to_vec(), false, 505),
    ];
    for (what, bytes, half_close, status) in cases {
        let mut client = server.connect();
        // The server may answer and close before reading everything.
        let _ = client.stream.write_all(&bytes);
        if half_close {
            client.stream.shutdown(Shutdown::Write).unwrap();
        }
        let answer = client.answer();
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        assert_eq!(answer.header("Connection"), Some("close"), "{what}");
        assert!(answer.header("X-Sekisho-Error").is_some_and(|e| !e.is_empty()), "{what}");
        assert!(client.closed(), "{what}: the connection stays open");
    }
    // The same well-formed request still works.
    let answer = server.exchange(&with(&good, b"3\r\na,b\r\n0\r\n\r\n"));
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// Mutated requests (bytes changed, inserted, cut) never hang or kill the
/// server: each gets an ICAP answer once the client stops sending.
#[test]
fn mutated_requests_always_get_an_answer() {
    let server = Server::start(&[]);
    let seed = respmod("http://example.test/t.csv", "text/csv", "", CLEAN_CSV, &["Allow: 204", "Preview: 10"]);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for round in 0..300 {
        let mut bytes = seed.clone();
        for _ in 0..1 + random(4) {
            let at = random(bytes.len());
            match random(3) {
                0 => bytes[at] = b"\r\n:;0 f=,\x00\xff"[random(10)],
                1 => bytes.insert(at, b"\r\n:;0 f=,\x00\xff"[random(10)]),
                _ => bytes.truncate(at.max(1)),
            }
        }
        let mut client = server.connect();
        client.stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = client.stream.write_all(&bytes);
        client.stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        client.reader.read_to_end(&mut answer).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("ICAP/1.0 ")
                && text.as_bytes().get(9..12).is_some_and(|s| s.iter().all(u8::is_ascii_digit)),
            "round {round}: no answer to {:?}: {text:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let intact = respmod("http://example.test/t.csv", "text/csv; charset=utf-8", NOSNIFF, CLEAN_CSV, &["Allow: 204"]);
    assert_eq!(server.exchange(&intact).status, 204);
}

#[test]
fn idle_connections_give_way_to_a_new_one_at_the_limit() {
    let server = Server::start(&[]);
    let options = b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\n\r\n";
    let mut first = server.connect();
    first.send(options);
    // The per-client limit, announced so that a proxy keeps to it.
    let limit: usize = first.answer().header("Max-Connections").unwrap().parse().unwrap();
    let mut open = vec![first];
    open.extend((1..limit).map(|_| server.connect()));
    for client in &mut open[1..] {
        client.send(options);
        assert_eq!(client.answer().status, 200);
    }
    // All idle: one more is served, and one idle connection is closed for it.
    let mut extra = server.connect();
    extra.send(options);
    assert_eq!(extra.answer().status, 200);
    let started = Instant::now();
    let closed = loop {
        let closed = open
            .iter_mut()
            .map(|client| {
                client.stream.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
                matches!(client.reader.read(&mut [0; 1]), Ok(0))
            })
            .filter(|&closed| closed)
            .count();
        if closed > 0 || started.elapsed() > Duration::from_secs(5) {
            break closed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(closed, 1, "one idle connection gives way");
}

#[test]
fn stop_closes_idle_connections_and_exits() {
    let mut server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\n\r\n");
    assert_eq!(client.answer().status, 200);
    // The connection stays open (keep-alive) while the server is told to stop.
    let pid = server.process.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.process.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(client.closed());
}

#[test]
fn c_icap_client_gets_the_sanitized_pdf() {
    if !tool_with("c-icap-client", "-V") {
        return;
    }
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("js.pdf");
    std::fs::write(&input, js_pdf()).unwrap();
    let output = dir.path().join("out.pdf");
    let port = server.icap.port().to_string();
    let run = Command::new("c-icap-client")
        .args(["-i", "127.0.0.1", "-p", &port, "-s", "sanitize", "-v", "-f"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["-resp", "http://example.test/file.pdf"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    assert!(log.contains("ICAP/1.0 200 OK"), "{log}");
    let id = log.lines().find_map(|l| l.trim().strip_prefix("X-Sekisho-Report-Id: ")).unwrap();
    assert_sanitized_pdf(&server, &std::fs::read(&output).unwrap(), id);

    // Its OPTIONS view of the service.
    let options =
        Command::new("c-icap-client").args(["-i", "127.0.0.1", "-p", &port, "-s", "respmod"]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&options.stdout), String::from_utf8_lossy(&options.stderr));
    assert!(text.contains("Allow 204: Yes") && text.contains("Preview: 4096"), "{text}");
}

/// Serves the files of `dir` over HTTP/1.1 on a loopback port, one thread per
/// connection, for as long as the test runs.
fn web_server(dir: &Path) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let path = request_line.split(' ').nth(1).unwrap_or_default();
                let name = path.rsplit('/').next().unwrap_or_default();
                let mut stream = stream;
                let content_type = match name.rsplit('.').next() {
                    Some("pdf") => "application/pdf",
                    Some("csv") => "text/csv; charset=utf-8",
                    _ => "application/octet-stream",
                };
                match std::fs::read(dir.join(name)) {
                    Ok(data) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                             X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
                            data.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&data));
                    }
                    Err(_) => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            });
        }
    });
    address
}

#[test]
fn squid_delivers_sanitized_files_and_refusal_pages() {
    // Squid lives in /usr/sbin, which is not on every user's PATH.
    let squid_program = if Path::new("/usr/sbin/squid").exists() { "/usr/sbin/squid" } else { "squid" };
    if !(tool_with(squid_program, "--version") && tool_with("curl", "--version")) {
        return;
    }
    let server = Server::start(&[]);
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("js.pdf"), js_pdf()).unwrap();
    std::fs::write(files.path().join("tool.bin"), elf()).unwrap();
    std::fs::write(files.path().join("table.csv"), CLEAN_CSV).unwrap();
    let web = web_server(files.path());

    // Squid drops root privileges to `cache_effective_user`, which must be
    // able to write its logs and pid file.
    let squid_dir = tempfile::tempdir().unwrap();
    let dir = squid_dir.path();
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let port = free_port();
    let config = format!(
        "http_port 127.0.0.1:{port}\n\
         {user}\
         visible_hostname sekisho-test\n\
         http_access allow all\n\
         cache deny all\n\
         pid_filename {dir}/squid.pid\n\
         access_log stdio:{dir}/access.log\n\
         cache_log {dir}/cache.log\n\
         cache_store_log none\n\
         netdb_filename none\n\
         coredump_dir {dir}\n\
         pinger_enable off\n\
         shutdown_lifetime 0 seconds\n\
         icap_enable on\n\
         icap_service sekisho respmod_precache icap://{icap}/respmod bypass=off\n\
         adaptation_access sekisho allow all\n",
        user = if root { "cache_effective_user proxy\n" } else { "" },
        dir = dir.display(),
        icap = server.icap,
    );
    let config_file = dir.join("squid.conf");
    std::fs::write(&config_file, config).unwrap();
    let mut squid = Process(
        Command::new(squid_program)
            .arg("-N")
            .arg("-f")
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cache_log = || std::fs::read_to_string(dir.join("cache.log")).unwrap_or_default();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(squid.0.try_wait().unwrap().is_none(), "squid exited: {}", cache_log());
        assert!(started.elapsed() < Duration::from_secs(30), "squid does not listen: {}", cache_log());
        std::thread::sleep(Duration::from_millis(100));
    }

    let fetch = |name: &str| {
        let output = dir.join(format!("got-{name}"));
        let headers = dir.join(format!("headers-{name}"));
        let curl = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-x", &format!("http://127.0.0.1:{port}")])
            .arg(format!("http://{web}/{name}"))
            .arg("-o")
            .arg(&output)
            .arg("-D")
            .arg(&headers)
            .output()
            .unwrap();
        assert!(curl.status.success(), "{}\n{}", String::from_utf8_lossy(&curl.stderr), cache_log());
        (std::fs::read_to_string(headers).unwrap(), std::fs::read(output).unwrap())
    };
    let header = |headers: &str, name: &str| {
        headers.lines().find_map(|l| {
            l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
        })
    };

    let (headers, pdf) = fetch("js.pdf");
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert_eq!(header(&headers, "X-Sekisho-Outcome").as_deref(), Some("sanitized"), "{headers}");
    assert_eq!(header(&headers, "Content-Type").as_deref(), Some("application/pdf"));
    assert_sanitized_pdf(&server, &pdf, &header(&headers, "X-Sekisho-Report-Id").unwrap());

    let (headers, page) = fetch("tool.bin");
    assert!(headers.starts_with("HTTP/1.1 403"), "{headers}");
    assert_eq!(header(&headers, "X-Sekisho-Outcome").as_deref(), Some("unsupported"));
    assert!(String::from_utf8_lossy(&page).contains("File refused"));

    // A clean file goes through untouched (the server answered 204).
    let (headers, csv) = fetch("table.csv");
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert_eq!(csv, CLEAN_CSV);
    assert_eq!(header(&headers, "X-Sekisho-Outcome"), None);
}

/// A scan the policy needs and clamd cannot do (nothing listens at its
/// address): ICAP 503, so the proxy's bypass setting decides, and the
/// connection goes on.
#[test]
fn a_scanner_that_is_down_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("scan.toml");
    std::fs::write(&policy, "[scan]\nwhat = \"all\"\n").unwrap();
    let dead =
        format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let server = Server::start(&["--policy", policy.to_str().unwrap(), "--clamd", &dead, "--clamd-timeout-ms", "3000"]);
    let answer = server.exchange(&respmod("http://example.test/t.csv", "text/csv", "", b"name,count\na,1\n", &[]));
    assert_eq!(answer.status, 503, "{answer:?}");
    let why = answer.header("X-Sekisho-Error").unwrap();
    assert!(why.contains("could not be scanned") && why.contains("clamav"), "{why}");
}

#[test]
fn passwords_come_with_the_http_request_and_do_not_go_on() {
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("try.toml");
    std::fs::write(&policy, "encrypted = \"try-passwords\"\n").unwrap();
    let server = Server::start(&["--policy", policy.to_str().unwrap()]);
    let mut client = server.connect();
    let secret = "Kc9#icap-pass";
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, secret);
    archive.start_file("sheet.csv", options).unwrap();
    archive.write_all(b"a,b\n=1+1,2\n").unwrap();
    let locked = archive.finish().unwrap().into_inner();
    let put = |extra: &str| {
        format!(
            "PUT http://example.test/upload/sheet.zip HTTP/1.1\r\nHost: example.test\r\n{extra}\
             Content-Type: application/zip\r\nContent-Length: {}\r\n\r\n",
            locked.len()
        )
    };
    // Without a password, the member no candidate opens is removed.
    client.send(&request("REQMOD", "reqmod", &["Allow: 204"], Some(&put("")), None, Some(&locked)));
    let emptied = client.answer();
    let emptied = zip::ZipArchive::new(std::io::Cursor::new(emptied.body().to_vec())).unwrap();
    assert_eq!(emptied.len(), 0, "the locked member is not passed on");
    // With a wrong and the right one: opened, rebuilt, and the request
    // goes on without its password headers.
    let headers = format!("X-Sekisho-Password: wrong-one\r\nX-Sekisho-Password: {secret}\r\n");
    client.send(&request("REQMOD", "reqmod", &["Allow: 204"], Some(&put(&headers)), None, Some(&locked)));
    let answer = client.answer();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.start_line(), "PUT http://example.test/upload/sheet.zip HTTP/1.1");
    assert_eq!(answer.http_header("X-Sekisho-Password"), None, "{}", answer.head());
    assert!(!contains(answer.head().as_bytes(), secret.as_bytes()) && !contains(answer.body(), secret.as_bytes()));
    let mut rebuilt = zip::ZipArchive::new(std::io::Cursor::new(answer.body().to_vec())).unwrap();
    let mut member = String::new();
    rebuilt.by_name("sheet.csv").unwrap().read_to_string(&mut member).unwrap();
    assert_eq!(member, "a,b\n'=1+1,2\n", "decrypted and rebuilt");
    // A request with no body but a password header is not answered 204,
    // which would forward the header: it goes on without it.
    let plain = format!("GET http://example.test/page HTTP/1.1\r\nHost: example.test\r\n{headers}\r\n");
    client.send(&request("REQMOD", "reqmod", &["Allow: 204"], Some(&plain), None, None));
    let echoed = client.answer();
    assert_eq!(echoed.status, 200, "{echoed:?}");
    assert!(!echoed.head().contains("X-Sekisho-Password"), "{}", echoed.head());
}
