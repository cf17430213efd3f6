//! Actions and triggers anywhere in the object graph: JavaScript, launch and
//! other external actions, URIs, multimedia actions, `/AA` trigger
//! dictionaries. Each is decided by its class; a removed action disappears
//! from every place that refers to it (`/A`, `/Next`, arrays of actions).

use std::collections::BTreeSet;

use lopdf::{Dictionary, Document, Object, ObjectId};
use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Embedder, Failure, Findings, Policy};

/// Keys that hold private or descriptive data, removed as metadata.
const METADATA_KEYS: [&[u8]; 2] = [b"Metadata", b"PieceInfo"];

/// The class of an action dictionary that must be decided, with a label.
fn action_class(dict: &Dictionary) -> Option<(ContentClass, String)> {
    let Ok(kind) = dict.get(b"S").and_then(Object::as_name) else {
        // A `/JS` without an action type is still a script action, unless the
        // dictionary is something else (a page, a field): then only the key goes.
        return (dict.has(b"JS") && !typed_other(dict)).then(|| (ContentClass::Scripts, "JavaScript action".into()));
    };
    let class = match kind {
        b"JavaScript" => ContentClass::Scripts,
        b"Launch" | b"GoToR" | b"GoToE" | b"SubmitForm" | b"ImportData" => ContentClass::ExternalActions,
        b"URI" => ContentClass::Hyperlinks,
        b"Rendition" | b"Movie" | b"Sound" | b"RichMediaExecute" | b"GoTo3DView" => ContentClass::Multimedia,
        _ => return None,
    };
    Some((class, format!("/{} action", String::from_utf8_lossy(kind))))
}

/// True for a dictionary whose `/Type` says it is not an action.
fn typed_other(dict: &Dictionary) -> bool {
    dict.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t != b"Action")
}

/// Hands the source of every JavaScript action (indirect or inline, its
/// `/JS` a string or a stream) to the host's scanners, with whether the
/// policy keeps scripts. Runs before anything is removed.
pub fn inspect_scripts<E: Embedder + ?Sized>(doc: &Document, policy: &Policy, embedder: &mut E) {
    let kept = policy.action(ContentClass::Scripts) == Action::Allow;
    let mut found = Vec::new();
    for (&id, object) in &doc.objects {
        scripts_in(doc, object, &format!("object {} {}", id.0, id.1), 0, &mut found);
    }
    for (location, source) in found {
        embedder.inspect_active(ContentClass::Scripts, kept, &location, &source);
    }
}

/// Nesting followed inside one object (inline actions in `/AA`, `/Next`).
const MAX_NESTING: usize = 32;

fn scripts_in(doc: &Document, object: &Object, location: &str, depth: usize, found: &mut Vec<(String, Vec<u8>)>) {
    if depth > MAX_NESTING {
        return;
    }
    let dict = match object {
        Object::Dictionary(dict) => dict,
        Object::Stream(stream) => &stream.dict,
        Object::Array(items) => {
            for item in items {
                scripts_in(doc, item, location, depth + 1, found);
            }
            return;
        }
        _ => return,
    };
    if matches!(action_class(dict), Some((ContentClass::Scripts, _))) {
        let source = match dict.get(b"JS") {
            Ok(Object::String(text, _)) => Some(text.clone()),
            Ok(Object::Reference(id)) => match doc.get_object(*id) {
                Ok(Object::String(text, _)) => Some(text.clone()),
                Ok(Object::Stream(stream)) => {
                    stream.decompressed_content().ok().or_else(|| Some(stream.content.clone()))
                }
                _ => None,
            },
            Ok(Object::Stream(stream)) => Some(stream.content.clone()),
            _ => None,
        };
        if let Some(source) = source {
            found.push((format!("{location} /JS"), source));
        }
    }
    for (_, value) in dict.iter() {
        scripts_in(doc, value, location, depth + 1, found);
    }
}

/// Decides one action by its own class; true when it must go.
pub fn remove_action(
    dict: &Dictionary,
    location: &str,
    policy: &Policy,
    findings: &mut Findings,
) -> Result<bool, Failure> {
    let Some((class, label)) = action_class(dict) else { return Ok(false) };
    if class == ContentClass::Hyperlinks && policy.keeps_links() {
        return Ok(false);
    }
    let detail = match dict.get(b"URI").and_then(Object::as_str) {
        Ok(uri) => format!("{label} to {:?}", String::from_utf8_lossy(uri)),
        Err(_) => label,
    };
    Ok(findings.decide(policy, class, Disposition::Removed, location, detail)? == Decision::Sanitize)
}

/// Scrubs every object of the document.
pub fn scrub_all(doc: &mut Document, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    // Pass 1: indirect action objects that must go.
    // A dictionary typed as something else (a catalog, a page) that also
    // carries an action type loses the action keys, not its place.
    let mut removed: BTreeSet<ObjectId> = BTreeSet::new();
    let mut neutralized = Vec::new();
    for (&id, object) in &doc.objects {
        if let Object::Dictionary(dict) = object
            && remove_action(dict, &format!("object {} {}", id.0, id.1), policy, findings)?
        {
            if typed_other(dict) {
                neutralized.push(id);
            } else {
                removed.insert(id);
            }
        }
    }
    for id in &removed {
        doc.objects.remove(id);
    }
    for id in neutralized {
        if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(id) {
            dict.remove(b"S");
            dict.remove(b"JS");
        }
    }
    // Pass 2: references to them, inline actions and trigger dictionaries everywhere.
    let ids: Vec<ObjectId> = doc.objects.keys().copied().collect();
    let mut scrubber = Scrubber { policy, findings, removed: &removed };
    for id in ids {
        if let Some(mut object) = doc.objects.remove(&id) {
            scrubber.value(&mut object, &format!("object {} {}", id.0, id.1))?;
            doc.objects.insert(id, object);
        }
    }
    Ok(())
}

struct Scrubber<'a> {
    policy: &'a Policy,
    findings: &'a mut Findings,
    removed: &'a BTreeSet<ObjectId>,
}

impl Scrubber<'_> {
    fn value(&mut self, object: &mut Object, location: &str) -> Result<(), Failure> {
        match object {
            Object::Dictionary(dict) => self.dict(dict, location),
            Object::Stream(stream) => self.dict(&mut stream.dict, location),
            Object::Array(items) => {
                let mut kept = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    if !self.drops(&item, location)? {
                        self.value(&mut item, location)?;
                        kept.push(item);
                    }
                }
                *items = kept;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// True when `value` is a removed action, by reference or inline.
    fn drops(&mut self, value: &Object, location: &str) -> Result<bool, Failure> {
        Ok(match value {
            Object::Reference(id) => self.removed.contains(id),
            Object::Dictionary(dict) => remove_action(dict, location, self.policy, self.findings)?,
            _ => false,
        })
    }

    fn dict(&mut self, dict: &mut Dictionary, location: &str) -> Result<(), Failure> {
        let policy = self.policy;
        let keys: Vec<Vec<u8>> = dict.iter().map(|(k, _)| k.clone()).collect();
        for key in keys {
            let drop = if key == b"AA" {
                let decision = self.findings.decide_grouped(
                    policy,
                    ContentClass::AutoActions,
                    Disposition::Removed,
                    "objects",
                    "/AA trigger actions (open, close, focus, page view, keystroke...)",
                )?;
                decision == Decision::Sanitize
            } else if key == b"JS" {
                let decision = self.findings.decide_grouped(
                    policy,
                    ContentClass::Scripts,
                    Disposition::Removed,
                    "objects",
                    "/JS entries outside actions",
                )?;
                decision == Decision::Sanitize
            } else if METADATA_KEYS.contains(&key.as_slice()) {
                let detail = format!("/{} on objects (XMP, private application data)", String::from_utf8_lossy(&key));
                let decision = self.findings.decide_grouped(
                    policy,
                    ContentClass::Metadata,
                    Disposition::Removed,
                    "objects",
                    &detail,
                )?;
                decision == Decision::Sanitize
            } else {
                let value = dict.get(&key).expect("key listed from this dictionary");
                self.drops(value, location)?
            };
            if drop {
                dict.remove(&key);
            } else if let Ok(value) = dict.get_mut(&key) {
                self.value(value, location)?;
            }
        }
        Ok(())
    }
}
