//! Passwords announced in a message: the second mail of PPAP
//! (パスワード付きZIPファイルを送ります、パスワードは別途お送りします).
//!
//! A password mail names the password after a label, in a handful of
//! phrasings: `パスワード：Tk9#xq2`, `PW: Tk9#xq2`, `解凍パスワードは「Tk9#xq2」です`,
//! `Password: Tk9#xq2`, or a label line (`パスワードは以下の通りです。`)
//! followed by a line holding only the password. A subject such as
//! `【パスワード】…` or `パスワードのお知らせ` marks the whole mail as one, so
//! a line holding only a password-like token counts there too.
//!
//! What counts as the password: one run of printable ASCII, 4 to 64
//! characters, that ends its line (closing brackets and `です`/`。` may
//! follow). `パスワードは別途お送りします` or `Password: will be sent
//! separately` name none. Full-width characters are read as their ASCII
//! forms (a password typed in full width is offered both ways).

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::normalize::Normalized;

/// A password found in a text.
#[derive(Clone, PartialEq, Eq)]
pub struct Announced {
    /// The password as written (its ASCII form when written in full width).
    pub password: String,
    /// Where it is in the text (the original text's byte offsets).
    pub span: Range<usize>,
}

impl std::fmt::Debug for Announced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Announced(<{} characters>, {:?})", self.password.chars().count(), self.span)
    }
}

fn label() -> &'static Regex {
    static LABEL: OnceLock<Regex> = OnceLock::new();
    LABEL.get_or_init(|| {
        Regex::new(
            r"(?i)(?:解凍|展開|開封|zip|ファイルの?)?(?:パスワード|ﾊﾟｽﾜｰﾄﾞ|暗証番号|\b(?:password|passwd|pass ?word|pw))(?:\s*[:=]\s*|\s*は\s*|\s+)",
        )
        .expect("a valid pattern")
    })
}

fn subject_pattern() -> &'static Regex {
    static SUBJECT: OnceLock<Regex> = OnceLock::new();
    SUBJECT.get_or_init(|| {
        Regex::new(r"(?i)パスワード|ﾊﾟｽﾜｰﾄﾞ|password|\[pw\]|【pw】|\bpw\b|暗証番号").expect("a valid pattern")
    })
}

/// Whether a subject line marks a password mail (`【パスワード】`, `[PW]`,
/// `パスワードのお知らせ`, `Password for …`).
pub fn is_password_subject(subject: &str) -> bool {
    subject_pattern().is_match(&Normalized::new(subject).text)
}

/// Words after a label that announce the password on a following line.
const FOLLOWS: &[&str] = &["以下", "下記", "次の", "次のとおり", "below", "follows"];

/// Characters that may close a bracketed password or a sentence after it.
const CLOSERS: &[char] = &['」', '』', '】', '"', '\'', ')', '）', ']', '”', '’', '>', '〉', '》'];
const OPENERS: &[char] = &['「', '『', '【', '"', '\'', '(', '（', '[', '“', '‘', '<', '〈', '《'];

/// The password a line holds after a label, as `(start, end)` in `line`
/// (normalized), if the rest of the line is only closers and a sentence end.
fn token_at(line: &str, from: usize) -> Option<Range<usize>> {
    let rest = &line[from..];
    let opened = rest.trim_start_matches(|c: char| c.is_whitespace() || OPENERS.contains(&c));
    let start = line.len() - opened.len();
    let length =
        opened.find(|c: char| !c.is_ascii_graphic() || CLOSERS.contains(&c) || c == '"').unwrap_or(opened.len());
    let token = &opened[..length];
    // A sentence end after the token: closers, です, 。 and nothing else.
    let tail = opened[length..].trim_start_matches(|c: char| CLOSERS.contains(&c) || c.is_whitespace());
    let tail = tail.trim_end_matches(|c: char| c.is_whitespace() || "。．.!！".contains(c));
    let ends_line = ["", "です", "になります", "となります", "でございます", "です。"].contains(&tail);
    let plausible = (4..=64).contains(&token.len()) && !token.ends_with(['.', ',', ':', ';']);
    (ends_line && plausible).then(|| start..start + length)
}

/// A line that is only one password-like token (after a label line, or in
/// a password mail): 4 to 64 printable ASCII characters with a digit, not
/// ending in punctuation, not a URL or an address.
fn lone_token(line: &str) -> Option<Range<usize>> {
    let trimmed = line.trim();
    let start = line.len() - line.trim_start().len();
    let token = trimmed.trim_start_matches(OPENERS).trim_end_matches(CLOSERS);
    let offset = start + (trimmed.len() - trimmed.trim_start_matches(OPENERS).len());
    let ok = (4..=64).contains(&token.len())
        && token.chars().all(|c| c.is_ascii_graphic())
        && token.chars().any(|c| c.is_ascii_digit())
        && !token.ends_with([',', '.', ':', ';', '!', '?'])
        && !token.contains("://")
        && !token.contains('@')
        && !token.starts_with("--");
    ok.then(|| offset..offset + token.len())
}

/// The passwords a message body announces. `subject_says_so` (see
/// [`is_password_subject`]) lets a line holding only a token count.
pub fn announced_passwords(text: &str, subject_says_so: bool) -> Vec<Announced> {
    let normalized = Normalized::new(text);
    let body = normalized.text.as_ref();
    let mut found: Vec<Announced> = Vec::new();
    let push = |range: Range<usize>, found: &mut Vec<Announced>| {
        let span = normalized.to_original(range.start)..normalized.to_original(range.end);
        let password = body[range].to_owned();
        if !found.iter().any(|a| a.password == password) {
            found.push(Announced { password, span });
        }
    };
    let mut offset = 0;
    let mut label_waiting = false;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        let mut on_line = false;
        for label in label().find_iter(content) {
            if let Some(token) = token_at(content, label.end()) {
                push(offset + token.start..offset + token.end, &mut found);
                on_line = true;
            }
        }
        if on_line {
            label_waiting = false;
        } else if label().is_match(content) && FOLLOWS.iter().any(|w| content.to_lowercase().contains(w)) {
            // `パスワードは以下の通りです。` announces the next line.
            label_waiting = true;
        } else if !content.trim().is_empty() {
            if label_waiting || subject_says_so {
                if let Some(token) = lone_token(content) {
                    push(offset + token.start..offset + token.end, &mut found);
                }
            }
            label_waiting = false;
        }
        offset += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords(text: &str, subject: bool) -> Vec<String> {
        announced_passwords(text, subject).into_iter().map(|a| a.password).collect()
    }

    #[test]
    fn the_common_phrasings_name_the_password() {
        for text in [
            "先ほどのファイルのパスワード：Tk9#xq2",
            "パスワード: Tk9#xq2\r\n",
            "解凍パスワードは Tk9#xq2 です。",
            "解凍パスワードは「Tk9#xq2」です",
            "PW:Tk9#xq2",
            "ＰＷ：Tk9#xq2",
            "Password: Tk9#xq2",
            "パスワードは以下の通りです。\n\nTk9#xq2\n\nよろしくお願いいたします。",
            "パスワード　Tk9#xq2",
        ] {
            assert_eq!(passwords(text, false), ["Tk9#xq2"], "{text}");
        }
    }

    #[test]
    fn an_announcement_without_a_password_names_none() {
        for text in [
            "パスワード付きZIPファイルを送ります。パスワードは別途お送りします。",
            "Password: will be sent separately",
            "パスワードを忘れた場合はこちら https://example.jp/reset",
            "パスワードは後ほど",
            "パスワードは別途お送りします。\n\nyamada2024\n",
        ] {
            assert!(passwords(text, false).is_empty(), "{text}: {:?}", passwords(text, false));
        }
    }

    #[test]
    fn a_password_subject_lets_a_lone_token_count() {
        assert!(is_password_subject("【パスワード】見積書の件"));
        assert!(is_password_subject("[PW] quotation"));
        assert!(!is_password_subject("見積書の送付"));
        let body = "田中様\n\nTk9#xq2\n\nThanks,\nYamada\nTEL 03-1234-5678";
        assert_eq!(passwords(body, true), ["Tk9#xq2"]);
        assert!(passwords(body, false).is_empty());
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let text = "ＰＷ：Ｔｋ９＃ｘｑ２です";
        let found = announced_passwords(text, false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].password, "Tk9#xq2");
        assert_eq!(&text[found[0].span.clone()], "Ｔｋ９＃ｘｑ２");
        assert!(!format!("{found:?}").contains("Tk9#xq2"), "Debug masks it");
    }
}
