//! Sending embedded documents back through the host.

use crate::{
    ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Failure, FailureKind, Findings,
};

/// Rebuilds an embedded document (an archive member, an attachment) with the
/// plugin for its own format. In a plugin this is the host; native tests
/// provide their own.
pub trait Embedder {
    /// Sanitizes `data`, found at `name` inside the current file.
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal>;
}

/// The host's `sanitize-embedded` import. Outside wasm (native tests and
/// benchmarks) every document is answered as unsupported.
pub struct HostEmbedder;

impl Embedder for HostEmbedder {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::sekisho::plugin::host::sanitize_embedded(name, data);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = data;
            Err(EmbeddedRefusal::Unsupported(format!("no host to sanitize {name}")))
        }
    }
}

/// Answers every embedded document as unsupported (native tests).
pub struct RefuseAll;

impl Embedder for RefuseAll {
    fn sanitize_embedded(&mut self, _name: &str, _data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Err(EmbeddedRefusal::Unsupported("no plugin in this test".into()))
    }
}

/// What became of an embedded document sent through the host.
#[derive(Debug)]
pub enum Embedded {
    /// Rebuilt by the plugin for its format: put these bytes back.
    Rebuilt(EmbeddedRebuilt),
    /// No plugin rebuilds it, or its plugin failed on it: the caller's policy
    /// decides (usually removal). The text says why.
    Refused(String),
}

impl Findings {
    /// Sends `data`, found at `location` and named `name`, through `embedder`
    /// and records what happened under `class`.
    ///
    /// A sanitized rebuild is recorded as neutralized; a blocked document
    /// refuses the whole file (the policy said block, whatever the parent
    /// does); a document over a limit fails the whole file.
    pub fn embed<E: Embedder + ?Sized>(
        &mut self,
        embedder: &mut E,
        class: ContentClass,
        location: &str,
        name: &str,
        data: &[u8],
    ) -> Result<Embedded, Failure> {
        match embedder.sanitize_embedded(name, data) {
            Ok(rebuilt) => {
                if rebuilt.outcome == EmbeddedOutcome::Sanitized {
                    self.push(class, Disposition::Neutralized, location, "rebuilt with active content removed");
                }
                Ok(Embedded::Rebuilt(rebuilt))
            }
            Err(EmbeddedRefusal::Unsupported(kind)) => Ok(Embedded::Refused(format!("no plugin rebuilds it ({kind})"))),
            Err(EmbeddedRefusal::Failed(detail)) => Ok(Embedded::Refused(format!("it could not be rebuilt: {detail}"))),
            Err(EmbeddedRefusal::Blocked(detail)) => {
                self.push(class, Disposition::Blocked, location, detail.clone());
                Err(Failure {
                    kind: FailureKind::Blocked(class),
                    detail: format!("{location} is blocked: {detail}"),
                    findings: self.as_slice().to_vec(),
                })
            }
            Err(EmbeddedRefusal::LimitExceeded(detail)) => {
                Err(Failure::limit(format!("{location}: {detail}")).with_findings(self.clone()))
            }
        }
    }
}
