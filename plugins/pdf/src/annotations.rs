//! Page annotations: multimedia (RichMedia, Screen, Movie, Sound, 3D) and
//! comments (every markup annotation) are removed per policy; links and form
//! widgets stay (their actions were already scrubbed); file attachments stay
//! only while their file does.

use lopdf::{Document, Object};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

use crate::attachments::has_file;

/// Filters the `/Annots` of every page.
pub fn filter(doc: &mut Document, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    for (_, page_id) in doc.get_pages() {
        let Ok(page) = doc.get_dictionary(page_id) else { continue };
        let (holder, annots) = match page.get(b"Annots") {
            Ok(Object::Reference(id)) => match doc.get_object(*id) {
                Ok(Object::Array(items)) => (Some(*id), items.clone()),
                _ => continue,
            },
            Ok(Object::Array(items)) => (None, items.clone()),
            _ => continue,
        };
        let mut kept = Vec::with_capacity(annots.len());
        for annot in annots {
            if keep(doc, &annot, policy, findings)? {
                kept.push(annot);
            }
        }
        match holder {
            Some(id) => {
                doc.objects.insert(id, Object::Array(kept));
            }
            None => {
                if let Ok(Object::Dictionary(page)) = doc.get_object_mut(page_id) {
                    page.set("Annots", Object::Array(kept));
                }
            }
        }
    }
    Ok(())
}

fn keep(doc: &Document, annot: &Object, policy: &Policy, findings: &mut Findings) -> Result<bool, Failure> {
    let dict = match annot {
        Object::Reference(id) => match doc.get_dictionary(*id) {
            Ok(d) => d,
            Err(_) => return Ok(false),
        },
        Object::Dictionary(d) => d,
        _ => return Ok(false),
    };
    let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"");
    let label = format!("/{} annotations", String::from_utf8_lossy(subtype));
    let decide = |class, findings: &mut Findings| {
        findings.decide_grouped(policy, class, Disposition::Removed, "pages", &label).map(|d| d == Decision::Keep)
    };
    match subtype {
        b"Link" | b"Widget" | b"Watermark" | b"PrinterMark" | b"TrapNet" => Ok(true),
        b"FileAttachment" => {
            let present = dict.get(b"FS").is_ok_and(|fs| has_file(doc, fs));
            if !present {
                findings.decide_grouped(
                    policy,
                    ContentClass::EmbeddedFiles,
                    Disposition::Removed,
                    "pages",
                    "file attachment annotations whose file was removed",
                )?;
            }
            Ok(present)
        }
        b"RichMedia" | b"Screen" | b"Movie" | b"Sound" | b"3D" => decide(ContentClass::Multimedia, findings),
        _ => decide(ContentClass::Comments, findings),
    }
}
