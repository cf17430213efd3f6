//! Sending embedded documents back through the host.

use crate::{
    ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Failure, FailureKind, Findings,
};

pub use Host as Embedder;

/// What a plugin asks of the host while it rebuilds a file: embedded
/// documents rebuilt by their own plugin, the text of what is kept, and the
/// bytes inflated inside the plugin charged to the whole tree's budget. In a
/// plugin this is the host ([`HostEmbedder`]); native tests provide their
/// own ([`RefuseAll`], [`CollectText`]).
///
/// `Embedder` is the same trait under its first name.
pub trait Host {
    /// Sanitizes `data`, found at `name` inside the current file.
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal>;

    /// Hands the host the visible text of something the rebuilt file keeps,
    /// with where it is: `page 3`, `Sheet1!B2`, `paragraph 12`, `slide 2`,
    /// `body`. The host uses it for `sekisho text` and the personal
    /// information audit; it never goes into the output.
    fn emit_text(&mut self, location: &str, text: &str) {
        let _ = (location, text);
    }

    /// False when nobody keeps the text (the policy's `collect_text`): a
    /// plugin may then skip extracting it.
    fn wants_text(&self) -> bool {
        true
    }

    /// True when the host scans active parts (the policy's
    /// `inspect_active`): a plugin then decodes each one it meets, kept or
    /// removed, and hands it over with [`Host::inspect_active`].
    fn wants_active(&self) -> bool {
        false
    }

    /// Hands the host an active part for its scanners: the decompressed
    /// source of a VBA module, a script. `kept` says whether the rebuilt
    /// file keeps it; a match in a kept part refuses the file, one in a
    /// removed part is reported.
    fn inspect_active(&mut self, class: ContentClass, kept: bool, location: &str, content: &[u8]) {
        let _ = (class, kept, location, content);
    }

    /// Charges `bytes` that the plugin inflated for parts it keeps (the
    /// parts of a package, decompressed streams) to the expansion budget of
    /// the whole tree of files. Fails when the budget is spent.
    fn charge_expansion(&mut self, bytes: u64) -> Result<(), Failure> {
        let _ = bytes;
        Ok(())
    }
}

/// The host's `sanitize-embedded` import. Outside wasm (native tests and
/// benchmarks) every document is answered as unsupported.
pub struct HostEmbedder {
    collect_text: bool,
    inspect_active: bool,
}

impl HostEmbedder {
    /// The host of one `sanitize` call; `collect_text` and
    /// `inspect_active` are the policy's.
    pub fn new(collect_text: bool, inspect_active: bool) -> HostEmbedder {
        HostEmbedder { collect_text, inspect_active }
    }
}

impl Host for HostEmbedder {
    fn wants_text(&self) -> bool {
        self.collect_text
    }

    fn wants_active(&self) -> bool {
        self.inspect_active
    }

    #[cfg(target_arch = "wasm32")]
    fn inspect_active(&mut self, class: ContentClass, kept: bool, location: &str, content: &[u8]) {
        if self.inspect_active {
            crate::bindings::sekisho::plugin::host::inspect_active(class.name(), kept, location, content);
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn emit_text(&mut self, location: &str, text: &str) {
        if self.collect_text {
            crate::bindings::sekisho::plugin::host::emit_text(location, text);
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn charge_expansion(&mut self, bytes: u64) -> Result<(), Failure> {
        crate::bindings::sekisho::plugin::host::charge_expansion(bytes).map_err(Failure::limit)
    }

    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::sekisho::plugin::host::sanitize_embedded(name, data)
            .map(Into::into)
            .map_err(Into::into);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = data;
            Err(EmbeddedRefusal::Unsupported(format!("no host to sanitize {name}")))
        }
    }
}

/// Answers every embedded document as unsupported (native tests).
pub struct RefuseAll;

impl Host for RefuseAll {
    fn sanitize_embedded(&mut self, _name: &str, _data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Err(EmbeddedRefusal::Unsupported("no plugin in this test".into()))
    }
}

/// Keeps the text a plugin hands over, in order, and refuses embedded
/// documents (native tests of the text channel).
#[derive(Debug, Default)]
pub struct CollectText {
    /// (location, text) pairs.
    pub texts: Vec<(String, String)>,
}

impl CollectText {
    /// All the text, one piece a line.
    pub fn joined(&self) -> String {
        self.texts.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n")
    }
}

impl Host for CollectText {
    fn sanitize_embedded(&mut self, _name: &str, _data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Err(EmbeddedRefusal::Unsupported("no plugin in this test".into()))
    }

    fn emit_text(&mut self, location: &str, text: &str) {
        self.texts.push((location.to_owned(), text.to_owned()));
    }
}

/// Keeps the active parts a plugin hands over for scanning, and refuses
/// embedded documents (native tests of the scan channel).
#[derive(Debug, Default)]
pub struct CollectActive {
    /// (class, kept, location, content), in order.
    pub parts: Vec<(String, bool, String, Vec<u8>)>,
}

impl Host for CollectActive {
    fn sanitize_embedded(&mut self, _name: &str, _data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Err(EmbeddedRefusal::Unsupported("no plugin in this test".into()))
    }

    fn wants_active(&self) -> bool {
        true
    }

    fn inspect_active(&mut self, class: ContentClass, kept: bool, location: &str, content: &[u8]) {
        self.parts.push((class.name().to_owned(), kept, location.to_owned(), content.to_vec()));
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
    pub fn embed<E: Host + ?Sized>(
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
            Err(refusal) => Ok(Embedded::Refused(match self.refusal(class, location, refusal)? {
                Refused::Unsupported(kind) => format!("no plugin rebuilds it ({kind})"),
                Refused::Failed(detail) => format!("it could not be rebuilt: {detail}"),
            })),
        }
    }

    /// What the host's refusal of an embedded document at `location` means
    /// for the whole file: a blocked child blocks it (recorded under
    /// `class`), a child over a limit fails it; an unsupported or failed
    /// child is given back for the caller's policy to decide.
    pub(crate) fn refusal(
        &mut self,
        class: ContentClass,
        location: &str,
        refusal: EmbeddedRefusal,
    ) -> Result<Refused, Failure> {
        match refusal {
            EmbeddedRefusal::Blocked(detail) => {
                self.push(class, Disposition::Blocked, location, detail.clone());
                Err(Failure {
                    kind: FailureKind::Blocked(class),
                    detail: format!("{location} is blocked: {detail}"),
                    findings: self.as_slice().to_vec(),
                })
            }
            EmbeddedRefusal::LimitExceeded(detail) => {
                Err(Failure::limit(format!("{location}: {detail}")).with_findings(self.clone()))
            }
            EmbeddedRefusal::Unsupported(kind) => Ok(Refused::Unsupported(kind)),
            EmbeddedRefusal::Failed(detail) => Ok(Refused::Failed(detail)),
        }
    }
}

/// A refusal the parent's policy decides ([`Findings::refusal`]).
pub(crate) enum Refused {
    /// No plugin rebuilds the child (what it is).
    Unsupported(String),
    /// Its plugin could not rebuild it (why).
    Failed(String),
}
