//! The header block of the message: what is kept, dropped and how it is written.
//!
//! Headers stay in their order and, when ASCII, byte for byte: encoded words
//! in any charset stay as the sender wrote them, folding included, so
//! From/To/Subject/Date/Message-ID read exactly as before. A raw 8-bit value
//! (UTF-8 or a legacy charset) is decoded and written as RFC 2047 UTF-8
//! words. The MIME headers are written anew for the rebuilt body. DKIM,
//! DomainKeys and ARC signatures cannot verify once the body is rebuilt, so
//! they are metadata to remove. A line with no valid header name is dropped (mail
//! readers would take it for the start of the body and lose the headers after it).

use mail_parser::{Address, MessageParser, MessagePart};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Host, Policy};

use crate::mime::encoded_words;

/// The trace header added to every rebuilt message (any copy in the input is replaced).
pub const TRACE: &str = "X-Sekisho";

/// The kept headers of `part` (the message's top part), each ending in CRLF.
pub fn kept(raw: &[u8], part: &MessagePart, policy: &Policy, findings: &mut Findings) -> Result<String, Failure> {
    let mut out = String::new();
    for header in &part.headers {
        let field = |from: u32, to: u32| raw.get(from as usize..to as usize).unwrap_or_default();
        let name = String::from_utf8_lossy(field(header.offset_field, header.offset_start));
        let name = name.trim_end_matches(':').trim();
        let lower = name.to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            let detail = format!("line that is not a header dropped: {:?}", shown(name));
            findings.push(ContentClass::MalformedStructure, Disposition::Removed, "headers", detail);
            continue;
        }
        if lower.starts_with("content-") || lower == "mime-version" || lower == TRACE.to_ascii_lowercase() {
            continue;
        }
        if matches!(lower.as_str(), "dkim-signature" | "dkim2-signature" | "domainkey-signature")
            || lower.starts_with("arc-")
        {
            let detail = "DKIM/ARC signature: it cannot verify once the message is rebuilt";
            let decision =
                findings.decide_grouped(policy, ContentClass::Metadata, Disposition::Removed, "headers", detail)?;
            if decision == Decision::Sanitize {
                continue;
            }
        }
        if lower == "subject"
            && let Some(masked) = masked_subject(header.value.as_text(), policy, findings)
        {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(&encode_text(&masked));
            out.push_str("\r\n");
            continue;
        }
        out.push_str(name);
        out.push(':');
        let value = field(header.offset_start, header.offset_end);
        match std::str::from_utf8(value) {
            Ok(ascii) if value.is_ascii() => {
                let lines: Vec<&str> = ascii.trim_end().split('\n').map(|l| l.trim_end_matches('\r')).collect();
                out.push_str(&lines.join("\r\n"));
            }
            _ => {
                let text = crate::body::decode_unlabelled(value)
                    .map_or_else(|| String::from_utf8_lossy(value).into(), |d| d.0);
                out.push(' ');
                out.push_str(&encode_text(&text));
            }
        }
        out.push_str("\r\n");
    }
    Ok(out)
}

/// The subject (decoded) with the passwords announced in this message
/// masked, when it carries one (PPAP password mails often put it there);
/// `None` leaves the header as it was written.
fn masked_subject(subject: Option<&str>, policy: &Policy, findings: &mut Findings) -> Option<String> {
    let (masked, count) = sekisho_plugin_sdk::passwords::mask_announced(subject?, policy);
    if count == 0 {
        return None;
    }
    findings.masked_passwords("header Subject", count);
    Some(masked.into_owned())
}

/// Hands `host` the headers a reader sees, as the rebuilt message says them
/// (`kept` is the header block written): `header From`, `header To`,
/// `header Cc` (addresses as `Name <address>`, separated by `, `) and
/// `header Subject`, decoded (RFC 2047).
pub fn emit_text<H: Host + ?Sized>(kept: &str, host: &mut H) {
    let Some(message) = MessageParser::default().parse_headers(kept.as_bytes()) else { return };
    let addresses = [("From", message.from()), ("To", message.to()), ("Cc", message.cc())];
    for (name, address) in addresses {
        if let Some(text) = address.map(addresses_text).filter(|text| !text.is_empty()) {
            host.emit_text(&format!("header {name}"), &text);
        }
    }
    if let Some(subject) = message.subject().map(str::trim).filter(|s| !s.is_empty()) {
        host.emit_text("header Subject", subject);
    }
}

/// `Name <address>, address, …` (group names as `Group: …;`).
fn addresses_text(address: &Address) -> String {
    let one = |addr: &mail_parser::Addr| match (addr.name.as_deref(), addr.address.as_deref()) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (Some(name), None) => name.to_owned(),
        (None, Some(address)) => address.to_owned(),
        (None, None) => String::new(),
    };
    let list = |addrs: &[mail_parser::Addr]| addrs.iter().map(one).filter(|a| !a.is_empty()).collect::<Vec<_>>();
    match address {
        Address::List(addrs) => list(addrs).join(", "),
        Address::Group(groups) => groups
            .iter()
            .map(|group| match group.name.as_deref() {
                Some(name) => format!("{name}: {};", list(&group.addresses).join(", ")),
                None => list(&group.addresses).join(", "),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Text in the header block that belongs to no header: a body whose
/// separating empty line is missing. Mail readers show it as the start of the body.
pub fn stray_text(raw: &[u8], part: &MessagePart) -> Option<String> {
    let ends = part.headers.iter().map(|h| h.offset_end as usize);
    let starts = part.headers.iter().skip(1).map(|h| h.offset_field as usize).chain([part.offset_body as usize]);
    let mut text = String::new();
    for (end, start) in ends.zip(starts) {
        let gap = String::from_utf8_lossy(raw.get(end..start).unwrap_or_default()).trim().to_owned();
        if !gap.is_empty() {
            text.push_str(&gap);
            text.push_str("\r\n");
        }
    }
    (!text.is_empty()).then_some(text)
}

/// An unstructured header value in RFC 2047 form: ASCII words as they are,
/// runs of non-ASCII words as UTF-8 encoded words (a quoted display name
/// loses its quotes, which encoded words cannot sit in), folded near 76 columns.
pub fn encode_text(text: &str) -> String {
    let mut atoms: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, atoms: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        let joined = run.join(" ");
        let bare = joined.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(&joined);
        atoms.extend(encoded_words(bare, " ").split(' ').map(str::to_owned));
        run.clear();
    };
    for word in text.split_whitespace() {
        if word.is_ascii() {
            flush(&mut run, &mut atoms);
            atoms.push(word.to_owned());
        } else {
            run.push(word);
        }
    }
    flush(&mut run, &mut atoms);
    let mut out = String::new();
    let mut width = 20;
    for atom in atoms {
        if !out.is_empty() {
            if width + 1 + atom.len() > 76 {
                out.push_str("\r\n ");
                width = 1;
            } else {
                out.push(' ');
                width += 1;
            }
        }
        width += atom.len();
        out.push_str(&atom);
    }
    out
}

/// A header name or file name for a finding: printable, at most 60 characters.
pub fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_announced_in_the_subject_is_masked() {
        use sekisho_plugin_sdk::{Action, PasswordSource};
        let policy = Policy::uniform(Action::Sanitize).with_password("Tk9#xq2", PasswordSource::Mail);
        let subjects = [
            "PW: Tk9#xq2".to_owned(),
            // =?UTF-8?B?…?= of "【パスワード】Tk9#xq2", as Japanese mailers write it.
            format!("=?UTF-8?B?{}?=", "44CQ44OR44K544Ov44O844OJ44CRVGs5I3hxMg=="),
        ];
        for subject in subjects {
            let raw = format!("From: a@example.jp\r\nSubject: {subject}\r\nTo: b@example.jp\r\n\r\nbody\r\n");
            let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
            let mut findings = Findings::new();
            let headers = kept(raw.as_bytes(), &message.parts[0], &policy, &mut findings).unwrap();
            assert!(!headers.contains("Tk9#xq2") && !headers.contains("VGs5I3hxMg"), "{headers}");
            let parsed = MessageParser::default().parse_headers(headers.as_bytes()).unwrap();
            assert!(parsed.subject().unwrap().ends_with("********"), "{headers}");
            assert!(
                headers.starts_with("From: a@example.jp\r\nSubject: ") && headers.ends_with("To: b@example.jp\r\n")
            );
            assert_eq!(findings.as_slice()[0].location, "header Subject");
        }
        let list = Policy::uniform(Action::Sanitize).with_password("Tk9#xq2", PasswordSource::List);
        let raw = "Subject: PW: Tk9#xq2\r\n\r\nbody\r\n";
        let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
        let headers = kept(raw.as_bytes(), &message.parts[0], &list, &mut Findings::new()).unwrap();
        assert_eq!(headers, "Subject: PW: Tk9#xq2\r\n", "only passwords the mail announced are masked");
    }

    #[test]
    fn non_ascii_words_are_encoded_and_spaces_kept() {
        let encoded = encode_text("\"山田 太郎\" <taro@example.jp>");
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.ends_with(" <taro@example.jp>"), "{encoded}");
        assert_eq!(encode_text("plain words"), "plain words");
    }
}
