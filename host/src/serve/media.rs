//! Media types at the gateway's edges. What the gateway sends is derived
//! from the rebuilt file, never copied from the request: the type the
//! report names, and for text the charset of the rebuilt bytes. Sekisho's
//! text, HTML, SVG and e-mail plugins always write UTF-8, so every text
//! type goes out as `charset=utf-8`; an origin's `ISO-2022-JP` or `UTF-7`
//! would make a browser read the rebuilt bytes as something else.

/// Whether a media type (without parameters) is text a browser decodes by
/// a charset: `text/*`, XML and JSON types (`+xml`, `+json`), and the
/// JavaScript types.
pub(super) fn is_textual(media_type: &str) -> bool {
    let media_type = media_type.trim().to_ascii_lowercase();
    media_type.starts_with("text/")
        || media_type.ends_with("+xml")
        || media_type.ends_with("+json")
        || matches!(
            media_type.as_str(),
            "application/xml"
                | "application/json"
                | "application/javascript"
                | "application/ecmascript"
                | "application/x-javascript"
                | "application/x-ecmascript"
                | "application/xml-dtd"
        )
}

/// The `Content-Type` of rebuilt bytes of `media_type`: with
/// `charset=utf-8` for text.
pub(super) fn content_type(media_type: &str) -> String {
    let media_type = media_type.trim().to_ascii_lowercase();
    if is_textual(&media_type) { format!("{media_type}; charset=utf-8") } else { media_type }
}

/// The media type of a `Content-Type` value, without parameters, in lowercase.
pub(super) fn essence(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a `Content-Type` value says exactly what the rebuilt bytes are:
/// the same type and, for text, one charset parameter that is UTF-8.
pub(super) fn declares(value: &str, media_type: &str) -> bool {
    if essence(value) != media_type.trim().to_ascii_lowercase() {
        return false;
    }
    if !is_textual(media_type) {
        return true;
    }
    let charsets: Vec<String> = value
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    matches!(charsets.as_slice(), [one] if one == "utf-8" || one == "utf8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_carry_utf8() {
        for text in ["text/html", "text/plain", "text/csv", "image/svg+xml", "application/json", "Text/HTML"] {
            assert!(is_textual(text), "{text}");
            assert!(content_type(text).ends_with("; charset=utf-8"), "{text}");
        }
        for binary in ["application/pdf", "image/png", "message/rfc822", "application/zip"] {
            assert!(!is_textual(binary), "{binary}");
            assert_eq!(content_type(binary), binary);
        }
    }

    #[test]
    fn only_the_rebuilt_type_and_utf8_are_declared() {
        assert!(declares("text/html; charset=utf-8", "text/html"));
        assert!(declares("text/html;charset=\"UTF-8\"", "text/html"));
        assert!(declares("application/pdf", "application/pdf"));
        assert!(!declares("text/html", "text/html"));
        assert!(!declares("text/html; charset=ISO-2022-JP", "text/html"));
        assert!(!declares("text/plain; charset=utf-7", "text/plain"));
        assert!(!declares("text/plain; charset=utf-8; charset=utf-7", "text/plain"));
        assert!(!declares("text/html; charset=utf-8", "text/plain"));
    }
}

/// Escapes text for HTML content and quoted attribute values (the ICAP
/// refusal page, the approval page).
pub(super) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
