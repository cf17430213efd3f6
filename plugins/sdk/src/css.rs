//! CSS from `<style>` elements, `style` attributes and presentation
//! attributes, shared by the SVG and HTML plugins.
//!
//! A stylesheet fetches through `@import`, `url()` and the image functions
//! that take plain strings (`image-set()`, `image()`, `cross-fade()`), and
//! old browsers run script from it (`expression()`, `behavior`,
//! `-moz-binding`, `javascript:` URLs). Escapes (`\75 rl(`) and comments are
//! decoded before the text is judged, as a browser would read it. The text
//! is cut into statements at `;`, `{` and `}` outside strings, comments and
//! parentheses; a statement that reaches outside or runs script is removed
//! whole (a block whose prelude does, with its block) and every other byte
//! stays as it was. Cutting wrongly can only remove too much: every byte
//! belongs to a statement that is judged.

use crate::{ContentClass, Failure};

use crate::url::{self, Reach};

/// Why a statement or value must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub class: ContentClass,
    pub detail: String,
}

/// What runs script in some browser, and its name in a finding.
const SCRIPT_KEYWORDS: [(&str, &str); 5] = [
    ("expression(", "expression()"),
    ("behavior:", "behavior"),
    ("-moz-binding", "-moz-binding"),
    ("javascript:", "javascript: URL"),
    ("vbscript:", "vbscript: URL"),
];
/// Functions whose plain string arguments are URLs.
const IMAGE_FUNCTIONS: [&str; 4] = ["image-set(", "image(", "cross-fade(", "src("];

/// The risk of one declaration, at-rule or presentation attribute value.
pub fn risk(text: &str) -> Option<Risk> {
    let plain = decode(text);
    let lower = plain.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some((_, name)) = SCRIPT_KEYWORDS.iter().find(|(keyword, _)| compact.contains(keyword)) {
        return Some(Risk { class: ContentClass::Scripts, detail: format!("{name} runs script") });
    }
    let statement = lower.trim_start();
    if statement.starts_with("@namespace") {
        // Namespace URIs name, they are never fetched.
        return None;
    }
    let import = statement.starts_with("@import");
    let strings = import || IMAGE_FUNCTIONS.iter().any(|f| compact.contains(f));
    let worst = urls(&plain, &lower, strings).into_iter().map(|u| (url::reach(&u), u)).max_by_key(|(reach, _)| *reach);
    match worst {
        Some((reach, target)) if reach > Reach::InlineImage || import => {
            let class = reach.class(false).unwrap_or(ContentClass::ExternalLinks);
            let what = if import { "@import of" } else { "reference to" };
            Some(Risk { class, detail: format!("{what} {}", url::shown(&target)) })
        }
        None if import => Some(Risk { class: ContentClass::ExternalLinks, detail: "@import of a stylesheet".into() }),
        _ => None,
    }
}

/// Rewrites a stylesheet or a declaration list, asking `remove` about every
/// risky statement (the caller applies the policy and records the finding).
/// `None` when nothing was removed.
pub fn rewrite(css: &str, mut remove: impl FnMut(Risk) -> Result<bool, Failure>) -> Result<Option<String>, Failure> {
    let mut out = String::with_capacity(css.len());
    let (mut changed, mut skip_depth) = (false, 0usize);
    for (text, end) in statements(css) {
        let delimiter = &css[text.end..end];
        if skip_depth > 0 {
            match delimiter {
                "{" => skip_depth += 1,
                "}" => skip_depth -= 1,
                _ => {}
            }
            continue;
        }
        let statement = &css[text.clone()];
        let risky = match risk(statement) {
            Some(found) => remove(found)?,
            None => false,
        };
        if !risky {
            out.push_str(statement);
            out.push_str(delimiter);
            continue;
        }
        changed = true;
        match delimiter {
            "{" => skip_depth = 1,
            // The statement goes, the block it ends stays closed.
            "}" => out.push('}'),
            _ => {}
        }
    }
    Ok(changed.then_some(out))
}

/// Statements of `css` as (text range, end of its delimiter): the delimiter
/// (`;`, `{`, `}` or nothing at the end) follows the text.
fn statements(css: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let bytes = css.as_bytes();
    let mut found = Vec::new();
    let (mut start, mut i, mut depth) = (0, 0, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..].find("*/").map_or(bytes.len(), |at| i + 2 + at + 1);
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b';' | b'{' | b'}' if depth == 0 => {
                found.push((start..i, i + 1));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        found.push((start..bytes.len(), bytes.len()));
    }
    found
}

/// The text with comments removed and escapes decoded.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = '\0';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '\\' => {
                let mut hex = String::new();
                while hex.len() < 6 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                    hex.extend(chars.next());
                }
                if hex.is_empty() {
                    // `\` before a newline continues the line; before anything else it is that character.
                    out.extend(chars.next().filter(|&c| c != '\n'));
                } else {
                    if chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                    let code = u32::from_str_radix(&hex, 16).unwrap_or(0xfffd);
                    out.push(char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{fffd}'));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The URLs in decoded CSS: `url()` arguments, and with `strings` every
/// quoted string (the arguments of `@import` and the image functions).
/// `lower` is `plain` in ASCII lower case, so their offsets agree.
fn urls(plain: &str, lower: &str, strings: bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("url(") {
        let start = from + at + 4;
        let rest = plain[start..].trim_start();
        let target = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or_default(),
            _ => rest.split(')').next().unwrap_or_default(),
        };
        found.push(target.trim().to_owned());
        from = start;
    }
    if strings {
        let mut rest = plain;
        while let Some(open) = rest.find(['"', '\'']) {
            let quote = &rest[open..open + 1];
            let after = &rest[open + 1..];
            let Some(close) = after.find(quote) else { break };
            found.push(after[..close].to_owned());
            rest = &after[close + 1..];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(css: &str) -> String {
        rewrite(css, |_| Ok(true)).unwrap().unwrap_or_else(|| css.to_owned())
    }

    #[test]
    fn values_are_judged_as_a_browser_reads_them() {
        assert_eq!(risk("fill:url(#grad)"), None);
        assert_eq!(risk("url('#benis.svg')"), None);
        assert_eq!(risk("color: red"), None);
        assert_eq!(risk("background:url(data:image/png;base64,iVBOR)"), None);
        assert_eq!(risk("@namespace svg url(http://www.w3.org/2000/svg)"), None);
        let external = |css: &str| risk(css).map(|r| r.class);
        assert_eq!(external("  url(  ' https://example.com/benis.svg '  ) "), Some(ContentClass::ExternalLinks));
        assert_eq!(external("url('/benis.svg')"), Some(ContentClass::ExternalLinks));
        assert_eq!(external("background: \\75 rl(http://evil/x.png)"), Some(ContentClass::ExternalLinks));
        assert_eq!(external("background: u\\rl(//evil/x.png)"), Some(ContentClass::ExternalLinks));
        assert_eq!(
            external("background-image: image-set(\"http://evil/x.png\" 1x)"),
            Some(ContentClass::ExternalLinks)
        );
        assert_eq!(external("@import 'a.css'"), Some(ContentClass::ExternalLinks));
        assert_eq!(external("width: expression(alert(1))"), Some(ContentClass::Scripts));
        assert_eq!(external("behavior : url(x.htc)"), Some(ContentClass::Scripts));
        assert_eq!(external("background:url(java\\73 cript:alert(1))"), Some(ContentClass::Scripts));
        assert_eq!(external("src:url(data:font/woff2;base64,AAAA)"), Some(ContentClass::ActiveObjects));
    }

    #[test]
    fn only_risky_statements_go() {
        assert_eq!(rewrite("a{color:red}", |_| Ok(true)).unwrap(), None);
        assert_eq!(clean("@import url(http://x/s.css);\n  circle{fill:red}"), "\n  circle{fill:red}");
        assert_eq!(clean("a{color:red;background:url(http://x/p.gif)}b{x:y}"), "a{color:red;}b{x:y}");
        assert_eq!(clean("color:red; background:url(\"http://x/a;b.png\"); top:0"), "color:red; top:0");
        assert_eq!(clean("@document url(http://x/){a{b:c}}p{q:r}"), "p{q:r}");
        assert_eq!(clean("@font-face{font-family:x;src:url(http://x/f.woff)}"), "@font-face{font-family:x;}");
        assert_eq!(clean("a{b:url(data:image/gif;base64,R0lG;)}"), "a{b:url(data:image/gif;base64,R0lG;)}");
        // A string or parenthesis left open takes the rest with it.
        assert_eq!(clean("a{b:c;d:url(http://x/;e:f}g{h:i}"), "a{b:c;");
        assert_eq!(rewrite("a{b:url(http://x/)}", |_| Ok(false)).unwrap(), None);
    }
}
