//! What a link or a formula in a document reaches.
//!
//! ODF resolves a relative `xlink:href` of an embedded resource (image,
//! object) against the folder of its (sub-)document inside the package, so
//! `Pictures/a.png` is a member while `../a.png`, `/a.png` and `file:///a.png`
//! are files outside the package. Percent escapes are decoded before the
//! decision, so `%2e%2e/` cannot pass for a member name; backslashes never
//! name a member.

use sekisho_plugin_sdk::ContentClass;

/// Where an `xlink:href` points.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// Nowhere or inside the same XML (`#bookmark`).
    Here,
    /// A member of the package (which may not exist).
    Member(String),
    /// Outside the package: another file, a URL.
    Outside,
}

/// Resolves `href` as an embedded resource of the (sub-)document whose
/// members start with `root` (`""` or `Object 1/`).
pub fn resolve(root: &str, href: &str) -> Target {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return Target::Here;
    }
    let Some(path) = decode(href.split(['#', '?']).next().unwrap_or_default()) else {
        return Target::Outside;
    };
    if has_scheme(&path) || path.starts_with('/') || path.contains('\\') {
        return Target::Outside;
    }
    let mut segments: Vec<&str> = root.split('/').filter(|s| !s.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Target::Outside;
                }
            }
            _ => segments.push(segment),
        }
    }
    Target::Member(segments.join("/"))
}

/// URL schemes that run code in LibreOffice/OpenOffice when followed or
/// bound to an event: Basic macros, the scripting framework, UNO services,
/// browser scripts.
const SCRIPT_SCHEMES: [&str; 5] = ["macro:", "vnd.sun.star.script:", "service:", "javascript:", "vbscript:"];

/// True when `value` is a URL that runs a macro or script.
pub fn is_script_url(value: &str) -> bool {
    let value = value.trim_start().as_bytes();
    SCRIPT_SCHEMES
        .iter()
        .any(|scheme| value.get(..scheme.len()).is_some_and(|v| v.eq_ignore_ascii_case(scheme.as_bytes())))
}

/// Why a spreadsheet formula must go, if it must: DDE calls run other
/// applications, web services and cross-file references fetch data.
pub fn formula_risk(formula: &str) -> Option<(ContentClass, &'static str)> {
    let compact: String = formula.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    if calls(&compact, "DDE") {
        return Some((ContentClass::Dde, "table:formula calls DDE(): the cell keeps its last value"));
    }
    let external = ["'FILE:", "'HTTP:", "'HTTPS:", "'FTP:", "'SMB:"].iter().any(|p| compact.contains(p));
    if external || calls(&compact, "WEBSERVICE") {
        return Some((
            ContentClass::ExternalLinks,
            "table:formula reads an external source: the cell keeps its last value",
        ));
    }
    None
}

/// True when `formula` calls the function `name` (not one whose name ends with it).
fn calls(formula: &str, name: &str) -> bool {
    let call = format!("{name}(");
    formula
        .match_indices(&call)
        .any(|(at, _)| !formula[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn has_scheme(path: &str) -> bool {
    path.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    })
}

/// Decodes `%xx` escapes; `None` when an escape or the result is malformed.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &str) -> Target {
        Target::Member(path.to_owned())
    }

    #[test]
    fn members_are_resolved_inside_their_sub_document() {
        assert_eq!(resolve("", "Pictures/a.png"), member("Pictures/a.png"));
        assert_eq!(resolve("", "./Object 1"), member("Object 1"));
        assert_eq!(resolve("Object 1/", "Pictures/a.png"), member("Object 1/Pictures/a.png"));
        assert_eq!(resolve("Object 1/", "../Pictures/a.png"), member("Pictures/a.png"));
        assert_eq!(resolve("", "Object%201"), member("Object 1"));
        assert_eq!(resolve("", "#Slide 2"), Target::Here);
    }

    #[test]
    fn everything_else_is_outside() {
        for href in [
            "../a.png",
            "%2e%2e/a.png",
            "/etc/passwd",
            "http://example.jp/a.png",
            "file:///C:/a.png",
            "C:\\a.png",
            "a\\..\\..\\b",
            "\\\\server\\share\\a.png",
            "smb://server/a",
            "bad%zz",
            "Object 1/../../x",
        ] {
            assert_eq!(resolve("", href), Target::Outside, "{href}");
        }
    }

    #[test]
    fn script_urls_and_risky_formulas() {
        assert!(is_script_url(" vnd.sun.star.script:Standard.test.Main?language=Basic&location=document"));
        assert!(is_script_url("MACRO:///Standard.Module1.Main()"));
        assert!(!is_script_url("https://example.jp/"));
        assert!(!is_script_url(".uno:Bold"));
        assert_eq!(formula_risk("of:=DDE(\"cmd\";\"/c calc\";\"x\")").map(|r| r.0), Some(ContentClass::Dde));
        assert_eq!(formula_risk("of:=dde (\"cmd\";\"x\";\"y\")").map(|r| r.0), Some(ContentClass::Dde));
        assert_eq!(formula_risk("of:=MYADDE(1)"), None);
        assert_eq!(formula_risk("of:=['file:///x.ods'#$Sheet1.A1]").map(|r| r.0), Some(ContentClass::ExternalLinks));
        assert_eq!(formula_risk("of:=SUM([.A1:.A3])"), None);
    }
}
