//! The short notice delivered instead of a refused message
//! (`--smtp-refused notify`). It is written by the gateway from what the
//! gateway knows (the envelope, the outcome, the report id), never from the
//! refused message's own headers: nothing of the untrusted message is parsed
//! by the host, and nothing of it reaches the recipients.

use super::wire::safe_text;

/// What a notice says.
pub(super) struct Notice<'a> {
    /// The gateway's host name (the From domain and Message-ID).
    pub(super) hostname: &'a str,
    /// The envelope sender of the refused message (empty for a bounce).
    pub(super) sender: &'a str,
    /// The envelope recipients the notice goes to.
    pub(super) recipients: &'a [String],
    /// `blocked`, `failed`, `unsupported` or `held`.
    pub(super) outcome: &'a str,
    /// Why, from the report.
    pub(super) reason: &'a str,
    /// The report id, to look the decision up.
    pub(super) report_id: &'a str,
}

impl Notice<'_> {
    /// The notice as an RFC 5322 message: an ASCII head and a UTF-8 body
    /// (sent with BODY=8BITMIME).
    pub(super) fn message(&self, unique: u64) -> Vec<u8> {
        let sender = if self.sender.is_empty() { "<>" } else { self.sender };
        let body = format!(
            "セキュリティゲートウェイ（関所）がこのメールを配送しませんでした。\r\n\
             The security gateway (Sekisho) did not deliver a message to you.\r\n\
             \r\n\
             差出人 / Envelope sender: {sender}\r\n\
             判定 / Outcome: {outcome}\r\n\
             理由 / Reason: {reason}\r\n\
             レポートID / Report id: {id}\r\n\
             \r\n\
             必要であればシステム管理者にレポートIDをお知らせください。\r\n\
             If you need this message, give the report id to your administrator.\r\n",
            sender = safe_text(sender),
            outcome = self.outcome,
            reason = safe_text(self.reason),
            id = safe_text(self.report_id),
        );
        let to = self.recipients.iter().map(|r| format!("<{}>", safe_text(r))).collect::<Vec<_>>().join(",\r\n ");
        let date = httpdate::fmt_http_date(std::time::SystemTime::now()).replace("GMT", "+0000");
        let mut message = format!(
            "From: Sekisho <postmaster@{host}>\r\n\
             To: {to}\r\n\
             Subject: Sekisho: a message was not delivered\r\n\
             Date: {date}\r\n\
             Message-ID: <sekisho.{unique:x}.{id}@{host}>\r\n\
             Auto-Submitted: auto-generated\r\n\
             X-Sekisho-Outcome: {outcome}\r\n\
             X-Sekisho-Report-Id: {id}\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\
             \r\n",
            host = self.hostname,
            outcome = self.outcome,
            id = safe_text(self.report_id),
        )
        .into_bytes();
        message.extend_from_slice(body.as_bytes());
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_carries_no_line_of_the_sender() {
        let recipients = vec!["a@example.test".to_owned()];
        let notice = Notice {
            hostname: "gw.test",
            sender: "x@evil.test>\r\nBcc: all@example.test",
            recipients: &recipients,
            outcome: "blocked",
            reason: "macros\r\nX-Injected: yes",
            report_id: "abc",
        }
        .message(7);
        let text = String::from_utf8(notice).unwrap();
        assert!(!text.contains("\r\nBcc:") && !text.contains("\r\nX-Injected"), "{text}");
        assert!(text.contains("X-Sekisho-Report-Id: abc\r\n"));
    }
}
