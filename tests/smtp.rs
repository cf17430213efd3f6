//! The SMTP filter's protocol edges, against a next hop written here that
//! records what reaches it: pipelining, per-recipient answers, size limits,
//! a next hop that is down, and line endings that try to smuggle a second
//! message past the next hop. (Postfix itself: tests/postfix.rs.)

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SmtpFilter, free_port};

/// One transaction the next hop accepted.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

/// A minimal next hop: accepts everything but recipients starting with
/// `nobody` (550), and records each message with its raw DATA bytes.
/// While `down`, it greets with 421 (out of service).
struct NextHop {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl NextHop {
    fn start() -> NextHop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let (record, out_of_service) = (Arc::clone(&received), Arc::clone(&down));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                if out_of_service.load(Ordering::SeqCst) {
                    let _ = stream.write_all(b"421 4.3.2 next.test out of service\r\n");
                    continue;
                }
                let record = Arc::clone(&record);
                std::thread::spawn(move || next_hop_session(stream, &record));
            }
        });
        NextHop { address, received, down }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

fn next_hop_session(stream: TcpStream, record: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let _ = out.write_all(b"220 next.test ESMTP\r\n");
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-next.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            to.clear();
            b"250 2.1.0 Ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if line[8..].trim().starts_with("<nobody") {
                b"550 5.1.1 No such user\r\n"
            } else {
                to.push(line[8..].trim().to_owned());
                b"250 2.1.5 Ok\r\n"
            }
        } else if upper.starts_with("DATA") {
            let _ = out.write_all(b"354 go\r\n");
            // Everything up to the first CRLF.CRLF, as RFC 5321 ends it.
            let mut data = Vec::new();
            let mut byte = [0u8; 1];
            while !data.ends_with(b"\r\n.\r\n") {
                if reader.read(&mut byte).unwrap_or(0) == 0 {
                    return;
                }
                data.push(byte[0]);
            }
            record.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data });
            b"250 2.0.0 Ok: queued\r\n"
        } else if upper.starts_with("RSET") {
            b"250 2.0.0 Ok\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = out.write_all(b"221 Bye\r\n");
            return;
        } else {
            b"500 what\r\n"
        };
        if out.write_all(reply).is_err() {
            return;
        }
    }
}

/// `sekisho serve` with the SMTP filter in front of `next`.
struct Filter(SmtpFilter);

impl Filter {
    fn start(next: SocketAddr, extra: &[&str]) -> Filter {
        Filter(SmtpFilter::start(free_port(), next, extra))
    }

    /// Sends `commands` in one write (pipelined) and reads `replies` replies.
    fn talk(&self, commands: &[u8], replies: usize) -> Vec<String> {
        let stream = TcpStream::connect(self.0.smtp).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        writer.write_all(commands).unwrap();
        // The greeting first, then one reply per command.
        (0..=replies).map(|_| read_reply(&mut reader)).skip(1).collect()
    }
}

/// One reply, its lines joined with `|`.
fn read_reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "closed after {lines:?}");
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line.trim_end().to_owned());
        if last {
            return lines.join("|");
        }
    }
}

const MESSAGE: &str = "From: a@sender.test\r\nTo: b@example.test\r\nSubject: hello\r\n\r\n..a line that starts with a dot\r\nbye\r\n.\r\n";

#[test]
fn pipelined_commands_get_their_answers_in_order_and_recipients_their_own() {
    let next = NextHop::start();
    let filter = Filter::start(next.address, &[]);
    let commands = format!(
        "EHLO mta.test\r\nMAIL FROM:<a@sender.test> SIZE=200\r\nRCPT TO:<b@example.test>\r\n\
         RCPT TO:<nobody@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n{MESSAGE}QUIT\r\n"
    );
    let replies = filter.talk(commands.as_bytes(), 8);
    assert!(replies[0].starts_with("250-") && replies[0].contains("PIPELINING") && replies[0].contains("SMTPUTF8"));
    assert!(replies[0].contains("SIZE ") && replies[0].contains("8BITMIME"), "{}", replies[0]);
    assert!(replies[1].starts_with("250"), "MAIL: {}", replies[1]);
    assert!(replies[2].starts_with("250"), "RCPT b: {}", replies[2]);
    assert!(replies[3].starts_with("550 5.1.1"), "the next hop's own answer for nobody: {}", replies[3]);
    assert!(replies[4].starts_with("250"), "RCPT c: {}", replies[4]);
    assert!(replies[5].starts_with("354"), "{}", replies[5]);
    assert!(replies[6].starts_with("250 2.0.0") && replies[6].contains("report "), "{}", replies[6]);
    assert!(replies[7].starts_with("221"), "{}", replies[7]);
    let received = next.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].from, "<a@sender.test> BODY=8BITMIME");
    assert_eq!(received[0].to, ["<b@example.test>", "<c@example.test>"]);
    let data = String::from_utf8_lossy(&received[0].data);
    assert!(data.starts_with("X-Sekisho: "), "{data}");
    // The dot line was unstuffed on the way in and stuffed again on the way out.
    assert!(data.contains("\r\n..a line that starts with a dot\r\n"), "{data}");
}

#[test]
fn bare_line_endings_cannot_smuggle_a_second_message() {
    let next = NextHop::start();
    let filter = Filter::start(next.address, &[]);
    // A lenient next hop might end the data at "\n.\n" and read the rest as
    // commands; the filter must deliver one message with CRLF everywhere.
    let smuggled = "From: a@sender.test\r\nTo: b@example.test\r\nSubject: s\r\n\r\ntext\n.\nMAIL FROM:<evil@x.test>\n\
                    RCPT TO:<victim@example.test>\nDATA\nsmuggled\r\n.\r\n";
    let commands =
        format!("EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n{smuggled}QUIT\r\n");
    let replies = filter.talk(commands.as_bytes(), 6);
    assert!(replies[4].starts_with("250"), "{replies:?}");
    let received = next.received();
    assert_eq!(received.len(), 1, "one message reached the next hop: {received:?}");
    let data = &received[0].data;
    for (i, &byte) in data.iter().enumerate() {
        if byte == b'\n' {
            assert_eq!(
                data.get(i.wrapping_sub(1)),
                Some(&b'\r'),
                "a bare LF at {i}: {:?}",
                String::from_utf8_lossy(data)
            );
        }
    }
    assert!(!String::from_utf8_lossy(data).contains("\r\n.\r\nMAIL"), "{:?}", String::from_utf8_lossy(data));
}

#[test]
fn sizes_over_the_policy_limit_are_refused_before_and_during_data() {
    let next = NextHop::start();
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("small.toml");
    std::fs::write(&policy, "extends = \"strict\"\n[limits]\nmax-input-bytes = 4096\n").unwrap();
    let filter = Filter::start(next.address, &["--policy", policy.to_str().unwrap()]);
    let declared = filter.talk(b"EHLO mta.test\r\nMAIL FROM:<a@sender.test> SIZE=999999\r\nQUIT\r\n", 3);
    assert!(declared[0].contains("SIZE 4096"), "{}", declared[0]);
    assert!(declared[1].starts_with("552 5.3.4"), "{declared:?}");
    let body = format!("Subject: big\r\n\r\n{}\r\n.\r\n", "x".repeat(70).repeat(100).replace("xx", "x\r\n"));
    let commands =
        format!("EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n{body}QUIT\r\n");
    let replies = filter.talk(commands.as_bytes(), 6);
    assert!(replies[4].starts_with("552 5.3.4"), "{replies:?}");
    assert!(replies[5].starts_with("221"), "the connection stays usable: {replies:?}");
    assert!(next.received().is_empty());
}

#[test]
fn a_next_hop_that_is_down_gets_a_temporary_failure() {
    let unused = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // Nothing listens there any more.
    let filter = Filter::start(unused, &[]);
    let replies = filter.talk(b"EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@example.test>\r\nQUIT\r\n", 4);
    assert!(replies[1].starts_with("451 4.4.1"), "{replies:?}");
    assert!(replies[2].starts_with("503"), "no transaction: {replies:?}");
}

#[test]
fn addresses_and_lines_that_could_inject_commands_are_refused() {
    let next = NextHop::start();
    let filter = Filter::start(next.address, &[]);
    // A bare CR inside an address must not start a command of its own,
    // here or at the next hop; an unknown command is one bad line.
    let commands = format!(
        "EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b\rRSET@example.test>\r\nRCPT TO:<c@example.test>\r\n\
         DATA\r\n{MESSAGE}FOO\r\nQUIT\r\n"
    );
    let replies = filter.talk(commands.as_bytes(), 8);
    assert!(replies[3].starts_with("250") && replies[4].starts_with("354"), "{replies:?}");
    assert!(replies[5].starts_with("250 2.0.0"), "{replies:?}");
    assert!(replies[6].starts_with("500 5.5.2"), "{replies:?}");
    assert!(replies[7].starts_with("221"), "one reply per line sent, no more: {replies:?}");
    let received = next.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].to.iter().all(|to| !to.contains('\r')), "{received:?}");
    assert!(received[0].to.contains(&"<c@example.test>".to_owned()), "{received:?}");
}

#[test]
fn a_scanner_that_is_down_defers_the_message() {
    let next = NextHop::start();
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("scan.toml");
    std::fs::write(&policy, "[scan]\nwhat = \"all\"\n").unwrap();
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let filter = Filter::start(next.address, &["--policy", policy.to_str().unwrap(), "--clamd", &dead]);
    let commands =
        format!("EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n{MESSAGE}QUIT\r\n");
    let replies = filter.talk(commands.as_bytes(), 6);
    assert!(replies[4].starts_with("451 4.3.0") && replies[4].contains("clamav"), "the MTA retries later: {replies:?}");
    assert!(replies[5].starts_with("221"), "{replies:?}");
    assert!(next.received().is_empty(), "nothing was delivered unscanned");
}

/// `POST /v1/holds/ID/VERB` on the filter's gateway with `token`: the
/// status code and body.
fn decide(filter: &Filter, token: &str, id: &str, verb: &str) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "60", "-X", "POST"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("http://{}/v1/holds/{id}/{verb}", filter.0.http))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

/// A message with a list of people's names and mail addresses, which the
/// outbound audit holds.
const PERSONAL: &str = "From: a@sender.test\r\nTo: b@example.test\r\nSubject: list\r\n\r\n\
    Tanaka Taro, tanaka@example.jp, 090-1234-5678\r\nSuzuki Hanako, suzuki@example.jp, 090-2345-6789\r\n\
    Sato Jiro, sato@example.jp, 090-3456-7890\r\nTakahashi Yumi, takahashi@example.jp, 090-4567-8901\r\n.\r\n";

#[test]
fn a_message_the_audit_holds_waits_in_the_spool_and_goes_out_when_approved() {
    let next = NextHop::start();
    let work = tempfile::tempdir().unwrap();
    let tokens = work.path().join("tokens");
    std::fs::write(&tokens, "postmaster:postmaster-token-0123:approver\n").unwrap();
    let spool = work.path().join("spool");
    let filter = Filter::start(
        next.address,
        &["--profile", "outbound", "--smtp-refused", "hold", "--spool", spool.to_str().unwrap()]
            .into_iter()
            .chain(["--token-file", tokens.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    let send = || {
        let commands = format!(
            "EHLO mta.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@example.test>\r\n\
             RCPT TO:<c@example.test>\r\nDATA\r\n{PERSONAL}QUIT\r\n"
        );
        let replies = filter.talk(commands.as_bytes(), 7);
        assert!(replies[5].starts_with("250 2.0.0 Ok: held for approval"), "{replies:?}");
        replies[5].rsplit(' ').next().unwrap().to_owned()
    };
    let id = send();
    assert!(next.received().is_empty(), "nothing is delivered while held");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spool.join(format!("{id}.json"))).unwrap()).unwrap();
    assert_eq!(record["envelope"]["to"], serde_json::json!(["b@example.test", "c@example.test"]));
    assert_eq!(record["submitter"], "a@sender.test");

    // The next hop is down when the approver approves: nothing is decided.
    next.set_down(true);
    let (status, body) = decide(&filter, "postmaster-token-0123", &id, "approve");
    assert_eq!(status, 502, "{body}");
    assert!(spool.join(format!("{id}.bin")).exists(), "the message is still held");
    next.set_down(false);
    let (status, body) = decide(&filter, "postmaster-token-0123", &id, "approve");
    assert_eq!(status, 200, "{body}");
    let received = next.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].from.starts_with("<a@sender.test>"), "{:?}", received[0].from);
    assert_eq!(received[0].to, ["<b@example.test>", "<c@example.test>"]);
    let data = String::from_utf8_lossy(&received[0].data);
    assert!(data.starts_with("X-Sekisho: held; report="), "{data}");
    assert!(data.contains("Subject: list"), "{data}");
    assert!(!spool.join(format!("{id}.bin")).exists(), "delivered, the message leaves the spool");
    let (status, _) = decide(&filter, "postmaster-token-0123", &id, "approve");
    assert_eq!(status, 409, "approved once, delivered once");
    assert_eq!(next.received().len(), 1);

    // Rejected: deleted, never delivered.
    let rejected = send();
    let (status, body) = decide(&filter, "postmaster-token-0123", &rejected, "reject");
    assert_eq!(status, 200, "{body}");
    assert!(!spool.join(format!("{rejected}.bin")).exists());
    assert_eq!(next.received().len(), 1);
}

#[test]
fn hold_without_a_spool_does_not_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--smtp-next", "127.0.0.1:25"])
        .args(["--smtp-refused", "hold"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--spool"), "{out:?}");
}
