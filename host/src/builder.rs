//! Setting up an engine from another Rust program: [`Engine::builder`].
//!
//! ```no_run
//! use sekisho::{Engine, policy::Policy, source::Source};
//! let engine = Engine::builder().plugins_dir("/opt/vendor-plugins").build()?;
//! let policy = engine.admit(Policy::profile("strict")?)?;
//! let result = engine.sanitize(Source::open("in.docx".as_ref())?, "in.docx", &policy);
//! if let Some(clean) = result.output {
//!     std::fs::write("out.docx", clean)?;
//! }
//! println!("{}", result.report.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use crate::pipeline::{Options, Sekisho};
use crate::policy::{Policy, PolicyError};
use crate::registry::RegistryError;
use crate::sandbox::{Allocator, SandboxError};
use crate::vendor::signature::TrustedKeys;

/// The engine under the name an embedding program looks for.
pub type Engine = Sekisho;

/// Errors from the library: setting up an engine or reading a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wasm engine could not be created, or a plugin could not be compiled.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A plugin folder could not be read, or a plugin was refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The trusted-keys file for signed plugins could not be read.
    #[error("{0}")]
    TrustedKeys(String),
    /// A policy is unknown, unreadable, or names what no plugin knows.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Builds an [`Engine`]: where vendor plugins are, where compiled plugins
/// are cached, how many sandboxes may run at once, which keys sign plugins.
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    options: Options,
    trusted_keys: Option<PathBuf>,
}

impl Sekisho {
    /// A builder with the defaults of the `sekisho` command: built-in
    /// plugins, the user's compile cache, a pool of 64 sandboxes.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl Builder {
    /// Loads the vendor plugins (`*.wasm`) of a folder too; repeat for more.
    pub fn plugins_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.options.plugin_dirs.push(dir.into());
        self
    }

    /// Caches compiled plugins in this folder instead of the user's cache
    /// (`$SEKISHO_CACHE_DIR`, `$XDG_CACHE_HOME/sekisho`, `~/.cache/sekisho`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.options.sandbox.cache_dir = Some(dir.into());
        self
    }

    /// Compiles the plugins in memory at every start; nothing is written.
    pub fn no_cache(mut self) -> Builder {
        self.options.sandbox.cache_dir = None;
        self
    }

    /// Most sandboxes alive at once with the pooling allocator. A file
    /// holds one per level of nesting (`max-depth + 1`) while it runs, so
    /// `files at once × (max-depth + 1)` never waits.
    pub fn pool_size(mut self, sandboxes: u32) -> Builder {
        self.options.sandbox.pool_size = sandboxes.max(1);
        self
    }

    /// Which instance allocator to use ([`Allocator::Auto`] by default).
    pub fn allocator(mut self, allocator: Allocator) -> Builder {
        self.options.sandbox.allocator = allocator;
        self
    }

    /// Loads vendor plugins only when signed by one of the minisign keys in
    /// this file (built-in plugins are exempt).
    pub fn require_signed(mut self, trusted_keys: impl Into<PathBuf>) -> Builder {
        self.trusted_keys = Some(trusted_keys.into());
        self
    }

    /// Scans beside the rebuild with these scanners (YARA-X rules, clamd),
    /// where each policy's `[scan]` says.
    pub fn scanners(mut self, scanners: crate::scan::Scanners) -> Builder {
        self.options.scanners = Arc::new(scanners);
        self
    }

    /// Starts the sandbox and loads the plugins.
    pub fn build(self) -> Result<Engine, Error> {
        let trusted_keys = match &self.trusted_keys {
            Some(path) => Some(Arc::new(TrustedKeys::load(path).map_err(Error::TrustedKeys)?)),
            None => None,
        };
        let options = Options { trusted_keys, ..self.options };
        Sekisho::new(options)
    }
}

impl Sekisho {
    /// The policy as this engine applies it: checked against the classes
    /// and options its plugins declare (a name no plugin knows is an
    /// error, with a suggestion), and completed with each option's default.
    pub fn admit(&self, policy: Policy) -> Result<Policy, Error> {
        let vocabulary = self.registry().vocabulary();
        policy.check(&vocabulary)?;
        Ok(policy.with_defaults(&vocabulary))
    }
}
