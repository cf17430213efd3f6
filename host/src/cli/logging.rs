//! Logging for the command line and the gateway.
//!
//! `-v` gives one line per file or request (outcome, format, time); `-vv`
//! adds Sekisho's own details and what plugins log; wasmtime's and
//! cranelift's internals appear only at `-vvv` or when `RUST_LOG` asks for
//! them. Colour is used only when standard error is a terminal, and
//! `--log-format json` writes one JSON object per line for services.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for journald, Fluent Bit, Vector…).
    Json,
}

/// The filter for a verbosity level (the number of `-v`).
pub fn filter_for(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "warn,sekisho=info",
        2 => "warn,sekisho=debug,plugin=debug",
        _ => "trace",
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the verbosity.
pub fn init(verbose: u8, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter_for(verbose)));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).with_target(verbose >= 2).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).flatten_event(true).with_current_span(false).try_init(),
    };
    // A subscriber installed already (a test harness) is fine.
    drop(installed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmtime_internals_need_three_v() {
        for verbose in 0..3 {
            let filter = filter_for(verbose);
            assert!(filter.starts_with("warn"), "{filter}: other crates stay at warn below -vvv");
        }
        assert_eq!(filter_for(3), "trace");
        assert!(filter_for(1).contains("sekisho=info"));
    }
}
