//! Sekisho `pdf` plugin: rebuilds a PDF from its normalized object graph.
//!
//! The document is loaded with lopdf (object streams unpacked, incremental
//! updates resolved to the last revision, broken cross-references rebuilt,
//! `#xx` name escapes decoded), active content is removed per policy, every
//! object no longer reachable from the catalog is dropped, and a new file is
//! written with one revision, plain objects and no trailing data. Page content
//! streams, images and fonts are kept as they are.
//!
//! The text of each kept page goes to the host (`text`): `page N`.

mod actions;
mod annotations;
mod attachments;
mod images;
mod numbering;
mod structure;
mod text;

use std::io::{Read, Write};

use lopdf::{Dictionary, Document, LoadOptions, Object};
use sekisho_plugin_sdk::passwords::Opened;
use sekisho_plugin_sdk::{
    ContentClass, Decision, Disposition, Embedder, Failure, Findings, Format, Magic, PluginInfo, Policy, Rebuilt,
    read_all,
};

/// Plugin name as reported to the host.
pub const NAME: &str = "pdf";

/// Largest single stream decoded while loading (object and xref streams).
const MAX_STREAM_BYTES: usize = 256 << 20;

/// Describes the `pdf` format.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "pdf".into(),
            media_types: vec!["application/pdf".into()],
            extensions: vec!["pdf".into()],
            magic: vec![Magic { offset: 0, bytes: b"%PDF-".to_vec() }],
            ..Default::default()
        }],
        classes: vec![
            ContentClass::Scripts,
            ContentClass::AutoActions,
            ContentClass::ExternalActions,
            ContentClass::EmbeddedFiles,
            ContentClass::Hyperlinks,
            ContentClass::Forms,
            ContentClass::Multimedia,
            ContentClass::Metadata,
            ContentClass::Comments,
            ContentClass::MalformedStructure,
            ContentClass::Encryption,
        ],
        options: vec![sekisho_plugin_sdk::pictures::option()],
        ..Default::default()
    }
}

/// Rebuilds the PDF read from `input` into `output`.
pub fn sanitize<R, W, E>(input: R, output: &mut W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read,
    W: Write,
    E: Embedder + ?Sized,
{
    let bytes = read_all(input, policy.limits.max_expanded_bytes)?;
    let mut findings = Findings::new();
    structure::raw_findings(&bytes, policy, &mut findings)?;
    let (mut doc, opened) = load(&bytes, policy, &mut findings)?;
    drop(bytes);
    if doc.objects.len() > policy.limits.max_entries as usize * 100 {
        return Err(
            Failure::limit(format!("{} objects, more than the limit", doc.objects.len())).with_findings(findings)
        );
    }

    if embedder.wants_active() {
        actions::inspect_scripts(&doc, policy, embedder);
    }
    let mut run = Run { policy, findings };
    run.catalog(&mut doc)?;
    actions::scrub_all(&mut doc, policy, &mut run.findings)?;
    attachments::rebuild(&mut doc, policy, &mut run.findings, embedder)?;
    images::rebuild(&mut doc, policy, &mut run.findings, embedder)?;
    annotations::filter(&mut doc, policy, &mut run.findings)?;
    run.trailer(&mut doc)?;
    let Run { findings, .. } = run;

    numbering::canonicalize(&mut doc);
    if doc.catalog().is_err() {
        return Err(Failure::invalid("the document catalog did not survive the rebuild").with_findings(findings));
    }
    // A classic cross-reference table: every object stays plain text for
    // auditors, and no xref stream takes an object number.
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    if embedder.wants_text() {
        text::emit(&doc, embedder);
    }
    if let Some(opened) = opened.filter(|_| policy.reencrypt) {
        encrypt(&mut doc, opened.secret(policy)).map_err(|failure| failure.with_findings(findings.clone()))?;
    }
    let mut rebuilt = Vec::new();
    doc.save_to(&mut rebuilt).map_err(|e| Failure::invalid(format!("writing the rebuilt PDF: {e}")))?;
    output.write_all(&rebuilt).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: "pdf".into(), findings: findings.into_vec() })
}

/// Encrypts the rebuilt document again with the password that opened it
/// (`reencrypt`): AES-256 (PDF 2.0, revision 6), that password as both the
/// user and the owner password, every permission granted. An encrypted
/// file must have an `/ID`: a fresh random one, which says nothing of the
/// input.
fn encrypt(doc: &mut Document, password: &str) -> Result<(), Failure> {
    use lopdf::encryption::crypt_filters::{Aes256CryptFilter, CryptFilter};
    let mut key = [0u8; 32];
    let mut id = [0u8; 16];
    getrandom::fill(&mut key)
        .and_then(|()| getrandom::fill(&mut id))
        .map_err(|e| Failure::invalid(format!("no randomness to encrypt with: {e}")))?;
    let id = Object::String(id.to_vec(), lopdf::StringFormat::Hexadecimal);
    doc.trailer.set(b"ID", Object::Array(vec![id.clone(), id]));
    let filter: std::sync::Arc<dyn CryptFilter> = std::sync::Arc::new(Aes256CryptFilter);
    let version = lopdf::EncryptionVersion::V5 {
        encrypt_metadata: true,
        crypt_filters: std::collections::BTreeMap::from([(b"StdCF".to_vec(), filter)]),
        file_encryption_key: &key,
        stream_filter: b"StdCF".to_vec(),
        string_filter: b"StdCF".to_vec(),
        owner_password: password,
        user_password: password,
        permissions: lopdf::Permissions::all(),
    };
    let state = lopdf::EncryptionState::try_from(version)
        .map_err(|e| Failure::invalid(format!("encrypting the rebuilt PDF again: {e}")))?;
    doc.encrypt(&state).map_err(|e| Failure::invalid(format!("encrypting the rebuilt PDF again: {e}")))
}

/// Loads the document; an empty user password is tried and the encryption
/// removed; other encryption is opened with the policy's candidates (user
/// or owner password), or fails as `encrypted`. Answers what opened it.
fn load(bytes: &[u8], policy: &Policy, findings: &mut Findings) -> Result<(Document, Option<Opened>), Failure> {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES.min(policy.limits.max_expanded_bytes as usize)),
        ..LoadOptions::default()
    };
    let mut doc = Document::load_mem_with_options(bytes, options.clone()).map_err(|e| match e {
        lopdf::Error::Decryption(_) => {
            Failure::encrypted(format!("encrypted with a password: {e}")).with_findings(findings.clone())
        }
        other => Failure::invalid(format!("not a readable PDF: {other}")).with_findings(findings.clone()),
    })?;
    let mut opened = None;
    if doc.is_encrypted() && doc.encryption_state.is_none() {
        // Each candidate is checked against the security handler; the one
        // that fits loads the document again, decrypting every object.
        let (reloaded, how) = sekisho_plugin_sdk::passwords::open(policy, "the PDF", |password| {
            // The user password first: the owner check costs as much again.
            if doc.authenticate_user_password(password).is_err() && doc.authenticate_owner_password(password).is_err() {
                return Ok(None);
            }
            let options = LoadOptions { password: Some(password.to_owned()), ..options.clone() };
            Document::load_mem_with_options(bytes, options)
                .map(Some)
                .map_err(|e| Failure::invalid(format!("not a readable PDF once decrypted: {e}")))
        })
        .map_err(|failure| failure.with_findings(findings.clone()))?;
        doc = reloaded;
        opened = Some(how);
    }
    if let Some(opened) = opened {
        findings.decrypted("trailer /Encrypt", opened, policy.reencrypt.then_some("AES-256"));
        doc.trailer.remove(b"Encrypt");
        doc.encryption_state = None;
    } else if doc.was_encrypted() {
        findings.decide(
            policy,
            ContentClass::Encryption,
            Disposition::Removed,
            "trailer /Encrypt",
            "encrypted with an empty user password: decrypted and rebuilt without encryption",
        )?;
        doc.trailer.remove(b"Encrypt");
        doc.encryption_state = None;
    }
    if let Some(recovery) = doc.xref_recovery {
        findings.decide(
            policy,
            ContentClass::MalformedStructure,
            Disposition::Neutralized,
            "cross-reference table",
            format!("damaged cross-reference data repaired ({recovery:?})"),
        )?;
    }
    if doc.catalog().is_err() {
        return Err(Failure::invalid("no document catalog").with_findings(findings.clone()));
    }
    Ok((doc, opened))
}

/// Document-level state while sanitizing.
struct Run<'p> {
    policy: &'p Policy,
    findings: Findings,
}

impl Run<'_> {
    /// The catalog: open action, document JavaScript, forms (XMP goes with
    /// every other `/Metadata` in the generic scrub).
    fn catalog(&mut self, doc: &mut Document) -> Result<(), Failure> {
        let policy = self.policy;
        let root = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| Failure::invalid("no /Root"))?;
        let mut catalog = doc.get_dictionary(root).cloned().map_err(|_| Failure::invalid("unreadable catalog"))?;
        if let Ok(open) = catalog.get(b"OpenAction") {
            // What an inline open action does is decided by its own class
            // first (a JavaScript open action is blocked when scripts are);
            // an indirect one is decided with every other action object.
            if let Object::Dictionary(action) = open {
                actions::remove_action(action, "catalog /OpenAction", policy, &mut self.findings)?;
            }
            let decision = self.findings.decide(
                policy,
                ContentClass::AutoActions,
                Disposition::Removed,
                "catalog /OpenAction",
                "action run when the document opens",
            )?;
            if decision == Decision::Sanitize {
                catalog.remove(b"OpenAction");
            }
        }
        if let Some(mut names) = resolve_dict_mut(doc, &catalog, b"Names") {
            if names.has(b"JavaScript") {
                let decision = self.findings.decide(
                    policy,
                    ContentClass::Scripts,
                    Disposition::Removed,
                    "catalog /Names /JavaScript",
                    "document-level JavaScript",
                )?;
                if decision == Decision::Sanitize {
                    names.remove(b"JavaScript");
                }
            }
            store_dict(doc, &mut catalog, b"Names", names);
        }
        self.forms(doc, &mut catalog)?;
        doc.objects.insert(root, Object::Dictionary(catalog));
        Ok(())
    }

    /// AcroForm stays only when forms are allowed; XFA (scriptable XML forms) goes in any case
    /// unless both forms and scripts are allowed.
    fn forms(&mut self, doc: &mut Document, catalog: &mut Dictionary) -> Result<(), Failure> {
        let policy = self.policy;
        let Some(mut acroform) = resolve_dict_mut(doc, catalog, b"AcroForm") else { return Ok(()) };
        let forms = self.findings.decide(
            policy,
            ContentClass::Forms,
            Disposition::Removed,
            "catalog /AcroForm",
            "interactive form (the fields' appearance stays on the pages)",
        )?;
        if acroform.has(b"XFA") {
            let xfa = match forms {
                Decision::Sanitize => Decision::Sanitize,
                Decision::Keep => self.findings.decide(
                    policy,
                    ContentClass::Scripts,
                    Disposition::Removed,
                    "catalog /AcroForm /XFA",
                    "XFA form, which can carry scripts",
                )?,
            };
            if xfa == Decision::Sanitize {
                acroform.remove(b"XFA");
                catalog.remove(b"NeedsRendering");
            }
        }
        match forms {
            Decision::Sanitize => {
                catalog.remove(b"AcroForm");
            }
            Decision::Keep => store_dict(doc, catalog, b"AcroForm", acroform),
        }
        Ok(())
    }

    /// The new trailer names only the catalog: `/Info` is metadata, `/ID`
    /// and `/Encrypt` describe the old file.
    fn trailer(&mut self, doc: &mut Document) -> Result<(), Failure> {
        let root = doc.trailer.get(b"Root").cloned().map_err(|_| Failure::invalid("no /Root"))?;
        if let Ok(info) = doc.trailer.get(b"Info").cloned() {
            let decision = self.findings.decide(
                self.policy,
                ContentClass::Metadata,
                Disposition::Removed,
                "trailer /Info",
                "document information (author, title, producer, dates)",
            )?;
            if decision == Decision::Keep {
                doc.trailer = Dictionary::from_iter([("Root", root), ("Info", info)]);
                return Ok(());
            }
        }
        doc.trailer = Dictionary::from_iter([("Root", root)]);
        Ok(())
    }
}

/// The dictionary at `key` of `holder`, inline or by reference, detached for editing.
fn resolve_dict_mut(doc: &Document, holder: &Dictionary, key: &[u8]) -> Option<Dictionary> {
    match holder.get(key).ok()? {
        Object::Dictionary(d) => Some(d.clone()),
        Object::Reference(id) => doc.get_dictionary(*id).ok().cloned(),
        _ => None,
    }
}

/// Puts an edited dictionary back where [`resolve_dict_mut`] found it.
fn store_dict(doc: &mut Document, holder: &mut Dictionary, key: &[u8], dict: Dictionary) {
    match holder.get(key) {
        Ok(Object::Reference(id)) => {
            let id = *id;
            doc.objects.insert(id, Object::Dictionary(dict));
        }
        _ => holder.set(key.to_vec(), Object::Dictionary(dict)),
    }
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);
