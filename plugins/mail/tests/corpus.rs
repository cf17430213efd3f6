//! The mail plugin, natively, on handmade messages for each behaviour and on
//! the shared corpus when `SEKISHO_CORPUS` names it.
//! Attachments go through a test embedder that rebuilds OOXML, text and
//! forwarded messages with their own plugins and refuses everything else.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, Host, HyperlinkMode, Policy, Rebuilt, RefuseAll,
};

fn corpus_files(corpus: &sekisho_testkit::Corpus) -> Vec<PathBuf> {
    let mut files = corpus.files("eml");
    files.retain(|p| p.extension().is_some_and(|e| e == "eml" || e == "txt"));
    assert!(files.len() >= 23, "expected the e-mail corpus, found {} files", files.len());
    files
}

/// Rebuilds what the test knows as the host would: OOXML with the OOXML
/// plugin, text and CSV with the text plugin, messages with this plugin.
struct Recurse {
    policy: Policy,
    seen: Vec<String>,
}

impl Embedder for Recurse {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        self.seen.push(name.to_owned());
        let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let policy = self.policy.clone();
        let mut out = Vec::new();
        let result = match extension.as_str() {
            "docx" | "docm" | "xlsx" | "xlsm" if data.starts_with(b"PK") => {
                sekisho_ooxml::sanitize(&extension, Cursor::new(data), &mut out, &policy, self)
            }
            "txt" | "csv" => {
                let format = if extension == "csv" { "csv" } else { "text" };
                sekisho_text::sanitize(format, data, &mut out, &policy, &mut RefuseAll)
            }
            "eml" => sekisho_mail::sanitize(data, &mut out, &policy, self),
            _ => return Err(EmbeddedRefusal::Unsupported(format!("{extension:?} in this test"))),
        };
        match result {
            Ok(rebuilt) => Ok(EmbeddedRebuilt {
                outcome: if rebuilt.findings.is_empty() { EmbeddedOutcome::Clean } else { EmbeddedOutcome::Sanitized },
                extension: match rebuilt.format.as_str() {
                    "text" => "txt".into(),
                    other => other.into(),
                },
                // What the host answers from the format's description.
                media_type: match rebuilt.format.as_str() {
                    "text" => "text/plain",
                    "csv" => "text/csv",
                    "eml" => "message/rfc822",
                    "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    _ => "application/octet-stream",
                }
                .into(),
                format: rebuilt.format,
                data: out,
            }),
            Err(Failure { kind: FailureKind::Blocked(_), detail, .. }) => Err(EmbeddedRefusal::Blocked(detail)),
            Err(Failure { kind: FailureKind::LimitExceeded, detail, .. }) => {
                Err(EmbeddedRefusal::LimitExceeded(detail))
            }
            Err(failure) => Err(EmbeddedRefusal::Failed(failure.detail)),
        }
    }
}

fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

fn keep_links() -> Policy {
    let mut policy = strict();
    policy.hyperlink_mode = HyperlinkMode::Keep;
    policy
}

fn text_mode() -> Policy {
    strict().with_option("html-mode", "text")
}

fn run(data: &[u8], policy: &Policy) -> Result<(Vec<u8>, Rebuilt), Failure> {
    let mut out = Vec::new();
    let mut embedder = Recurse { policy: policy.clone(), seen: Vec::new() };
    let rebuilt = sekisho_mail::sanitize(data, &mut out, policy, &mut embedder)?;
    Ok((out, rebuilt))
}

fn has(rebuilt: &Rebuilt, class: ContentClass, disposition: Disposition) -> bool {
    rebuilt.findings.iter().any(|f| f.class == class && f.disposition == disposition)
}

const NOTE: &str = "[Sekisho]";

/// The text of every plain-text body of the message (not of forwarded
/// messages, which are attachments), line breaks as `\n`, without the note
/// about removed attachments.
fn plain_texts(data: &[u8]) -> Vec<String> {
    let message = MessageParser::default().parse(data).expect("parses");
    message
        .parts
        .iter()
        .filter(|part| {
            let plain = part
                .content_type()
                .is_none_or(|ct| (ct.ctype() == "text" && ct.subtype() == Some("plain")) || ct.ctype() == "multipart");
            plain && part.attachment_name().is_none() && part.content_disposition().is_none_or(|d| !d.is_attachment())
        })
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.replace("\r\n", "\n").replace('\r', "\n")),
            _ => None,
        })
        .filter(|text| !text.starts_with(NOTE))
        .map(|text| text.split(NOTE).next().unwrap_or_default().trim_end().to_owned())
        .collect()
}

/// The HTML bodies of the message.
fn html_bodies(data: &[u8]) -> Vec<String> {
    let message = MessageParser::default().parse(data).expect("parses");
    message
        .parts
        .iter()
        .filter_map(|part| part.text_contents().filter(|_| part.is_text_html()).map(str::to_owned))
        .collect()
}

/// What `check_active.py` flags as `html-script`.
fn looks_scripted(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.contains("<script") || lower.contains("javascript:") || {
        let bytes = lower.as_bytes();
        bytes.windows(3).enumerate().any(|(i, w)| {
            w[0].is_ascii_whitespace() && &w[1..] == b"on" && {
                let rest = &bytes[i + 3..];
                let name = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
                name > 0 && rest[name..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'=')
            }
        })
    }
}

#[test]
fn every_corpus_file_is_rebuilt_with_its_text() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mail-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let (out, _) = run(&data, &strict()).unwrap_or_else(|f| panic!("{label}: {:?} {}", f.kind, f.detail));
        assert!(out.is_ascii(), "{label}: the output is not 7-bit");
        for html in html_bodies(&out) {
            assert!(!looks_scripted(&html), "{label}: scripts survived: {html}");
        }
        std::fs::write(out_dir.join(format!("{}.eml", path.file_stem().unwrap().to_string_lossy())), &out).unwrap();
        // With links kept, every text body reads as before.
        let (out, rebuilt) = run(&data, &keep_links()).unwrap();
        let before = plain_texts(&data);
        let after = plain_texts(&out);
        let refixed = |f: &&sekisho_plugin_sdk::Finding| f.class == ContentClass::MalformedStructure;
        if rebuilt.findings.iter().any(|f| refixed(&f)) {
            // Text moved into the body or read in another charset: the old text is still there.
            assert!(
                before.iter().all(|b| after.iter().any(|a| a.contains(b.as_str()))),
                "{label}: {before:?} {after:?}"
            );
        } else {
            assert_eq!(before, after, "{label}: the text changed");
        }
    }
}

#[test]
fn rebuilding_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for policy in [strict(), text_mode()] {
        for path in corpus_files(&corpus) {
            let label = path.file_name().unwrap().to_string_lossy().into_owned();
            let data = std::fs::read(&path).unwrap();
            let (first, _) = run(&data, &policy).unwrap();
            let (again, _) = run(&data, &policy).unwrap();
            assert_eq!(first, again, "{label}: not deterministic");
            let (second, rebuilt) = run(&first, &policy).unwrap();
            assert!(rebuilt.findings.is_empty(), "{label}: second pass found {:#?}", rebuilt.findings);
            assert_eq!(String::from_utf8_lossy(&first), String::from_utf8_lossy(&second), "{label}: not idempotent");
        }
    }
}

#[test]
fn text_mode_leaves_no_html() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let (out, _) = run(&data, &text_mode()).unwrap();
        assert!(html_bodies(&out).is_empty(), "{label}: HTML left in text mode");
    }
}

/// The three cases of a message's attachments: a text attachment with a
/// Japanese RFC 2047 name comes back rebuilt under its name; a PDF (refused
/// by the test embedder) is removed and the text says so; a message that is
/// only an attachment gets a text part for the note.
fn assert_attachments_rebuilt_or_noted(japanese: &[u8], pdf: &[u8], only: &[u8], only_subject: &str) {
    let (out, _) = run(japanese, &strict()).unwrap();
    let message = MessageParser::default().parse(&out[..]).unwrap();
    let attachment = message.attachments().next().expect("the attachment stays");
    assert_eq!(attachment.attachment_name(), Some("てすと.txt"));
    assert_eq!(attachment.contents(), "this is a test\nこれわてすと".as_bytes());
    let (out, rebuilt) = run(pdf, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::EmbeddedFiles, Disposition::Removed));
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert_eq!(message.attachments().count(), 0);
    let text = message.body_text(0).unwrap();
    assert!(text.contains(NOTE) && text.contains("\"broken.pdf\""), "{text}");
    let (out, _) = run(only, &strict()).unwrap();
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert!(message.body_text(0).unwrap().contains("\"blah.gz\""));
    assert_eq!(message.subject(), Some(only_subject));
}

/// A message with a text body and one attachment part (`head` its headers).
fn with_named_attachment(subject: &str, head: &str, body: &str) -> Vec<u8> {
    format!(
        "From: a@example.jp\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nSee the attachment.\r\n--b\r\n{head}\r\n\r\n{body}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn attachments_are_rebuilt_or_removed_with_a_note() {
    let name = format!("=?UTF-8?B?{}?=", base64("てすと.txt".as_bytes()));
    let japanese = with_named_attachment(
        "japanese name",
        &format!(
            "Content-Type: text/plain; charset=UTF-8; name=\"{name}\"\r\nContent-Disposition: attachment; \
             filename=\"{name}\"\r\nContent-Transfer-Encoding: base64"
        ),
        &base64("this is a test\nこれわてすと".as_bytes()),
    );
    let pdf = with_named_attachment(
        "a pdf",
        "Content-Type: application/pdf; name=\"broken.pdf\"\r\nContent-Disposition: attachment; filename=\"broken.pdf\"\r\n\
         Content-Transfer-Encoding: base64",
        &base64(b"%PDF-1.4 broken"),
    );
    let subject = "this message JUST contains an attachment";
    let only = format!(
        "From: a@example.jp\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: application/x-gzip; NAME=blah.gz\r\n\
         Content-Disposition: attachment; filename=blah.gz\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64(b"\x1f\x8b\x08\x00 compressed bytes")
    );
    assert_attachments_rebuilt_or_noted(&japanese, &pdf, only.as_bytes(), subject);
}

#[test]
fn attachments_in_the_corpus_are_rebuilt_or_removed_with_a_note() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_attachments_rebuilt_or_noted(
        &corpus.read("eml", "mikel-mail__japanese_attachment.eml"),
        &corpus.read("eml", "mikel-mail__attachment_pdf.eml"),
        &corpus.read("eml", "mikel-mail__attachment_only_email.eml"),
        "this message JUST contains an attachment",
    );
}

/// A forwarded message goes through the host (here, this plugin again), and
/// so do its own attachments; the note about them is in the forwarded message.
fn assert_forwarded_through_the_host(data: &[u8]) {
    let mut out = Vec::new();
    let mut embedder = Recurse { policy: strict(), seen: Vec::new() };
    sekisho_mail::sanitize(data, &mut out, &strict(), &mut embedder).unwrap();
    assert_eq!(embedder.seen, ["ForwardedMessage.eml", "broken.pdf"]);
    let message = MessageParser::default().parse(&out[..]).unwrap();
    let forwarded = message.attachments().next().unwrap().message().expect("still a message");
    assert!(forwarded.body_text(0).unwrap().contains("\"broken.pdf\""), "the note is in the forwarded message");
}

#[test]
fn forwarded_messages_go_back_through_the_host() {
    let inner = with_named_attachment(
        "the original",
        "Content-Type: application/pdf; name=\"broken.pdf\"\r\nContent-Disposition: attachment; filename=\"broken.pdf\"\r\n\
         Content-Transfer-Encoding: base64",
        &base64(b"%PDF-1.4 broken"),
    );
    let mut outer = b"From: b@example.jp\r\nSubject: Fwd: the original\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\nForwarding.\r\n\
        --outer\r\nContent-Type: message/rfc822; name=\"ForwardedMessage.eml\"\r\n\
        Content-Disposition: attachment; filename=\"ForwardedMessage.eml\"\r\n\r\n"
        .to_vec();
    outer.extend_from_slice(&inner);
    outer.extend_from_slice(b"\r\n--outer--\r\n");
    assert_forwarded_through_the_host(&outer);
}

#[test]
fn forwarded_messages_in_the_corpus_go_back_through_the_host() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_forwarded_through_the_host(&corpus.read("eml", "mikel-mail__attachment_message_rfc822.eml"));
}

/// A macro-enabled Word document with a real VBA project.
fn docm(text: &str) -> Vec<u8> {
    sekisho_testkit::office::docm(text)
}

fn iso_2022_jp(text: &str) -> Vec<u8> {
    encoding_rs::ISO_2022_JP.encode(text).0.into_owned()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in data.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= group.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn encoded_word(text: &str) -> String {
    format!("=?ISO-2022-JP?B?{}?=", base64(&iso_2022_jp(text)))
}

const JAPANESE_TEXT: &str =
    "田中様\r\n\r\n会議資料をお送りします。\r\n詳細は http://example.jp/shiryo/index.html をご覧ください。\r\n\r\n山田";

/// An ISO-2022-JP message as Japanese mailers write it: text and HTML
/// alternatives, an Office attachment with an RFC 2047 name.
fn japanese_message() -> Vec<u8> {
    let html = "<html><body><p>会議資料をお送りします。</p><p><a href=\"http://example.jp/shiryo/index.html\">詳細</a></p>\
                <img src=\"http://tracker.example/p.gif?id=1\" width=1 height=1><script>alert(1)</script></body></html>";
    let mut mail = format!(
        "From: {} <yamada@example.jp>\r\nTo: tanaka@example.jp\r\nSubject: {}\r\nDate: Mon, 1 Apr 2024 09:00:00 +0900\r\n\
         Message-ID: <jp-1@example.jp>\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.jp; b=abc\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        encoded_word("山田太郎"),
        encoded_word("会議資料の送付")
    )
    .into_bytes();
    mail.extend_from_slice(&iso_2022_jp(JAPANESE_TEXT));
    mail.extend_from_slice(
        b"\r\n--alt\r\nContent-Type: text/html; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
    );
    mail.extend_from_slice(&iso_2022_jp(html));
    let name = encoded_word("報告書.docm");
    mail.extend_from_slice(
        format!(
            "\r\n--alt--\r\n--outer\r\nContent-Type: application/vnd.ms-word.document.macroEnabled.12; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--outer--\r\n",
            base64(&docm("報告書の本文"))
        )
        .as_bytes(),
    );
    mail
}

#[test]
fn japanese_message_becomes_readable_text_with_its_attachment_rebuilt() {
    let data = japanese_message();
    let (out, rebuilt) = run(&data, &text_mode()).unwrap();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mail-japanese");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("input.eml"), &data).unwrap();
    std::fs::write(out_dir.join("text-mode.eml"), &out).unwrap();
    let output = String::from_utf8(out.clone()).unwrap();
    assert!(out.is_ascii() && !output.contains("DKIM-Signature") && output.starts_with("X-Sekisho: sanitized by"));
    assert!(has(&rebuilt, ContentClass::Metadata, Disposition::Removed), "DKIM signature recorded");
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert_eq!(message.subject(), Some("会議資料の送付"));
    assert_eq!(message.from().unwrap().first().unwrap().name(), Some("山田太郎"));
    assert_eq!(message.message_id(), Some("jp-1@example.jp"));
    // One text body: the text alternative, in Japanese, its link defanged.
    assert!(html_bodies(&out).is_empty());
    let texts = plain_texts(&out);
    let expected = JAPANESE_TEXT.replace("\r\n", "\n").replace("http://example.jp", "hxxp://example[.]jp");
    assert_eq!(texts, [expected]);
    // The attachment is the rebuilt document, renamed to .docx.
    let attachment = message.attachments().next().expect("the document stays");
    assert_eq!(attachment.attachment_name(), Some("報告書.docx"));
    assert!(attachment.is_content_type("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"));
    let archive = zip::ZipArchive::new(Cursor::new(attachment.contents())).unwrap();
    assert!(!archive.file_names().any(|n| n.unwrap().contains("vbaProject")));
    assert!(has(&rebuilt, ContentClass::EmbeddedFiles, Disposition::Neutralized));
    // In sanitize mode the HTML stays, without script or tracking pixel.
    let (out, _) = run(&data, &strict()).unwrap();
    std::fs::write(out_dir.join("sanitize-mode.eml"), &out).unwrap();
    let html = html_bodies(&out);
    assert_eq!(html.len(), 1);
    assert!(
        html[0].contains("会議資料をお送りします。") && !looks_scripted(&html[0]) && !html[0].contains("tracker"),
        "{}",
        html[0]
    );
    assert_eq!(plain_texts(&out).len(), 1);
}

#[test]
fn html_only_mail_becomes_text_with_its_links() {
    let mail = "From: a@example.jp\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                <p>お知らせ <a href=\"https://example.jp/news\">ニュース</a></p><img src=\"https://t.example/p.gif\">";
    let (out, rebuilt) = run(mail.as_bytes(), &text_mode()).unwrap();
    assert!(has(&rebuilt, ContentClass::Scripts, Disposition::Neutralized));
    let text = &plain_texts(&out)[0];
    assert!(
        text.contains("お知らせ") && text.contains("ニュース") && text.contains("hxxps://example[.]jp/news"),
        "{text}"
    );
    assert!(!text.contains("t.example"), "{text}");
}

fn plain_mail(body: &str) -> Vec<u8> {
    format!("From: a@example.jp\r\nSubject: links\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")
        .into_bytes()
}

#[test]
fn hyperlinks_follow_the_mode() {
    let mail = plain_mail("see https://www.example.com/a.html and www.example.org.");
    let text = |policy: &Policy| run(&mail, policy).map(|(out, rebuilt)| (plain_texts(&out)[0].clone(), rebuilt));
    let (kept, rebuilt) = text(&keep_links()).unwrap();
    assert_eq!(kept, "see https://www.example.com/a.html and www.example.org.");
    assert!(rebuilt.findings.is_empty());
    let (defanged, rebuilt) = text(&strict()).unwrap();
    assert_eq!(defanged, "see hxxps://www[.]example[.]com/a.html and www[.]example[.]org.");
    assert_eq!(rebuilt.findings.len(), 1);
    assert_eq!(rebuilt.findings[0].count, 2);
    let mut remove = strict();
    remove.hyperlink_mode = HyperlinkMode::Remove;
    assert_eq!(text(&remove).unwrap().0, "see [link removed] and [link removed].");
    let (allowed, rebuilt) = text(&strict().with(ContentClass::Hyperlinks, Action::Allow)).unwrap();
    assert_eq!(allowed, kept);
    assert!(has(&rebuilt, ContentClass::Hyperlinks, Disposition::Kept));
    let blocked = text(&strict().with(ContentClass::Hyperlinks, Action::Block)).unwrap_err();
    assert_eq!(blocked.kind, FailureKind::Blocked(ContentClass::Hyperlinks));
}

fn with_attachment(head: &str, body: &str) -> Vec<u8> {
    format!(
        "From: a@example.jp\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nHello\r\n--b\r\n{head}\r\n\r\n{body}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn tnef_is_removed_with_a_note() {
    let mail = with_attachment(
        "Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64",
        &base64(b"\x78\x9f\x3e\x22 TNEF"),
    );
    let (out, rebuilt) = run(&mail, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::EmbeddedFiles, Disposition::Removed));
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert_eq!(message.attachments().count(), 0);
    let text = message.body_text(0).unwrap();
    assert!(
        text.starts_with("Hello\r\n\r\n[Sekisho]") && text.contains("TNEF (winmail.dat) is not unpacked"),
        "{text}"
    );
    let (again, rebuilt) = run(&out, &strict()).unwrap();
    assert_eq!(again, out);
    assert!(rebuilt.findings.is_empty());
}

#[test]
fn attachments_follow_the_policy() {
    let mail = with_attachment("Content-Type: application/octet-stream; name=\"a.bin\"", "raw bytes");
    let allowed = strict().with(ContentClass::EmbeddedFiles, Action::Allow);
    let (out, rebuilt) = run(&mail, &allowed).unwrap();
    assert!(has(&rebuilt, ContentClass::EmbeddedFiles, Disposition::Kept));
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert_eq!(message.attachments().next().unwrap().contents(), b"raw bytes");
    let blocked = run(&mail, &strict().with(ContentClass::EmbeddedFiles, Action::Block)).unwrap_err();
    assert_eq!(blocked.kind, FailureKind::Blocked(ContentClass::EmbeddedFiles));
}

#[test]
fn signatures_go_and_encrypted_mail_is_refused() {
    let signed = "From: a@example.jp\r\nSubject: signed\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; \
                  micalg=sha-256; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\n\
                  Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAG\r\n--s--\r\n";
    let (out, rebuilt) = run(signed.as_bytes(), &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Metadata, Disposition::Removed));
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert!(message.root_part().is_content_type("text", "plain"), "multipart/signed became its content");
    assert_eq!(plain_texts(&out), ["signed text"]);
    let encrypted = "From: a@example.jp\r\nSubject: secret\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; \
                     name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAG\r\n";
    assert_eq!(run(encrypted.as_bytes(), &strict()).unwrap_err().kind, FailureKind::Encrypted);
}

#[test]
fn raw_8bit_headers_become_encoded_words() {
    let mut mail = b"From: a@example.jp\r\nSubject: ".to_vec();
    mail.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("見積書の件について（ご確認ください）").0);
    mail.extend_from_slice(b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n");
    let (out, _) = run(&mail, &strict()).unwrap();
    assert!(out.is_ascii());
    let message = MessageParser::default().parse(&out[..]).unwrap();
    assert_eq!(message.subject(), Some("見積書の件について（ご確認ください）"));
}

#[test]
fn unlabelled_and_mislabelled_japanese_is_read_right() {
    let mut mail = b"From: a@example.jp\r\nSubject: sjis\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    mail.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("お世話になっております。添付の資料をご確認ください。").0);
    let (out, rebuilt) = run(&mail, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::MalformedStructure, Disposition::Neutralized));
    assert_eq!(plain_texts(&out), ["お世話になっております。添付の資料をご確認ください。"]);
}

#[test]
fn limits_are_enforced() {
    let mut deep = String::from("From: a@example.jp\r\nSubject: deep\r\n");
    for level in 0..20 {
        deep.push_str(&format!("Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n"));
    }
    deep.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    for level in (0..20).rev() {
        deep.push_str(&format!("--b{level}--\r\n"));
    }
    assert_eq!(run(deep.as_bytes(), &strict()).unwrap_err().kind, FailureKind::LimitExceeded);
    let mut wide =
        String::from("From: a@example.jp\r\nSubject: wide\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n");
    for _ in 0..50 {
        wide.push_str("--w\r\nContent-Type: text/plain\r\n\r\nx\r\n");
    }
    wide.push_str("--w--\r\n");
    let mut few = strict();
    few.limits.max_entries = 20;
    assert_eq!(run(wide.as_bytes(), &few).unwrap_err().kind, FailureKind::LimitExceeded);
}

#[test]
fn labelled_japanese_charsets_are_read() {
    let text = "お世話になっております。資料を添付いたします。";
    for (label, bytes) in [
        ("Shift_JIS", encoding_rs::SHIFT_JIS.encode(text).0),
        ("EUC-JP", encoding_rs::EUC_JP.encode(text).0),
        ("ISO-2022-JP", encoding_rs::ISO_2022_JP.encode(text).0),
    ] {
        let mut mail =
            format!("From: a@example.jp\r\nSubject: {label}\r\nContent-Type: text/plain; charset={label}\r\n\r\n")
                .into_bytes();
        mail.extend_from_slice(&bytes);
        let (out, rebuilt) = run(&mail, &strict()).unwrap();
        assert_eq!(plain_texts(&out), [text], "{label}");
        assert!(rebuilt.findings.is_empty(), "{label}: {:?}", rebuilt.findings);
    }
}

#[test]
fn broken_encodings_keep_the_text() {
    let mail = "From: a@example.jp\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nnot base64 at all!\r\n--b\r\n\
                Content-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%PDF-1.4 ???\r\n--b--\r\n";
    let (out, rebuilt) = run(mail.as_bytes(), &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::MalformedStructure, Disposition::Neutralized));
    assert_eq!(plain_texts(&out), ["not base64 at all!"]);
    assert_eq!(MessageParser::default().parse(&out[..]).unwrap().attachments().count(), 0);
}

#[test]
fn uuencoded_attachments_are_decoded() {
    let mail = with_attachment(
        "Content-Type: application/octet-stream; name=cat.txt\r\nContent-Transfer-Encoding: x-uuencode\r\nContent-ID: <cat@example.jp>",
        "begin 644 cat.txt\r\n#0V%T\r\n`\r\nend",
    );
    let (out, _) = run(&mail, &strict()).unwrap();
    let message = MessageParser::default().parse(&out[..]).unwrap();
    let attachment = message.attachments().next().unwrap();
    assert_eq!(attachment.contents(), b"Cat");
    assert_eq!(attachment.content_id(), Some("cat@example.jp"));
}

#[test]
fn deeply_nested_messages_do_not_overflow() {
    let mut mail = String::new();
    for _ in 0..100_000 {
        mail.push_str("From: a@example.jp\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    mail.push_str("From: a@example.jp\r\n\r\nbottom\r\n");
    let mut out = Vec::new();
    let _ = sekisho_mail::sanitize(mail.as_bytes(), &mut out, &strict(), &mut sekisho_plugin_sdk::RefuseAll);
}

/// Found by fuzzing: a part whose boundary never comes was rebuilt as a
/// text body but kept its attachment disposition, so the next pass took it
/// for an attachment.
#[test]
fn a_multipart_attachment_without_its_boundary_stays_an_attachment() {
    let mail =
        with_attachment("Content-Type: multipart/mixed; boundary=never\r\nContent-Disposition: attachment", "text");
    for policy in [strict(), strict().with(ContentClass::EmbeddedFiles, Action::Allow)] {
        let (out, _) = run(&mail, &policy).unwrap();
        let (again, rebuilt) = run(&out, &policy).unwrap();
        assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&out));
        assert!(rebuilt.findings.iter().all(|f| f.disposition == Disposition::Kept), "{:?}", rebuilt.findings);
    }
}

/// Found by fuzzing: a name in the note that reads as a link was defanged
/// only on the second pass.
#[test]
fn the_note_reads_the_same_under_every_link_mode() {
    let mail = with_attachment("Content-Type: application/zip; name=www.example.com.zip", "PK");
    let mut remove = strict();
    remove.hyperlink_mode = HyperlinkMode::Remove;
    for policy in [strict(), keep_links(), remove] {
        let (out, _) = run(&mail, &policy).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("www.example"));
        let (again, rebuilt) = run(&out, &policy).unwrap();
        assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&out));
        assert!(rebuilt.findings.is_empty(), "{:?}", rebuilt.findings);
    }
}

/// Collects the text the message hands the host; attachments are rebuilt by
/// [`Recurse`], whose plugins' own text does not come here (the host keeps
/// it under the attachment's report).
struct Collect {
    recurse: Recurse,
    texts: Vec<(String, String)>,
}

impl Host for Collect {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        self.recurse.sanitize_embedded(name, data)
    }

    fn emit_text(&mut self, location: &str, text: &str) {
        self.texts.push((location.to_owned(), text.to_owned()));
    }
}

fn texts(data: &[u8], policy: &Policy) -> Vec<(String, String)> {
    let mut host = Collect { recurse: Recurse { policy: policy.clone(), seen: Vec::new() }, texts: Vec::new() };
    sekisho_mail::sanitize(data, &mut Vec::new(), policy, &mut host).unwrap();
    assert_eq!(host.recurse.seen.len(), 1, "the attachment went to the host");
    host.texts
}

#[test]
fn text_channel_gives_headers_and_bodies_but_not_attachments() {
    let data = japanese_message();
    let texts_of = |policy: &Policy| {
        let texts = texts(&data, policy);
        let all: String = texts.iter().map(|(l, t)| format!("{l}: {t}\n")).collect();
        for absent in ["報告書の本文", "alert", "tracker", "DKIM", "v=1", "Quarterly"] {
            assert!(!all.contains(absent), "{absent} was emitted:\n{all}");
        }
        texts
    };
    let sanitized = texts_of(&strict());
    let locations: Vec<&str> = sanitized.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        locations,
        ["header From", "header To", "header Subject", "body", "body (html) block 1", "body (html) block 2"]
    );
    assert_eq!(sanitized[0].1, "山田太郎 <yamada@example.jp>");
    assert_eq!(sanitized[1].1, "tanaka@example.jp");
    assert_eq!(sanitized[2].1, "会議資料の送付");
    let body = &sanitized[3].1;
    assert!(body.starts_with("田中様") && body.contains("会議資料をお送りします。"), "{body}");
    assert!(body.contains("hxxp://example[.]jp/shiryo/index.html"), "the body as written, link defanged: {body}");
    assert_eq!(sanitized[4].1, "会議資料をお送りします。");
    assert_eq!(sanitized[5].1, "詳細 <http://example.jp/shiryo/index.html>", "the link is kept as text");
    // Text mode keeps the text alternative only: no HTML text.
    let as_text = texts_of(&text_mode());
    let locations: Vec<&str> = as_text.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(locations, ["header From", "header To", "header Subject", "body"]);

    // An HTML-only message in text mode: the text it became, paragraph by paragraph.
    let mail = "From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>\r\nTo: a@example.jp, B <b@example.jp>\r\n\
                Cc: c@example.jp\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                <p>東京都千代田区 <a href=\"https://example.jp/news\">ニュース</a></p><!-- 123456789012 -->\
                <p>電話 03-1234-5678</p><script>alert(1)</script>";
    let mut host = Collect { recurse: Recurse { policy: text_mode(), seen: Vec::new() }, texts: Vec::new() };
    sekisho_mail::sanitize(mail.as_bytes(), &mut Vec::new(), &text_mode(), &mut host).unwrap();
    let expected = [
        ("header From", "山田太郎 <taro@example.jp>"),
        ("header To", "a@example.jp, B <b@example.jp>"),
        ("header Cc", "c@example.jp"),
        ("header Subject", "html"),
        ("body (html) block 1", "東京都千代田区 ニュース <hxxps://example[.]jp/news>"),
        ("body (html) block 2", "電話 03-1234-5678"),
    ];
    let expected = sekisho_testkit::text_pairs(&expected);
    assert_eq!(host.texts, expected);
}
