//! The next hop: the MTA's reinjection port. One connection per filter
//! session, opened at the first `MAIL`, reused for the session's later
//! transactions, dropped on any error (the next transaction opens a new one).

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::wire::{Closed, Reply, Wire, data_encoding};

/// An open connection to the next hop, after its greeting and `EHLO`.
pub(super) struct NextHop {
    wire: Wire,
    /// The next hop announced 8BITMIME.
    eight_bit: bool,
    /// The next hop announced SMTPUTF8.
    smtputf8: bool,
}

/// Why the next hop could not take a step.
pub(super) enum Refused {
    /// It answered this (4xx or 5xx).
    Reply(Reply),
    /// It could not be reached, or the connection broke.
    Down(String),
}

impl From<Closed> for Refused {
    fn from(closed: Closed) -> Refused {
        Refused::Down(closed.0)
    }
}

impl NextHop {
    /// Connects and says `EHLO hostname`.
    pub(super) async fn connect(address: SocketAddr, hostname: &str, deadline: Instant) -> Result<NextHop, Refused> {
        let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Refused::Down(format!("next hop {address}: {e}"))),
            Err(_) => return Err(Refused::Down(format!("next hop {address}: connect timed out"))),
        };
        let _ = stream.set_nodelay(true);
        let mut wire = Wire::new(stream);
        let greeting = wire.reply(deadline).await?;
        if !greeting.positive() {
            return Err(Refused::Reply(greeting));
        }
        wire.line(&format!("EHLO {hostname}"));
        let ehlo = wire.reply(deadline).await?;
        if !ehlo.positive() {
            return Err(Refused::Reply(ehlo));
        }
        Ok(NextHop { eight_bit: ehlo.has_keyword("8BITMIME"), smtputf8: ehlo.has_keyword("SMTPUTF8"), wire })
    }

    async fn command(&mut self, line: &str, deadline: Instant) -> Result<Reply, Refused> {
        self.wire.line(line);
        let reply = self.wire.reply(deadline).await?;
        if reply.positive() { Ok(reply) } else { Err(Refused::Reply(reply)) }
    }

    /// `MAIL FROM`, with BODY=8BITMIME and SMTPUTF8 when the sender asked
    /// for them and the next hop has them (otherwise the message is sent
    /// as it is: Postfix's reinjection port takes 8-bit either way).
    pub(super) async fn mail(&mut self, from: &str, smtputf8: bool, deadline: Instant) -> Result<Reply, Refused> {
        let mut line = format!("MAIL FROM:<{from}>");
        if self.eight_bit {
            line.push_str(" BODY=8BITMIME");
        }
        if smtputf8 && self.smtputf8 {
            line.push_str(" SMTPUTF8");
        }
        self.command(&line, deadline).await
    }

    /// `RCPT TO`.
    pub(super) async fn rcpt(&mut self, to: &str, deadline: Instant) -> Result<Reply, Refused> {
        self.command(&format!("RCPT TO:<{to}>"), deadline).await
    }

    /// `DATA` and the message; the reply is the next hop taking it (or not).
    pub(super) async fn data(&mut self, message: &[u8], deadline: Instant) -> Result<Reply, Refused> {
        self.wire.line("DATA");
        let go = self.wire.reply(deadline).await?;
        if go.code != 354 {
            return Err(Refused::Reply(go));
        }
        self.wire.raw(&data_encoding(message));
        let reply = self.wire.reply(deadline).await?;
        if reply.positive() { Ok(reply) } else { Err(Refused::Reply(reply)) }
    }

    /// `RSET`: forget the transaction (the message was not sent).
    pub(super) async fn reset(&mut self, deadline: Instant) -> Result<Reply, Refused> {
        self.command("RSET", deadline).await
    }

    /// `QUIT`, without waiting long for the answer.
    pub(super) async fn quit(mut self, deadline: Instant) {
        self.wire.line("QUIT");
        let _ = self.wire.reply(deadline).await;
    }
}
