//! The SMTP content filter (`--smtp ADDR --smtp-next ADDR`): the
//! amavisd-new pattern for Postfix's after-queue `content_filter`.
//!
//! Postfix hands each queued message to this listener; it is sanitized by
//! the same [`Gateway`] as the HTTP API (the e-mail plugin rebuilds it,
//! attachments each in their own sandbox) and reinjected to the next hop,
//! Postfix's second `smtpd` without a filter. `MAIL` and every `RCPT` are
//! relayed to the next hop as they come, so each recipient gets the next
//! hop's own answer; `DATA` is answered only after the next hop has
//! accepted the rebuilt message. A crash in between therefore means
//! Postfix retries: a message is never lost, at worst delivered twice.
//!
//! Trouble that may pass (every sandbox busy, the upload budget spent,
//! the next hop down or answering 4xx) answers 4xx, so Postfix keeps the
//! message and retries: back-pressure comes from the MTA's own queue. A
//! refused message is handled by `--smtp-refused`: `reject` answers 554
//! (Postfix bounces it to the sender), `notify` delivers a short notice
//! to the recipients instead, with the report id, and `hold` keeps a
//! message the personal-information audit holds in the approval spool,
//! rebuilt, until an approver releases it to the next hop.
//!
//! Announced: PIPELINING, SIZE (the policy's input limit), 8BITMIME,
//! SMTPUTF8, ENHANCEDSTATUSCODES. No AUTH or STARTTLS: the filter listens
//! where only the MTA reaches it (loopback, or `--smtp-allow`).

mod notice;
mod ppap;
mod relay;
mod wire;

pub use ppap::{PpapConfig, PpapExpired};

use std::net::SocketAddr;
use std::sync::Arc;

use smtp_proto::request::receiver::RequestReceiver;
use smtp_proto::{EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8};
use smtp_proto::{EhloResponse, Error as ParseError, MAIL_SMTPUTF8, Request};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::holds::{Envelope, SpoolError};
use super::limits::Cidr;
use super::{Gateway, stopped};
use crate::audit::Origin;
use crate::policy::{Password, PasswordSource};
use crate::report::Outcome;
use notice::Notice;
use ppap::{Ppap, Wait};
use relay::{NextHop, Refused};
use wire::{Closed, Reply, Wire, safe_text};

/// How the SMTP filter runs.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Where Postfix's `content_filter` delivers.
    pub listen: SocketAddr,
    /// Where rebuilt messages are reinjected (a `smtpd` without the filter).
    pub next_hop: SocketAddr,
    /// The name in the greeting, in `EHLO` to the next hop and in notices.
    pub hostname: String,
    /// What happens to a message that is refused.
    pub refused: MailRefusal,
    /// Client addresses served; empty: any (loopback listeners only).
    pub allow: Vec<Cidr>,
    /// PPAP: wait for password mails; `None`: an encrypted attachment
    /// that no password opens is removed (or refused) at once.
    pub ppap: Option<PpapConfig>,
}

/// What happens to a message the gateway refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum MailRefusal {
    /// Answer 554: the MTA bounces the message to its sender.
    Reject,
    /// Deliver a short notice with the report id to the recipients instead.
    Notify,
    /// A message the personal-information audit holds waits, rebuilt, in
    /// the approval spool (`--spool`) and is delivered when approved; a
    /// message refused for its content is rejected as with `reject`.
    Hold,
}

/// The name a message goes by in reports and text pieces.
const MESSAGE_NAME: &str = "message.eml";

/// Most recipients of one message, as RFC 5321 (4.5.3.1.8) asks at least.
const MAX_RECIPIENTS: usize = 1000;

/// Serves the SMTP filter until `stop` turns true; sessions then answer
/// 421 at their next command, and a message in progress is finished.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, config: SmtpConfig, stop: watch::Receiver<bool>) {
    let ppap = config.ppap.clone().map(|ppap| Arc::new(Ppap::new(ppap)));
    let config = Arc::new(config);
    let sessions = Arc::new(Semaphore::new(gateway.config.max_connections));
    let mut running = JoinSet::new();
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if !config.allow.is_empty() && !config.allow.iter().any(|range| range.contains(peer.ip())) {
                        gateway.metrics.connection("smtp", "address");
                        tracing::debug!("SMTP {peer}: not in --smtp-allow, closed");
                        continue;
                    }
                    let Ok(place) = Arc::clone(&sessions).try_acquire_owned() else {
                        gateway.metrics.connection("smtp", "total");
                        running.spawn(turn_away(stream));
                        continue;
                    };
                    let session = Session::new(stream, peer, Arc::clone(&gateway), Arc::clone(&config), ppap.clone(), stop.clone());
                    running.spawn(async move {
                        session.run().await;
                        drop(place);
                    });
                }
                Err(e) => {
                    tracing::warn!("SMTP accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = running.join_next() => {}
        }
    }
    drop(listener);
    while running.join_next().await.is_some() {}
}

/// Too many sessions: 421, so the MTA tries again later.
async fn turn_away(stream: TcpStream) {
    let mut wire = Wire::new(stream);
    wire.line("421 4.3.2 too many connections, try again later");
    let _ = wire.flush(Instant::now() + std::time::Duration::from_secs(5)).await;
}

/// The envelope of the message being received.
struct Transaction {
    from: String,
    /// Recipients the next hop accepted.
    recipients: Vec<String>,
    /// The sender asked for SMTPUTF8.
    smtputf8: bool,
}

/// One connection from the MTA.
struct Session {
    wire: Wire,
    peer: SocketAddr,
    gateway: Arc<Gateway>,
    config: Arc<SmtpConfig>,
    ppap: Option<Arc<Ppap>>,
    stop: watch::Receiver<bool>,
    greeted: bool,
    transaction: Option<Transaction>,
    next_hop: Option<NextHop>,
}

/// Ends a session (after a `QUIT`, a 421, or a broken connection).
struct End;

impl From<Closed> for End {
    fn from(closed: Closed) -> End {
        tracing::debug!("SMTP: {}", closed.0);
        End
    }
}

impl Session {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        gateway: Arc<Gateway>,
        config: Arc<SmtpConfig>,
        ppap: Option<Arc<Ppap>>,
        stop: watch::Receiver<bool>,
    ) -> Session {
        let _ = stream.set_nodelay(true);
        Session {
            wire: Wire::new(stream),
            peer,
            gateway,
            config,
            ppap,
            stop,
            greeted: false,
            transaction: None,
            next_hop: None,
        }
    }

    async fn run(mut self) {
        self.wire.line(&format!("220 {} ESMTP Sekisho content filter", self.config.hostname));
        let mut receiver = RequestReceiver::default();
        loop {
            // A stop is seen between commands; pipelined ones already sent
            // are still answered.
            if *self.stop.borrow() && !self.wire.has_input() {
                self.wire.line("421 4.3.2 shutting down, try again later");
                break;
            }
            let deadline = Instant::now() + wire::COMMAND_TIMEOUT;
            let mut stop = self.stop.clone();
            let command = tokio::select! {
                command = self.wire.command(&mut receiver, deadline) => command,
                () = stopped(&mut stop), if !self.wire.has_input() => continue,
            };
            let step = match command {
                Ok(Ok(request)) => self.handle(request).await,
                Ok(Err(error)) => {
                    self.wire.line(syntax_reply(&error));
                    Ok(())
                }
                Err(closed) => Err(End::from(closed)),
            };
            if step.is_err() {
                break;
            }
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let _ = self.wire.flush(deadline).await;
        if let Some(next) = self.next_hop.take() {
            next.quit(deadline).await;
        }
    }

    async fn handle(&mut self, request: Request<String>) -> Result<(), End> {
        match request {
            Request::Ehlo { host: _ } => {
                self.abort_transaction().await;
                self.greeted = true;
                let mut ehlo = EhloResponse::new(self.config.hostname.as_str());
                ehlo.capabilities =
                    EXT_PIPELINING | EXT_SIZE | EXT_8BIT_MIME | EXT_SMTP_UTF8 | EXT_ENHANCED_STATUS_CODES;
                ehlo.size = usize::try_from(self.limit()).unwrap_or(usize::MAX);
                let mut out = Vec::new();
                let _ = ehlo.write(&mut out);
                self.wire.raw(&out);
            }
            Request::Helo { host: _ } => {
                self.abort_transaction().await;
                self.greeted = true;
                self.wire.line(&format!("250 {}", self.config.hostname));
            }
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => return self.data().await,
            Request::Rset => {
                self.abort_transaction().await;
                self.wire.line("250 2.0.0 Ok");
            }
            Request::Noop { .. } => self.wire.line("250 2.0.0 Ok"),
            Request::Quit => {
                self.wire.line("221 2.0.0 Bye");
                return Err(End);
            }
            Request::Vrfy { .. } => self.wire.line("252 2.5.0 Cannot verify, send mail to find out"),
            other => self.wire.line(&format!("502 5.5.1 {} not implemented", other.name())),
        }
        Ok(())
    }

    fn limit(&self) -> u64 {
        self.gateway.config.policy.limits.max_input_bytes
    }

    async fn mail(&mut self, from: smtp_proto::MailFrom<String>) {
        if !self.greeted {
            return self.wire.line("503 5.5.1 Say EHLO first");
        }
        if self.transaction.is_some() {
            return self.wire.line("503 5.5.1 Nested MAIL command");
        }
        if !plain_address(&from.address) {
            return self.wire.line("501 5.1.7 Bad sender address");
        }
        if from.size as u64 > self.limit() {
            return self
                .wire
                .line(&format!("552 5.3.4 Message too big for this gateway ({} bytes at most)", self.limit()));
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        let deadline = Instant::now() + wire::COMMAND_TIMEOUT;
        let reused = self.next_hop.take();
        let was_reused = reused.is_some();
        let mut answer = self.mail_at(reused, &from.address, smtputf8, deadline).await;
        if was_reused && matches!(answer, Err(Refused::Down(_))) {
            // The next hop closed the idle connection: one fresh try.
            answer = self.mail_at(None, &from.address, smtputf8, deadline).await;
        }
        match answer {
            Ok(reply) => {
                self.transaction = Some(Transaction { from: from.address, recipients: Vec::new(), smtputf8 });
                self.wire.line(&relayed(&reply));
            }
            Err(refused) => self.wire.line(&refused_reply(&refused)),
        }
    }

    /// `MAIL` at the next hop, on `next` or a new connection; the
    /// connection is kept unless it broke.
    async fn mail_at(
        &mut self,
        next: Option<NextHop>,
        from: &str,
        smtputf8: bool,
        deadline: Instant,
    ) -> Result<Reply, Refused> {
        let mut next = match next {
            Some(next) => next,
            None => NextHop::connect(self.config.next_hop, &self.config.hostname, deadline).await?,
        };
        let answer = next.mail(from, smtputf8, deadline).await;
        if !matches!(answer, Err(Refused::Down(_))) {
            self.next_hop = Some(next);
        }
        answer
    }

    async fn rcpt(&mut self, to: String) {
        let Some(transaction) = &mut self.transaction else {
            return self.wire.line("503 5.5.1 Need MAIL before RCPT");
        };
        if !plain_address(&to) || to.is_empty() {
            return self.wire.line("501 5.1.3 Bad recipient address");
        }
        if transaction.recipients.len() >= MAX_RECIPIENTS {
            return self.wire.line("452 4.5.3 Too many recipients");
        }
        let Some(next) = &mut self.next_hop else {
            return self.wire.line("451 4.4.1 Next hop lost, try again later");
        };
        let deadline = Instant::now() + wire::COMMAND_TIMEOUT;
        match next.rcpt(&to, deadline).await {
            Ok(reply) => {
                transaction.recipients.push(to);
                self.wire.line(&relayed(&reply));
            }
            Err(refused) => {
                if matches!(refused, Refused::Down(_)) {
                    self.next_hop = None;
                }
                self.wire.line(&refused_reply(&refused));
            }
        }
    }

    async fn data(&mut self) -> Result<(), End> {
        let recipients = self.transaction.as_ref().map_or(0, |t| t.recipients.len());
        if self.transaction.is_none() {
            self.wire.line("503 5.5.1 Need MAIL before DATA");
            return Ok(());
        }
        if recipients == 0 {
            self.wire.line("554 5.5.1 No valid recipients");
            return Ok(());
        }
        let mut upload = match self.gateway.start_upload() {
            Ok(upload) => upload,
            Err(refusal) => {
                let text = self.gateway.explain(&refusal);
                self.wire.line(&format!("451 4.3.1 {}", safe_text(&text)));
                self.abort_transaction().await;
                return Ok(());
            }
        };
        self.wire.line("354 End data with <CR><LF>.<CR><LF>");
        let limit = usize::try_from(self.limit()).unwrap_or(usize::MAX);
        let deadline = Instant::now() + self.gateway.config.request_timeout;
        let received = self.wire.message(limit, deadline, |bytes| upload.reserve(bytes as u64)).await?;
        let message = match received {
            Ok(Some(message)) => message,
            Ok(None) => {
                self.wire.line(&format!("552 5.3.4 Message too big for this gateway ({} bytes at most)", self.limit()));
                self.abort_transaction().await;
                return Ok(());
            }
            Err(_) => {
                let text = self.gateway.explain(&self.gateway.budget_spent());
                self.wire.line(&format!("451 4.3.1 {}", safe_text(&text)));
                self.abort_transaction().await;
                return Ok(());
            }
        };
        let answer = self.decide(message, upload).await;
        self.wire.line(&answer);
        Ok(())
    }

    /// Sanitizes the message and delivers what the policy says; the reply
    /// to `DATA`.
    async fn decide(&mut self, message: Vec<u8>, upload: super::limits::Upload) -> String {
        let transaction = self.transaction.take().expect("DATA checked the transaction");
        let decided = match self.ppap.clone() {
            Some(ppap) => self.sanitize_ppap(&ppap, &transaction, message, upload).await,
            None => {
                let policy = self.gateway.config.policy.clone();
                self.gateway.sanitize(MESSAGE_NAME.into(), message, policy, self.origin(), Some(upload)).await.map(Ok)
            }
        };
        let (id, result) = match decided {
            Ok(Ok(decided)) => decided,
            Ok(Err(answer)) => {
                self.reset_next_hop().await;
                return answer;
            }
            Err(refusal) => {
                self.reset_next_hop().await;
                let code = if refusal.transient() { "451 4.3.2" } else { "554 5.3.0" };
                return format!("{code} {}", safe_text(&self.gateway.explain(&refusal)));
            }
        };
        if result.report.retry_later() {
            self.reset_next_hop().await;
            let why = result.report.reason.as_ref().map(|r| r.detail.as_str()).unwrap_or_default();
            return format!("451 4.3.0 A scanner is unavailable, try again later ({})", safe_text(why));
        }
        let outcome = result.report.outcome;
        let deadline = Instant::now() + self.gateway.config.request_timeout;
        let delivery = match (outcome, result.output) {
            (Outcome::Clean | Outcome::Sanitized, Some(rebuilt)) => {
                let mut stamped = format!("X-Sekisho: {}; report={id}\r\n", outcome.name()).into_bytes();
                stamped.extend_from_slice(&rebuilt);
                stamped
            }
            (Outcome::Held, Some(rebuilt)) if self.config.refused == MailRefusal::Hold => {
                self.reset_next_hop().await;
                return self.hold(&transaction, &id, &result.report, &rebuilt);
            }
            _ => {
                let reason =
                    result.report.reason.as_ref().map_or_else(|| outcome.name().to_owned(), |r| r.detail.clone());
                match self.config.refused {
                    MailRefusal::Reject | MailRefusal::Hold => {
                        self.reset_next_hop().await;
                        return format!(
                            "554 5.7.1 Refused by Sekisho: {} ({}), report {id}",
                            outcome.name(),
                            safe_text(&reason)
                        );
                    }
                    MailRefusal::Notify => Notice {
                        hostname: &self.config.hostname,
                        sender: &transaction.from,
                        recipients: &transaction.recipients,
                        outcome: outcome.name(),
                        reason: &reason,
                        report_id: &id,
                    }
                    .message(super::rand_suffix()),
                }
            }
        };
        let Some(next) = &mut self.next_hop else {
            return "451 4.4.1 Next hop lost, try again later".into();
        };
        match next.data(&delivery, deadline).await {
            Ok(reply) => format!("250 2.0.0 Ok: {}, report {id}; next hop: {}", outcome.name(), reply.text()),
            Err(refused) => {
                if matches!(refused, Refused::Down(_)) {
                    self.next_hop = None;
                }
                refused_reply(&refused)
            }
        }
    }

    /// Puts a message the audit holds into the approval spool, with its
    /// envelope; the reply to `DATA`. Postfix is done with it: Sekisho now
    /// keeps it until an approver decides.
    fn hold(&self, transaction: &Transaction, id: &str, report: &crate::report::Report, rebuilt: &[u8]) -> String {
        let Some(spool) = &self.gateway.spool else {
            return format!("554 5.7.1 Held by Sekisho's audit, and no spool keeps it, report {id}");
        };
        let mut stamped = format!("X-Sekisho: held; report={id}\r\n").into_bytes();
        stamped.extend_from_slice(rebuilt);
        let sender = super::User { name: transaction.from.clone(), role: super::Role::Submitter, groups: Vec::new() };
        let envelope = Envelope {
            from: transaction.from.clone(),
            to: transaction.recipients.clone(),
            smtputf8: transaction.smtputf8,
        };
        let recipients = Some(transaction.recipients.join(", "));
        match spool.hold(&sender, recipients, report, &stamped, Some(envelope)) {
            Ok(hold) => {
                self.gateway.audit_hold("hold", &hold, Some(&self.origin()));
                format!("250 2.0.0 Ok: held for approval, report {id}, hold {}", hold.id)
            }
            Err(SpoolError::Full) => "452 4.3.1 The approval spool is full, try again later".into(),
            Err(e) => {
                tracing::error!("spool: {e:?}");
                "451 4.3.0 The message could not be held, try again later".into()
            }
        }
    }

    fn origin(&self) -> Origin {
        Origin { interface: "smtp", client: Some(self.peer.ip().to_string()), user: None }
    }

    /// The PPAP path: known passwords of the sender's earlier mails are
    /// tried; a password the message announces is remembered and masked
    /// (a second run with it as a candidate); a message whose encrypted
    /// attachment stays closed waits (`451`) while its window runs. `Err`
    /// is the answer to give instead of delivering.
    async fn sanitize_ppap(
        &mut self,
        ppap: &Ppap,
        transaction: &Transaction,
        message: Vec<u8>,
        upload: super::limits::Upload,
    ) -> Result<Result<(String, crate::Sanitized), String>, super::Refusal> {
        use sha2::{Digest, Sha256};
        let hash: [u8; 32] = Sha256::digest(&message).into();
        let known = ppap.passwords_for(&transaction.from, &transaction.recipients);
        let policy = self.gateway.config.policy.clone().with_passwords(known);
        let (mut id, mut result) = self
            .gateway
            .extract(MESSAGE_NAME.into(), message.clone(), policy.clone(), self.origin(), Some(upload))
            .await?;
        let announced = ppap::announced(&result.text, MESSAGE_NAME);
        if !announced.is_empty() {
            ppap.learn(&transaction.from, &transaction.recipients, &announced);
            let masked = policy
                .clone()
                .with_passwords(announced.iter().map(|secret| Password::new(secret.clone(), PasswordSource::Mail)));
            (id, result) =
                self.gateway.sanitize(MESSAGE_NAME.into(), message.clone(), masked, self.origin(), None).await?;
        }
        if !ppap::has_encrypted_part(&result.report) {
            ppap.done(hash);
            return Ok(Ok((id, result)));
        }
        match ppap.wait(hash) {
            Wait::Within(left) => Ok(Err(format!(
                "451 4.7.0 An attachment is encrypted: waiting up to {} more minutes for the password mail (PPAP), \
                 report {id}",
                left.as_secs().div_ceil(60)
            ))),
            Wait::Expired => match ppap.config.expired {
                // Once more with the empty password as the last candidate:
                // an archive no candidate opens then fails as encrypted, and
                // the e-mail plugin removes it with a note (without any
                // candidate the zip plugin would keep an empty shell).
                PpapExpired::Remove => {
                    let last = policy.with_passwords([Password::new("", PasswordSource::Mail)]);
                    self.gateway.sanitize(MESSAGE_NAME.into(), message, last, self.origin(), None).await.map(Ok)
                }
                PpapExpired::Bounce => Ok(Err(format!(
                    "554 5.7.1 Refused by Sekisho: an encrypted attachment whose password never came (PPAP), report {id}"
                ))),
            },
        }
    }

    /// Forgets the transaction here and at the next hop.
    async fn abort_transaction(&mut self) {
        if self.transaction.take().is_some() {
            self.reset_next_hop().await;
        }
    }

    async fn reset_next_hop(&mut self) {
        if let Some(next) = &mut self.next_hop {
            let deadline = Instant::now() + std::time::Duration::from_secs(30);
            if next.reset(deadline).await.is_err() {
                self.next_hop = None;
            }
        }
    }
}

/// Whether an address can be written into a command to the next hop
/// as it is: no control characters and no angle brackets.
fn plain_address(address: &str) -> bool {
    !address.chars().any(|c| c.is_control() || c == '<' || c == '>')
}

/// The next hop's positive answer, passed on.
fn relayed(reply: &Reply) -> String {
    format!("{} {}", reply.code, reply.text())
}

/// Our answer when the next hop said no or could not be reached: its own
/// code when it answered, 451 when it is down (the MTA retries).
/// Delivers an approved held message to the next hop: its envelope's
/// sender and recipients (at least one must be accepted), then the
/// message; the next hop's answer to it.
pub async fn deliver(
    config: &SmtpConfig,
    envelope: &Envelope,
    message: &[u8],
    timeout: std::time::Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let step = |refused: Refused| match refused {
        Refused::Reply(reply) => format!("the next hop answered {} {}", reply.code, reply.text()),
        Refused::Down(why) => why,
    };
    let mut next = NextHop::connect(config.next_hop, &config.hostname, deadline).await.map_err(step)?;
    next.mail(&envelope.from, envelope.smtputf8, deadline).await.map_err(step)?;
    let mut accepted = 0;
    for to in &envelope.to {
        match next.rcpt(to, deadline).await {
            Ok(_) => accepted += 1,
            Err(Refused::Reply(reply)) => tracing::warn!("held message: the next hop refused {to}: {}", reply.text()),
            Err(down) => return Err(step(down)),
        }
    }
    if accepted == 0 {
        return Err("the next hop accepted none of the recipients".into());
    }
    let reply = next.data(message, deadline).await.map_err(step)?;
    next.quit(deadline).await;
    Ok(reply.text())
}

fn refused_reply(refused: &Refused) -> String {
    match refused {
        Refused::Reply(reply) if reply.code >= 400 => format!("{} {} (next hop)", reply.code, reply.text()),
        Refused::Reply(reply) => format!("451 4.4.0 next hop answered {}: {}", reply.code, reply.text()),
        Refused::Down(why) => format!("451 4.4.1 Next hop unavailable, try again later ({})", safe_text(why)),
    }
}

/// The answer to a line that is not a command we can parse.
fn syntax_reply(error: &ParseError) -> &'static str {
    match error {
        ParseError::UnknownCommand => "500 5.5.2 Unknown command",
        ParseError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax",
        ParseError::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax",
        ParseError::UnsupportedParameter { .. } => "555 5.5.4 Unsupported parameter",
        ParseError::ResponseTooLong => "500 5.5.6 Line too long",
        _ => "501 5.5.4 Syntax error",
    }
}
