//! Sekisho (関所): content disarm and reconstruction in WebAssembly sandboxes.
//!
//! One untrusted file goes in; its type is detected from content, the plugin
//! for that type rebuilds it inside a fresh sandbox, and a clean file plus an
//! auditable [`report::Report`] come out. Embedded documents go back through
//! the same path, each in its own sandbox.
//!
//! ```no_run
//! use sekisho::{Engine, policy::Policy, source::Source};
//! let engine = Engine::builder().build()?;
//! let policy = engine.admit(Policy::default())?;
//! let result = engine.sanitize(Source::open("in.csv".as_ref())?, "in.csv", &policy);
//! println!("{}", result.report.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `cli` (the `sekisho` command) and `serve` (the gateway, HTTP
//! and ICAP) are on by default; `default-features = false` gives the engine
//! alone, without clap, tokio, axum or indicatif.
//!
//! Modules, one concern each: [`sandbox`] (wasmtime), [`cache`] (compiled
//! plugins on disk, checked before use), [`registry`] (plugins),
//! [`detect`] (types from content), [`policy`], [`pipeline`] (the flow of one
//! file), [`report`], [`source`] (read-only input), [`serve`] (the gateway:
//! HTTP API and ICAP), [`scan`] (YARA-X and ClamAV beside the rebuild),
//! [`audit`] (the audit log), [`batch`] (folders from the
//! CLI: parallel, with progress and a summary), [`vendor`] (plugin check, plugin
//! new, signed plugins).

#![warn(missing_docs)]

pub mod audit;
#[cfg(feature = "cli")]
pub mod batch;
mod builder;
pub mod cache;
#[cfg(feature = "cli")]
pub mod cli;
pub mod contract;
pub mod detect;
#[cfg(feature = "serve")]
#[doc(hidden)]
pub mod fuzzing;
pub mod pii;
pub mod pipeline;
pub mod policy;
pub mod registry;
pub mod report;
pub mod sandbox;
pub mod scan;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;
pub mod vendor;

pub use builder::{Builder, Engine, Error};
pub use pipeline::{Options, Sanitized, Sekisho};
