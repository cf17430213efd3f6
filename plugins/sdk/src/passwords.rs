//! Opening encrypted input with the policy's password candidates: the one
//! loop every plugin uses, and the words of its findings and failures.
//!
//! A plugin gives [`open`] a closure that tries one password (answering
//! `Ok(None)` when it does not fit); the candidates are tried in the order
//! the host sent them (request, list, mail). Each try runs inside the
//! plugin's sandbox on its fuel, so a long list ends at the fuel limit, not
//! in an endless loop. Nothing here ever writes a password into a finding,
//! a failure or the log: only its source.

use crate::{Action, ContentClass, Disposition, Failure, FailureKind, Findings, PasswordSource, Policy};

/// What opened an encrypted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Where the password came from.
    pub source: PasswordSource,
    /// Its position in the candidates (for re-encryption with the same one).
    pub index: usize,
}

impl Opened {
    /// The password that opened the file (to re-encrypt with it).
    pub fn secret<'p>(&self, policy: &'p Policy) -> &'p str {
        policy.passwords.get(self.index).map_or("", |p| p.secret.as_str())
    }
}

/// The refusal for `what` (`"the archive"`, `"member a.docx"`) when it is
/// encrypted and the policy has no candidates: as before passwords existed.
pub fn no_candidates(what: &str) -> Failure {
    Failure::encrypted(format!(
        "{what} is encrypted with a password and the policy tries none (encrypted = \"block\", or no password given)"
    ))
}

/// Tries the policy's candidates on `what`, in order, with `attempt`: it
/// answers `Ok(Some(value))` when the password opens the file, `Ok(None)`
/// when it does not, and an error that ends the search (a broken file, a
/// limit). When none opens it, the failure is `encrypted`. The `encryption`
/// class set to `block` refuses before any try.
pub fn open<T>(
    policy: &Policy,
    what: &str,
    mut attempt: impl FnMut(&str) -> Result<Option<T>, Failure>,
) -> Result<(T, Opened), Failure> {
    if policy.action(ContentClass::Encryption) == Action::Block {
        return Err(Failure {
            kind: FailureKind::Blocked(ContentClass::Encryption),
            detail: format!("{what} is encrypted, and the policy blocks encrypted content"),
            findings: Vec::new(),
        });
    }
    if policy.passwords.is_empty() {
        return Err(no_candidates(what));
    }
    for (index, password) in policy.passwords.iter().enumerate() {
        if let Some(value) = attempt(&password.secret)? {
            return Ok((value, Opened { source: password.source, index }));
        }
    }
    Err(wrong_passwords(what, policy.passwords.len()))
}

/// The failure when none of `count` candidates opens `what`.
pub fn wrong_passwords(what: &str, count: usize) -> Failure {
    let tried = if count == 1 {
        "the password candidate does not open it".to_owned()
    } else {
        format!("none of the {count} password candidates opens it")
    };
    Failure::encrypted(format!("{what} is encrypted with a password; {tried}"))
}

/// The detail of the finding for a decrypted file: `decrypted (password
/// from: request)`.
pub fn decrypted_detail(source: PasswordSource, reencrypted: Option<&str>) -> String {
    match reencrypted {
        None => format!("decrypted (password from: {})", source.name()),
        Some(how) => {
            format!("decrypted and encrypted again with the same password, {how} (password from: {})", source.name())
        }
    }
}

/// What replaces a masked password.
pub const MASK: &str = "********";

/// `text` with every password candidate that came from a mail (PPAP: the
/// gateway read it in the message) replaced by [`MASK`], and how many were
/// replaced. A plugin keeping the text of a message calls it, so a password
/// mail is delivered without its password. Candidates from the request or
/// the policy's list are left alone: they are not the message's own words.
pub fn mask_announced<'t>(text: &'t str, policy: &Policy) -> (std::borrow::Cow<'t, str>, usize) {
    mask(text, policy, |secret| vec![secret.to_owned()])
}

/// As [`mask_announced`], in HTML: a password is also found as HTML
/// writes it, with `&`, `<`, `>` and quotes escaped.
pub fn mask_announced_html<'t>(html: &'t str, policy: &Policy) -> (std::borrow::Cow<'t, str>, usize) {
    mask(html, policy, |secret| {
        let escaped = secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        if escaped == secret { vec![escaped] } else { vec![escaped, secret.to_owned()] }
    })
}

fn mask<'t>(text: &'t str, policy: &Policy, forms: impl Fn(&str) -> Vec<String>) -> (std::borrow::Cow<'t, str>, usize) {
    let mut text = std::borrow::Cow::Borrowed(text);
    let mut count = 0;
    for password in policy.passwords.iter().filter(|p| p.source == PasswordSource::Mail && !p.secret.is_empty()) {
        for form in forms(&password.secret) {
            let found = text.matches(form.as_str()).count();
            if found > 0 {
                count += found;
                text = std::borrow::Cow::Owned(text.replace(form.as_str(), MASK));
            }
        }
    }
    (text, count)
}

impl Findings {
    /// Records that `count` announced passwords were masked at `location`
    /// ([`mask_announced`]): class `encryption`, neutralized.
    pub fn masked_passwords(&mut self, location: &str, count: usize) {
        if count > 0 {
            let detail = if count == 1 {
                "a password announced in the message masked".to_owned()
            } else {
                format!("{count} passwords announced in the message masked")
            };
            self.push(ContentClass::Encryption, Disposition::Neutralized, location, detail);
        }
    }

    /// Records that the file (or the part at `location`) was decrypted with
    /// a password from `source`: class `encryption`, removed (the output is
    /// not encrypted), or kept when the output is encrypted again (`how`,
    /// e.g. `"AES-256"`).
    pub fn decrypted(&mut self, location: &str, opened: Opened, reencrypted: Option<&str>) {
        let disposition = if reencrypted.is_some() { Disposition::Kept } else { Disposition::Removed };
        self.push(ContentClass::Encryption, disposition, location, decrypted_detail(opened.source, reencrypted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_tried_in_order_and_the_source_is_named() {
        let policy = Policy::uniform(Action::Sanitize)
            .with_password("wrong", PasswordSource::Request)
            .with_password("right", PasswordSource::List);
        let (value, opened) = open(&policy, "the file", |p| Ok((p == "right").then_some(7))).unwrap();
        assert_eq!((value, opened.source, opened.index), (7, PasswordSource::List, 1));
        assert_eq!(opened.secret(&policy), "right");
        let mut findings = Findings::new();
        findings.decrypted("file", opened, None);
        let detail = &findings.as_slice()[0].detail;
        assert_eq!(detail, "decrypted (password from: list)");
        assert!(!format!("{findings:?}{policy:?}").contains("right"), "no secret in Debug");
    }

    #[test]
    fn only_passwords_found_in_the_mail_are_masked() {
        let policy = Policy::uniform(Action::Sanitize)
            .with_password("Tk9#xq2", PasswordSource::Mail)
            .with_password("Welcome1", PasswordSource::List);
        let (text, count) = mask_announced("PW: Tk9#xq2 (Welcome1) Tk9#xq2", &policy);
        assert_eq!((text.as_ref(), count), ("PW: ******** (Welcome1) ********", 2));
        let (text, count) = mask_announced("nothing here", &policy);
        assert!(matches!(text, std::borrow::Cow::Borrowed(_)) && count == 0);
    }

    #[test]
    fn in_html_a_password_is_also_found_escaped() {
        let policy = Policy::uniform(Action::Sanitize).with_password("a<b&c", PasswordSource::Mail);
        let (html, count) = mask_announced_html("<p>PW: a&lt;b&amp;c</p><p title=\"a<b&c\"></p>", &policy);
        assert_eq!((html.as_ref(), count), ("<p>PW: ********</p><p title=\"********\"></p>", 2));
    }

    #[test]
    fn no_fitting_candidate_is_encrypted_and_block_refuses() {
        let policy = Policy::uniform(Action::Sanitize).with_password("secret-x", PasswordSource::Request);
        let failure = open(&policy, "the file", |_| Ok(None::<()>)).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Encrypted);
        assert!(!failure.detail.contains("secret-x"));
        let none = open(&Policy::uniform(Action::Sanitize), "the file", |_| Ok(Some(()))).unwrap_err();
        assert_eq!(none.kind, FailureKind::Encrypted);
        let blocked = open(&policy.with(ContentClass::Encryption, Action::Block), "f", |_| Ok(Some(()))).unwrap_err();
        assert_eq!(blocked.kind, FailureKind::Blocked(ContentClass::Encryption));
    }
}
