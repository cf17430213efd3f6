//! Image XObjects. A JPEG (`/DCTDecode` its only filter) is a JPEG file as
//! it is: it goes through the host to the image plugin like any picture,
//! so comments, EXIF/GPS, XMP and IPTC inside it go. Raw and Flate pixel
//! data carry no metadata and stay; an image's own `/Metadata` stream goes
//! with the other metadata keys (`actions`).

use lopdf::{Dictionary, Document, Object, ObjectId};
use sekisho_plugin_sdk::pictures::{self, Picture};
use sekisho_plugin_sdk::{Embedder, Failure, Findings, Policy};

/// True for an image XObject whose data is a JPEG file.
fn is_jpeg_image(dict: &Dictionary) -> bool {
    let image = dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Image");
    let filter = match dict.get(b"Filter") {
        Ok(Object::Name(name)) => Some(name.as_slice()),
        Ok(Object::Array(filters)) if filters.len() == 1 => filters[0].as_name().ok(),
        _ => None,
    };
    image && filter == Some(b"DCTDecode".as_slice())
}

/// Rebuilds every JPEG image of the document through the image plugin. One
/// the image plugin cannot rebuild is removed when the policy removes
/// unknown parts (a viewer then draws nothing in its place).
pub fn rebuild<E: Embedder + ?Sized>(
    doc: &mut Document,
    policy: &Policy,
    findings: &mut Findings,
    embedder: &mut E,
) -> Result<(), Failure> {
    let jpegs: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter_map(|(&id, object)| match object {
            Object::Stream(stream) if is_jpeg_image(&stream.dict) => Some(id),
            _ => None,
        })
        .collect();
    for id in jpegs {
        let Some(Object::Stream(stream)) = doc.objects.get_mut(&id) else { continue };
        let location = format!("image object {} {}", id.0, id.1);
        let name = format!("image-{}-{}.jpg", id.0, id.1);
        match pictures::rebuild(findings, policy, embedder, &location, &name, &stream.content)? {
            Picture::Keep => {}
            Picture::Rebuilt(data) => stream.set_content(data),
            Picture::Remove => {
                doc.objects.remove(&id);
            }
        }
    }
    Ok(())
}
