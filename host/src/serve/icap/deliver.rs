//! What a proxy delivers in place of the file it handed over: the rebuilt
//! bytes with their HTTP head adapted (length, type and charset of the
//! rebuilt bytes, corrected extension, no validators of the original), or
//! for a refused file a replacement that says why. Everything the gateway
//! sets is derived from the rebuilt file, never copied from the request.

use super::framing::Body;
use super::head::HttpHead;
use crate::report::Outcome;
use crate::serve::IcapRefusal;
use crate::serve::media::{content_type, declares, escape_html, is_textual};
use crate::serve::naming::{content_disposition, disposition_filename, url_file_name};

/// What becomes of a file.
pub(super) enum Verdict {
    /// It passed: these bytes are delivered.
    Pass { bytes: Vec<u8>, media_type: String, extension: String, outcome: String, id: String, unchanged: bool },
    /// It is refused and replaced by an explanation.
    Refuse { outcome: String, reason: String, id: Option<String> },
}

pub(super) fn verdict(id: String, result: crate::Sanitized) -> Verdict {
    let report = result.report;
    let outcome = report.outcome.name().to_owned();
    // A held file is rebuilt but not delivered: it waits for approval.
    match (result.output.filter(|_| report.outcome.passed()), report.output) {
        (Some(bytes), Some(info)) => Verdict::Pass {
            unchanged: report.outcome == Outcome::Clean && info.sha256 == report.input.sha256,
            bytes,
            media_type: info.media_type.to_ascii_lowercase(),
            extension: info.extension,
            outcome,
            id,
        },
        _ => Verdict::Refuse {
            outcome,
            reason: report.reason.map_or_else(|| "the file did not pass".into(), |r| r.detail),
            id: Some(id),
        },
    }
}

/// Why a body cannot be sanitized as a file, before trying.
pub(super) fn unfit(head: &HttpHead, respmod: bool, body: &Body) -> Option<String> {
    let encoded = |name: &str, ignored: &[&str]| {
        head.values(name)
            .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>())
            .find(|t| !t.is_empty() && t != "identity" && !ignored.contains(&t.as_str()))
    };
    if let Some(coding) = encoded("Content-Encoding", &[]).or_else(|| encoded("Transfer-Encoding", &["chunked"])) {
        return Some(format!(
            "the body is compressed ({coding}); files are checked uncompressed only, \
             so the proxy should ask for identity encoding"
        ));
    }
    if respmod && head.status() == Some(206) {
        return Some("partial content (a range request): a part of a file cannot be checked".into());
    }
    if body.size > body.limit as u64 {
        return Some(format!("{} bytes, more than the limit of {}", body.size, body.limit));
    }
    None
}

/// The name used to detect the type: the `Content-Disposition` file name,
/// else the last segment of the request URL.
pub(super) fn file_name(response: Option<&HttpHead>, request: Option<&HttpHead>, respmod: bool) -> String {
    response
        .or(request)
        .and_then(|head| head.get("Content-Disposition"))
        .and_then(|value| disposition_filename(&value))
        .or_else(|| request.and_then(HttpHead::target).and_then(|url| url_file_name(&url)))
        .unwrap_or_else(|| if respmod { "download" } else { "upload" }.into())
}

/// Adapts the HTTP head of a passing file to the bytes delivered.
pub(super) fn deliver(
    head: &mut HttpHead,
    response: bool,
    size: usize,
    media_type: &str,
    extension: &str,
    unchanged: bool,
) {
    for name in ["Content-Length", "Transfer-Encoding", "Content-Encoding"] {
        head.remove(name);
    }
    if !unchanged {
        // Checksums and validators of the original bytes.
        for name in ["Content-MD5", "ETag", "Digest", "Content-Digest", "Repr-Digest"] {
            head.remove(name);
        }
    }
    // Nothing upstream speaks for the gateway.
    head.fields.retain(|line| !line.get(..10).is_some_and(|p| p.eq_ignore_ascii_case(b"x-sekisho-")));
    head.set("Content-Length", &size.to_string());
    if response {
        // A range of a file is refused, so ranges should not be asked for.
        head.set("Accept-Ranges", "none");
    }
    // The type is the one found and, for text, the charset that of the
    // rebuilt bytes (UTF-8): a declared one is kept only when it says
    // exactly that. A lying type could make a browser render the file, a
    // foreign charset (ISO-2022-JP, UTF-7) read it as something else.
    if !head.get("Content-Type").is_some_and(|declared| declares(&declared, media_type)) {
        head.set("Content-Type", &content_type(media_type));
    }
    if response {
        head.set("X-Content-Type-Options", "nosniff");
    }
    if let Some(value) = head.get("Content-Disposition")
        && let Some(file) = disposition_filename(&value)
        && let Some((stem, ext)) = file.rsplit_once('.')
        && !stem.is_empty()
        && !ext.eq_ignore_ascii_case(extension)
    {
        let kind = value.split(';').next().map(str::trim).filter(|k| !k.is_empty()).unwrap_or("attachment");
        head.set("Content-Disposition", &content_disposition(kind, &format!("{stem}.{extension}")));
    }
}

/// Whether the original head may go with the file unchanged (ICAP 204):
/// it declares exactly the rebuilt type and, for text, UTF-8, and a
/// response already forbids sniffing text.
pub(super) fn head_is_exact(head: &HttpHead, response: bool, media_type: &str) -> bool {
    let Some(declared) = head.get("Content-Type") else { return false };
    if !declares(&declared, media_type) {
        return false;
    }
    !(response && is_textual(media_type))
        || head.values("X-Content-Type-Options").any(|v| v.eq_ignore_ascii_case("nosniff"))
}

/// The HTTP message that replaces a refused file: a 403 page, or a 200
/// text file for clients that save whatever they get.
pub(super) fn replacement(
    style: IcapRefusal,
    name: &str,
    outcome: &str,
    reason: &str,
    id: Option<&str>,
) -> (HttpHead, Vec<u8>) {
    let report = id.map(|id| format!("Report id: {id}")).unwrap_or_default();
    let (mut head, body) = match style {
        IcapRefusal::Page => {
            let mut head = HttpHead::new("HTTP/1.1 403 Forbidden");
            head.set("Content-Type", "text/html; charset=utf-8");
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>File refused</title></head>\n\
                 <body><h1>File refused</h1>\n<p>The content gateway did not let <b>{}</b> through: {}.</p>\n\
                 <p>{}</p>\n<p><small>{}</small></p></body></html>\n",
                escape_html(name),
                escape_html(outcome),
                escape_html(reason),
                escape_html(&report)
            );
            (head, page)
        }
        IcapRefusal::TextFile => {
            let mut head = HttpHead::new("HTTP/1.1 200 OK");
            head.set("Content-Type", "text/plain; charset=utf-8");
            head.set("Content-Disposition", &content_disposition("attachment", &format!("{name}.refused.txt")));
            let text = format!(
                "The content gateway did not let {name} through: {outcome}.\n{reason}\n{report}\n\
                 This text replaces the file.\n"
            );
            (head, text)
        }
    };
    head.set("Content-Length", &body.len().to_string());
    head.set("Cache-Control", "no-store");
    head.set("X-Content-Type-Options", "nosniff");
    head.set("X-Sekisho-Outcome", outcome);
    head.set("X-Sekisho-Reason", &reason.chars().take(200).collect::<String>());
    if let Some(id) = id {
        head.set("X-Sekisho-Report-Id", id);
    }
    (head, body.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> HttpHead {
        HttpHead::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_delivered_head_says_what_the_rebuilt_bytes_are() {
        let mut res = head(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-2022-JP\r\nContent-Length: 9\r\nETag: \"x\"\r\n\
             X-Sekisho-Outcome: clean\r\nContent-Disposition: attachment; filename=\"a.htm\"\r\n\r\n",
        );
        deliver(&mut res, true, 42, "text/html", "html", false);
        assert_eq!(res.get("Content-Type").as_deref(), Some("text/html; charset=utf-8"));
        assert_eq!(res.get("X-Content-Type-Options").as_deref(), Some("nosniff"));
        assert_eq!(res.get("Content-Length").as_deref(), Some("42"));
        assert_eq!(res.get("ETag"), None);
        assert_eq!(res.get("X-Sekisho-Outcome"), None);
        assert_eq!(res.get("Content-Disposition").as_deref(), Some("attachment; filename=\"a.html\""));
    }

    #[test]
    fn only_an_exact_head_may_go_unchanged() {
        let exact =
            "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n\r\n";
        assert!(head_is_exact(&head(exact), true, "text/csv"));
        assert!(!head_is_exact(
            &head("HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n\r\n"),
            true,
            "text/csv"
        ));
        assert!(!head_is_exact(
            &head(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-7\r\nX-Content-Type-Options: nosniff\r\n\r\n"
            ),
            true,
            "text/plain"
        ));
        assert!(!head_is_exact(
            &head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Content-Type-Options: nosniff\r\n\r\n"),
            true,
            "text/plain"
        ));
        assert!(head_is_exact(&head("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n"), true, "image/png"));
        assert!(!head_is_exact(&head("HTTP/1.1 200 OK\r\n\r\n"), true, "image/png"));
        // An upload (REQMOD): no sniffing header to ask for, the charset still.
        assert!(head_is_exact(
            &head("PUT /a HTTP/1.1\r\nContent-Type: text/csv; charset=UTF-8\r\n\r\n"),
            false,
            "text/csv"
        ));
        assert!(!head_is_exact(&head("PUT /a HTTP/1.1\r\nContent-Type: text/csv\r\n\r\n"), false, "text/csv"));
    }
}
