//! Sekisho (関所): content disarm and reconstruction in WebAssembly sandboxes.
//!
//! One untrusted file goes in; its type is detected from content, the plugin
//! for that type rebuilds it inside a fresh sandbox, and a clean file plus an
//! auditable [`report::Report`] come out. Embedded documents go back through
//! the same path, each in its own sandbox.
//!
//! ```no_run
//! use sekisho::{Sekisho, Options, policy::Policy, source::Source};
//! let sekisho = Sekisho::new(Options::default())?;
//! let result = sekisho.sanitize(Source::open("in.csv".as_ref())?, "in.csv", &Policy::default());
//! println!("{}", result.report.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules, one concern each: [`sandbox`] (wasmtime), [`cache`] (compiled
//! plugins on disk, checked before use), [`registry`] (plugins),
//! [`detect`] (types from content), [`policy`], [`pipeline`] (the flow of one
//! file), [`report`], [`source`] (read-only input), [`serve`] (the gateway:
//! HTTP API and ICAP), [`audit`] (the audit log), [`batch`] (folders from the
//! CLI: parallel, with progress and a summary), [`vendor`] (plugin check, plugin
//! new, signed plugins).

pub mod audit;
pub mod batch;
pub mod cache;
pub mod cli;
pub mod contract;
pub mod detect;
#[doc(hidden)]
pub mod fuzzing;
pub mod pipeline;
pub mod policy;
pub mod registry;
pub mod report;
pub mod sandbox;
pub mod serve;
pub mod source;
pub mod vendor;

pub use pipeline::{Options, Sanitized, Sekisho};
