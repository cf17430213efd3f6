//! The approval workflow of `sekisho serve --spool`: the real server on a
//! loopback port, driven with curl. A file the personal-information audit
//! holds waits in the spool, rebuilt; an approver of the submitter's group
//! decides; the submitter downloads it. Every step is an audit line, and no
//! full value of a finding is written anywhere but the held file itself.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";
const CAROL: &str = "carol-token-0123456789";
const ROOT: &str = "root-token-0123456789a";
const DAVE: &str = "dave-token-0123456789a";

/// alice sends (group finance), bob approves finance, carol approves hr,
/// dave is a plain submitter of finance, root is an admin.
const TOKENS: &str = "alice:alice-token-0123456789:submitter:finance\n\
                      bob:bob-token-0123456789ab:approver:finance\n\
                      carol:carol-token-0123456789:approver:hr\n\
                      dave:dave-token-0123456789a:submitter:finance\n\
                      root:root-token-0123456789a:admin\n";

const CONTACTS: &str = "name,mail\nTanaka,tanaka@example.jp\nSuzuki,suzuki@example.jp\nSato,sato@example.jp\n";
const FULL_VALUES: [&str; 3] = ["tanaka@example.jp", "suzuki@example.jp", "sato@example.jp"];

/// A running server, killed when dropped.
struct Server {
    child: Child,
    http: SocketAddr,
    work: tempfile::TempDir,
}

impl Server {
    /// `serve --profile outbound --spool WORK/spool --audit WORK/audit.jsonl` with the tokens above.
    fn start(extra: &[&str]) -> Server {
        let work = tempfile::tempdir().unwrap();
        let tokens = work.path().join("tokens");
        std::fs::write(&tokens, TOKENS).unwrap();
        let spool = work.path().join("spool");
        let audit = work.path().join("audit.jsonl");
        let (child, http) = spawn_server(
            Command::new(env!("CARGO_BIN_EXE_sekisho"))
                .args(["serve", "--listen", "127.0.0.1:0", "--profile", "outbound", "--token-file"])
                .arg(&tokens)
                .arg("--spool")
                .arg(&spool)
                .arg("--audit")
                .arg(&audit)
                .args(extra)
                .env("SEKISHO_CACHE_DIR", cache_dir())
                .env_remove("SEKISHO_TOKEN"),
        );
        Server { child, http, work }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    fn spool(&self) -> PathBuf {
        self.work.path().join("spool")
    }

    fn audit(&self) -> PathBuf {
        self.work.path().join("audit.jsonl")
    }

    /// curl as the user of `token`.
    fn curl(&self, token: &str, args: &[&str], path: &str) -> Reply {
        let auth = format!("Authorization: Bearer {token}");
        let mut all = vec!["-H", &auth];
        all.extend_from_slice(args);
        let url = self.url(path);
        all.push(&url);
        curl(&all)
    }

    /// Sends `file` to `/v1/sanitize?QUERY` as the user of `token`.
    fn submit(&self, token: &str, file: &Path, query: &str) -> Reply {
        let data = format!("@{}", file.display());
        self.curl(
            token,
            &["--data-binary", &data, "-H", "Content-Type: application/octet-stream"],
            &format!("/v1/sanitize?{query}"),
        )
    }

    fn decide(&self, token: &str, id: &str, verb: &str, comment: Option<&str>) -> Reply {
        let body = comment.map(|c| serde_json::json!({ "comment": c }).to_string()).unwrap_or_default();
        self.curl(token, &["-X", "POST", "--data-binary", &body], &format!("/v1/holds/{id}/{verb}"))
    }

    /// Everything the run wrote but the held files themselves: the audit
    /// log and every record in the spool.
    fn written(&self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        let mut text = std::fs::read_to_string(self.audit()).unwrap_or_default();
        for entry in std::fs::read_dir(self.spool()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
        text
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
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn curl(args: &[&str]) -> Reply {
    let out = Command::new("curl").args(["-s", "-i", "--max-time", "60"]).args(args).output().expect("curl");
    let raw = &out.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(&out.stderr)));
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: raw[end + 4..].to_vec() }
}

fn contacts(dir: &Path) -> PathBuf {
    let file = dir.join("contacts.csv");
    std::fs::write(&file, CONTACTS).unwrap();
    file
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn spool_files(spool: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn audit_events(server: &Server) -> Vec<serde_json::Value> {
    std::thread::sleep(Duration::from_millis(300));
    std::fs::read_to_string(server.audit())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l.get("event").is_some())
        .collect()
}

/// submit → 202 held → an approver of the group approves → the submitter
/// downloads the rebuilt file, byte-identical to the engine's output; the
/// submitter cannot approve their own file, an approver of another group
/// does not see it, nobody but the submitter downloads.
#[test]
fn a_held_file_is_approved_then_downloaded() {
    if !tool("curl") {
        return;
    }
    let server = Server::start(&[]);
    let file = contacts(server.work.path());
    let held = server.submit(ALICE, &file, "name=contacts.csv&to=partner-office");
    assert_eq!(held.status, 202, "{}", held.text());
    assert_eq!(held.header("x-sekisho-outcome"), Some("held"));
    let body = held.json();
    let id = body["hold"].as_str().unwrap().to_owned();
    assert_eq!((id.len(), body["status"].as_str()), (32, Some("held")), "{body:#}");
    assert_eq!(body["report"]["outcome"], "held");
    assert_eq!(held.header("location"), Some(format!("/v1/holds/{id}").as_str()));

    // The spool: private folder, private files, the rebuilt bytes.
    let spool = server.spool();
    assert_eq!(mode(&spool), 0o700);
    let bins = spool_files(&spool, "bin");
    assert_eq!(bins, [spool.join(format!("{id}.bin"))]);
    assert_eq!(mode(&bins[0]), 0o600);
    assert_eq!(mode(&spool.join(format!("{id}.json"))), 0o600);

    // Who sees it.
    let status = server.curl(ALICE, &[], &format!("/v1/holds/{id}"));
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["recipient"], "partner-office");
    assert_eq!(status.json()["submitter"], "alice");
    let listed = |token| server.curl(token, &[], "/v1/holds").json().as_array().unwrap().len();
    assert_eq!((listed(ALICE), listed(BOB), listed(ROOT), listed(CAROL), listed(DAVE)), (1, 1, 1, 0, 0));
    assert_eq!(server.curl(CAROL, &[], &format!("/v1/holds/{id}")).status, 404);
    assert_eq!(server.curl(BOB, &[], "/v1/holds/0123").status, 404);

    // Not before approval; nobody decides their own file; outsiders cannot.
    assert_eq!(server.curl(ALICE, &[], &format!("/v1/holds/{id}/file")).status, 409);
    let own = server.decide(ALICE, &id, "approve", None);
    assert_eq!(own.status, 403, "{}", own.text());
    assert!([403, 404].contains(&server.decide(CAROL, &id, "approve", None).status));
    assert!([403, 404].contains(&server.decide(DAVE, &id, "approve", None).status));
    // A comment with a full value is refused, not recorded.
    assert_eq!(server.decide(BOB, &id, "approve", Some("ok for tanaka@example.jp")).status, 400);

    let approved = server.decide(BOB, &id, "approve", Some("取引先への送付を承認 / approved"));
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["status"], "approved");
    assert_eq!(approved.json()["decided_by"], "bob");
    assert_eq!(server.decide(ROOT, &id, "reject", None).status, 409, "decided once");

    // Only the submitter downloads, and gets the engine's bytes.
    assert_eq!(server.curl(BOB, &[], &format!("/v1/holds/{id}/file")).status, 403);
    let download = server.curl(ALICE, &[], &format!("/v1/holds/{id}/file"));
    assert_eq!(download.status, 200);
    let policy = sekisho::policy::Policy::profile("outbound").unwrap();
    let expected = sanitize_bytes(engine(), "contacts.csv", CONTACTS.as_bytes(), &policy);
    assert_eq!(expected.report.outcome, sekisho::report::Outcome::Held);
    assert_eq!(download.body, expected.output.unwrap(), "byte-identical to the engine's output");
    assert!(download.text().contains("tanaka@example.jp"), "the rebuilt CSV keeps its content");
    assert_eq!(download.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(download.header("content-disposition").unwrap().contains("contacts.csv"), "{:?}", download.headers);

    // The audit trail: hold (masked findings), approve (who, comment), download.
    let events = audit_events(&server);
    let steps: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(steps, ["hold", "approve", "download"]);
    assert_eq!(events[0]["user"], "alice");
    assert!(events[0]["findings"].to_string().contains("t***@example.jp"), "{}", events[0]);
    assert_eq!(
        (events[1]["user"].as_str(), events[1]["comment"].as_str()),
        (Some("bob"), Some("取引先への送付を承認 / approved"))
    );
    let written = server.written();
    for value in FULL_VALUES {
        assert!(!written.contains(value), "{value} in {written}");
    }
}

/// Reject deletes the file at once (the record stays); the retention
/// period deletes an undecided one; both are audited.
#[test]
fn reject_and_expiry_leave_no_file() {
    if !tool("curl") {
        return;
    }
    let server = Server::start(&["--hold-retention-s", "2"]);
    let file = contacts(server.work.path());
    let first = server.submit(ALICE, &file, "name=a.csv").json()["hold"].as_str().unwrap().to_owned();
    let rejected = server.decide(ROOT, &first, "reject", Some("not allowed"));
    assert_eq!(rejected.status, 200, "{}", rejected.text());
    assert_eq!(rejected.json()["status"], "rejected");
    assert!(!server.spool().join(format!("{first}.bin")).exists());
    assert!(server.spool().join(format!("{first}.json")).exists(), "the record stays");
    assert_eq!(server.curl(ALICE, &[], &format!("/v1/holds/{first}/file")).status, 410);

    let second = server.submit(DAVE, &file, "name=b.csv").json()["hold"].as_str().unwrap().to_owned();
    assert!(server.spool().join(format!("{second}.bin")).exists());
    let started = Instant::now();
    while server.curl(DAVE, &[], &format!("/v1/holds/{second}")).json()["status"] != "expired" {
        assert!(started.elapsed() < Duration::from_secs(30), "the hold did not expire");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(spool_files(&server.spool(), "bin").is_empty());
    assert_eq!(server.decide(BOB, &second, "approve", None).status, 409);
    let steps: Vec<String> = audit_events(&server).iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect();
    assert_eq!(steps, ["hold", "reject", "hold", "expire"]);
    let written = server.written();
    for value in FULL_VALUES {
        assert!(!written.contains(value), "{value} in {written}");
    }
}

/// A spool folder open to others is refused at start (without `--spool`, a
/// held file still gets 403: `serve.rs`).
#[test]
fn an_open_spool_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("open");
    std::fs::create_dir(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["serve", "--listen", "127.0.0.1:0", "--spool"])
        .arg(&spool)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("open to others"), "{stderr}");
}

/// The approval page: sign in with a token (session cookie), the list with
/// masked findings and Japanese/English labels, forms that need the
/// session's CSRF token; the submitter gets no approve button on their own file.
#[test]
fn the_approval_page_decides_with_a_csrf_token() {
    if !tool("curl") {
        return;
    }
    let server = Server::start(&[]);
    let file = contacts(server.work.path());
    let id =
        server.submit(ALICE, &file, "name=contacts.csv&to=partner-office").json()["hold"].as_str().unwrap().to_owned();
    let signed_in = |token: &str, jar: &Path| {
        let jar = jar.to_str().unwrap().to_owned();
        let login = curl(&["-c", &jar, "--data-urlencode", &format!("token={token}"), &server.url("/holds/login")]);
        assert_eq!(login.status, 303, "{}", login.text());
        curl(&["-b", &jar, &server.url("/holds")])
    };
    assert!(curl(&[&server.url("/holds")]).text().contains("ログイン / Sign in"));
    let alice_jar = server.work.path().join("alice.jar");
    let own = signed_in(ALICE, &alice_jar).text();
    assert!(own.contains("contacts.csv") && own.contains("自分のファイルは承認できません"), "{own}");
    assert!(!own.contains("name=\"csrf\""), "no form on one's own file: {own}");

    let bob_jar = server.work.path().join("bob.jar");
    let page = signed_in(BOB, &bob_jar);
    let html = page.text();
    assert!(page.header("content-security-policy").unwrap().contains("default-src 'none'"));
    assert!(!html.contains("<script"));
    for label in
        ["承認 / Approve", "却下 / Reject", "送信者 / Sender", "宛先 / Recipient", "partner-office", "t***@example.jp"]
    {
        assert!(html.contains(label), "{label} in {html}");
    }
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let jar = bob_jar.to_str().unwrap();
    let action = server.url(&format!("/holds/{id}/approve"));
    let forged = curl(&["-b", jar, "--data", "csrf=0000&comment=x", &action]);
    assert_eq!(forged.status, 403);
    let no_session = curl(&["--data", &format!("csrf={csrf}"), &action]);
    assert_eq!(no_session.status, 401);
    let approved = curl(&[
        "-b",
        jar,
        "--data-urlencode",
        &format!("csrf={csrf}"),
        "--data-urlencode",
        "comment=確認済み",
        &action,
    ]);
    assert_eq!(approved.status, 303, "{}", approved.text());
    let status = server.curl(ALICE, &[], &format!("/v1/holds/{id}")).json();
    assert_eq!((status["status"].as_str(), status["comment"].as_str()), (Some("approved"), Some("確認済み")));
    assert_eq!(server.curl(ALICE, &[], &format!("/v1/holds/{id}/file")).status, 200);
    let written = server.written();
    for value in FULL_VALUES {
        assert!(!written.contains(value), "{value} in {written}");
    }
}
