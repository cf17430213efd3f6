//! `sekisho serve`: the gateway's command line (feature `serve`).

use std::path::{Path, PathBuf};

use clap::Args;

use super::{EXIT_PASSED, EngineArgs, PolicyArgs, cores, engine};
use crate::serve::holds::{self, SpoolConfig};
use crate::serve::smtp::{MailRefusal, PpapConfig, PpapExpired, SmtpConfig};
use crate::serve::{self, Config as ServeConfig, IcapRefusal, Role, Token};

/// The options of `sekisho serve`.
#[derive(Args)]
pub(super) struct ServeArgs {
    /// Address of the HTTP API (HOST:PORT; a host name is resolved).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Address of the ICAP service (RFC 3507), e.g. 127.0.0.1:1344.
    #[arg(long)]
    icap: Option<String>,
    /// File of `user:token[:ROLE[:GROUP,GROUP…]]` lines; ROLE is
    /// `submitter` (the default), `approver` (decides the held files of
    /// submitters sharing a group, or of all without groups) or `admin`
    /// (reads every report, decides every held file); a submitter reads
    /// only their own reports. Requests need `Authorization: Bearer
    /// TOKEN`. Tokens have 16 characters or more. Required when listening
    /// on a non-loopback address.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// A built-in profile a client may name with `?profile=` (repeat for
    /// more). A chosen profile can only tighten the server's policy:
    /// per class the stricter action, each limit the smaller. Without
    /// any, a profile other than the policy's own name is refused (400).
    #[arg(long = "allow-profile", value_name = "NAME")]
    allow_profiles: Vec<String>,
    /// A client address range ICAP serves (CIDR, repeat for more); others
    /// are closed at accept. ICAP has no authentication: required when
    /// --icap is not on loopback.
    #[arg(long = "icap-allow", value_name = "CIDR")]
    icap_allow: Vec<crate::serve::limits::Cidr>,
    /// Address of the SMTP content filter, for Postfix's `content_filter`
    /// (e.g. 127.0.0.1:10025): each message is sanitized and reinjected to
    /// --smtp-next; it is acknowledged only once the next hop took it.
    #[arg(long, requires = "smtp_next")]
    smtp: Option<String>,
    /// Where the SMTP filter reinjects messages: an MTA port without the
    /// filter (e.g. Postfix's 127.0.0.1:10026).
    #[arg(long, requires = "smtp", value_name = "HOST:PORT")]
    smtp_next: Option<String>,
    /// What happens to a message the policy refuses: `reject` answers 554
    /// (the MTA bounces it to its sender); `notify` delivers a short
    /// notice with the report id to its recipients instead; `hold` keeps a
    /// message the personal-information audit holds (`--profile
    /// outbound`) in the approval spool (`--spool`), rebuilt, and delivers
    /// it when an approver approves it (other refusals are rejected).
    #[arg(long, value_enum, default_value = "reject")]
    smtp_refused: MailRefusal,
    /// The host name the SMTP filter greets with and says in notices.
    #[arg(long, default_value = "sekisho.localhost")]
    smtp_hostname: String,
    /// A client address range the SMTP filter serves (CIDR, repeat for
    /// more); others are closed at accept. Required when --smtp is not on
    /// loopback.
    #[arg(long = "smtp-allow", value_name = "CIDR")]
    smtp_allow: Vec<crate::serve::limits::Cidr>,
    /// PPAP: a message whose encrypted attachment no known password opens
    /// waits this many minutes (answered 451, the MTA retries) for a
    /// password mail from the same sender to the same recipients; the
    /// password mail is delivered with its password masked. Needs
    /// `encrypted = "try-passwords"` in the policy.
    #[arg(long, requires = "smtp", value_name = "MINUTES")]
    ppap_window_m: Option<u64>,
    /// The PPAP window in seconds, overriding --ppap-window-m (tests).
    #[arg(long, hide = true, requires = "smtp")]
    ppap_window_s: Option<u64>,
    /// What happens when the PPAP window ran out: `remove` delivers the
    /// message without the encrypted attachment, with a note; `bounce`
    /// answers 554.
    #[arg(long, value_enum, default_value = "remove")]
    ppap_expired: PpapExpired,
    /// Files in sandboxes at once [default: number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Requests that may wait for a sandbox; more get 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// How long a request may wait for a sandbox, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    queue_wait_ms: u64,
    /// How long an HTTP client may take to upload its file and get the
    /// answer, in seconds (408 or 504 after that); also how long an ICAP
    /// body may take to arrive, all of it (408).
    #[arg(long, default_value_t = 300)]
    request_timeout_s: u64,
    /// How long a request head (request line and headers) may take, in
    /// seconds: from the connection's start, from the previous answer
    /// (HTTP) or from its first byte (ICAP).
    #[arg(long, default_value_t = serve::defaults::HEADER_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_s: u64,
    /// How long a keep-alive connection may wait for its next request,
    /// in seconds (on HTTP, at most --header-timeout-s).
    #[arg(long, default_value_t = serve::defaults::IDLE_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_s: u64,
    /// Connections per listener (HTTP and ICAP each). At the limit the
    /// connection idle longest is closed to admit a new one; when all
    /// are busy the new one gets 503.
    #[arg(long, default_value_t = serve::defaults::MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Connections per client address and listener, likewise (ICAP
    /// announces it as Max-Connections).
    #[arg(long, default_value_t = serve::defaults::MAX_CONNECTIONS_PER_CLIENT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections_per_client: u64,
    /// Uploads received or decided at once, over HTTP and ICAP; more
    /// get 503 with Retry-After.
    #[arg(long, default_value_t = serve::defaults::MAX_UPLOADS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_uploads: u64,
    /// Megabytes of uploads held in memory at once, over HTTP and ICAP;
    /// an upload that does not fit gets 503 with Retry-After. A declared
    /// length over the policy's max-input-bytes gets 413 before any
    /// byte is read.
    #[arg(long, default_value_t = serve::defaults::UPLOAD_BUDGET_MB, value_parser = clap::value_parser!(u64).range(1..))]
    upload_budget_mb: u64,
    /// Append one JSON line per file decision to this file (its folder is
    /// created).
    #[arg(long)]
    audit: Option<PathBuf>,
    /// What ICAP clients get instead of a refused file.
    #[arg(long, value_enum, default_value = "page")]
    icap_refusal: IcapRefusal,
    /// Keep the files the personal-information audit holds in this folder
    /// (created mode 0700; refused when open to others or owned by another
    /// user) until an approver decides: `POST /v1/sanitize` answers 202
    /// with the hold's id. Without it a held file gets 403.
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// Megabytes of held files the spool keeps at once; a held file that
    /// does not fit gets 507.
    #[arg(long, default_value_t = holds::defaults::SPOOL_MAX_MB, value_parser = clap::value_parser!(u64).range(1..))]
    spool_max_mb: u64,
    /// Hours a held file is kept from its submission; then it is deleted
    /// (an audit line says so), decided or not.
    #[arg(long, default_value_t = holds::defaults::HOLD_RETENTION_H)]
    hold_retention_h: u64,
    /// The retention in seconds, overriding --hold-retention-h (tests).
    #[arg(long, hide = true)]
    hold_retention_s: Option<u64>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Runs the gateway until SIGINT/SIGTERM.
pub(super) fn run(engine_args: &EngineArgs, args: ServeArgs) -> Result<u8, String> {
    let ServeArgs {
        listen,
        icap,
        token_file,
        allow_profiles,
        icap_allow,
        smtp,
        smtp_next,
        smtp_refused,
        smtp_hostname,
        smtp_allow,
        ppap_window_m,
        ppap_window_s,
        ppap_expired,
        workers,
        queue,
        queue_wait_ms,
        request_timeout_s,
        header_timeout_s,
        idle_timeout_s,
        max_connections,
        max_connections_per_client,
        max_uploads,
        upload_budget_mb,
        audit,
        icap_refusal,
        spool,
        spool_max_mb,
        hold_retention_h,
        hold_retention_s,
        policy,
    } = args;
    let tokens = load_tokens(token_file.as_deref(), std::env::var("SEKISHO_TOKEN").ok())?;
    let seconds = std::time::Duration::from_secs;
    let config = ServeConfig {
        http: resolve("--listen", &listen)?,
        icap: icap.as_deref().map(|address| resolve("--icap", address)).transpose()?,
        smtp: match (smtp, smtp_next) {
            (Some(listen), Some(next)) => Some(SmtpConfig {
                listen: resolve("--smtp", &listen)?,
                next_hop: resolve("--smtp-next", &next)?,
                hostname: smtp_hostname,
                refused: smtp_refused,
                allow: smtp_allow,
                ppap: ppap_window_s
                    .or(ppap_window_m.map(|m| m.saturating_mul(60)))
                    .map(|window| PpapConfig { window: seconds(window), expired: ppap_expired }),
            }),
            _ => None,
        },
        tokens,
        workers: workers.unwrap_or_else(cores),
        queue,
        queue_wait: std::time::Duration::from_millis(queue_wait_ms),
        request_timeout: seconds(request_timeout_s),
        policy: policy.load()?,
        allow_profiles,
        audit,
        icap_refusal,
        icap_allow,
        max_uploads: usize::try_from(max_uploads).unwrap_or(usize::MAX),
        upload_budget: upload_budget_mb.saturating_mul(1 << 20),
        header_timeout: seconds(header_timeout_s),
        idle_timeout: seconds(idle_timeout_s),
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        max_connections_per_client: usize::try_from(max_connections_per_client).unwrap_or(usize::MAX),
        spool: spool.map(|dir| SpoolConfig {
            dir,
            max_bytes: spool_max_mb.saturating_mul(1 << 20),
            retention: seconds(hold_retention_s.unwrap_or(hold_retention_h.saturating_mul(3600))),
        }),
    };
    let (sekisho, policy) = engine(engine_args, config.workers, &config.policy)?;
    serve::run(sekisho, ServeConfig { policy, ..config })?;
    Ok(EXIT_PASSED)
}

/// `HOST:PORT` to a socket address; host names are resolved (the first
/// address wins).
fn resolve(flag: &str, address: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let mut addresses =
        address.to_socket_addrs().map_err(|e| format!("{flag} {address}: not a HOST:PORT address ({e})"))?;
    addresses.next().ok_or_else(|| format!("{flag} {address}: the host name has no address"))
}

/// Tokens from a file of `user:token[:ROLE[:GROUP,GROUP…]]` lines (a plain
/// line is a submitter without groups; `user:token:admin` an admin), and
/// `SEKISHO_TOKEN` (user `token`, a submitter). Every token has at least
/// [`serve::MIN_TOKEN_LEN`] characters, else the server does not start.
fn load_tokens(file: Option<&Path>, env: Option<String>) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (number, line) in
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            let wrong = || {
                format!(
                    "{}:{}: expected `user:token`, `user:token:ROLE` or `user:token:ROLE:GROUP,GROUP` with ROLE \
                     submitter, approver or admin (a token of {} characters or more, no `:`)",
                    path.display(),
                    number + 1,
                    serve::MIN_TOKEN_LEN
                )
            };
            let fields: Vec<&str> = line.split(':').map(str::trim).collect();
            let (user, secret, role, groups) = match fields.as_slice() {
                [user, secret] => (*user, *secret, Role::Submitter, ""),
                [user, secret, role] => (*user, *secret, Role::parse(role).ok_or_else(wrong)?, ""),
                [user, secret, role, groups] => (*user, *secret, Role::parse(role).ok_or_else(wrong)?, *groups),
                _ => return Err(wrong()),
            };
            let groups: Vec<String> =
                groups.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect();
            if user.is_empty() || secret.chars().count() < serve::MIN_TOKEN_LEN {
                return Err(wrong());
            }
            tokens.push(Token { user: user.to_owned(), secret: secret.to_owned(), role, groups });
        }
    }
    if let Some(token) = env.filter(|t| !t.is_empty()) {
        if token.chars().count() < serve::MIN_TOKEN_LEN {
            return Err(format!(
                "SEKISHO_TOKEN has {} characters: a token needs {} or more",
                token.chars().count(),
                serve::MIN_TOKEN_LEN
            ));
        }
        tokens.push(Token { user: "token".into(), secret: token, role: Role::Submitter, groups: Vec::new() });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_resolve() {
        assert!(resolve("--listen", "localhost:0").unwrap().ip().is_loopback());
        assert!(resolve("--listen", "127.0.0.1:8080").is_ok());
        assert!(resolve("--listen", "no-port").unwrap_err().contains("HOST:PORT"));
    }
    #[test]
    fn token_files_name_users_and_admins_and_refuse_short_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(
            &file,
            "# comment\nalice: 0123456789abcdef\nroot:fedcba9876543210:admin\n\
             bob:0123456789abcdeF:approver:finance, hr\ncarol:0123456789abcdEF:submitter:finance\n",
        )
        .unwrap();
        let tokens = load_tokens(Some(&file), Some("0123456789ABCDEF".into())).unwrap();
        let summary: Vec<(&str, &str, Role, String)> =
            tokens.iter().map(|t| (&*t.user, &*t.secret, t.role, t.groups.join("+"))).collect();
        assert_eq!(
            summary,
            [
                ("alice", "0123456789abcdef", Role::Submitter, String::new()),
                ("root", "fedcba9876543210", Role::Admin, String::new()),
                ("bob", "0123456789abcdeF", Role::Approver, "finance+hr".into()),
                ("carol", "0123456789abcdEF", Role::Submitter, "finance".into()),
                ("token", "0123456789ABCDEF", Role::Submitter, String::new())
            ]
        );
        for bad in [
            "alice:short",
            "alice:0123456789abcdef:root",
            ":0123456789abcdef",
            "a:b:c:d",
            "a:0123456789abcdef:approver:g:h",
            "nocolon",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(load_tokens(Some(&file), None).is_err(), "{bad}");
        }
        let short = load_tokens(None, Some("short".into())).unwrap_err();
        assert!(short.contains("SEKISHO_TOKEN") && short.contains("16"), "{short}");
        assert!(load_tokens(None, Some(String::new())).unwrap().is_empty());
    }
}
