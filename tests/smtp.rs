//! The SMTP filter's protocol edges, against a next hop written here that
//! records what reaches it: pipelining, per-recipient answers, size limits,
//! a next hop that is down, and line endings that try to smuggle a second
//! message past the next hop. (Postfix itself: tests/postfix.rs.)

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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
struct NextHop {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl NextHop {
    fn start() -> NextHop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let record = Arc::clone(&record);
                std::thread::spawn(move || next_hop_session(stream, &record));
            }
        });
        NextHop { address, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
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
