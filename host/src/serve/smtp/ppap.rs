//! PPAP (`--ppap-window-m`): a password-protected ZIP in one mail, its
//! password in a second mail from the same sender to the same recipients
//! (パスワード付きZIPファイルを送ります、パスワードは別途お送りします).
//!
//! Postfix is the store, not this process: a message whose encrypted
//! attachment no known password opens is answered `451` while its window
//! runs, so Postfix keeps it and retries. Each message passing through is
//! read for announced passwords ([`sekisho_pii::password`]) in the text its
//! plugin keeps; a password found is remembered for its sender and
//! recipients, and the password mail is rebuilt again with the password as
//! a candidate, which the e-mail plugin masks wherever it would keep it.
//! At the next retry the first message opens (inside the zip plugin's
//! sandbox, password from `mail`) and is delivered rebuilt. When the
//! window has run out, `--ppap-expired` decides: deliver the message with
//! the attachment removed and the plugin's note (`remove`), or bounce it
//! (`bounce`).
//!
//! Remembered passwords and first-seen times live in memory only, bounded,
//! and are forgotten with the window; a restart starts windows again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::pipeline::TextPiece;
use crate::policy::{Class, Password, PasswordSource};
use crate::report::{Disposition, Outcome, ReasonKind, Report};

/// How PPAP mail is handled.
#[derive(Debug, Clone)]
pub struct PpapConfig {
    /// How long a message with an encrypted attachment waits for its
    /// password mail.
    pub window: Duration,
    /// What happens when it waited in vain.
    pub expired: PpapExpired,
}

/// What happens to a message whose password never came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum PpapExpired {
    /// Delivered without the encrypted attachment, with a note saying so.
    Remove,
    /// Refused: `554`, so the MTA bounces it to its sender.
    Bounce,
}

/// Most passwords and waiting messages remembered at once: beyond, the
/// oldest are forgotten (a flood of password mails cannot grow memory).
const MAX_REMEMBERED: usize = 10_000;

/// A password a mail announced, for its sender and recipients.
struct Known {
    sender: String,
    recipients: BTreeSet<String>,
    secret: String,
    at: Instant,
}

/// The PPAP state shared by the filter's sessions.
pub(super) struct Ppap {
    pub(super) config: PpapConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    known: Vec<Known>,
    /// Messages waiting for a password, by the sha256 of their bytes: when
    /// they were first seen.
    waiting: HashMap<[u8; 32], Instant>,
}

/// Where a message with an encrypted attachment stands.
pub(super) enum Wait {
    /// Still waiting; this much of the window is left.
    Within(Duration),
    /// The window ran out.
    Expired,
}

impl Ppap {
    pub(super) fn new(config: PpapConfig) -> Ppap {
        Ppap { config, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The passwords mails from `sender` to any of `recipients` announced
    /// within the window, newest first.
    pub(super) fn passwords_for(&self, sender: &str, recipients: &[String]) -> Vec<Password> {
        let window = self.config.window;
        let mut state = self.state();
        state.known.retain(|k| k.at.elapsed() < window);
        let mut found: Vec<Password> = Vec::new();
        for known in state.known.iter().rev() {
            let same_sender = known.sender.eq_ignore_ascii_case(sender);
            let shared = recipients.iter().any(|r| known.recipients.contains(&r.to_ascii_lowercase()));
            if same_sender && shared && !found.iter().any(|p| p.secret() == known.secret) {
                found.push(Password::new(known.secret.clone(), PasswordSource::Mail));
            }
        }
        found
    }

    /// Remembers passwords a mail from `sender` to `recipients` announced.
    pub(super) fn learn(&self, sender: &str, recipients: &[String], secrets: &[String]) {
        let mut state = self.state();
        let recipients: BTreeSet<String> = recipients.iter().map(|r| r.to_ascii_lowercase()).collect();
        for secret in secrets {
            state.known.push(Known {
                sender: sender.to_owned(),
                recipients: recipients.clone(),
                secret: secret.clone(),
                at: Instant::now(),
            });
        }
        let excess = state.known.len().saturating_sub(MAX_REMEMBERED);
        state.known.drain(..excess);
    }

    /// Counts a message (by its hash) as waiting, from its first sight.
    pub(super) fn wait(&self, message: [u8; 32]) -> Wait {
        let window = self.config.window;
        let mut state = self.state();
        if state.waiting.len() >= MAX_REMEMBERED {
            state.waiting.retain(|_, first| first.elapsed() < window);
        }
        if state.waiting.len() >= MAX_REMEMBERED {
            // Full of live windows: this message does not get one.
            return Wait::Expired;
        }
        let first = *state.waiting.entry(message).or_insert_with(Instant::now);
        match window.checked_sub(first.elapsed()) {
            Some(left) if !left.is_zero() => Wait::Within(left),
            _ => {
                state.waiting.remove(&message);
                Wait::Expired
            }
        }
    }

    /// Forgets a message that no longer waits.
    pub(super) fn done(&self, message: [u8; 32]) {
        self.state().waiting.remove(&message);
    }
}

/// The passwords the message itself announces: in its own text (not its
/// attachments'), a subject that says "password" letting a lone token count.
pub(super) fn announced(texts: &[TextPiece], message: &str) -> Vec<String> {
    let own = || texts.iter().filter(|piece| piece.file == message);
    let subject = own().any(|p| p.location == "header Subject" && sekisho_pii::password::is_password_subject(&p.text));
    let mut found: Vec<String> = Vec::new();
    for piece in own().filter(|p| !p.location.starts_with("header ")) {
        for announced in sekisho_pii::password::announced_passwords(&piece.text, subject) {
            if !found.contains(&announced.password) {
                found.push(announced.password);
            }
        }
    }
    found
}

/// Whether a part of the message stayed encrypted (no password opened it):
/// a file that failed as encrypted, or an encrypted part a plugin removed
/// (an `encryption` item that is not a decryption: those read `decrypted
/// (password from: …)`).
pub(super) fn has_encrypted_part(report: &Report) -> bool {
    let failed =
        report.outcome == Outcome::Failed && report.reason.as_ref().is_some_and(|r| r.kind == ReasonKind::Encrypted);
    let removed = report.items.iter().any(|item| {
        item.class == Class::Encryption.name()
            && matches!(item.action, Disposition::Removed | Disposition::Blocked)
            && !item.detail.starts_with("decrypted")
    });
    failed || removed || report.children.iter().any(has_encrypted_part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppap(window: Duration) -> Ppap {
        Ppap::new(PpapConfig { window, expired: PpapExpired::Remove })
    }

    #[test]
    fn passwords_go_to_the_same_sender_and_a_shared_recipient_only() {
        let ppap = ppap(Duration::from_secs(60));
        ppap.learn("a@sender.test", &["B@example.test".into()], &["Tk9#xq2".into()]);
        let secrets = |sender: &str, to: &str| -> Vec<String> {
            ppap.passwords_for(sender, &[to.into()]).iter().map(|p| p.secret().to_owned()).collect()
        };
        assert_eq!(secrets("A@sender.test", "b@example.test"), ["Tk9#xq2"]);
        assert!(secrets("other@sender.test", "b@example.test").is_empty());
        assert!(secrets("a@sender.test", "c@example.test").is_empty());
    }

    #[test]
    fn passwords_and_waits_end_with_the_window() {
        let ppap = ppap(Duration::from_millis(50));
        ppap.learn("a@s.test", &["b@e.test".into()], &["pw123456".into()]);
        assert!(matches!(ppap.wait([1; 32]), Wait::Within(_)));
        std::thread::sleep(Duration::from_millis(80));
        assert!(ppap.passwords_for("a@s.test", &["b@e.test".into()]).is_empty());
        assert!(matches!(ppap.wait([1; 32]), Wait::Expired));
        // A new sight after expiry starts a new window.
        assert!(matches!(ppap.wait([1; 32]), Wait::Within(_)));
    }

    #[test]
    fn the_message_own_text_counts_not_its_attachments() {
        let piece = |file: &str, location: &str, text: &str| TextPiece {
            file: file.into(),
            location: location.into(),
            text: text.into(),
        };
        let texts = vec![
            piece("m.eml", "header Subject", "【パスワード】見積書"),
            piece("m.eml", "body", "田中様\n\nTk9#xq2\n"),
            piece("m.eml/a.docx", "paragraph 1", "パスワード：Other123"),
        ];
        assert_eq!(announced(&texts, "m.eml"), ["Tk9#xq2"]);
    }
}
