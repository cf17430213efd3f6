//! The routes an attacker picks through the gateway (issue #13), one test
//! per route, each against the real `sekisho serve` on loopback, driven with
//! raw sockets. Every test bounds its own time (deadlines, no open-ended
//! waits) and its own resources (a fixed number of sockets).
//!
//! Self-contained on purpose: the helpers below are this file's own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The server.

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cache_dir() -> PathBuf {
    root().join("target").join("sekisho-test-cache")
}

/// `sekisho serve` on loopback ports, killed when dropped.
struct Server {
    child: Child,
    http: SocketAddr,
    icap: Option<SocketAddr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a start ended: running, or exited with its standard error.
enum Started {
    Running(Server),
    Exited(String),
}

/// Starts the server with HTTP on 127.0.0.1:0 and `args`; `env` is added,
/// `SEKISHO_TOKEN` removed unless given.
fn launch(args: &[&str], env: &[(&str, &str)]) -> Started {
    raise_open_files_limit();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sekisho"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_TOKEN")
        .env_remove("SEKISHO_PLUGINS_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start sekisho serve");
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("server: {line}");
            let _ = lines.send(line);
        }
    });
    let wants_icap = args.contains(&"--icap");
    let (mut http, mut icap, mut text) = (None, None, String::new());
    // The first start compiles the plugins into the cache.
    let deadline = Instant::now() + Duration::from_secs(300);
    while http.is_none() || (wants_icap && icap.is_none()) {
        match received.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(address) = line.strip_prefix("sekisho: HTTP API on http://") {
                    http = Some(address.parse().unwrap());
                } else if let Some(address) = line.strip_prefix("sekisho: ICAP on icap://") {
                    icap = Some(address.parse().unwrap());
                }
                text.push_str(&line);
                text.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                return Started::Exited(text);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().unwrap().is_some() {
                    // Let the reader drain what is left.
                    while let Ok(line) = received.recv_timeout(Duration::from_millis(500)) {
                        text.push_str(&line);
                        text.push('\n');
                    }
                    return Started::Exited(text);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("the server did not start in time: {text}");
                }
            }
        }
    }
    Started::Running(Server { child, http: http.unwrap(), icap })
}

/// The tests hold hundreds of sockets at once, two tests at a time: the
/// soft limit on descriptors (often 1024) is raised to the hard one.
fn raise_open_files_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: getrlimit/setrlimit on a local struct.
    ONCE.call_once(|| unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    });
}

fn start(args: &[&str]) -> Server {
    start_with(args, &[])
}

fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
    match launch(args, env) {
        Started::Running(server) => server,
        Started::Exited(text) => panic!("the server exited: {text}"),
    }
}

impl Server {
    fn icap(&self) -> SocketAddr {
        self.icap.expect("started with --icap")
    }

    /// Peak resident memory (VmHWM), in KiB.
    fn peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// One value of `/metrics`, by its full series name.
    fn metric(&self, series: &str) -> Option<f64> {
        let answer = http(self.http, &get_request("/metrics", &[]));
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

// ---------------------------------------------------------------------------
// HTTP over raw sockets.

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    stream
}

fn get_request(path: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn post_request(path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Sends one request (with `Connection: close`) and reads the answer.
fn http(address: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = connect(address);
    // A server may answer (413, 503) and stop reading before the body is
    // all sent: the answer is what counts.
    let sent = stream.write_all(request);
    read_http(&mut stream).unwrap_or_else(|e| panic!("no HTTP answer ({sent:?}): {e}"))
}

/// Reads one HTTP/1.1 answer (Content-Length, chunked or up to the close).
fn read_http(stream: &mut TcpStream) -> Result<Answer, String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or(format!("status line {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or("a header without colon")?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut answer = Answer { status, headers, body: Vec::new() };
    if let Some(length) = answer.header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        answer.body.resize(length, 0);
        reader.read_exact(&mut answer.body).map_err(|e| e.to_string())?;
    } else if answer.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).map_err(|e| e.to_string())?;
            let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
            if size == 0 {
                break;
            }
            answer.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let _ = reader.read_to_end(&mut answer.body);
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------
// ICAP over raw sockets.

#[derive(Debug)]
struct IcapAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    head: String,
    body: Option<Vec<u8>>,
}

impl IcapAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn http_header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn read_icap(stream: &mut TcpStream) -> Result<IcapAnswer, String> {
    let mut reader = BufReader::new(stream);
    let read_line = |reader: &mut BufReader<&mut TcpStream>| -> Result<String, String> {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => Err("closed".to_owned()),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
            Err(e) => Err(e.to_string()),
        }
    };
    let status_line = read_line(&mut reader)?;
    let status = status_line
        .strip_prefix("ICAP/1.0 ")
        .and_then(|s| s.get(..3)?.parse().ok())
        .ok_or(format!("not an ICAP answer: {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or("a header without colon")?;
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut answer = IcapAnswer { status, headers, head: String::new(), body: None };
    let Some(encapsulated) = answer.header("Encapsulated").map(str::to_owned) else {
        return Ok(answer);
    };
    let entries: Vec<(String, usize)> = encapsulated
        .split(',')
        .filter_map(|e| e.trim().split_once('='))
        .map(|(name, offset)| (name.to_owned(), offset.parse().unwrap_or(0)))
        .collect();
    let (last, head_len) = entries.last().cloned().ok_or("empty Encapsulated")?;
    let mut head = vec![0; head_len];
    reader.read_exact(&mut head).map_err(|e| e.to_string())?;
    answer.head = String::from_utf8_lossy(&head).into_owned();
    if last != "null-body" {
        let mut body = Vec::new();
        loop {
            let size = read_line(&mut reader)?;
            let size = usize::from_str_radix(size.split(';').next().unwrap_or_default(), 16)
                .map_err(|e| format!("chunk size {size:?}: {e}"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        answer.body = Some(body);
    }
    Ok(answer)
}

fn icap(address: SocketAddr, request: &[u8]) -> IcapAnswer {
    let mut stream = connect(address);
    stream.write_all(request).expect("send the ICAP request");
    read_icap(&mut stream).unwrap_or_else(|e| panic!("no ICAP answer: {e}"))
}

fn options(path: &str) -> Vec<u8> {
    format!("OPTIONS icap://127.0.0.1{path} ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// The ICAP head and encapsulated HTTP heads of a RESPMOD for `data`
/// downloaded from `url` with `content_type`, up to the body.
fn respmod_head(path: &str, url: &str, content_type: &str, length: usize, icap_headers: &[&str]) -> Vec<u8> {
    let req = format!("GET {url} HTTP/1.1\r\nHost: example.test\r\n\r\n");
    let res = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n");
    let mut out = format!("RESPMOD icap://127.0.0.1{path} ICAP/1.0\r\nHost: 127.0.0.1\r\n");
    for header in icap_headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Encapsulated: req-hdr=0, res-hdr={}, res-body={}\r\n\r\n",
        req.len(),
        req.len() + res.len()
    ));
    out.push_str(&req);
    out.push_str(&res);
    out.into_bytes()
}

fn respmod(path: &str, url: &str, content_type: &str, data: &[u8], icap_headers: &[&str]) -> Vec<u8> {
    let mut out = respmod_head(path, url, content_type, data.len(), icap_headers);
    if !data.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

// ---------------------------------------------------------------------------
// Sockets: closed or open, from another loopback address.

/// Whether the peer closed the connection (EOF or reset), without waiting.
fn is_closed(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 256];
    let closed = loop {
        match (&*stream).read(&mut byte) {
            Ok(0) => break true,
            // An error answer before the close: keep reading.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

/// Polls until `done` or the deadline; returns the time it took, if done.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if done() {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP connection from a chosen loopback source address (the whole of
/// 127.0.0.0/8 is this machine's).
fn connect_from(source: Ipv4Addr, target: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(target) = target else { panic!("IPv4 only") };
    let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; it is
    // closed on error or handed to TcpStream, which owns it from then on.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let local = sockaddr(source, 0);
        let remote = sockaddr(*target.ip(), target.port());
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), length) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), length) != 0
        {
            let error = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(error);
        }
        let stream = TcpStream::from_raw_fd(fd);
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(stream)
    }
}

/// Writes `bytes` one at a time every `pause` from a thread, until the
/// server closes the connection or `limit` passes; the thread answers the
/// time at which the connection was found closed.
fn trickle(
    mut stream: TcpStream,
    bytes: Vec<u8>,
    pause: Duration,
    limit: Duration,
) -> std::thread::JoinHandle<Option<Duration>> {
    std::thread::spawn(move || {
        let started = Instant::now();
        stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        for byte in bytes.iter().cycle() {
            if started.elapsed() > limit {
                return None;
            }
            if stream.write_all(&[*byte]).is_err() || is_closed(&stream) {
                return Some(started.elapsed());
            }
            std::thread::sleep(pause);
        }
        None
    })
}

// ---------------------------------------------------------------------------
// Fixtures.

/// A macro-enabled Word document: `word/vbaProject.bin` referenced from the
/// document part.
fn docm() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    let parts: [(&str, &[u8]); 5] = [
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
        ),
        (
            "word/document.xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Quarterly figures</w:t></w:r></w:p></w:body></w:document>"#,
        ),
        (
            "word/_rels/document.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>"#,
        ),
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not really a VBA project, but named as one"),
    ];
    for (name, data) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP package");
    (0..archive.len())
        .map(|i| archive.by_index(i).expect("a member").name().map(|n| n.into_owned()).unwrap_or_default())
        .collect()
}

/// An HTML page in ISO-2022-JP (日本語), its charset declared in a meta tag.
fn html_iso_2022_jp() -> Vec<u8> {
    let mut page =
        b"<!DOCTYPE html><html><head><meta charset=\"iso-2022-jp\"><title>t</title></head><body><p>".to_vec();
    page.extend_from_slice(b"\x1b$BF|K\\8l\x1b(B");
    page.extend_from_slice(b"</p></body></html>\n");
    page
}

/// A ZIP of many small text members: each goes through its own sandbox,
/// so the file takes a while to decide.
fn slow_zip(members: usize) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..members {
        zip.start_file(format!("notes/{i:05}.txt"), options).unwrap();
        zip.write_all(format!("note {i}: nothing to see here\n").as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn clean_csv() -> Vec<u8> {
    b"item,amount\npens,3\npaper,12\n".to_vec()
}

// ---------------------------------------------------------------------------
// Route 3: the charset of the rebuilt bytes, on HTTP and ICAP.

fn charset_is_utf8(content_type: &str) -> bool {
    content_type.split(';').skip(1).any(|p| {
        p.trim().split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("charset") && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    })
}

#[test]
fn route03_http_text_answers_carry_the_utf8_charset_and_nosniff() {
    let server = start(&[]);
    for (name, data, kind) in [
        ("page.html", html_iso_2022_jp(), "text/html"),
        ("table.csv", clean_csv(), "text/csv"),
        ("notes.txt", "メモ\n".as_bytes().to_vec(), "text/plain"),
    ] {
        let answer = http(server.http, &post_request(&format!("/v1/sanitize?name={name}"), &[], &data));
        assert_eq!(answer.status, 200, "{name}: {}", answer.text());
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with(kind), "{name}: {content_type}");
        assert!(charset_is_utf8(content_type), "{name}: the rebuilt UTF-8 is sent as {content_type:?}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{name}: {:?}", answer.headers);
        if name == "page.html" {
            assert!(answer.text().contains("日本語"), "{}", answer.text());
        }
    }
    // The API's own text says its charset too.
    for path in ["/metrics", "/v1/policy", "/v1/plugins", "/healthz", "/readyz"] {
        let answer = http(server.http, &get_request(path, &[]));
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(charset_is_utf8(content_type), "{path}: {content_type:?}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    // Every delivered file, binary too, is not to be sniffed.
    let answer = http(server.http, &post_request("/v1/sanitize?name=in.docm", &[], &docm()));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn route03_icap_replaces_a_foreign_charset_and_gives_no_204_for_it() {
    let server = start(&["--icap", "127.0.0.1:0"]);
    // The origin says ISO-2022-JP; the rebuilt page is UTF-8.
    let page = html_iso_2022_jp();
    let answer = icap(
        server.icap(),
        &respmod("/respmod", "http://example.test/p.html", "text/html; charset=ISO-2022-JP", &page, &["Allow: 204"]),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let content_type = answer.http_header("Content-Type").unwrap_or_default();
    assert!(content_type.starts_with("text/html") && charset_is_utf8(content_type), "{content_type:?}");
    assert_eq!(answer.http_header("X-Content-Type-Options"), Some("nosniff"), "{}", answer.head);
    assert!(String::from_utf8_lossy(answer.body.as_deref().unwrap()).contains("日本語"));

    // Clean ASCII bytes declared UTF-7: unchanged by the rebuild, but a 204
    // would hand the origin's charset to the browser.
    let utf7 = b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-\n";
    for declared in ["text/plain; charset=utf-7", "text/plain"] {
        let answer =
            icap(server.icap(), &respmod("/respmod", "http://example.test/n.txt", declared, utf7, &["Allow: 204"]));
        assert_eq!(answer.status, 200, "{declared}: 204 lets the origin's charset through: {answer:?}");
        let content_type = answer.http_header("Content-Type").unwrap_or_default();
        assert!(charset_is_utf8(content_type), "{declared}: {content_type:?}");
        assert_eq!(answer.http_header("X-Content-Type-Options"), Some("nosniff"));
    }
}

// ---------------------------------------------------------------------------
// Route 7: a client's profile can only tighten the operator's policy.

fn gateway_policy(dir: &Path) -> PathBuf {
    let path = dir.join("gw.toml");
    std::fs::write(&path, "name = \"gw\"\nextends = \"strict\"\n[limits]\nmax-input-bytes = 1048576\n").unwrap();
    path
}

#[test]
fn route07_a_profile_the_operator_did_not_allow_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let policy = gateway_policy(work.path());
    let server = start(&["--policy", policy.to_str().unwrap(), "--icap", "127.0.0.1:0"]);
    let answer = http(server.http, &post_request("/v1/sanitize?name=in.docm&profile=keep-macros", &[], &docm()));
    let macros_kept = answer.status == 200 && zip_names(&answer.body).iter().any(|n| n.ends_with("vbaProject.bin"));
    assert!(!macros_kept, "a client kept the macros the operator's policy removes");
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("not allowed"), "{}", answer.text());
    // The server policy's own name is no change.
    let own = http(server.http, &post_request("/v1/sanitize?name=in.docm&profile=gw", &[], &docm()));
    assert_eq!(own.status, 200, "{}", own.text());
    // ICAP: the same rule for the profile in the service URI.
    let answer = icap(
        server.icap(),
        &respmod(
            "/respmod?profile=keep-macros",
            "http://example.test/in.docm",
            "application/vnd.ms-word.document.macroEnabled.12",
            &docm(),
            &[],
        ),
    );
    assert!((400..500).contains(&answer.status), "{answer:?}");
    assert!(answer.header("X-Sekisho-Error").unwrap_or_default().contains("not allowed"), "{answer:?}");
}

#[test]
fn route07_an_allowed_profile_only_tightens() {
    let work = tempfile::tempdir().unwrap();
    let policy = gateway_policy(work.path());
    let server =
        start(&["--policy", policy.to_str().unwrap(), "--allow-profile", "keep-macros", "--allow-profile", "strict"]);
    let answer = http(server.http, &post_request("/v1/sanitize?name=in.docm&profile=keep-macros", &[], &docm()));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let names = zip_names(&answer.body);
    assert!(!names.iter().any(|n| n.ends_with("vbaProject.bin")), "{names:?}");
    let id = answer.header("x-sekisho-report-id").unwrap().to_owned();
    let report = http(server.http, &get_request(&format!("/v1/reports/{id}"), &[]));
    let report: serde_json::Value = serde_json::from_slice(&report.body).unwrap();
    assert_eq!(report["policy"]["name"], "gw+keep-macros", "{report}");
    // Any profile's default limits do not lift the operator's 1 MiB.
    let big = vec![b'a'; 2 << 20];
    let answer = http(server.http, &post_request("/v1/sanitize?name=big.txt&profile=strict", &[], &big));
    assert_eq!(answer.status, 413, "{}", answer.text());
}

// ---------------------------------------------------------------------------
// Route 8: uploads are bounded before they are buffered.

#[test]
fn route08_an_oversized_upload_is_refused_on_its_content_length() {
    let work = tempfile::tempdir().unwrap();
    let policy = gateway_policy(work.path());
    let server = start(&["--policy", policy.to_str().unwrap()]);
    // 300 MiB announced, not one byte sent: the answer must not wait for it.
    let mut stream = connect(server.http);
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /v1/sanitize?name=big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 314572800\r\n\r\n")
        .unwrap();
    let answer = read_http(&mut stream);
    let answer = answer.unwrap_or_else(|e| panic!("no answer before the body after {:?}: {e}", started.elapsed()));
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(started.elapsed() < Duration::from_secs(3));

    // 300 MiB actually sent: the server stops reading and its memory stays low.
    let before = server.peak_kib();
    let mut stream = connect(server.http);
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let head = "POST /v1/sanitize?name=big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 314572800\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let block = vec![b'x'; 1 << 20];
            for _ in 0..300 {
                if stream.write_all(&block).is_err() {
                    return;
                }
            }
        })
    };
    let answer = read_http(&mut stream).expect("an answer");
    assert_eq!(answer.status, 413);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = writer.join();
    let after = server.peak_kib();
    eprintln!("route 8: peak RSS {before} KiB before the 300 MiB upload, {after} KiB after");
    assert!(after < before + 64 * 1024, "peak RSS grew from {before} KiB to {after} KiB");

    // Chunked, so no length to judge by: cut off at the limit while streaming.
    let mut stream = connect(server.http);
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let head = "POST /v1/sanitize?name=big.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let block = vec![b'y'; 1 << 16];
            for _ in 0..(64 * 16) {
                let mut chunk = format!("{:x}\r\n", block.len()).into_bytes();
                chunk.extend_from_slice(&block);
                chunk.extend_from_slice(b"\r\n");
                if stream.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        })
    };
    let answer = read_http(&mut stream).expect("an answer");
    assert_eq!(answer.status, 413, "{}", answer.text());
    let _ = stream.shutdown(Shutdown::Both);
    let _ = writer.join();
    let peak = server.peak_kib();
    assert!(peak < before + 64 * 1024, "peak RSS grew from {before} KiB to {peak} KiB");
}

#[test]
fn route08_the_upload_budget_is_shared_and_answers_503_when_spent() {
    let server = start(&["--upload-budget-mb", "1", "--icap", "127.0.0.1:0"]);
    // One upload announces 900 KiB and sends half: it holds its share.
    let mut holder = connect(server.http);
    holder.write_all(b"POST /v1/sanitize?name=a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 921600\r\n\r\n").unwrap();
    holder.write_all(&vec![b'a'; 460_800]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another of 900 KiB does not fit beside it.
    let answer = http(server.http, &post_request("/v1/sanitize?name=b.txt", &[], &vec![b'b'; 921_600]));
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert!(answer.header("retry-after").is_some(), "{:?}", answer.headers);
    // ICAP draws on the same budget.
    let answer =
        icap(server.icap(), &respmod("/respmod", "http://example.test/c.txt", "text/plain", &vec![b'c'; 921_600], &[]));
    assert_eq!(answer.status, 503, "{answer:?}");
    // Once the first upload ends, there is room again.
    drop(holder);
    let done = within(Duration::from_secs(5), || {
        http(server.http, &post_request("/v1/sanitize?name=b.txt", &[], &vec![b'b'; 921_600])).status == 200
    });
    assert!(done.is_some(), "the budget was not given back");
}

#[test]
fn route08_an_icap_body_has_one_deadline_for_all_of_it() {
    let server = start(&["--icap", "127.0.0.1:0", "--request-timeout-s", "2"]);
    let mut stream = connect(server.icap());
    stream.write_all(&respmod_head("/respmod", "http://example.test/s.txt", "text/plain", 1000, &[])).unwrap();
    // One byte per chunk, every 200 ms: progress, but never the end.
    let cut = trickle(stream, b"1\r\nz\r\n".to_vec(), Duration::from_millis(40), Duration::from_secs(8));
    let cut = cut.join().unwrap();
    let cut = cut.expect("a body trickled in was never cut off");
    assert!(cut < Duration::from_secs(5), "cut off after {cut:?}");
    eprintln!("route 8: ICAP trickled body cut off after {cut:?}");
}

// ---------------------------------------------------------------------------
// Route 10: ICAP off loopback only with an address allow-list.

#[test]
fn route10_icap_off_loopback_needs_an_allow_list() {
    match launch(&["--icap", "0.0.0.0:0"], &[]) {
        Started::Running(server) => {
            drop(server);
            panic!("ICAP listened on every interface with no client allow-list");
        }
        Started::Exited(text) => assert!(text.contains("--icap-allow"), "{text}"),
    }
}

#[test]
fn route10_icap_clients_outside_the_allow_list_are_closed_at_accept() {
    let server = start(&["--icap", "127.0.0.1:0", "--icap-allow", "127.0.0.2/32"]);
    let mut outsider = connect(server.icap());
    let _ = outsider.write_all(&options("/respmod"));
    assert!(read_icap(&mut outsider).is_err(), "an address outside the allow-list was served");
    let mut allowed = connect_from(Ipv4Addr::new(127, 0, 0, 2), server.icap()).expect("connect from 127.0.0.2");
    allowed.write_all(&options("/respmod")).unwrap();
    assert_eq!(read_icap(&mut allowed).unwrap().status, 200);
    let refused = server.metric("sekisho_connections_refused_total{interface=\"icap\",reason=\"address\"}");
    assert_eq!(refused, Some(1.0));
}

// ---------------------------------------------------------------------------
// Route 13: reports belong to their user; tokens are long enough.

#[test]
fn route13_a_report_is_read_by_its_user_and_admins_only() {
    let work = tempfile::tempdir().unwrap();
    let tokens = work.path().join("tokens");
    std::fs::write(
        &tokens,
        "# user:token[:admin]\nalice:alice-0123456789abcdef\nbob:bob-0123456789abcdef0\nroot:root-0123456789abcdef:admin\n",
    )
    .unwrap();
    let server = start(&["--token-file", tokens.to_str().unwrap()]);
    let bearer = |token: &str| format!("Authorization: Bearer {token}");
    let alice = bearer("alice-0123456789abcdef");
    let answer = http(server.http, &post_request("/v1/sanitize?name=t.csv", &[&alice], &clean_csv()));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = answer.header("x-sekisho-report-id").unwrap().to_owned();
    let path = format!("/v1/reports/{id}");
    assert_eq!(http(server.http, &get_request(&path, &[&alice])).status, 200);
    let bob = http(server.http, &get_request(&path, &[&bearer("bob-0123456789abcdef0")]));
    assert_eq!(bob.status, 404, "another user read the report: {}", bob.text());
    assert_eq!(http(server.http, &get_request(&path, &[&bearer("root-0123456789abcdef")])).status, 200);
}

#[test]
fn route13_a_short_sekisho_token_is_refused_at_start() {
    match launch(&[], &[("SEKISHO_TOKEN", "short")]) {
        Started::Running(_) => panic!("the server started with a 5-character SEKISHO_TOKEN"),
        Started::Exited(text) => assert!(text.contains("SEKISHO_TOKEN") && text.contains("16"), "{text}"),
    }
}

// ---------------------------------------------------------------------------
// Route 14: abandoned requests give back their queue place and their slot.

#[test]
fn route14_abandoned_requests_leave_the_queue_and_readyz_tells_the_truth() {
    let server = start(&["--workers", "1", "--queue", "4", "--queue-wait-ms", "20000"]);
    // Near the entry limit, so the running file outlasts the other four
    // arriving even on a loaded machine (3000 members took 260 ms in CI and
    // the first finished before the fifth was queued).
    let slow = slow_zip(9000);
    let timed = Instant::now();
    let first = http(server.http, &post_request("/v1/sanitize?name=slow.zip", &[], &slow));
    let one = timed.elapsed();
    assert_eq!(first.status, 200, "{}", first.text());
    eprintln!("route 14: the slow file takes {one:?}");
    let ready_idle = http(server.http, &get_request("/readyz", &[])).status;

    // One running and four waiting, then every client goes away.
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(server.http);
        stream.write_all(&post_request("/v1/sanitize?name=slow.zip", &[], &slow)).unwrap();
        clients.push(stream);
        std::thread::sleep(Duration::from_millis(10));
    }
    let busy = within(Duration::from_secs(5), || server.metric("sekisho_queue_depth") == Some(4.0));
    assert!(busy.is_some(), "the requests did not queue: {:?}", server.metric("sekisho_queue_depth"));
    // No slot can be had now: not ready.
    let ready_busy = http(server.http, &get_request("/readyz", &[])).status;
    for client in clients {
        let _ = client.shutdown(Shutdown::Both);
    }
    // The one that was running finishes in the background; nothing stays counted.
    let idle = within(one * 3 + Duration::from_secs(5), || {
        server.metric("sekisho_queue_depth") == Some(0.0) && server.metric("sekisho_in_flight") == Some(0.0)
    });
    assert!(
        idle.is_some(),
        "abandoned requests stayed counted: queue {:?}, in flight {:?}",
        server.metric("sekisho_queue_depth"),
        server.metric("sekisho_in_flight")
    );
    let answer = http(server.http, &post_request("/v1/sanitize?name=t.csv", &[], &clean_csv()));
    assert_eq!(answer.status, 200, "an idle server refused a file: {}", answer.text());
    let queued = server.metric("sekisho_abandoned_total{stage=\"queued\"}");
    let running = server.metric("sekisho_abandoned_total{stage=\"running\"}");
    // Every one of the five is counted once. Where each is seen abandoned
    // depends on timing: a waiting request whose client left may take the
    // slot the moment the running one frees it, and be counted as running.
    let (queued, running) = (queued.unwrap_or(0.0), running.unwrap_or(0.0));
    assert_eq!(queued + running, 5.0, "abandoned requests, queued {queued} and running {running}");
    assert!(running >= 1.0, "the request that was running when its client left: {running}");
    let ready_after = http(server.http, &get_request("/readyz", &[])).status;
    assert_eq!((ready_idle, ready_busy, ready_after), (200, 503, 200), "/readyz: idle, busy, idle again");
}

// ---------------------------------------------------------------------------
// Route 15: idle and slow ICAP connections cannot lock clients out.

#[test]
fn route15_idle_and_slow_icap_connections_do_not_lock_out_clients() {
    let server = start(&["--icap", "127.0.0.1:0", "--header-timeout-s", "2", "--idle-timeout-s", "2"]);
    let address = server.icap();
    // 300 sockets that say nothing, from one address...
    let idle: Vec<TcpStream> = (0..300).map(|_| connect(address)).collect();
    // ...and 40 that send their headers at a byte per 100 ms, from another.
    let slow: Vec<_> = (0..40)
        .map(|_| {
            let stream = connect_from(Ipv4Addr::new(127, 0, 0, 3), address).expect("connect from 127.0.0.3");
            trickle(stream, options("/respmod"), Duration::from_millis(100), Duration::from_secs(8))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A client still gets its OPTIONS and its file through, at once.
    let started = Instant::now();
    let mut client = connect_from(Ipv4Addr::new(127, 0, 0, 4), address).unwrap();
    client.write_all(&options("/respmod")).unwrap();
    let answer = read_icap(&mut client).expect("an answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    client
        .write_all(&respmod("/respmod", "http://example.test/t.csv", "text/csv; charset=utf-8", &clean_csv(), &[]))
        .unwrap();
    assert_eq!(read_icap(&mut client).expect("an answer").status, 200);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // Nothing idle or slow outlives the deadlines.
    let closed = within(Duration::from_secs(5), || idle.iter().all(is_closed));
    assert!(closed.is_some(), "{} of 300 idle connections still open", idle.iter().filter(|s| !is_closed(s)).count());
    for handle in slow {
        let cut = handle.join().unwrap().expect("a slow header was never cut off");
        assert!(cut < Duration::from_secs(5), "slow headers cut off only after {cut:?}");
    }
}

// ---------------------------------------------------------------------------
// Route 16: slow headers and idle connections over HTTP.

#[test]
fn route16_http_slow_headers_and_idle_connections_are_cut_off() {
    let server = start(&["--header-timeout-s", "2", "--idle-timeout-s", "2"]);
    let address = server.http;
    let idle: Vec<TcpStream> = (0..600).map(|_| connect(address)).collect();
    let slow: Vec<_> = (0..20)
        .map(|_| {
            let stream = connect_from(Ipv4Addr::new(127, 0, 0, 3), address).expect("connect from 127.0.0.3");
            trickle(stream, get_request("/healthz", &[]), Duration::from_millis(100), Duration::from_secs(8))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let health = http(address, &get_request("/healthz", &[]));
    assert_eq!(health.status, 200);
    let answer = http(address, &post_request("/v1/sanitize?name=t.csv", &[], &clean_csv()));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    let closed = within(Duration::from_secs(5), || idle.iter().all(is_closed));
    assert!(closed.is_some(), "{} of 600 idle connections still open", idle.iter().filter(|s| !is_closed(s)).count());
    for handle in slow {
        let cut = handle.join().unwrap().expect("slow headers were never cut off");
        assert!(cut < Duration::from_secs(5), "slow headers cut off only after {cut:?}");
    }
}

#[test]
fn route16_shutdown_stays_graceful_with_the_own_accept_loop() {
    let mut server = start(&[]);
    let idle = connect(server.http);
    // A file in a sandbox when the stop comes is still answered.
    let mut busy = connect(server.http);
    busy.write_all(&post_request("/v1/sanitize?name=slow.zip", &[], &slow_zip(3000))).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let answer = read_http(&mut busy).expect("the request in flight is answered");
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Sooner than the header timeout (10 s) that would close the idle one anyway.
    let exited = within(Duration::from_secs(4), || server.child.try_wait().unwrap().is_some());
    assert!(exited.is_some(), "the server did not stop");
    assert!(is_closed(&idle), "an idle connection outlived the server");
}
