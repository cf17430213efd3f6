//! Sending embedded documents back through the host.

use crate::{EmbeddedRebuilt, EmbeddedRefusal};

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
