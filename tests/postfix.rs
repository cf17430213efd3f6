//! The SMTP content filter inside a real Postfix: messages sent with swaks
//! go Postfix → `content_filter` → `sekisho serve --smtp` → Postfix's
//! reinjection `smtpd` → a Maildir, and the Maildir copies are checked.
//!
//! Each test starts its own Postfix on loopback ports with a throwaway
//! config folder (`postfix -c DIR`), virtual delivery to a Maildir under
//! it, and stops it at the end. Postfix needs root to start; without root,
//! postfix or swaks the tests skip, unless `SEKISHO_REQUIRE_ORACLES=1`.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::mail::{inspect, japanese_message};
use common::{SmtpFilter, free_port, kit, tool_with, within};
use kit::missing_oracle;

/// Whether Postfix and swaks can run here.
fn available() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        return missing_oracle("root (Postfix starts as root)");
    }
    Path::new(POSTFIX).exists() || missing_oracle("postfix")
}

/// Postfix's command, by its path: /usr/sbin is not on every PATH.
const POSTFIX: &str = "/usr/sbin/postfix";

/// One Postfix instance: `inbound` takes mail (and hands it to the
/// filter), `back` is the reinjection port without a filter.
struct Postfix {
    dir: tempfile::TempDir,
    inbound: u16,
    back: u16,
}

impl Postfix {
    fn start(filter: u16) -> Postfix {
        let dir = tempfile::Builder::new().prefix("sekisho-postfix").tempdir().unwrap();
        let d = dir.path().to_path_buf();
        for sub in ["etc", "queue", "data", "mail", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Delivery runs as nobody; the master's lock file is postfix's.
        chown("65534:65534", &d.join("mail"));
        chown("postfix", &d.join("data"));
        let mut postfix = Postfix { inbound: 0, back: 0, dir };
        let main_cf = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {d}/queue\n\
             data_directory = {d}/data\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             myhostname = mx.sekisho.test\n\
             mydestination =\n\
             mynetworks = 127.0.0.0/8\n\
             virtual_mailbox_domains = example.test\n\
             virtual_mailbox_base = {d}/mail\n\
             virtual_mailbox_maps = static:inbox/\n\
             virtual_uid_maps = static:65534\n\
             virtual_gid_maps = static:65534\n\
             virtual_minimum_uid = 100\n\
             maillog_file = {d}/log/maillog\n\
             maillog_file_prefixes = {d}\n\
             smtpd_recipient_restrictions = permit_mynetworks, reject\n\
             smtputf8_enable = yes\n\
             alias_maps =\n\
             alias_database =\n\
             biff = no\n\
             # Retry deferred mail within seconds, not minutes.\n\
             minimal_backoff_time = 1s\n\
             maximal_backoff_time = 2s\n\
             queue_run_delay = 1s\n\
             {content_filter}\n",
            d = d.display(),
            content_filter = readme_line("content_filter = ").replace("10025", &filter.to_string()),
        );
        std::fs::write(d.join("etc/main.cf"), main_cf).unwrap();
        // A free port can be taken by a test running beside this one before
        // Postfix binds it: then again, on other ports.
        for attempt in 1.. {
            (postfix.inbound, postfix.back) = (free_port(), free_port());
            postfix.write_master_cf(true);
            postfix.run(&["check"]);
            let started = Command::new(POSTFIX).arg("-c").arg(postfix.config()).arg("start").output().expect("postfix");
            if started.status.success() {
                break;
            }
            let taken = postfix.log().contains("Address already in use");
            assert!(
                taken && attempt < 5,
                "postfix start: {}\n{}",
                String::from_utf8_lossy(&started.stderr),
                postfix.log()
            );
        }
        postfix
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    /// master.cf: the inbound `smtpd`, the filter transport, and the
    /// reinjection `smtpd` when `reinjection` (taken away to stop the next hop).
    fn write_master_cf(&self, reinjection: bool) {
        // The filter's two lines as the README gives them, on this test's ports.
        let mut services =
            vec![format!("127.0.0.1:{} inet n - n - - smtpd", self.inbound), readme_line("sekisho unix ")];
        if reinjection {
            services.push(readme_line("127.0.0.1:10026 inet ").replace("10026", &self.back.to_string()));
        }
        for base in [
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ] {
            services.push(base.to_owned());
        }
        std::fs::write(self.config().join("master.cf"), services.join("\n") + "\n").unwrap();
    }

    fn run(&self, args: &[&str]) {
        let out = Command::new(POSTFIX).arg("-c").arg(self.config()).args(args).output().expect("postfix");
        assert!(out.status.success(), "postfix {args:?}: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log());
    }

    /// Stops or starts the next hop (the reinjection port).
    fn reinjection(&self, on: bool) {
        self.write_master_cf(on);
        self.run(&["reload"]);
        let up =
            within(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", self.back)).is_ok() == on).is_some();
        assert!(up, "the reinjection port did not turn {}", if on { "on" } else { "off" });
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/maillog")).unwrap_or_default()
    }

    /// Delivered messages (Maildir `new`).
    fn delivered(&self) -> Vec<PathBuf> {
        let new = self.dir.path().join("mail/inbox/new");
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(new).map_or(Vec::new(), |d| d.map(|e| e.unwrap().path()).collect());
        // In delivery order: Maildir names start with the second, then the
        // device and inode before the microseconds, so two messages of the
        // same second do not sort by name.
        files.sort_by_key(|path| (std::fs::metadata(path).and_then(|m| m.modified()).ok(), path.clone()));
        files
    }

    /// Waits until `count` messages are delivered (then a little longer,
    /// to see a duplicate if one were coming) and returns them.
    fn wait_delivered(&self, count: usize, timeout: Duration) -> Vec<PathBuf> {
        let reached = within(timeout, || self.delivered().len() >= count).is_some();
        assert!(reached, "{} of {count} messages delivered\n{}", self.delivered().len(), self.log());
        std::thread::sleep(Duration::from_millis(500));
        self.delivered()
    }

    /// Waits for `count` delivered messages as [`Postfix::wait_delivered`]
    /// does, asking Postfix every second to retry its deferred mail (a
    /// message deferred while its delivery was still being recorded can
    /// wait for the scheduler longer than the test should).
    fn wait_delivered_retrying(&self, count: usize, timeout: Duration) -> Vec<PathBuf> {
        let mut asked = Instant::now();
        let reached = within(timeout, || {
            if asked.elapsed() >= Duration::from_secs(1) {
                self.run(&["flush"]);
                asked = Instant::now();
            }
            self.delivered().len() >= count
        });
        assert!(reached.is_some(), "{} of {count} messages delivered\n{}", self.delivered().len(), self.log());
        std::thread::sleep(Duration::from_millis(500));
        self.delivered()
    }

    /// Sends one message with swaks to the inbound port.
    fn swaks(&self, to: &str, message: &[u8]) {
        let mut child = Command::new("swaks")
            .args(["--server", &format!("127.0.0.1:{}", self.inbound), "--from", "sender@sender.test", "--to", to])
            .args(["--data", "-", "--silent", "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("swaks");
        child.stdin.take().unwrap().write_all(message).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "swaks: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new(POSTFIX).arg("-c").arg(self.config()).arg("abort").output();
    }
}

/// The line of the README's Postfix section that starts with `start`.
fn readme_line(start: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let line = readme.lines().map(str::trim).find(|l| l.starts_with(start));
    line.unwrap_or_else(|| panic!("the README has no line starting with {start:?}")).to_owned()
}

fn chown(owner: &str, path: &Path) {
    let out = Command::new("chown").arg(owner).arg(path).output().expect("chown");
    assert!(out.status.success(), "chown {owner}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `sekisho serve` with the SMTP filter on `port`, reinjecting to Postfix's `back` port.
fn start_filter(port: u16, back: u16, extra: &[&str]) -> SmtpFilter {
    SmtpFilter::start(port, SocketAddr::from(([127, 0, 0, 1], back)), extra)
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// An executable (ELF header) attached to a short message.
fn message_with_executable() -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(512, 0);
    kit::fixtures::eml_with_attachment("Tool", "Run the attached tool.", "tool.exe", "application/octet-stream", &elf)
}

#[test]
fn postfix_delivers_rebuilt_mail_through_the_filter() {
    if !available() || !tool_with("swaks", "--version") || !tool_with("python3", "--version") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // HTML mail becomes plain text.
    let policy = work.path().join("text-mail.toml");
    std::fs::write(&policy, "extends = \"strict\"\n[options]\nhtml-mode = \"text\"\n").unwrap();
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let _filter = start_filter(filter_port, postfix.back, &["--policy", policy.to_str().unwrap()]);

    // 1. Japanese ISO-2022-JP mail with an HTML part and a macro .docm.
    let docm = work.path().join("report.docm");
    std::fs::write(&docm, kit::office::docm("報告書の本文")).unwrap();
    postfix.swaks("tanaka@example.test", &japanese_message(&docm));
    let delivered = postfix.wait_delivered(1, Duration::from_secs(60));
    let first = &delivered[0];
    let found = &inspect(&[first.as_path()])[first.to_str().unwrap()];
    assert_eq!(found["defects"].as_array().unwrap().len(), 0, "{}", found["defects"]);
    let texts: Vec<&str> = found["texts"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("会議資料をお送りします。")), "{texts:?}");
    let raw = read(first);
    assert!(raw.starts_with("Return-Path: <sender@sender.test>"), "delivered by Postfix: {raw}");
    assert!(raw.contains("X-Sekisho: sanitized; report="), "{raw}");
    assert!(!raw.contains("<script") && !raw.contains("macroEnabled"), "{raw}");
    assert!(raw.contains(".docx"), "the attachment is the rebuilt .docx: {raw}");
    assert_eq!(found["attachments"].as_array().unwrap().len(), 1);

    // 2. An executable attachment: removed, with a note.
    postfix.swaks("tanaka@example.test", &message_with_executable());
    let delivered = postfix.wait_delivered(2, Duration::from_secs(60));
    let second = read(&delivered[1]);
    assert!(second.contains("[Sekisho]") && second.contains("tool.exe"), "the note: {second}");
    let found = &inspect(&[delivered[1].as_path()])[delivered[1].to_str().unwrap()];
    assert_eq!(found["attachments"].as_array().unwrap().len(), 0, "the executable is gone: {second}");

    // 3. A malformed message (a multipart without its boundary, a broken
    // header): still delivered with its readable text.
    let malformed = b"From: a@sender.test\r\nTo: tanaka@example.test\r\nSubject: broken\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"never-used\"\r\nX-Broken header without colon\r\n\r\n\
        The readable text of a broken message.\r\n";
    postfix.swaks("tanaka@example.test", malformed);
    let delivered = postfix.wait_delivered(3, Duration::from_secs(60));
    let third = read(&delivered[2]);
    assert!(third.contains("The readable text of a broken message."), "{third}");
    assert_eq!(delivered.len(), 3, "{}", postfix.log());
}

#[test]
fn a_burst_while_the_next_hop_is_down_is_delivered_once_it_is_back() {
    if !available() || !tool_with("swaks", "--version") {
        return;
    }
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let _filter = start_filter(filter_port, postfix.back, &[]);
    postfix.reinjection(false);
    let sent = 20;
    let mut ids = BTreeSet::new();
    for i in 0..sent {
        let id = format!("<burst-{i}@sender.test>");
        let message = format!(
            "From: a@sender.test\r\nTo: tanaka@example.test\r\nSubject: burst {i}\r\nMessage-ID: {id}\r\n\r\nmessage {i}\r\n"
        );
        postfix.swaks("tanaka@example.test", message.as_bytes());
        ids.insert(id);
    }
    // Postfix keeps them: the filter answers 4xx while the next hop is down.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(postfix.delivered().len(), 0, "delivered without a next hop");
    assert!(postfix.log().contains("status=deferred"), "{}", postfix.log());
    postfix.reinjection(true);
    let delivered = postfix.wait_delivered_retrying(sent, Duration::from_secs(120));
    assert_eq!(delivered.len(), sent, "exactly the messages sent");
    let seen: BTreeSet<String> = delivered
        .iter()
        .map(|path| {
            let text = read(path);
            let line = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or_default();
            line[line.find('<').unwrap_or(0)..].trim().to_owned()
        })
        .collect();
    assert_eq!(seen, ids, "each message once");
}

#[test]
fn a_refused_message_is_bounced_or_replaced_by_a_notice() {
    if !available() || !tool_with("swaks", "--version") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("block-macros.toml");
    std::fs::write(&policy, "extends = \"strict\"\n[classes]\nmacros = \"block\"\n").unwrap();
    let policy = policy.to_str().unwrap();
    let message = kit::fixtures::eml_with_docm();

    // notify: the recipient gets the notice instead, with the report id.
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let filter = start_filter(filter_port, postfix.back, &["--policy", policy, "--smtp-refused", "notify"]);
    postfix.swaks("tanaka@example.test", &message);
    let delivered = postfix.wait_delivered(1, Duration::from_secs(60));
    let notice = read(&delivered[0]);
    assert!(notice.contains("X-Sekisho-Outcome: blocked") && notice.contains("X-Sekisho-Report-Id: "), "{notice}");
    assert!(notice.contains("sender@sender.test") && !notice.contains("multipart"), "no part of the message: {notice}");
    drop(filter);
    drop(postfix);

    // reject: 554, so Postfix bounces it to the sender and delivers nothing.
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let _filter = start_filter(filter_port, postfix.back, &["--policy", policy, "--smtp-refused", "reject"]);
    postfix.swaks("tanaka@example.test", &message);
    let bounced = within(Duration::from_secs(60), || postfix.log().contains("status=bounced")).is_some();
    assert!(bounced, "{}", postfix.log());
    assert!(postfix.log().contains("Refused by Sekisho: blocked"), "{}", postfix.log());
    assert!(postfix.delivered().is_empty());
}

/// A message listing people with their mail addresses and phone numbers,
/// which the outbound audit holds.
const PERSONAL_LIST: &str = "From: sender@sender.test\r\nTo: tanaka@example.test\r\nSubject: contact list\r\n\r\n\
    Tanaka Taro, tanaka@example.jp, 090-1234-5678\r\nSuzuki Hanako, suzuki@example.jp, 090-2345-6789\r\n\
    Sato Jiro, sato@example.jp, 090-3456-7890\r\nTakahashi Yumi, takahashi@example.jp, 090-4567-8901\r\n";

#[test]
fn a_message_the_audit_holds_reaches_the_maildir_once_approved() {
    if !available() || !tool_with("swaks", "--version") || !tool_with("curl", "--version") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let tokens = work.path().join("tokens");
    std::fs::write(&tokens, "postmaster:postmaster-token-0123:approver\n").unwrap();
    let spool = work.path().join("spool");
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let args = ["--profile", "outbound", "--smtp-refused", "hold", "--spool", spool.to_str().unwrap()];
    let filter =
        start_filter(filter_port, postfix.back, &[&args[..], &["--token-file", tokens.to_str().unwrap()]].concat());
    postfix.swaks("tanaka@example.test", PERSONAL_LIST.as_bytes());
    let record = || {
        let records = std::fs::read_dir(&spool).ok()?;
        records.filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "json"))
    };
    let held = within(Duration::from_secs(60), || record().is_some());
    assert!(held.is_some(), "nothing held\n{}", postfix.log());
    let record = record().unwrap();
    let id = record.file_stem().unwrap().to_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_secs(1));
    assert!(postfix.delivered().is_empty(), "held, not delivered");
    assert!(postfix.log().contains("held for approval"), "Postfix handed it over: {}", postfix.log());

    let approved = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60", "-X", "POST"])
        .args(["-H", "Authorization: Bearer postmaster-token-0123"])
        .arg(format!("http://{}/v1/holds/{id}/approve", filter.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&approved.stdout), "200");
    let delivered = postfix.wait_delivered(1, Duration::from_secs(60));
    assert_eq!(delivered.len(), 1, "delivered once");
    let message = read(&delivered[0]);
    assert!(message.contains("X-Sekisho: held; report=") && message.contains("Subject: contact list"), "{message}");
}

/// Messages per second through Postfix alone and through Postfix with the
/// filter, in one run (printed; the test checks the counts, not the time).
#[test]
fn throughput_through_postfix_with_and_without_the_filter() {
    if !available() {
        return;
    }
    let messages = 200;
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let _filter = start_filter(filter_port, postfix.back, &[]);
    let message = b"From: a@sender.test\r\nTo: tanaka@example.test\r\nSubject: load\r\n\r\nsome text\r\n";
    // Without the filter: straight into the reinjection port.
    let timed = |port: u16, total: usize| {
        let started = Instant::now();
        // Four clients at once, so Postfix's own fsync per message is not
        // all that is measured.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| send_many(port, messages / 4, message));
            }
        });
        let reached = within(Duration::from_secs(300), || postfix.delivered().len() >= total).is_some();
        assert!(reached, "{} of {total} delivered\n{}", postfix.delivered().len(), postfix.log());
        started.elapsed()
    };
    let plain = timed(postfix.back, messages);
    // With it: into the inbound port.
    let filtered = timed(postfix.inbound, 2 * messages);
    assert_eq!(postfix.wait_delivered(2 * messages, Duration::from_secs(5)).len(), 2 * messages);
    let rate = |d: Duration| messages as f64 / d.as_secs_f64();
    eprintln!(
        "postfix alone: {:.1} messages/s; postfix -> sekisho -> postfix: {:.1} messages/s; ratio {:.2}",
        rate(plain),
        rate(filtered),
        filtered.as_secs_f64() / plain.as_secs_f64()
    );
}

/// Sends `count` messages on one SMTP connection.
fn send_many(port: u16, count: usize, message: &[u8]) {
    use std::io::{BufRead, BufReader};
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let expect = |reader: &mut BufReader<TcpStream>, code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "expected {code}: {line}");
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    expect(&mut reader, "220");
    writer.write_all(b"EHLO load.test\r\n").unwrap();
    expect(&mut reader, "250");
    for _ in 0..count {
        writer.write_all(b"MAIL FROM:<a@sender.test>\r\n").unwrap();
        expect(&mut reader, "250");
        writer.write_all(b"RCPT TO:<tanaka@example.test>\r\n").unwrap();
        expect(&mut reader, "250");
        writer.write_all(b"DATA\r\n").unwrap();
        expect(&mut reader, "354");
        writer.write_all(message).unwrap();
        writer.write_all(b".\r\n").unwrap();
        expect(&mut reader, "250");
    }
    writer.write_all(b"QUIT\r\n").unwrap();
}

/// The PPAP password of the tests (the issue's example).
const PPAP_PASSWORD: &str = "Tk9#xq2";

/// Mail 1 of PPAP: `見積書.zip`, AES-256 with [`PPAP_PASSWORD`], holding a
/// macro workbook `見積書.xlsm`.
fn ppap_first_mail() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let workbook = kit::office::workbook(&["見積金額", "1000000"], true);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_aes_encryption(zip::AesMode::Aes256, PPAP_PASSWORD);
    zip.start_file("見積書.xlsm", options).unwrap();
    zip.write_all(&workbook).unwrap();
    let archive = zip.finish().unwrap().into_inner();
    let message = kit::fixtures::eml_with_attachment(
        "見積書の送付",
        "パスワード付きZIPファイルを送ります。パスワードは別途お送りします。",
        "見積書.zip",
        "application/zip",
        &archive,
    );
    String::from_utf8(message).unwrap().replace("fixture-1@example.jp", "ppap-1@sender.test").into_bytes()
}

/// Mail 2 of PPAP: the password.
fn ppap_password_mail() -> Vec<u8> {
    format!(
        "From: Sender <sender@sender.test>\r\nTo: tanaka@example.test\r\nSubject: =?UTF-8?B?44CQ44OR44K544Ov44O844OJ44CR?=\r\n\
         Message-ID: <ppap-2@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n田中様\r\n\r\n先ほどのファイルのパスワード：{PPAP_PASSWORD}\r\n\r\nよろしくお願いいたします。\r\n"
    )
    .into_bytes()
}

/// Python's view of the zip attachments of a message: per zip, each
/// member's name and whether it is encrypted.
const ZIP_MEMBERS: &str = r#"
import sys, io, json, zipfile, email, email.policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
out = []
for part in m.walk():
    payload = part.get_payload(decode=True) if not part.is_multipart() else None
    if payload and payload[:2] == b"PK":
        z = zipfile.ZipFile(io.BytesIO(payload))
        out.append([[i.filename, bool(i.flag_bits & 1)] for i in z.infolist()])
print(json.dumps(out))
"#;

fn zip_members(message: &Path) -> serde_json::Value {
    let out = Command::new("python3").args(["-c", ZIP_MEMBERS]).arg(message).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The message with `Message-ID: <id>` among the delivered ones.
fn delivered_with_id(postfix: &Postfix, id: &str) -> Option<PathBuf> {
    postfix.delivered().into_iter().find(|path| read(path).contains(&format!("Message-ID: <{id}>")))
}

/// What the filter printed, its audit log and every delivered message
/// must not hold the password.
fn assert_password_nowhere(postfix: &Postfix, filter: &SmtpFilter, work: &Path) {
    let log = String::from_utf8_lossy(&filter.log.lock().unwrap()).into_owned();
    assert!(log.contains("sekisho: SMTP filter on"), "the log was kept: {log}");
    assert!(!log.contains(PPAP_PASSWORD), "the password in the filter's log: {log}");
    // Raw and decoded: a body may be base64.
    for path in postfix.delivered() {
        assert!(!read(&path).contains(PPAP_PASSWORD), "the password in {}: {}", path.display(), read(&path));
        let texts = inspect(&[path.as_path()])[path.to_str().unwrap()]["texts"].to_string();
        assert!(!texts.contains(PPAP_PASSWORD), "the password in the text of {}: {texts}", path.display());
    }
    let audit = std::fs::read_to_string(work.join("audit.jsonl")).unwrap_or_default();
    assert!(!audit.is_empty(), "an audit log was written");
    assert!(!audit.contains(PPAP_PASSWORD), "the password in the audit log: {audit}");
    assert!(!postfix.log().contains(PPAP_PASSWORD), "the password in Postfix's log");
}

/// Postfix and a filter whose policy tries passwords, with a PPAP window
/// of `window_s` seconds and an audit log at `work/audit.jsonl`; `None`
/// when Postfix, swaks or Python are missing.
fn ppap_gateway(work: &Path, window_s: &str) -> Option<(SmtpFilter, Postfix)> {
    if !available() || !tool_with("swaks", "--version") || !tool_with("python3", "--version") {
        return None;
    }
    let policy = work.join("ppap.toml");
    std::fs::write(&policy, "extends = \"strict\"\nencrypted = \"try-passwords\"\n").unwrap();
    let audit = work.join("audit.jsonl");
    let filter_port = free_port();
    let postfix = Postfix::start(filter_port);
    let args = ["--policy", policy.to_str().unwrap(), "--ppap-window-s", window_s, "--audit", audit.to_str().unwrap()];
    let filter = start_filter(filter_port, postfix.back, &args);
    Some((filter, postfix))
}

#[test]
fn ppap_the_password_mail_opens_the_first_and_is_delivered_masked() {
    let work = tempfile::tempdir().unwrap();
    let Some((filter, postfix)) = ppap_gateway(work.path(), "60") else { return };
    postfix.swaks("tanaka@example.test", &ppap_first_mail());
    // It waits in Postfix's queue for its password.
    let deferred = within(Duration::from_secs(30), || postfix.log().contains("PPAP")).is_some();
    assert!(deferred, "{}", postfix.log());
    assert!(postfix.delivered().is_empty());
    postfix.swaks("tanaka@example.test", &ppap_password_mail());
    let delivered = postfix.wait_delivered_retrying(2, Duration::from_secs(60));
    assert_eq!(delivered.len(), 2, "{}", postfix.log());
    let password_mail = delivered_with_id(&postfix, "ppap-2@sender.test").expect("the password mail");
    let texts = inspect(&[password_mail.as_path()])[password_mail.to_str().unwrap()]["texts"].to_string();
    assert!(texts.contains("先ほどのファイルのパスワード"), "the line is kept, its password masked: {texts}");
    let first = delivered_with_id(&postfix, "ppap-1@sender.test").expect("the first mail");
    let zips = zip_members(&first);
    let members = zips[0].as_array().unwrap_or_else(|| panic!("no zip attachment: {}", read(&first)));
    assert_eq!(members.len(), 1, "{zips}");
    assert!(members[0][0].as_str().unwrap().ends_with(".xlsx"), "the workbook is rebuilt: {zips}");
    assert_eq!(members[0][1], false, "the zip is no longer encrypted: {zips}");
    let audit_text = std::fs::read_to_string(work.path().join("audit.jsonl")).unwrap();
    assert!(audit_text.contains("password from: mail"), "{audit_text}");
    assert_password_nowhere(&postfix, &filter, work.path());
}

#[test]
fn ppap_without_the_password_mail_the_attachment_is_removed_when_the_window_ends() {
    let work = tempfile::tempdir().unwrap();
    let Some((filter, postfix)) = ppap_gateway(work.path(), "4") else { return };
    postfix.swaks("tanaka@example.test", &ppap_first_mail());
    let delivered = postfix.wait_delivered_retrying(1, Duration::from_secs(60));
    let message = read(&delivered[0]);
    assert!(postfix.log().contains("PPAP"), "it waited first: {}", postfix.log());
    assert!(zip_members(&delivered[0]).as_array().unwrap().is_empty(), "no zip left: {message}");
    let texts = inspect(&[delivered[0].as_path()])[delivered[0].to_str().unwrap()]["texts"].to_string();
    assert!(texts.contains("[Sekisho]") && texts.contains("見積書.zip"), "the note: {texts}");
    assert_password_nowhere(&postfix, &filter, work.path());
}
