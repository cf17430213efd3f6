//! Canonical object numbering, so that rebuilding a rebuilt file changes
//! nothing: objects are numbered 1..N in breadth-first order from the
//! trailer, unreachable, null and layout objects (object and xref streams,
//! linearization) are dropped, and references to
//! objects that do not exist become `null` (what a reader makes of them).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lopdf::{Document, Object, ObjectId};

/// Renumbers `doc` canonically. An object whose whole value was a dangling
/// reference becomes null itself, so passes repeat until none does (each
/// pass removes at least one object).
pub fn canonicalize(doc: &mut Document) {
    loop {
        renumber(doc);
        if !doc.objects.values().any(|o| matches!(o, Object::Null)) {
            return;
        }
    }
}

fn renumber(doc: &mut Document) {
    // The writer never writes nulls, object streams, xref streams or
    // linearization dictionaries: treat them as absent from the start.
    doc.objects.retain(|_, object| !(matches!(object, Object::Null) || is_structural(object)));
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::new();
    doc.trailer.iter().for_each(|(_, v)| references(v, &mut queue));
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(object) = doc.objects.get(&id) {
            order.push(id);
            references(object, &mut queue);
        }
    }
    let new_ids: BTreeMap<ObjectId, ObjectId> =
        order.iter().enumerate().map(|(i, &id)| (id, (i as u32 + 1, 0))).collect();
    let mut objects = BTreeMap::new();
    for id in &order {
        if let Some(mut object) = doc.objects.remove(id) {
            rewrite(&mut object, &new_ids);
            objects.insert(new_ids[id], object);
        }
    }
    doc.trailer.iter_mut().for_each(|(_, v)| rewrite(v, &new_ids));
    doc.objects = objects;
    doc.max_id = order.len() as u32;
}

fn references(object: &Object, queue: &mut VecDeque<ObjectId>) {
    match object {
        Object::Reference(id) => queue.push_back(*id),
        Object::Array(items) => items.iter().for_each(|o| references(o, queue)),
        Object::Dictionary(dict) => dict.iter().for_each(|(_, o)| references(o, queue)),
        Object::Stream(stream) => stream.dict.iter().for_each(|(_, o)| references(o, queue)),
        _ => {}
    }
}

fn rewrite(object: &mut Object, new_ids: &BTreeMap<ObjectId, ObjectId>) {
    match object {
        Object::Reference(id) => {
            *object = match new_ids.get(id) {
                Some(&new) => Object::Reference(new),
                None => Object::Null,
            }
        }
        Object::Array(items) => items.iter_mut().for_each(|o| rewrite(o, new_ids)),
        Object::Dictionary(dict) => dict.iter_mut().for_each(|(_, o)| rewrite(o, new_ids)),
        Object::Stream(stream) => stream.dict.iter_mut().for_each(|(_, o)| rewrite(o, new_ids)),
        _ => {}
    }
}

/// Objects that describe the old file's layout rather than its content.
fn is_structural(object: &Object) -> bool {
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        _ => return false,
    };
    matches!(dict.get(b"Type").and_then(Object::as_name), Ok(b"ObjStm" | b"XRef")) || dict.has(b"Linearized")
}
