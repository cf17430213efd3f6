//! Text bodies: charset, HTML, links, and the note about what was removed.
//!
//! Text is read with its declared charset, unless the bytes say otherwise:
//! a legacy label on bytes that are valid UTF-8 (a common mislabel) is read
//! as UTF-8, and bytes the label cannot decode are read in the charset they
//! fit (ISO-2022-JP escapes first, then chardetng), so no body turns into
//! mojibake. HTML goes through the HTML plugin natively: sanitized (no
//! scripts, no remote images or other tracking, whatever the policy says
//! about external links), or with `html-mode = "text"` sanitized and then
//! turned into plain text with its links written out. Links in plain text
//! are kept, defanged (`hxxp://example[.]com`) or removed as the hyperlink
//! mode says.

use std::borrow::Cow;
use std::ops::Range;

use mail_parser::PartType;
use sekisho_plugin_sdk::{
    Action, ContentClass, Decision, Disposition, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure, Finding, Host,
    HyperlinkMode, Policy, RefuseAll,
};

use crate::headers::{self, shown};
use crate::mime::{Content, Node};
use crate::rebuild::{Part, Rebuild, is_printable};

/// What becomes of HTML bodies (the policy option `html-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlMode {
    Sanitize,
    /// Plain text: the Japanese local-government "HTMLメールのテキスト化".
    Text,
}

impl HtmlMode {
    pub fn of(policy: &Policy) -> Result<HtmlMode, Failure> {
        match policy.option("html-mode") {
            None | Some("sanitize") => Ok(HtmlMode::Sanitize),
            Some("text") => Ok(HtmlMode::Text),
            Some(other) => {
                Err(Failure::unsupported(format!("html-mode {:?}: expected sanitize or text", shown(other))))
            }
        }
    }
}

/// Where the text of an HTML body is, before the HTML plugin's own location.
const HTML_BODY: &str = "body (html) ";

/// The host as the HTML plugin sees it for a body: its text is located
/// inside the HTML body (`body (html) block 3`).
struct HtmlBody<'h, E: Host + ?Sized> {
    host: &'h mut E,
}

impl<E: Host + ?Sized> Host for HtmlBody<'_, E> {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        self.host.sanitize_embedded(name, data)
    }

    fn emit_text(&mut self, location: &str, text: &str) {
        self.host.emit_text(&format!("{HTML_BODY}{location}"), text);
    }

    fn charge_expansion(&mut self, bytes: u64) -> Result<(), Failure> {
        self.host.charge_expansion(bytes)
    }
}

/// Heads the list of what was removed, added to the text body.
const NOTE_HEADING: &str = "[Sekisho] 次の内容を削除しました / Removed from this message:";

impl<E: Embedder + ?Sized> Rebuild<'_, E> {
    /// A text/plain or text/html body part, rebuilt as UTF-8 text.
    pub fn body(&mut self, part: &Part, html: bool) -> Result<Node, Failure> {
        let bytes = self.decoded(part.part);
        self.account(bytes.len())?;
        let location = part.location(&part.media_type);
        let parsed = match &part.part.body {
            PartType::Text(text) | PartType::Html(text) => Cow::Borrowed(text.as_ref()),
            _ => String::from_utf8_lossy(&bytes),
        };
        let mut text = self.charset(&parsed, &bytes, part.param("charset"), &location)?;
        let malformed = |detail: &str| (ContentClass::MalformedStructure, Disposition::Neutralized, detail.to_owned());
        let mut problems = Vec::new();
        if part.part.is_encoding_problem {
            problems.push(malformed("broken transfer encoding: the text is kept as it came"));
        }
        if let Some(stray) = headers::stray_text(self.raw, part.part) {
            problems.push(malformed("text in the header block (no empty line after the headers) moved to the body"));
            text.insert_str(0, &stray);
        }
        for (class, disposition, detail) in problems {
            self.findings.decide(self.policy, class, disposition, &location, detail)?;
        }
        let node = if html {
            self.html(&text, &location)?
        } else {
            let text = self.links(&text, &location)?;
            let text = self.mask_passwords(text, &location);
            if !text.trim().is_empty() {
                self.embedder.emit_text("body", &text);
            }
            let mut node = Node::new("text/plain", Content::Text(text));
            if part.media_type == "text/plain" {
                let flowed =
                    ["format", "delsp"].iter().filter_map(|&k| Some((k.to_owned(), part.param(k)?.to_owned())));
                node.params = flowed.filter(|(_, v)| is_printable(v)).collect();
            }
            node
        };
        Ok(part.carry(node))
    }

    /// The text of a body part: `parsed` (mail-parser's reading with the
    /// declared charset) unless the bytes contradict the label.
    fn charset(&mut self, parsed: &str, bytes: &[u8], label: Option<&str>, location: &str) -> Result<String, Failure> {
        let (policy, class) = (self.policy, ContentClass::MalformedStructure);
        let declared_utf8 = label.is_none_or(|l| matches!(l.to_ascii_lowercase().as_str(), "utf-8" | "utf8"));
        if let Ok(text) = std::str::from_utf8(bytes)
            && !bytes.is_ascii()
        {
            if !declared_utf8 {
                let detail = format!("declared {} but the bytes are UTF-8: read as UTF-8", shown(label.unwrap_or("")));
                self.findings.decide(policy, class, Disposition::Neutralized, location, detail)?;
            }
            return Ok(text.to_owned());
        }
        if !parsed.contains(['\u{fffd}', '\x1b']) {
            return Ok(parsed.to_owned());
        }
        let label = shown(label.unwrap_or("(none)"));
        match decode_unlabelled(bytes) {
            Some((text, name)) => {
                let detail = format!("charset {label} does not fit the bytes: read as {name}");
                self.findings.decide(policy, class, Disposition::Neutralized, location, detail)?;
                Ok(text)
            }
            None => {
                let detail = format!("byte sequences invalid in charset {label} replaced with U+FFFD");
                self.findings.decide(policy, class, Disposition::Neutralized, location, detail)?;
                Ok(parsed.to_owned())
            }
        }
    }

    /// An HTML body through the HTML plugin: sanitized HTML, or plain text in text mode.
    fn html(&mut self, text: &str, location: &str) -> Result<Node, Failure> {
        let mut policy = self.policy.clone();
        policy.options.retain(|(key, _)| key != "html-mode");
        // Remote resources (tracking pixels, styles, fonts) never survive in mail.
        if policy.action(ContentClass::ExternalLinks) == Action::Allow {
            policy = policy.with(ContentClass::ExternalLinks, Action::Sanitize);
        }
        // In text mode the links are written out and then treated as text links.
        if self.html_mode == HtmlMode::Text && policy.action(ContentClass::Hyperlinks) != Action::Block {
            policy = policy.with(ContentClass::Hyperlinks, Action::Sanitize);
            policy.hyperlink_mode = HyperlinkMode::Keep;
        }
        let mut out = Vec::new();
        let input = [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat();
        // The sanitized page's text is the body's, unless the page becomes text (below).
        let sanitized = match self.html_mode {
            HtmlMode::Sanitize => {
                sekisho_html::sanitize(&input[..], &mut out, &policy, &mut HtmlBody { host: &mut *self.embedder })
            }
            HtmlMode::Text => sekisho_html::sanitize(&input[..], &mut out, &policy, &mut RefuseAll),
        };
        match sanitized {
            Ok(rebuilt) => self.adopt(location, rebuilt.findings),
            Err(failure) => {
                self.adopt(location, failure.findings);
                let findings = std::mem::take(&mut self.findings).into_vec();
                return Err(Failure {
                    kind: failure.kind,
                    detail: format!("{location}: {}", failure.detail),
                    findings,
                });
            }
        }
        let html = String::from_utf8_lossy(&out).trim_start_matches('\u{feff}').to_owned();
        if self.html_mode == HtmlMode::Sanitize {
            let (masked, count) = sekisho_plugin_sdk::passwords::mask_announced_html(&html, self.policy);
            self.findings.masked_passwords(location, count);
            let html = masked.into_owned();
            return Ok(Node::new("text/html", Content::Text(html)));
        }
        let detail = "HTML body converted to plain text (html-mode text)";
        self.findings.push(ContentClass::Scripts, Disposition::Neutralized, location, detail);
        let text = sekisho_html::to_text(&[&b"\xef\xbb\xbf"[..], html.as_bytes()].concat())?;
        let text = self.links(&text, location)?;
        let text = self.mask_passwords(text, location);
        // The text is set out in paragraphs (blank lines), one block each.
        let blocks = text.split("\n\n").map(|block| block.trim_matches('\n')).filter(|b| !b.trim().is_empty());
        for (number, block) in blocks.enumerate() {
            self.embedder.emit_text(&format!("{HTML_BODY}block {}", number + 1), block);
        }
        Ok(Node::new("text/plain", Content::Text(text)))
    }

    /// The text with the passwords a mail gateway found in this message
    /// masked (PPAP: the password mail is delivered without its password).
    fn mask_passwords(&mut self, text: String, location: &str) -> String {
        let (masked, count) = sekisho_plugin_sdk::passwords::mask_announced(&text, self.policy);
        if count == 0 {
            return text;
        }
        let masked = masked.into_owned();
        self.findings.masked_passwords(location, count);
        masked
    }

    /// Takes the findings of the HTML plugin, located inside this part.
    fn adopt(&mut self, location: &str, findings: Vec<Finding>) {
        for f in findings {
            let at = format!("{location}: {}", f.location);
            self.findings.push(f.class, f.disposition, &at, &f.detail);
            // Grouping finds the finding just pushed and only counts (the policy is not asked again).
            for _ in 1..f.count {
                let _ = self.findings.decide_grouped(self.policy, f.class, f.disposition, &at, &f.detail);
            }
        }
    }

    /// Links in plain text, kept, defanged or removed as the hyperlink mode says.
    pub fn links(&mut self, text: &str, location: &str) -> Result<String, Failure> {
        let urls = find_urls(text);
        if urls.is_empty() || self.policy.keeps_links() {
            return Ok(text.to_owned());
        }
        let remove = self.policy.hyperlink_mode == HyperlinkMode::Remove;
        let (disposition, detail) = if remove {
            (Disposition::Removed, "link in text removed")
        } else {
            (Disposition::Neutralized, "link in text defanged (hxxp://, [.])")
        };
        let mut out = String::with_capacity(text.len() + 16 * urls.len());
        let mut last = 0;
        for range in urls {
            out.push_str(&text[last..range.start]);
            let url = &text[range.clone()];
            let class = ContentClass::Hyperlinks;
            match self.findings.decide_grouped(self.policy, class, disposition, location, detail)? {
                Decision::Keep => out.push_str(url),
                Decision::Sanitize if remove => out.push_str("[link removed]"),
                Decision::Sanitize => out.push_str(&defang(url)),
            }
            last = range.end;
        }
        out.push_str(&text[last..]);
        Ok(out)
    }
}

/// Decodes text whose label is missing or wrong: ISO-2022-JP when its
/// escapes appear, UTF-8 when valid, otherwise chardetng's guess. `None`
/// when the guess does not decode cleanly either.
pub fn decode_unlabelled(bytes: &[u8]) -> Option<(String, &'static str)> {
    let encoding = sekisho_plugin_sdk::charset::guess(bytes);
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    (!had_errors).then(|| (text.into_owned(), encoding.name()))
}

/// Where links are in plain text: `http://`, `https://`, `ftp://` and
/// `www.` at the start of a word, up to a space, a quote, an angle bracket
/// or a non-ASCII character, without trailing punctuation. A link defanged
/// before (`hxxp://`, `www[.]`) is passed over whole, so nothing inside it
/// is taken for a link the next time.
fn find_urls(text: &str) -> Vec<Range<usize>> {
    const LIVE: [&str; 4] = ["https://", "http://", "ftp://", "www."];
    const DEFANGED: [&str; 4] = ["hxxps://", "hxxp://", "fxp://", "www[.]"];
    let lower = text.to_ascii_lowercase();
    let mut urls = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let rest = &lower[at..];
        let starts_word = !text[..at].ends_with(|p: char| p.is_ascii_alphanumeric() || "./@-_".contains(p));
        let prefix = LIVE.iter().chain(&DEFANGED).find(|p| rest.starts_with(**p)).filter(|_| starts_word);
        if let Some(prefix) = prefix {
            let is_url_byte = |b: &u8| b.is_ascii_graphic() && !b"<>\"'`{}|\\^".contains(b);
            let mut end = at + rest.bytes().take_while(is_url_byte).count();
            while end > at + prefix.len() {
                let span = &text[at..end];
                let unbalanced =
                    |open, close| span.ends_with(close) && span.matches(open).count() < span.matches(close).count();
                if !(span.ends_with(['.', ',', ';', ':', '!', '?']) || unbalanced('(', ')') || unbalanced('[', ']')) {
                    break;
                }
                end -= 1;
            }
            if end > at + prefix.len() {
                if LIVE.contains(prefix) {
                    urls.push(at..end);
                }
                at = end;
                continue;
            }
        }
        at += c.len_utf8();
    }
    urls
}

/// `https://www.example.com/a.html` → `hxxps://www[.]example[.]com/a.html`.
fn defang(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = [("https://", "hxxps://"), ("http://", "hxxp://"), ("ftp://", "fxp://")]
        .into_iter()
        .find(|(from, _)| lower.starts_with(from))
        .map_or(("", url), |(from, to)| (to, &url[from.len()..]));
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!("{scheme}{}{}", rest[..host_end].replace('.', "[.]"), &rest[host_end..])
}

/// Adds the list of what was removed to the text body: every alternative of
/// the first body found, or a text part of its own at the top.
pub fn with_notes(mut node: Node, notes: &[String]) -> Node {
    if notes.is_empty() {
        return node;
    }
    let list: String = notes.iter().map(|note| format!("- {note}\n")).collect();
    // Names in the note are the sender's: a link in one is defanged, so the
    // note reads the same under every hyperlink mode when sanitized again.
    let mut note = format!("{NOTE_HEADING}\n{list}");
    for url in find_urls(&note).into_iter().rev() {
        note.replace_range(url.clone(), &defang(&note[url]));
    }
    if add_note(&mut node, &note) {
        return node;
    }
    let part = Node::new("text/plain", Content::Text(note));
    match &mut node.content {
        Content::Parts(parts) if node.media_type == "multipart/mixed" => {
            parts.insert(0, part);
            node
        }
        _ => Node::new("multipart/mixed", Content::Parts(vec![part, node])),
    }
}

fn add_note(node: &mut Node, note: &str) -> bool {
    match &mut node.content {
        Content::Text(html) if node.media_type == "text/html" => {
            let escaped = note.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let at = html.to_ascii_lowercase().rfind("</body>").unwrap_or(html.len());
            html.insert_str(at, &format!("<hr><pre>{escaped}</pre>"));
            true
        }
        Content::Text(text) => {
            if !text.is_empty() {
                text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
            }
            text.push_str(note);
            true
        }
        Content::Parts(parts) if node.media_type == "multipart/alternative" => {
            parts.iter_mut().fold(false, |found, part| add_note(part, note) | found)
        }
        Content::Parts(parts) => parts.iter_mut().any(|part| add_note(part, note)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::ISO_2022_JP;

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn links_are_found_in_text() {
        assert_eq!(urls("see http://a.example/x?y=1."), ["http://a.example/x?y=1"]);
        assert_eq!(urls("詳細はhttps://example.jp/a.htmlをご覧ください"), ["https://example.jp/a.html"]);
        assert_eq!(urls("(www.example.com) and <https://x.jp/(a)>"), ["www.example.com", "https://x.jp/(a)"]);
        assert!(urls("mail me: user@www.example.com, xhttp://no, http://").is_empty());
    }

    #[test]
    fn defanged_links_are_not_links() {
        assert_eq!(defang("https://www.example.com/a.html"), "hxxps://www[.]example[.]com/a.html");
        assert_eq!(defang("www.example.com/x"), "www[.]example[.]com/x");
        assert!(find_urls(&defang("http://evil.example/p")).is_empty());
        // Found by fuzzing: what follows the host of a defanged link is not a link.
        let once = defang("http://www.example.com/index?www.mid=1");
        assert_eq!(once, "hxxp://www[.]example[.]com/index?www.mid=1");
        assert!(find_urls(&once).is_empty() && find_urls("x (hxxp://a[.]b/c(www.d.e)) y").is_empty());
    }

    #[test]
    fn unlabelled_japanese_is_detected() {
        let (iso, _, _) = ISO_2022_JP.encode("日本語のメール本文");
        assert_eq!(decode_unlabelled(&iso).unwrap(), ("日本語のメール本文".to_owned(), "ISO-2022-JP"));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("日本語のメール本文です。よろしくお願いします。");
        assert_eq!(decode_unlabelled(&sjis).unwrap().0, "日本語のメール本文です。よろしくお願いします。");
    }
}
